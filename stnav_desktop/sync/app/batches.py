"""Batches and approval: a reviewer gathers ready documents into a batch; an approver approves it.
The batch records who prepared and who approved it (OS user) and when. With the two-person rule on,
the approver must differ from the preparer. Rejected documents keep their reason."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from stnav_desktop.store import audit, queries, settings
from stnav_desktop.store.backend import is_postgres
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import Batch, CorrectionItem, DocStatus, Profile, StDocument
from stnav_desktop.sync.app import mapping
from stnav_desktop.sync.domain import lifecycle


class BatchError(ValueError):
    pass


# Batch.status values. A batch is DONE only when every document in it reached a final state.
PREPARED, APPROVED, DONE = "prepared", "approved", "done"
BATCH_STATUS_LABELS = {PREPARED: "waiting for approval", APPROVED: "approved", "posting": "posting",
                       DONE: "done"}
# states a document cannot leave by posting again: the batch has nothing more to do for it
# in NAV (a draft is followed up by every run, outside its batch), or never to be posted
FINAL_STATES = frozenset({DocStatus.POSTED, DocStatus.IN_NAV_DRAFT, DocStatus.SKIPPED, DocStatus.REJECTED,
                          DocStatus.CHANGED_AFTER_POSTING})
# states ``stnav post`` / the Post button acts on (an unconfirmed one: NAV is asked first)
POSTABLE_STATES = frozenset({DocStatus.APPROVED, DocStatus.FAILED, DocStatus.POSTING, DocStatus.UNCONFIRMED})


def os_account() -> str:
    """The account signed in to this PC, asked of the operating system (not an environment variable a user
    can set): ``DOMAIN\\user`` on Windows, the login name of the process's user id elsewhere."""
    import os
    import sys

    if sys.platform == "win32":
        import ctypes

        size = ctypes.c_ulong(0)
        secur32 = ctypes.windll.secur32  # type: ignore[attr-defined]
        secur32.GetUserNameExW(2, None, ctypes.byref(size))  # NameSamCompatible: DOMAIN\user
        buffer = ctypes.create_unicode_buffer(size.value or 256)
        if secur32.GetUserNameExW(2, buffer, ctypes.byref(size)):
            return buffer.value
        return audit.current_actor()
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _same_account(a: str, b: str) -> bool:
    return a.casefold() == b.casefold() or a.split("\\")[-1].casefold() == b.split("\\")[-1].casefold() and (
        "\\" not in a or "\\" not in b)


def check_approver(batch: Batch, actor: str, total: Decimal) -> None:
    """Two-person rule, the list of who may approve, and the approval limits (per batch, per approver)."""
    profile = batch.profile
    if settings.get(profile, "approval.two_person_rule") and _same_account(actor, batch.prepared_by):
        raise BatchError(f"two-person rule: batch {batch.id} was prepared by {batch.prepared_by}; "
                         "someone else must approve it")
    approvers = [a for a in settings.get(profile, "approval.approvers") or [] if a]
    if approvers and not any(_same_account(actor, a) for a in approvers):
        raise BatchError(f"{actor} may not approve batches for profile {profile.name} "
                         f"(approvers: {', '.join(approvers)})")
    limits = {}
    for entry in settings.get(profile, "approval.approver_limits") or []:
        who, _sep, amount = str(entry).rpartition("=")
        limits[who.strip()] = Decimal(amount or "0")
    own = next((v for k, v in limits.items() if _same_account(actor, k)), None)
    batch_limit = settings.get(profile, "approval.batch_limit")
    if own is not None and total > own:
        raise BatchError(f"batch {batch.id} totals {total:,.2f}, above {actor}'s approval limit of {own:,.2f}")
    if batch_limit and total > Decimal(batch_limit):
        raise BatchError(f"batch {batch.id} totals {total:,.2f}, above the approval limit of "
                         f"{Decimal(batch_limit):,.2f} per batch: split it")


