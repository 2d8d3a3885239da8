"""Readiness of a first pull's documents, in process: the accounting plan of each of the bench's 36,183
records (``holds.safe_evaluate`` → ``mapping.evaluate`` → ``sync/domain/accounting.py``), as the pull
calls it (a ``SimpleNamespace`` probe per record, one plan context per pull, the page look-ups in memory).

Each source tree given (``--tree``, default this one) is measured in a fresh process of its own, the trees
alternating, on the same captured export pages (captured once by ``st_pages.py`` by default: the 37 pages of
``bench_servicetitan_pull.py``, written by ``benchmarks/st_pages.py``). CPU with ``time.process_time``,
the GC paused (as the pull pauses it), best of ``--repeat``. Two stores:

- ``unmapped``: a fresh profile, as the pull bench's (every document needs a mapping: the plans stop
  at their first missing mapping but still check every line);
- ``mapped``: every vendor and business unit of the pages mapped (most documents ready: whole plans built).

Prints CPU per tree and store, the verdict counts (the same for every tree, or it says so) and the ratio
of each tree to the first one.

    .venv/bin/python benchmarks/bench_readiness.py [--tree OLD_CHECKOUT --tree .] [--pages DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FEEDS = (("purchase-orders", "purchase_order", "parse_purchase_order"),
         ("inventory-bills", "inventory_bill", "parse_inventory_bill"),
         ("returns", "inventory_return", "parse_inventory_return"))


def measure(pages: Path, store: str, repeat: int) -> dict:
    """In this process (its PYTHONPATH names the tree): load the pages, build the context, evaluate."""
    os.environ["STNAV_HOME"] = tempfile.mkdtemp(prefix="stnav-readiness-")
    os.environ["STNAV_DEPLOY_FILE"] = str(Path(os.environ["STNAV_HOME"]) / "none.toml")
    from types import SimpleNamespace

    from stnav_desktop.connectors.servicetitan import parsing
    from stnav_desktop.paths import app_paths
    from stnav_desktop.store import settings
    from stnav_desktop.store.db import open_db
    from stnav_desktop.sync.app import documents, holds, mapping

    open_db(app_paths().ensure().database)
    profile = settings.get_profile("default")
    probes: list[list] = [[], [], []]
    bills_of_po: dict[int, list] = {}
    pos: dict[int, dict] = {}
    job_numbers: dict[int, str] = {}
    vendors, units = set(), set()
    for index, (feed, kind, parse) in enumerate(FEEDS):
        for path in sorted(pages.glob(f"{feed}-*.json")):
            for raw in parsing.loads(path.read_bytes())["data"]:
                record = getattr(parsing, parse)(raw, None)
                item = documents.prepare(kind, record.raw, list(record.problems or []))
                columns = item.columns
                probes[index].append(SimpleNamespace(kind=kind, raw=item.raw, source_problems=item.problems or None,
                                                     st_id=item.st_id, number=columns.get("number") or "",
                                                     st_status=columns.get("st_status") or ""))
                if columns.get("vendor_st_id") is not None:
                    vendors.add(columns["vendor_st_id"])
                if columns.get("business_unit_st_id") is not None:
                    units.add(columns["business_unit_st_id"])
                if kind == "purchase_order":
                    pos[item.st_id] = item.raw
                elif kind == "inventory_bill":
                    if columns.get("purchase_order_st_id") is not None:
                        bills_of_po.setdefault(columns["purchase_order_st_id"], []).append(item.raw)
                    if isinstance(item.raw.get("jobId"), int) and item.raw.get("jobNumber"):
                        job_numbers[item.raw["jobId"]] = str(item.raw["jobNumber"])
    if store == "mapped":
        for vendor in sorted(vendors):
            mapping.set_mapping(profile, "vendor", vendor, f"V{vendor}", actor="bench")
        for unit in sorted(units):
            mapping.set_mapping(profile, "business_unit", unit, f"T{unit}", target_type="TERRITORY", actor="bench")
    best = float("inf")
    best_kinds = [float("inf")] * len(probes)
    verdicts: dict[str, int] = {}
    digest = hashlib.sha256()
    for run in range(repeat):
        ctx = mapping.plan_context(profile)  # as the pull: one context, its look-ups from the pages
        ctx.bills_of_po = lambda po_id: bills_of_po.get(po_id, [])
        ctx.purchase_order = pos.get
        ctx.job_info = lambda job_id: None
        gc.collect()
        gc.disable()
        cpu = 0.0
        for index, group in enumerate(probes):
            # as in a first pull: the purchase orders are staged before any bill (no job number known yet)
            ctx.job_number = (lambda job_id: None) if index == 0 else job_numbers.get
            t0 = time.process_time()
            results = [holds.safe_evaluate(probe, ctx) for probe in group]
            spent = time.process_time() - t0
            cpu += spent
            best_kinds[index] = min(best_kinds[index], spent)
            if run == 0:
                for status, reason in results:
                    verdicts[status] = verdicts.get(status, 0) + 1
                    digest.update(f"{status}\x00{reason}\x01".encode())
        gc.enable()
        best = min(best, cpu)
    return {"cpu": best, "kinds": dict(zip([f[1] for f in FEEDS], best_kinds, strict=True)),
            "documents": sum(map(len, probes)), "verdicts": verdicts, "digest": digest.hexdigest()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", action="append", help="a source tree to measure (repeatable; default: this one)")
    parser.add_argument("--pages", default=None, help="captured pages (default: st_pages.py's, captured once)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", action="append", choices=("unmapped", "mapped"))
    parser.add_argument("--role", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        print(json.dumps(measure(Path(args.pages), args.role, args.repeat)))
        return
    import st_pages
    args.pages = str(st_pages.ensure(Path(args.pages) if args.pages else None))
    trees = [str(Path(t).resolve()) for t in args.tree or [str(ROOT)]]
    for store in args.store or ["unmapped", "mapped"]:
        results: dict[str, dict] = {}
        for tree in trees:
            env = dict(os.environ, PYTHONPATH=tree)
            out = subprocess.run([sys.executable, __file__, "--role", store, "--pages", args.pages,
                                  "--repeat", str(args.repeat)], env=env, capture_output=True, text=True, cwd=tree)
            if out.returncode != 0:
                sys.exit(f"{tree}: {out.stderr[-3000:]}")
            results[tree] = json.loads(out.stdout.strip().splitlines()[-1])
        first = results[trees[0]]
        print(f"== {store} store: readiness of {first['documents']:,} documents ({first['verdicts']}) ==")
        for tree, r in results.items():
            same = "same verdicts and reasons" if r["digest"] == first["digest"] else "VERDICTS OR REASONS DIFFER"
            kinds = ", ".join(f"{kind.replace('_', ' ')}s {cpu:.3f}" for kind, cpu in r["kinds"].items())
            print(f"{tree:40s} CPU {r['cpu']:6.3f} s  {r['cpu'] / first['cpu']:5.2f}x of the first  ({same})\n"
                  f"{'':40s} ({kinds})")


if __name__ == "__main__":
    main()
