"""Micro benchmark: ServiceTitan typed records and their problem checks (``client._parse_safely`` over the
export feeds' parsers), the frozen pre-parsefast parsers (tests/servicetitan/reference_parsing.py) against
the current ones, in one run, over captured export pages (capture them with /work/wt/capture_pages.py).

    .venv/bin/python benchmarks/bench_st_parsing.py [--pages /work/wt/pages] [--repeat 5] [--decode]

CPU time (time.process_time), GC disabled as in the pull, best of --repeat. --decode also times the JSON
decoding of the page bytes (parsing.loads)."""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stnav_desktop.connectors.servicetitan import parsing  # noqa: E402
from stnav_desktop.connectors.servicetitan.client import _parse_safely  # noqa: E402
from stnav_desktop.connectors.servicetitan.models import KnownIds  # noqa: E402
from tests.servicetitan import reference_parsing as ref  # noqa: E402

FEEDS = {"purchase-orders": "parse_purchase_order", "inventory-bills": "parse_inventory_bill",
         "returns": "parse_inventory_return"}


def load(folder: Path) -> list[tuple[str, bytes]]:
    pages = []
    for path in sorted(folder.glob("*.json")):
        feed = path.stem.rsplit("-", 1)[0]
        if feed in FEEDS:
            pages.append((feed, path.read_bytes()))
    return pages


def known_from(bodies: list[tuple[str, dict]]) -> KnownIds:
    vendors, bus = set(), set()
    for _, body in bodies:
        for r in body["data"]:
            if not isinstance(r, dict):
                continue
            v = r.get("vendorId") if "vendorId" in r else (r.get("vendor") or {}).get("id")
            b = r.get("businessUnitId") if "businessUnitId" in r else (r.get("businessUnit") or {}).get("id")
            if type(v) is int and v:
                vendors.add(v)
            if type(b) is int:
                bus.add(b)
    return KnownIds(vendors=frozenset(vendors), business_units=frozenset(bus))


def run(module, bodies, known) -> float:
    parsers = {feed: getattr(module, name) for feed, name in FEEDS.items()}
    reset = getattr(module, "_reset_caches", None)
    if reset:
        reset()
    t0 = time.process_time()
    n = 0
    for feed, body in bodies:
        parse = parsers[feed]
        records = [_parse_safely(lambda r, p=parse: p(r, known), r, feed) for r in body["data"]]
        n += len(records)
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", default="/work/wt/pages")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--decode", action="store_true")
    args = ap.parse_args()
    raw = load(Path(args.pages))
    bodies = [(feed, parsing.loads(b)) for feed, b in raw]
    known = known_from(bodies)
    records = sum(len(b["data"]) for _, b in bodies)
    print(f"{len(bodies)} pages, {records:,} records, {sum(len(b) for _, b in raw) / 1e6:.0f} MB")
    gc.disable()
    best = {"old": float("inf"), "new": float("inf")}
    for _ in range(args.repeat):
        for name, module in (("old", ref), ("new", parsing)):
            best[name] = min(best[name], run(module, bodies, known))
    print(f"typed records + checks  old {best['old']:.3f} s  new {best['new']:.3f} s  "
          f"new/old {best['new'] / best['old']:.2f}")
    if args.decode:
        dec = {"json.loads(parse_float=Decimal)": float("inf")}
        for _ in range(args.repeat):
            t0 = time.process_time()
            for _, b in raw:
                parsing.loads(b)
            dec["json.loads(parse_float=Decimal)"] = min(dec["json.loads(parse_float=Decimal)"],
                                                         time.process_time() - t0)
        for k, v in dec.items():
            print(f"decode {k}: {v:.3f} s")
    gc.enable()


if __name__ == "__main__":
    main()
