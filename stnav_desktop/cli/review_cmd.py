"""``stnav review``, ``stnav batch``, ``stnav map``, ``stnav replay``: the review and approval flow
without the window (IT scripts it, support reproduces a case)."""

from __future__ import annotations

import argparse
from pathlib import Path

from stnav_desktop.cli.common import CliError, boot, positive_int, require_profile
from stnav_desktop.store.models import Batch, DocStatus, StDocument
from stnav_desktop.sync.app import batches, holds, mapping, posting
from stnav_desktop.sync.views import review


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("review", help="list staged documents")
    s = p.add_subparsers(dest="review_command", metavar="ACTION", required=True)
    ls = s.add_parser("list", help="documents with their status and problem")
    ls.add_argument("--status", action="append", type=_status, metavar="STATUS",
                    help="repeatable; one of: " + ", ".join(review.STATUS_LABELS))
    ls.add_argument("--limit", type=positive_int("--limit"), default=200)
    ls.set_defaults(handler=review_list)
    rj = s.add_parser("reject", help="reject a document with a reason")
    rj.add_argument("document", help="ServiceTitan number")
    rj.add_argument("--reason", required=True)
    rj.set_defaults(handler=review_reject)
    rl = s.add_parser("release", help="release a held bill to be booked (audited; a reason is required)")
    rl.add_argument("document", help="ServiceTitan number (reference) or ServiceTitan id of the held bill")
    rl.add_argument("--reason", required=True, help="why it may be booked despite the hold")
    rl.set_defaults(handler=review_release)
    ro = s.add_parser("reopen", help="take a document out of its batch (or undo a rejection) and check it again")
    ro.add_argument("document", help="ServiceTitan number")
    ro.set_defaults(handler=review_reopen)

    b = sub.add_parser("batch", help="batches and approval")
    bs = b.add_subparsers(dest="batch_command", metavar="ACTION", required=True)
    bc = bs.add_parser("create", help="prepare a batch")
    group = bc.add_mutually_exclusive_group(required=True)
    group.add_argument("--all-ready", action="store_true", help="every ready document")
    group.add_argument("--documents", nargs="+", metavar="NUMBER", help="ServiceTitan numbers")
    bc.set_defaults(handler=batch_create)
    ba = bs.add_parser("approve", help="approve a prepared batch (two-person rule if on)")
    ba.add_argument("batch_id", type=positive_int("batch number"))
    ba.set_defaults(handler=batch_approve)
    bl = bs.add_parser("list", help="batches with who prepared and approved them")
    bl.set_defaults(handler=batch_list)
    bw = bs.add_parser("show", help="a batch's documents, count and total (inspect before approving)")
    bw.add_argument("batch_id", type=int)
    bw.set_defaults(handler=batch_show)
    bk = bs.add_parser("correct", help="prepare a correction batch (credit memo / reversal) for documents "
                                        "changed after posting; it is posted only once approved")
    bk.add_argument("documents", nargs="+", metavar="NUMBER", help="ServiceTitan numbers")
    bk.set_defaults(handler=batch_correct)
    br = bs.add_parser("reopen", help="send a batch back for approval (its unposted documents return to ready)")
    br.add_argument("batch_id", type=int)
    br.set_defaults(handler=batch_reopen)

    m = sub.add_parser("map", help="mappings: suggest, import, export")
    ms = m.add_subparsers(dest="map_command", metavar="ACTION", required=True)
    sg = ms.add_parser("suggest", help="show suggestions for unmapped keys")
    sg.add_argument("--accept-min-score", type=float, default=None,
                    help="accept every suggestion scoring at least this (a rule you set)")
    sg.set_defaults(handler=map_suggest)
    im = ms.add_parser("import", help="import mappings from CSV")
    im.add_argument("file", type=Path)
    im.set_defaults(handler=map_import)
    ex = ms.add_parser("export", help="export mappings to CSV")
    ex.add_argument("file", type=Path)
    ex.set_defaults(handler=map_export)
    st = ms.add_parser("set", help="set one mapping")
    st.add_argument("kind", choices=sorted(mapping.KINDS))
    st.add_argument("source_key")
    st.add_argument("target")
    st.add_argument("--target-type", default="")
    st.set_defaults(handler=map_set)

    r = sub.add_parser("replay", help="queue failed documents to post again")
    rg = r.add_mutually_exclusive_group(required=True)
    rg.add_argument("--failed", action="store_true", help="every failed / needs-attention document")
    rg.add_argument("--batch", type=positive_int("--batch"))
    rg.add_argument("document", nargs="?", help="a ServiceTitan number")
    r.set_defaults(handler=replay)


def _status(text: str) -> str:
    """A status by its key or its label ("needs_mapping", "Needs mapping"); the error lists them in words."""
    wanted = " ".join(text.replace("_", " ").split()).casefold()
    for key, label in review.STATUS_LABELS.items():
        if wanted in (key.replace("_", " ").casefold(), label.casefold()):
            return key
    raise argparse.ArgumentTypeError(
        f"unknown status {text!r}; valid statuses: "
        + ", ".join(f"{key} ({label})" for key, label in review.STATUS_LABELS.items()))