def _chunks(ids: list[int], size: int = 900) -> Iterable[list[int]]:
    """Id lists for ``IN (...)``: under SQLite's bound-variable limit of older builds (999)."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _ref(kind: str, number: str, st_id: int) -> str:
    """``lifecycle.st_ref`` from plain columns (no model object)."""
    prefix = {"purchase_order": "PO", "inventory_return": "RET"}.get(kind, "BILL")
    return f"{prefix}-{number or st_id}"


def create_batch(profile: Profile, document_ids: Iterable[int] | None = None, *, actor: str | None = None,
                 note: str = "") -> Batch:
    """A batch of READY documents not in another batch (all of them when ``document_ids`` is None).

    Set-based: the chosen documents are read as plain columns (no JSON), moved into the batch with one
    UPDATE per 900 ids (one UPDATE in all for every ready document) and named in one audit event, all in
    one transaction (which holds the write lock: no other window can batch the same documents meanwhile)."""
    actor = actor or os_account()
    free = (StDocument.profile == profile) & (StDocument.status == DocStatus.READY) & StDocument.batch.is_null()
    with db.atomic():
        if document_ids is not None:
            ids = list(dict.fromkeys(document_ids))
            found: set[int] = set()
            for chunk in _chunks(ids):
                found.update(i for (i,) in queries.rows(StDocument.select(StDocument.id).where(
                    free & StDocument.id.in_(chunk)).tuples()))
            missing = [i for i in ids if i not in found]
            if missing:
                bad = StDocument.select(StDocument.kind, StDocument.number, StDocument.st_id, StDocument.status,
                                        StDocument.batch).where(StDocument.id.in_(missing[:50]))
                reasons = [f"{lifecycle.st_ref(d)} is {d.status}" + (" and already in a batch" if d.batch_id else "")
                           for d in bad]
                raise BatchError("only ready documents outside other batches can be batched: " + "; ".join(reasons)
                                 + (f" (and {len(missing) - 50} more)" if len(missing) > 50 else ""))
            if not ids:
                raise BatchError("no ready documents to put in a batch")
        elif not StDocument.select(StDocument.id).where(free).exists():
            raise BatchError("no ready documents to put in a batch")
        batch = Batch.create(profile=profile, prepared_by=actor, note=note)
        if document_ids is None:
            StDocument.update(batch=batch).where(free).execute()
        else:
            for chunk in _chunks(ids):
                StDocument.update(batch=batch).where(free & StDocument.id.in_(chunk)).execute()
        refs = [_ref(kind, number, st_id) for kind, number, st_id in StDocument.select(
            StDocument.kind, StDocument.number, StDocument.st_id).where(StDocument.batch == batch)
            .order_by(StDocument.id).tuples().iterator()]
        audit.append("batch.prepared", profile=profile.name, actor=actor, nav_ref=f"batch {batch.id}",
                     detail={"batch": batch.id, "documents": refs, "note": note})
    return batch


def approve(batch: Batch, *, actor: str | None = None) -> list[str]:
    """Approve a prepared batch. Documents no longer ready (mapping changed, content changed) are taken
    out with their reason; returns those reasons.

    Set-based: the approver's rights (two-person rule, approvers, limits over the batch's total) are
    checked first; then, in one transaction, every document is re-checked from a streamed read (no model
    objects kept), the ones no longer ready are taken out one by one (rare), the rest approved with ONE
    ``UPDATE … WHERE batch = ? AND status = 'ready'``, and their audit events (one per document, naming it,
    so ``stnav audit show`` traces it) written with the batch's approval in one ``append_many``. Documents
    already final (posted before the batch was reopened) stay in the batch untouched."""
    actor = actor or os_account()
    if batch.status != "prepared":
        raise BatchError(f"batch {batch.id} is {batch.status}, not waiting for approval")
    if batch.kind == CORRECTIONS:
        check_approver(batch, actor, correction_total(batch))
        with db.atomic():
            batch.status, batch.approved_by, batch.approved_at = APPROVED, actor, utcnow()
            batch.save()
            audit.append("batch.approved", profile=batch.profile.name, actor=actor, nav_ref=f"batch {batch.id}",
                         detail={"batch": batch.id, "kind": CORRECTIONS, "prepared_by": batch.prepared_by})
        return []
    total = sum((Decimal(t) for (t,) in StDocument.select(StDocument.total).where(
        (StDocument.batch == batch) & (StDocument.status == DocStatus.READY)
        & StDocument.total.is_null(False)).tuples().iterator()), Decimal("0.00"))
    check_approver(batch, actor, total)
    profile = batch.profile
    ctx = mapping.plan_context(profile)
    dropped: list[str] = []
    events: list[dict[str, Any]] = []
    with db.atomic():
        locked = Batch.select().where(Batch.id == batch.id)
        current = (locked.for_update() if is_postgres(db) else locked).get()
        if current.status != PREPARED:  # another window or PC approved or reopened it meanwhile
            raise BatchError(f"batch {batch.id} is {current.status}, not waiting for approval")
        rows = StDocument.select(*mapping.CHECK_COLUMNS).where(StDocument.batch == batch).order_by(StDocument.id)
        if is_postgres(db):
            rows = rows.for_update()  # no other PC moves them between the check and the UPDATE
        out_ready: list[tuple[int, str, str]] = []
        out_other: list[int] = []
        for doc in rows.iterator():
            if doc.status in FINAL_STATES:  # a reopened batch's posted documents: they stay with their batch
                continue
            if doc.status != DocStatus.READY:
                dropped.append(f"{lifecycle.st_ref(doc)}: {doc.status}")
                out_other.append(doc.id)
                continue
            status, reason = mapping.evaluate(doc, ctx)
            if status != DocStatus.READY:
                dropped.append(f"{lifecycle.st_ref(doc)}: {reason or status}")
                out_ready.append((doc.id, status, reason))
                continue
            events.append({"action": f"document.{DocStatus.APPROVED}", "st_ref": lifecycle.st_ref(doc),
                           "nav_ref": doc.nav_number or "",
                           "detail": {"from": DocStatus.READY, "to": DocStatus.APPROVED, "reason": "",
                                      "version": doc.version, "batch": batch.id}})
        for doc_id, status, reason in out_ready:  # rare: per document, through the one audited transition
            lifecycle.transition(StDocument.get_by_id(doc_id), status, reason=reason, batch=None)
        for chunk in _chunks(out_other):
            StDocument.update(batch=None).where(StDocument.id.in_(chunk)).execute()
        approved = StDocument.update(status=DocStatus.APPROVED, problem="", retry_count=0, updated_at=utcnow()).where(
            (StDocument.batch == batch) & (StDocument.status == DocStatus.READY)).execute()
        if approved != len(events):  # cannot happen under the transaction's lock; never approve blind
            raise BatchError(f"batch {batch.id} changed while it was being approved; approve it again")
        batch.status = APPROVED
        batch.approved_by = actor
        batch.approved_at = utcnow()
        batch.save()
        events.append({"action": "batch.approved", "nav_ref": f"batch {batch.id}",
                       "detail": {"batch": batch.id, "prepared_by": batch.prepared_by, "dropped": dropped}})
        audit.append_many(events, actor=actor, profile=profile.name)
    return dropped


def reject(doc: StDocument, reason: str, *, actor: str | None = None) -> StDocument:
    if not reason.strip():
        raise BatchError(f"{lifecycle.st_ref(doc)}: a rejection needs a reason")
    return lifecycle.transition(doc, DocStatus.REJECTED, reason=reason, actor=actor, batch=None,
                                reject_reason=reason)


def reopen(doc: StDocument, *, actor: str | None = None) -> StDocument:
    """Undo a rejection: the document goes back to the mapping check."""
    lifecycle.transition(doc, DocStatus.NEEDS_MAPPING, reason="reopened", actor=actor, reject_reason="")
    mapping.refresh_readiness(doc.profile, documents=[doc])
    return doc


def require_postable(batch: Batch) -> bool:
    """Posting a batch is refused unless it was approved and still has something to post. Returns False
    for a batch that is done (nothing to do: posting it again is harmless, as after a crash that struck
    between the last document and the batch's closing)."""
    batch = Batch.get_by_id(batch.id)
    if batch.status == PREPARED:
        raise BatchError(f"approve batch {batch.id} first: it was prepared by {batch.prepared_by} and "
                         "nobody has approved it yet")
    if batch.kind != CORRECTIONS:
        close_if_done(batch)
        batch = Batch.get_by_id(batch.id)
    if batch.status == DONE:
        return False
    if not left_to_post(batch):
        raise BatchError(f"batch {batch.id} has nothing left to post"
                         + (" (replay the documents that need attention first)" if needs_attention(batch) else ""))
    return True


def left_to_post(batch: Batch) -> int:
    if batch.kind == CORRECTIONS:
        return len(correction_documents(batch, open_only=True))
    return StDocument.select().where((StDocument.batch == batch)
                                     & StDocument.status.in_(list(POSTABLE_STATES))).count()


def needs_attention(batch: Batch) -> int:
    return StDocument.select().where((StDocument.batch == batch)
                                     & (StDocument.status == DocStatus.NEEDS_ATTENTION)).count()


def is_complete(batch: Batch) -> bool:
    """Every document of the batch reached a final state (and the batch holds at least one)."""
    docs = StDocument.select(StDocument.status).where(StDocument.batch == batch)
    statuses = [d.status for d in docs]
    return bool(statuses) and all(s in FINAL_STATES for s in statuses)


def close_if_done(batch: Batch, *, profile_name: str | None = None) -> bool:
    """After a posting run: mark the batch done when every document in it reached a final state. An
    unapproved batch is never closed (the bug this guards against: posting a prepared batch closed it
    and stranded its ready documents)."""
    batch = Batch.get_by_id(batch.id)  # the current row: another window may have changed it
    if batch.status in (PREPARED, DONE) or not is_complete(batch):
        return False
    with db.atomic():
        batch.status = DONE
        batch.save()
        audit.append("batch.done", profile=profile_name or batch.profile.name, nav_ref=f"batch {batch.id}",
                     detail={"batch": batch.id})
    return True


def close_finished(results: Iterable) -> int:
    """After a run over several batches (scheduled retries): close each batch that run finished."""
    ids = {r.document_id for r in results}
    if not ids:
        return 0
    batch_ids = {d.batch_id for d in StDocument.select(StDocument.batch).where(StDocument.id.in_(list(ids)))
                 if d.batch_id}
    return sum(1 for b in Batch.select().where(Batch.id.in_(list(batch_ids))) if close_if_done(b))


def reopen_batch(batch: Batch, *, actor: str | None = None) -> int:
    """Send a batch back for approval: its approved (not yet posted) documents return to ready and the
    approval is cleared, so it must be approved again; posted documents stay posted. For a batch closed
    while it still held unposted documents, or an approval given by mistake. Returns how many documents
    go back to approval. Set-based like ``approve``: one UPDATE, one ``append_many`` (an event per document
    moved), then the readiness re-check of the batch's ready documents in bulk."""
    actor = actor or audit.current_actor()
    batch = Batch.get_by_id(batch.id)
    reopenable = (DocStatus.READY, DocStatus.APPROVED, DocStatus.FAILED, DocStatus.NEEDS_ATTENTION)
    with db.atomic():
        docs = list(queries.rows(StDocument.select(StDocument.id, StDocument.kind, StDocument.number, StDocument.st_id,
                                           StDocument.status, StDocument.version, StDocument.nav_number)
                         .where(StDocument.batch == batch).order_by(StDocument.id).tuples()))
        busy = next((r for r in docs if r[4] == DocStatus.POSTING), None)
        if busy:
            raise BatchError(f"batch {batch.id} is being posted ({_ref(busy[1], busy[2], busy[3])} is in flight); "
                             "reopen it when posting has finished")
        waiting = [r for r in docs if r[4] in reopenable]
        if not waiting:
            raise BatchError(f"batch {batch.id} has nothing to reopen: every document in it reached a final state")
        reason = f"batch {batch.id} reopened"
        moved = [r for r in waiting if r[4] != DocStatus.READY]
        for chunk in _chunks([r[0] for r in moved]):
            StDocument.update(status=DocStatus.READY, problem="", retry_count=0, next_retry_at=None,
                              updated_at=utcnow()).where(StDocument.id.in_(chunk)).execute()
        batch.status = PREPARED
        batch.approved_by = None
        batch.approved_at = None
        batch.save()
        events: list[dict[str, Any]] = [
            {"action": f"document.{DocStatus.READY}", "st_ref": _ref(kind, number, st_id), "nav_ref": nav_number or "",
             "detail": {"from": status, "to": DocStatus.READY, "reason": reason, "version": version}}
            for _id, kind, number, st_id, status, version, nav_number in moved]
        events.append({"action": "batch.reopened", "nav_ref": f"batch {batch.id}",
                       "detail": {"batch": batch.id, "documents": [_ref(r[1], r[2], r[3]) for r in waiting]}})
        audit.append_many(events, actor=actor, profile=batch.profile.name)
    mapping.refresh_readiness(batch.profile, documents=StDocument.select(*mapping.CHECK_COLUMNS).where(
        (StDocument.batch == batch) & (StDocument.status == DocStatus.READY)))
    return len(waiting)


def reopen_document(doc: StDocument, *, actor: str | None = None) -> StDocument:
    """``stnav review reopen DOC``: a rejected document goes back to the mapping check; a document that
    is ready, approved or needs attention leaves its batch and goes back to the mapping check too (so it
    can be put in a new batch). Posted documents cannot be reopened: correct them with a credit memo."""
    actor = actor or audit.current_actor()
    if doc.status == DocStatus.REJECTED:
        return reopen(doc, actor=actor)
    if doc.status in (DocStatus.POSTED, DocStatus.CHANGED_AFTER_POSTING):
        raise BatchError(f"{lifecycle.st_ref(doc)} is posted in NAV ({doc.nav_number or 'number unknown'}); "
                         "correct it with a credit memo instead")
    if doc.status == DocStatus.POSTING:
        raise BatchError(f"{lifecycle.st_ref(doc)} is being posted right now; wait for the result")
    if doc.status in (DocStatus.NEEDS_MAPPING, DocStatus.SKIPPED) and doc.batch_id is None:
        mapping.refresh_readiness(doc.profile, documents=[doc])
        return doc
    old_batch = doc.batch_id
    lifecycle.transition(doc, DocStatus.NEEDS_MAPPING, reason="reopened", actor=actor, batch=None,
                         retry_count=0, next_retry_at=None, detail={"batch": old_batch})
    mapping.refresh_readiness(doc.profile, documents=[doc])
    return doc


class BatchSummary:
    def __init__(self, batch: Batch, documents: int, total, by_status: dict[str, int]) -> None:
        self.batch = batch
        self.id = batch.id
        self.documents = documents
        self.total = total
        self.by_status = by_status

    @property
    def status_label(self) -> str:
        label = BATCH_STATUS_LABELS.get(self.batch.status, self.batch.status)
        return label + (" (corrections)" if self.batch.kind == CORRECTIONS else "")

    @property
    def left_to_post(self) -> int:
        if self.batch.kind == CORRECTIONS:
            return self.by_status.get(DocStatus.CHANGED_AFTER_POSTING, 0)
        return sum(n for s, n in self.by_status.items() if s in POSTABLE_STATES)

    @property
    def can_approve(self) -> bool:
        return self.batch.status == PREPARED and self.documents > 0

    @property
    def can_post(self) -> bool:
        return self.batch.status == APPROVED and self.left_to_post > 0

    @property
    def status_line(self) -> str:
        from stnav_desktop.sync.views.review import STATUS_LABELS

        return ", ".join(f"{n} {STATUS_LABELS.get(s, s).lower()}" for s, n in sorted(self.by_status.items()))


def list_batches(profile: Profile, limit: int = 200) -> list[BatchSummary]:
    """The latest batches with their counts per status and totals: one query for all their documents
    (plain tuples, no model objects), so the list stays quick with large batches."""
    listed = list(Batch.select().where(Batch.profile == profile).order_by(Batch.id.desc()).limit(limit))
    rows: dict[int, list[tuple[str, Decimal | None]]] = {b.id: [] for b in listed}
    plain = [b.id for b in listed if b.kind != CORRECTIONS]
    if plain:
        for batch_id, status, total in cast("Iterable[tuple[int, str, Any]]", StDocument.select(
                StDocument.batch, StDocument.status, StDocument.total).where(StDocument.batch.in_(plain)).tuples()):
            rows[batch_id].append((status, Decimal(total) if total is not None else None))
    out = []
    for batch in listed:
        docs = ([(d.status, d.total) for d in correction_documents(batch)] if batch.kind == CORRECTIONS
                else rows[batch.id])
        by_status: dict[str, int] = {}
        for status, _total in docs:
            by_status[status] = by_status.get(status, 0) + 1
        total = sum((t or Decimal(0) for _s, t in docs), Decimal("0.00"))
        out.append(BatchSummary(batch, len(docs), total, by_status))
    return out


@dataclass
class BatchLine:
    """One document of a batch as the batch view shows it: before approval what will be posted, after
    posting the result (NAV number, or why not) — it stays with the batch."""
    document_id: int
    st_ref: str
    date: str
    vendor: str
    amount: Decimal | None
    status: str  # in words
    nav_number: str
    message: str
    final: bool
    status_key: str = field(default="", repr=False)


@dataclass
class BatchView:
    batch: Batch
    lines: list[BatchLine]

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def total(self) -> Decimal:
        return sum((ln.amount or Decimal(0) for ln in self.lines), Decimal("0.00"))

    @property
    def left_to_post(self) -> int:
        states = {DocStatus.CHANGED_AFTER_POSTING} if self.batch.kind == CORRECTIONS else POSTABLE_STATES
        return sum(1 for ln in self.lines if ln.status_key in states)

    @property
    def postable_total(self) -> Decimal:
        if self.batch.kind == CORRECTIONS:
            return sum((ln.amount or Decimal(0) for ln in self.lines
                        if ln.status_key == DocStatus.CHANGED_AFTER_POSTING), Decimal("0.00"))
        return sum((ln.amount or Decimal(0) for ln in self.lines
                    if ln.status_key in POSTABLE_STATES | {DocStatus.READY}),
                   Decimal("0.00"))

    @property
    def status_label(self) -> str:
        label = BATCH_STATUS_LABELS.get(self.batch.status, self.batch.status)
        return label + (" (corrections)" if self.batch.kind == CORRECTIONS else "")


def _inspect_corrections(batch: Batch) -> BatchView:
    from stnav_desktop.sync.app import corrections
    from stnav_desktop.sync.views.review import STATUS_LABELS

    results = {i.document_id: i.result for i in CorrectionItem.select().where(CorrectionItem.batch == batch)}
    lines = []
    for d in correction_documents(batch):
        message = results.get(d.id, "")
        amount = d.total
        if d.status == DocStatus.CHANGED_AFTER_POSTING:
            try:
                proposal = corrections.propose(d)
                amount = proposal.corrected.st_total
                message = message or " · ".join(proposal.summary())
            except corrections.CorrectionError as exc:
                message = message or str(exc)
        lines.append(BatchLine(d.id, lifecycle.st_ref(d), d.doc_date.date().isoformat() if d.doc_date else "",
                               d.vendor_name, amount, STATUS_LABELS.get(d.status, d.status), d.nav_number or "",
                               message, d.status != DocStatus.CHANGED_AFTER_POSTING, d.status))
    return BatchView(batch, lines)


def inspect(batch: Batch) -> BatchView:
    """A batch's documents with count, total and (after posting) each document's result."""
    from stnav_desktop.store.models import PostingAttempt
    from stnav_desktop.sync.views.review import STATUS_LABELS

    batch = Batch.get_by_id(batch.id)
    if batch.kind == CORRECTIONS:
        return _inspect_corrections(batch)
    # the columns the view shows (no JSON payloads): a batch of 8,000 documents reads in a blink
    docs = list(StDocument.select(StDocument.id, StDocument.kind, StDocument.number, StDocument.st_id,
                                  StDocument.doc_date, StDocument.vendor_name, StDocument.total, StDocument.status,
                                  StDocument.nav_number, StDocument.problem)
                .where(StDocument.batch == batch).order_by(StDocument.kind, StDocument.number))
    last_error: dict[int, str] = {}
    if docs:
        in_batch = StDocument.select(StDocument.id).where(StDocument.batch == batch)
        for doc_id, error in (PostingAttempt.select(PostingAttempt.document, PostingAttempt.error)
                              .where(PostingAttempt.document.in_(in_batch) & (PostingAttempt.error != ""))
                              .order_by(PostingAttempt.id).tuples().iterator()):
            last_error[doc_id] = error
    posted_by = _posted_by([lifecycle.st_ref(d) for d in docs if d.status == DocStatus.POSTED])
    lines = []
    for d in docs:
        message = d.problem or (last_error.get(d.id, "") if d.status != DocStatus.POSTED else "")
        if d.status == DocStatus.POSTED and not message:
            who = posted_by.get(lifecycle.st_ref(d))
            message = f"posted in NAV by {who}" if who else "posted in NAV"
        line = BatchLine(d.id, lifecycle.st_ref(d), d.doc_date.date().isoformat() if d.doc_date else "",
                         d.vendor_name, d.total, STATUS_LABELS.get(d.status, d.status), d.nav_number or "", message,
                         d.status in FINAL_STATES, d.status)
        lines.append(line)
    return BatchView(batch, lines)


def _posted_by(refs: list[str]) -> dict[str, str]:
    """Who posted each document, and on which PC, as the audit trail says (``carol on AP-PC-2``): on a
    store several PCs share, both windows show who posted what (issue #19, item 2)."""
    from stnav_desktop.store.models import AuditEvent

    out: dict[str, str] = {}
    for start in range(0, len(refs), 500):
        chunk = refs[start:start + 500]
        for ref, actor, host in (AuditEvent.select(AuditEvent.st_ref, AuditEvent.actor, AuditEvent.host)
                                 .where((AuditEvent.action == f"document.{DocStatus.POSTED}")
                                        & AuditEvent.st_ref.in_(chunk))
                                 .order_by(AuditEvent.seq).tuples().iterator()):
            out[ref] = f"{actor} on {host}" if host else actor  # the last posting event wins
    return out


# --- corrections (credit memo / reversal) through an approved batch ---------------------------------
DOCUMENTS, CORRECTIONS = "documents", "corrections"


def correction_documents(batch: Batch, *, open_only: bool = False) -> list[StDocument]:
    query = (StDocument.select().join(CorrectionItem, on=(CorrectionItem.document == StDocument.id))
             .where(CorrectionItem.batch == batch).order_by(StDocument.id))
    if open_only:
        query = query.where(StDocument.status == DocStatus.CHANGED_AFTER_POSTING)
    return list(query)


def create_correction_batch(profile: Profile, document_ids: Iterable[int], *, actor: str | None = None,
                            note: str = "") -> Batch:
    """A batch of corrections for documents changed in ServiceTitan after posting: each gets a proposal
    (reversal + corrected document) checked now; it is posted only after the batch is approved. The
    documents stay in their original batch (its history); the correction batch lists them."""
    from stnav_desktop.sync.app import corrections
    actor = actor or os_account()
    ids = list(document_ids)
    docs = list(StDocument.select().where((StDocument.profile == profile) & StDocument.id.in_(ids)))
    if not docs:
        raise BatchError("no documents to correct")
    problems = []
    for doc in docs:
        pending = (CorrectionItem.select().join(Batch).where((CorrectionItem.document == doc)
                                                             & (Batch.status != DONE)).first())
        if pending is not None:
            problems.append(f"{lifecycle.st_ref(doc)} is already in correction batch {pending.batch_id}")
            continue
        try:
            corrections.propose(doc)
        except corrections.CorrectionError as exc:
            problems.append(str(exc))
    if problems:
        raise BatchError("; ".join(problems))
    with db.atomic():
        batch = Batch.create(profile=profile, prepared_by=actor, note=note, kind=CORRECTIONS)
        for doc in docs:
            CorrectionItem.create(batch=batch, document=doc)
        audit.append("batch.prepared", profile=profile.name, actor=actor, nav_ref=f"batch {batch.id}",
                     detail={"batch": batch.id, "kind": CORRECTIONS,
                             "documents": [lifecycle.st_ref(d) for d in docs], "note": note})
    return batch


def correction_total(batch: Batch) -> Decimal:
    """What an approver of a correction batch signs for: the corrected documents' new totals."""
    from stnav_desktop.sync.app import corrections
    total = Decimal("0.00")
    for doc in correction_documents(batch, open_only=True):
        try:
            total += corrections.propose(doc).corrected.st_total
        except corrections.CorrectionError:
            continue
    return total


def post_correction_batch(batch: Batch, books, *, progress=None) -> list:
    """Post an approved correction batch: for each document the reversal, then the corrected document
    (each found before it is created, so a rerun never doubles). Returns posting.PostResult per document."""
    from stnav_desktop.sync.app import corrections
    from stnav_desktop.sync.app.posting import Outcome, PostResult

    batch = Batch.get_by_id(batch.id)
    if batch.kind != CORRECTIONS:
        raise BatchError(f"batch {batch.id} holds documents, not corrections")
    if batch.status != APPROVED:
        raise BatchError(f"approve batch {batch.id} first: corrections are posted only from an approved batch")
    docs = correction_documents(batch, open_only=True)
    results = []
    for index, doc in enumerate(docs, 1):
        try:
            numbers = corrections.approve_and_post(doc, books, actor=batch.approved_by, batch=batch)
            result = PostResult(doc.id, lifecycle.st_ref(doc), Outcome.POSTED, "corrected: " + ", ".join(numbers),
                                numbers[-1])
        except Exception as exc:  # one document's failure never stops the rest; it stays open to retry
            result = PostResult(doc.id, lifecycle.st_ref(doc), Outcome.FAILED, str(exc))
        CorrectionItem.update(result=result.message).where((CorrectionItem.batch == batch)
                                                           & (CorrectionItem.document == doc.id)).execute()
        results.append(result)
        if progress:
            progress(index, len(docs), result)
    if not correction_documents(batch, open_only=True):
        with db.atomic():
            batch.status = DONE
            batch.save()
            audit.append("batch.done", profile=batch.profile.name, nav_ref=f"batch {batch.id}",
                         detail={"batch": batch.id, "kind": CORRECTIONS})
    return results
