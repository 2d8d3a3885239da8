"""Micro benchmark: a first pull's staging text/hash and audit share, the code before stagefast (the frozen
references of tests/foundation/test_staging_equivalence.py and test_audit_equivalence.py) against the
current one, in one run: ``documents.prepare`` (stored JSON text, content hash, grid columns) over every
record of the captured export pages, and ``audit.append_many`` of one ``document.pulled`` event per record
(details as the pull writes them: id, total, status, reason, problems), a page at a time.

    .venv/bin/python benchmarks/bench_staging.py [--pages DIR] [--pos 20000] [--repeat 3]

Without captured pages (capture them with benchmarks/st_pages.py) the simulator's dataset of --pos
purchase orders is used, read as the connector reads it. CPU time (time.process_time), GC disabled as in
the pull, best of --repeat. The audit figures are the per-event work (redaction, detail text, hash, MAC):
the current append_many runs against a scratch SQLite store with its INSERT skipped, the reference
computes the same rows in memory."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stnav_desktop.connectors.servicetitan import parsing  # noqa: E402
from stnav_desktop.store.models import DocStatus, SourceKind  # noqa: E402
from stnav_desktop.sync.app import documents  # noqa: E402
from tests.foundation import test_audit_equivalence as audit_ref  # noqa: E402
from tests.foundation import test_staging_equivalence as staging_ref  # noqa: E402

KINDS = {"purchase-orders": SourceKind.PURCHASE_ORDER, "inventory-bills": SourceKind.INVENTORY_BILL,
         "returns": SourceKind.INVENTORY_RETURN}


def records(pages: Path, pos: int) -> list[tuple[str, dict[str, Any]]]:
    out = []
    if pages.is_dir() and any(pages.glob("*.json")):
        for path in sorted(pages.glob("*.json")):
            kind = KINDS.get(path.stem.rsplit("-", 1)[0])
            if kind:
                out += [(kind, raw) for raw in parsing.loads(path.read_bytes())["data"]]
        return out
    from stnav_desktop.sandbox import jsonutil
    from stnav_desktop.sandbox.servicetitan.data import Dataset

    data = Dataset(tenant=1234567, now=datetime(2026, 11, 30, 12, 0, tzinfo=UTC), purchase_orders=pos)
    for attr, kind in (("purchase_orders", SourceKind.PURCHASE_ORDER), ("bills", SourceKind.INVENTORY_BILL),
                       ("returns", SourceKind.INVENTORY_RETURN)):
        for record in getattr(data, attr).values():
            text = staging_ref._SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", jsonutil.dumps(record))
            out.append((kind, parsing.loads(text.encode("utf-8"))))
    return out


def best(fn, repeat: int) -> float:
    times = []
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.process_time()
            fn()
            times.append(time.process_time() - start)
    finally:
        gc.enable()
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=Path, default=None, help="captured pages (default: st_pages.py's, captured once)")
    ap.add_argument("--pos", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import st_pages
    recs = records(st_pages.ensure(args.pages, args.pos), args.pos)
    print(f"{len(recs):,} records")

    def old_prepare() -> None:
        for kind, raw in recs:
            staging_ref.ref_prepare(kind, raw)

    def new_prepare() -> None:
        for kind, raw in recs:
            documents.prepare(kind, raw)

    old, new = best(old_prepare, args.repeat), best(new_prepare, args.repeat)
    print(f"documents.prepare   before {old:.3f} s   now {new:.3f} s   ({old / new:.2f}x)")

    # one document.pulled event per record, as pull._PageStager._new_row writes it
    statuses = list(DocStatus)
    pages: list[list[dict[str, Any]]] = [[]]
    for n, (kind, raw) in enumerate(recs):
        item = documents.prepare(kind, raw)
        detail: dict[str, Any] = {"st_id": item.st_id, "total": item.columns["total"],
                                  "status": statuses[n % len(statuses)]}
        if n % 3:
            detail["reason"] = f"{documents.label(kind, raw)}: vendor {item.columns['vendor_st_id']} is not mapped"
        if item.problems:
            detail["problems"] = item.problems
        if len(pages[-1]) == 1000:
            pages.append([])
        pages[-1].append({"action": "document.pulled", "st_ref": f"PO-{item.columns['number']}", "detail": detail})

    os.environ["STNAV_HOME"] = tempfile.mkdtemp(prefix="stnav-bench-staging-")
    import keyring

    from tests.conftest import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())
    from stnav_desktop.paths import app_paths
    from stnav_desktop.store import audit
    from stnav_desktop.store.backend import pc_name
    from stnav_desktop.store.db import db, open_db

    open_db(app_paths().ensure().database)
    audit.append("bench.start")  # the audit key exists: events are sealed, as in the pull
    key, host, actor = audit.sealing_key(create=False), pc_name(), audit.current_actor()
    real = db.obj.execute_sql

    def skip_insert(sql: str, params: Any = None, *a: Any, **kw: Any) -> Any:
        return None if sql.startswith("INSERT INTO audit_event") else real(sql, params, *a, **kw)

    def old_audit() -> None:
        for page in pages:
            audit_ref.ref_rows(page, seq=1, prev=audit.GENESIS, ts_text=datetime.now(UTC).isoformat(), host=host,
                               key=key, default_actor=actor, profile="default")

    def new_audit() -> None:
        db.obj.execute_sql = skip_insert
        try:
            for page in pages:
                with db.atomic():
                    audit.append_many(page, profile="default")
        finally:
            db.obj.execute_sql = real

    old, new = best(old_audit, args.repeat), best(new_audit, args.repeat)
    print(f"audit per event     before {old:.3f} s   now {new:.3f} s   ({old / new:.2f}x)  "
          f"{sum(map(len, pages)):,} events in {len(pages)} pages, sealed: {key is not None}")


if __name__ == "__main__":
    main()
