"""Local actions on a store with 10,000 documents and 50,000 audit events, each timed as the user runs it
(the service functions the window and the CLI call), against the old code measured in the same run on a
copy of the same store.

Run: .venv/bin/python benchmarks/bench_local_actions.py [--documents 10000] [--events 50000] [--repeat 3]
                                                        [--before-tree DIR | --before-rev 4162b74 | --no-before]

The store is built once (``benchmarks/bigstore.py``) and copied; each action then runs in its own
subprocess on a fresh copy (so one action's writes never help or hurt the next, and each peak RSS is the
action's own), once with this tree and once with the old tree (``git archive 4162b74 stnav_desktop``
unpacked into a temporary folder unless ``--before-tree`` names one). Per action: seconds (the action
only, not the untimed set-up such as preparing the batch an approval needs), SQL statements executed,
peak RSS of the process, and the ratio old/new. Exits 1 if an action of this tree exceeds 1 s.

Keychain: the workers use no keychain (events hash-chained, not sealed): a seal is one HMAC per event.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIMIT_S = 1.0

# (name, what the user does, the code path timed)
ACTIONS = [
    ("batch_month", "batch create: a month's ready documents (Review tab)"),
    ("batch_all", "batch create --all-ready"),
    ("approve_month", "batch approve: the month's batch"),
    ("approve_all", "batch approve: the --all-ready batch"),
    ("reopen_all", "batch reopen: the approved --all-ready batch"),
    ("map_vendor_window", "vendor picked in the window (map_and_refresh)"),
    ("map_vendor_cli", "stnav map set vendor"),
    ("map_item_cli", "stnav map set item (a SKU inside the lines)"),
    ("reconcile", "reconcile a posted month (G/L entries given)"),
    ("review_list", "stnav review list"),
    ("review_list_all", "stnav review list --limit 100000 (every document)"),
    ("batch_show", "stnav batch show (the --all-ready batch)"),
    ("audit_verify", "stnav audit verify"),
]


# --- the worker: one action on one copy of the store with one tree of the code ------------------------

def _count_statements() -> list[int]:
    import peewee

    counter = [0]
    original = peewee.Database.execute_sql

    def counted(self, sql, params=None, *args, **kwargs):
        counter[0] += 1
        return original(self, sql, params, *args, **kwargs)

    peewee.Database.execute_sql = counted  # type: ignore[method-assign]
    return counter


def _cli(argv: list[str]) -> int:
    from stnav_desktop.cli import main

    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = main(argv)
    if code:
        raise SystemExit(f"stnav {' '.join(argv)} exited {code}: {out.getvalue()[-300:]}")
    return code


def _month_ids(profile, month: str) -> list[int]:
    from stnav_desktop.store.db import db

    rows = db.execute_sql("SELECT id FROM st_document WHERE profile_id = ? AND status = 'ready' AND batch_id IS NULL "
                          "AND doc_date >= ? AND doc_date < ?", (profile.id, f"{month}-01", _next_month(month)))
    return [r[0] for r in rows]


def _next_month(month: str) -> str:
    year, mon = (int(x) for x in month.split("-"))
    return f"{year + (mon == 12)}-{mon % 12 + 1:02d}-01"


def _gl_for(profile, month: str) -> list:
    """What NAV's G/L holds for the month's posted documents (clearing model): a bill's journal debits cost
    and credits clearing; a PO's invoice debits clearing and credits payables. Read with plain SQL (the same
    for both trees)."""
    from datetime import date
    from decimal import Decimal

    from stnav_desktop.connectors.nav.books import GLEntry
    from stnav_desktop.store.db import db

    rows = db.execute_sql(
        "SELECT d.kind, d.st_id, d.nav_number, d.total, d.doc_date, m.target FROM st_document d "
        "LEFT JOIN mapping m ON m.profile_id = d.profile_id AND m.kind = 'business_unit' "
        "AND m.source_key = CAST(d.business_unit_st_id AS TEXT) "
        "WHERE d.profile_id = ? AND d.status = 'posted' AND d.doc_date >= ? AND d.doc_date < ?",
        (profile.id, f"{month}-01", _next_month(month)))
    out, n, zero = [], 0, Decimal("0")
    for kind, st_id, nav_number, total, doc_date, territory in rows:
        amount, when = Decimal(total), date.fromisoformat(doc_date[:10])
        dims = {"TERRITORY": territory} if territory else {}
        if kind == "purchase_order":
            pairs = [("2950", amount, zero), ("2110", zero, amount)]
            number, doc_type = nav_number, "Invoice"
        else:
            pairs = [("6120", amount, zero), ("2950", zero, amount)]
            number, doc_type = f"STB{st_id}", ""
        for account, debit, credit in pairs:
            n += 1
            out.append(GLEntry(n, when, number, doc_type, account, "bench", debit, credit, dims))
    return out


def worker(action: str, home: str, tree: str, month: str, posted_month: str) -> dict:
    sys.path.insert(0, tree)
    os.environ["STNAV_HOME"] = home
    import stnav_desktop

    assert str(Path(stnav_desktop.__file__).resolve()).startswith(str(Path(tree).resolve())), stnav_desktop.__file__
    from stnav_desktop import runtime

    runtime.start()
    from stnav_desktop.store import settings
    from stnav_desktop.store.models import Batch
    from stnav_desktop.sync.app import batches, mapping

    profile = settings.get_profile("default")
    timed = None
    note = ""
    if action == "batch_month":
        ids = _month_ids(profile, month)
        timed = lambda: batches.create_batch(profile, ids, actor="clerk")  # noqa: E731
        note = f"{len(ids)} documents"
    elif action == "batch_all":
        timed = lambda: batches.create_batch(profile, None, actor="clerk")  # noqa: E731
    elif action in ("approve_month", "approve_all"):
        ids = _month_ids(profile, month) if action == "approve_month" else None
        batch = batches.create_batch(profile, ids, actor="clerk")
        note = f"{batch.documents.count()} documents"
        timed = lambda: batches.approve(Batch.get_by_id(batch.id), actor="controller")  # noqa: E731
    elif action == "reopen_all":
        batch = batches.create_batch(profile, None, actor="clerk")
        batches.approve(batch, actor="controller")
        timed = lambda: batches.reopen_batch(batch, actor="controller")  # noqa: E731
        note = f"{batch.documents.count()} documents"
    elif action == "map_vendor_window":
        unmapped = _unmapped_vendor(profile)
        timed = lambda: mapping.map_and_refresh(profile, "vendor", unmapped, "V10000", actor="clerk")  # noqa: E731
        note = f"vendor {unmapped}"
    elif action == "map_vendor_cli":
        unmapped = _unmapped_vendor(profile)
        timed = lambda: _cli(["map", "set", "vendor", str(unmapped), "V10000"])  # noqa: E731
        note = f"vendor {unmapped}"
    elif action == "map_item_cli":
        timed = lambda: _cli(["map", "set", "item", "3002", "1000", "--target-type", "Item"])  # noqa: E731
        note = "SKU 3002"
    elif action == "reconcile":
        from stnav_desktop.sync.views import reconcile

        gl = _gl_for(profile, posted_month)
        timed = lambda: reconcile.reconcile(profile, posted_month, gl)  # noqa: E731
        note = f"{posted_month}, {len(gl)} G/L entries"
    elif action == "review_list":
        timed = lambda: _cli(["review", "list"])  # noqa: E731
    elif action == "review_list_all":
        timed = lambda: _cli(["review", "list", "--limit", "100000"])  # noqa: E731
    elif action == "batch_show":
        batch = batches.create_batch(profile, None, actor="clerk")
        timed = lambda: _cli(["batch", "show", str(batch.id)])  # noqa: E731
        note = f"{batch.documents.count()} documents"
    elif action == "audit_verify":
        timed = lambda: _cli(["audit", "verify"])  # noqa: E731
    else:
        raise SystemExit(f"unknown action {action}")
    rss_before = _rss_mb("VmRSS")
    _reset_peak()
    counter = _count_statements()
    start = time.perf_counter()
    result = timed()
    seconds = time.perf_counter() - start
    statements = counter[0]
    if action.startswith("approve") and isinstance(result, list):
        note += f", {len(result)} taken out"
    if action == "reconcile":
        note += f", {len(result.lines)} document lines"
    return {"seconds": seconds, "statements": statements,
            "rss_mb": _rss_mb("VmHWM"), "rss_before_mb": rss_before,
            "note": note}


def _rss_mb(field: str) -> float:
    """VmRSS / VmHWM of this process (Linux). ``ru_maxrss`` would not do: it survives exec, so a worker
    would report its parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    """Start the peak (VmHWM) from the current RSS, so the peak printed is the action's."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _unmapped_vendor(profile) -> int:
    from stnav_desktop.store.db import db

    row = db.execute_sql("SELECT vendor_st_id, COUNT(*) FROM st_document WHERE profile_id = ? AND status = "
                         "'needs_mapping' GROUP BY vendor_st_id ORDER BY 2 DESC LIMIT 1", (profile.id,)).fetchone()
    return int(row[0])


# --- the parent: build once, run every action on both trees -----------------------------------------

def _run(action: str, pristine: Path, tree: Path, month: str, posted_month: str) -> dict:
    home = Path(tempfile.mkdtemp(prefix="stnav-bench-act-"))
    try:
        shutil.copytree(pristine, home, dirs_exist_ok=True)
        if tree != ROOT:
            from benchmarks.bigstore import as_schema_of

            as_schema_of(home, tree)
        env = dict(os.environ, STNAV_HOME=str(home), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
                   DBUS_SESSION_BUS_ADDRESS="disabled:", PYTHONPATH=str(tree))
        proc = subprocess.run([sys.executable, __file__, "--worker", action, "--home", str(home), "--tree",
                               str(tree), "--month", month, "--posted-month", posted_month],
                              capture_output=True, text=True, env=env, check=False)
        if proc.returncode:
            return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["failed"]}
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _median(runs: list[dict]) -> dict:
    """The run with the median time (each run on a fresh copy of the store; old and new alternate)."""
    good = [r for r in runs if "error" not in r]
    if len(good) < len(runs):
        return next(r for r in runs if "error" in r)
    return sorted(good, key=lambda r: r["seconds"])[len(good) // 2]


def _before_tree(args) -> Path | None:
    if args.no_before:
        return None
    if args.before_tree:
        return Path(args.before_tree).resolve()
    target = Path(tempfile.mkdtemp(prefix="stnav-before-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before_rev, "stnav_desktop"],
                             capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--before-tree", default=None, help="a folder holding the old stnav_desktop package")
    parser.add_argument("--before-rev", default="4162b74", help="git revision of the old code (default 4162b74)")
    parser.add_argument("--no-before", action="store_true", help="measure this tree only")
    parser.add_argument("--only", action="append", default=[], help="run only this action (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per action and tree; the median is printed")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--home", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--tree", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--month", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--posted-month", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.home, args.tree, args.month, args.posted_month)))
        return 0

    pristine = Path(tempfile.mkdtemp(prefix="stnav-bench-big-"))
    os.environ["STNAV_HOME"] = str(pristine)
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = "disabled:"
    sys.path.insert(0, str(ROOT))
    from benchmarks.bigstore import build_store
    from stnav_desktop.store.db import close_db, db

    info = build_store(args.documents, args.events)
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    close_db()
    month = info.months[-2]  # a recent month: mostly ready
    posted_month = info.months[1]  # an early month: posted
    print(f"store: {info.documents:,} documents ({info.purchase_orders:,} POs, {info.bills:,} bills) over "
          f"{len(info.months)} months, {info.audit_events:,} audit events; "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(info.by_status.items())) + f"; built in {info.seconds:.1f} s")
    before = _before_tree(args)
    print(f"new code: {ROOT / 'stnav_desktop'}" + (f"; old code: {before / 'stnav_desktop'}"
                                                    f" ({args.before_tree or args.before_rev})" if before else ""))
    print()
    header = f"{'action':<52} {'new s':>7} {'old s':>7} {'old/new':>8} {'SQL new':>8} {'SQL old':>8} " \
             f"{'RSS new':>8} {'RSS old':>8}  note"
    print(header)
    print("-" * len(header))
    over = []
    for name, label in ACTIONS:
        if args.only and name not in args.only:
            continue
        new = _median([_run(name, pristine, ROOT, month, posted_month) for _ in range(args.repeat)])
        old = _median([_run(name, pristine, before, month, posted_month) for _ in range(args.repeat)]) \
            if before else None
        if "error" in new:
            print(f"{label:<52} new code failed: {new['error']}")
            over.append(name)
            continue
        if new["seconds"] > LIMIT_S:
            over.append(name)
        old_s = f"{old['seconds']:7.2f}" if old and "error" not in old else f"{'-':>7}"
        ratio = f"{old['seconds'] / new['seconds']:7.1f}x" if old and "error" not in old else f"{'-':>8}"
        old_sql = f"{old['statements']:8,}" if old and "error" not in old else f"{'-':>8}"
        old_rss = f"{old['rss_mb']:6.0f}MB" if old and "error" not in old else f"{'-':>8}"
        print(f"{label:<52} {new['seconds']:7.2f} {old_s} {ratio} {new['statements']:8,} {old_sql} "
              f"{new['rss_mb']:6.0f}MB {old_rss}  {new['note']}"
              + (f" (old failed: {old['error']})" if old and "error" in old else ""))
    print()
    print(f"target: every action <= {LIMIT_S:.1f} s with this tree; "
          + ("all met" if not over else f"NOT met: {', '.join(over)}"))
    shutil.rmtree(pristine, ignore_errors=True)
    if before and not args.before_tree:
        shutil.rmtree(before, ignore_errors=True)
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