def _profile(args):
    boot(args)
    return require_profile(args.profile)


def _find(profile, number: str) -> StDocument:
    doc = StDocument.get_or_none((StDocument.profile == profile) & (StDocument.number == number))
    if doc is None:
        raise CliError(f"no document numbered {number!r}")
    return doc


def review_list(args) -> int:
    profile = _profile(args)
    flt = review.ReviewFilter(statuses=args.status or [])
    shown = 0
    for row in review.iterate(profile, flt, sort="date", descending=False, limit=args.limit):  # streamed
        shown += 1
        amount = f"{row.amount:,.2f}" if row.amount is not None else "?"
        print(f"{mapping.kind_label(row.kind):<15} {row.number:<18} {row.date.date().isoformat() if row.date else '':<10} {row.st_vendor[:24]:<24} "
              f"{row.nav_vendor:<8} {row.dimension:<6} {amount:>12}  {review.STATUS_LABELS.get(row.status, row.status):<25} "
              f"{row.problem[:120]}")
    print(f"{shown} of {review.count(profile, flt)} documents")
    return 0


def review_reject(args) -> int:
    profile = _profile(args)
    try:
        batches.reject(_find(profile, args.document), args.reason)
    except (batches.BatchError, ValueError) as exc:
        raise CliError(str(exc)) from None
    print(f"{args.document} rejected")
    return 0


def review_release(args) -> int:
    profile = _profile(args)
    key = args.document.strip()
    matches = StDocument.select().where((StDocument.profile == profile) & (
        (StDocument.number == key) | (StDocument.st_id == (int(key) if key.isdigit() else -1))))
    docs = list(matches)
    held = [d for d in docs if d.status == DocStatus.HELD]
    if not docs:
        raise CliError(f"no document numbered {key!r}")
    if not held:
        raise CliError(f"{key} is not held ({', '.join(sorted({d.status for d in docs}))})")
    if len(held) > 1:
        ids = ", ".join(str(d.st_id) for d in held)
        raise CliError(f"{len(held)} held documents are numbered {key!r}: give the ServiceTitan id ({ids})")
    doc = held[0]
    held_for = doc.hold_reason
    try:
        holds.release(doc, args.reason)
    except holds.HoldError as exc:
        raise CliError(str(exc)) from None
    print(f"{key} released (was held: {held_for}); now {review.STATUS_LABELS.get(doc.status, doc.status)}"
          + (f": {doc.problem}" if doc.problem else ""))
    return 0


def review_reopen(args) -> int:
    profile = _profile(args)
    doc = _find(profile, args.document)
    try:
        batches.reopen_document(doc)
    except batches.BatchError as exc:
        raise CliError(str(exc)) from None
    doc = StDocument.get_by_id(doc.id)
    print(f"{args.document} reopened: {review.STATUS_LABELS.get(doc.status, doc.status)}"
          + (f" — {doc.problem}" if doc.problem else ""))
    return 0


def _batch(profile, batch_id: int) -> Batch:
    batch = Batch.get_or_none((Batch.id == batch_id) & (Batch.profile == profile))
    if batch is None:
        raise CliError(f"no batch {batch_id}")
    return batch


def batch_show(args) -> int:
    profile = _profile(args)
    view = batches.inspect(_batch(profile, args.batch_id))
    b = view.batch
    print(f"batch {b.id}: {view.status_label}; prepared by {b.prepared_by} {b.prepared_at.astimezone():%Y-%m-%d %H:%M}"
          + (f", approved by {b.approved_by} {b.approved_at.astimezone():%Y-%m-%d %H:%M}" if b.approved_at else ""))
    for line in view.lines:
        amount = f"{line.amount:,.2f}" if line.amount is not None else "?"
        print(f"  {line.st_ref:<20} {line.date:<10} {line.vendor[:28]:<28} {amount:>12}  {line.status:<24} "
              f"{line.nav_number:<12} {line.message[:80]}")
    print(f"{view.count} documents, total {view.total:,.2f}; {view.left_to_post} left to post")
    return 0


def batch_correct(args) -> int:
    from stnav_desktop.sync.app import corrections
    profile = _profile(args)
    docs = [_find(profile, n) for n in args.documents]
    for doc in docs:
        try:
            for line in corrections.propose(doc).summary():
                print(f"{args.documents[docs.index(doc)]}: {line}")
        except corrections.CorrectionError as exc:
            raise CliError(str(exc)) from None
    try:
        batch = batches.create_correction_batch(profile, [d.id for d in docs])
    except batches.BatchError as exc:
        raise CliError(str(exc)) from None
    print(f"correction batch {batch.id} prepared by {batch.prepared_by}; approve it (`stnav batch approve "
          f"{batch.id}`), then post it (`stnav post --batch {batch.id}`)")
    return 0


def batch_reopen(args) -> int:
    profile = _profile(args)
    try:
        count = batches.reopen_batch(_batch(profile, args.batch_id))
    except batches.BatchError as exc:
        raise CliError(str(exc)) from None
    print(f"batch {args.batch_id} reopened: {count} document(s) wait for approval again")
    return 0


def batch_create(args) -> int:
    profile = _profile(args)
    ids = None if args.all_ready else [_find(profile, n).id for n in args.documents]
    try:
        batch = batches.create_batch(profile, ids)
    except batches.BatchError as exc:
        raise CliError(str(exc)) from None
    print(f"batch {batch.id} prepared by {batch.prepared_by} with {batch.documents.count()} documents")
    return 0


def batch_approve(args) -> int:
    profile = _profile(args)
    batch = _batch(profile, args.batch_id)
    try:
        dropped = batches.approve(batch)
    except batches.BatchError as exc:
        raise CliError(str(exc)) from None
    view = batches.inspect(batch)
    print(f"batch {batch.id} (prepared by {batch.prepared_by}) approved by {batch.approved_by}: "
          f"{view.left_to_post} documents, total {view.postable_total:,.2f}")
    for line in dropped:
        print(f"  taken out: {line}")
    return 0


def batch_list(args) -> int:
    profile = _profile(args)
    for s in batches.list_batches(profile):
        b = s.batch
        print(f"batch {b.id:<5} {s.status_label:<20} prepared {b.prepared_by}@{b.prepared_at:%Y-%m-%d %H:%M} "
              f"approved {b.approved_by or '-'} {s.documents} docs {s.total:,.2f}  {s.status_line}")
    return 0


def map_suggest(args) -> int:
    profile = _profile(args)
    found = mapping.suggest(profile)
    for s in found:
        # a suggestion with a warning (NAV vendor mapped to another ServiceTitan vendor, conflicting phone
        # or postal code, another vendor as close) is never accepted by a rule: a person decides
        accepted = args.accept_min_score is not None and s.score >= args.accept_min_score and not s.warning
        if accepted:
            mapping.accept(profile, s)
        print(f"{mapping.KIND_LABELS.get(s.kind, s.kind):<26} {s.source_key:<8} {s.source_label[:40]:<40} -> {s.target:<10} {s.target_label[:40]:<40} "
              f"{s.score:5.1f}% {s.method}{'  ACCEPTED' if accepted else ''}{'  ⚠ ' + s.warning if s.warning else ''}")
    if args.accept_min_score is not None:
        counts = mapping.refresh_readiness(profile)
        print("readiness: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    print(f"{len(found)} suggestions")
    return 0


def map_import(args) -> int:
    profile = _profile(args)
    try:
        if args.file.is_dir():
            raise CliError(f"{args.file}: is a folder; give the CSV file")
        result = mapping.import_csv_bytes(profile, args.file.read_bytes())
    except OSError as exc:
        raise CliError(f"{args.file}: cannot be read ({exc.strerror or exc})") from None
    except mapping.MappingError as exc:
        raise CliError(f"{args.file}: {exc}; nothing was imported") from None
    if result.errors:
        for error in result.errors[1:]:
            print(f"  {args.file}: {error}")
        raise CliError(f"{args.file}: {result.errors[0]}"
                       + (f" (and {len(result.errors) - 1} more, listed above)" if len(result.errors) > 1 else "")
                       + "; nothing was imported")
    counts = mapping.refresh_readiness(profile)  # once, after the whole import
    print(f"{result.imported} mappings imported; " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return 0


def map_export(args) -> int:
    profile = _profile(args)
    try:
        args.file.write_text(mapping.export_csv(profile), encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CliError(f"{args.file}: cannot be written ({exc.strerror or exc})") from None
    print(f"mappings written to {args.file}")
    return 0


def map_set(args) -> int:
    profile = _profile(args)
    try:
        # only the documents using this key are checked again (mapping.documents_using)
        counts = mapping.map_and_refresh(profile, args.kind, args.source_key, args.target,
                                         target_type=args.target_type)
    except mapping.MappingError as exc:
        raise CliError(str(exc)) from None
    print(f"{args.kind} {args.source_key} -> {args.target}; documents using it: "
          + (", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none open"))
    return 0


def replay(args) -> int:
    profile = _profile(args)
    if args.document is not None:  # "" is a document number that does not exist, not "everything"
        count = posting.replay(profile, document_ids=[_find(profile, args.document).id])
    elif args.batch is not None:  # batch 0 is a batch number that does not exist, not "every batch"
        batch = Batch.get_or_none((Batch.id == args.batch) & (Batch.profile == profile))
        if batch is None:
            raise CliError(f"no batch {args.batch}")
        count = posting.replay(profile, batch=batch)
    else:
        count = posting.replay(profile)
    print(f"{count} document(s) queued to post again (run `stnav post`)")
    return 0
