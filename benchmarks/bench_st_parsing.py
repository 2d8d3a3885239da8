"""Micro benchmark: ServiceTitan typed records and their problem checks (``client._parse_safely`` over the
export feeds' parsers), the frozen pre-parsefast parsers (tests/servicetitan/reference_parsing.py) against
the current ones, in one run, over captured export pages (capture them with benchmarks/st_pages.py).

    .venv/bin/python benchmarks/bench_st_parsing.py [--pages DIR] [--repeat 5] [--decode]
                                                    [--tree OLD_CHECKOUT]

CPU time (time.process_time), GC disabled as in the pull, best of --repeat. --decode also times the JSON
decoding of the page bytes (parsing.loads). --tree also times another source tree's parsers with that
tree's own record classes (models.py and parsing.py loaded side by side under other module names)."""

from __future__ import annotations

import argparse
import gc
import importlib.util
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


def load_tree(tree: Path):
    """``models`` and ``parsing`` of another tree, parsing bound to that tree's models."""
    base = tree / "stnav_desktop" / "connectors" / "servicetitan"
    spec = importlib.util.spec_from_file_location("_tree_st_models", base / "models.py")
    models = importlib.util.module_from_spec(spec)
    sys.modules["_tree_st_models"] = models
    spec.loader.exec_module(models)
    source = (base / "parsing.py").read_text(encoding="utf-8").replace(
        "from stnav_desktop.connectors.servicetitan.models import", "from _tree_st_models import")
    module = type(sys)("_tree_st_parsing")
    sys.modules["_tree_st_parsing"] = module
    exec(compile(source, str(base / "parsing.py"), "exec"), module.__dict__)
    return module, models


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
    ap.add_argument("--pages", default=None, help="captured pages (default: st_pages.py's, captured once)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--decode", action="store_true")
    ap.add_argument("--tree", help="another source tree whose parsers (and record classes) to time too")
    args = ap.parse_args()
    import st_pages
    raw = load(st_pages.ensure(Path(args.pages) if args.pages else None))
    bodies = [(feed, parsing.loads(b)) for feed, b in raw]
    known = known_from(bodies)
    records = sum(len(b["data"]) for _, b in bodies)
    print(f"{len(bodies)} pages, {records:,} records, {sum(len(b) for _, b in raw) / 1e6:.0f} MB")
    modules = [("old", ref, known), ("new", parsing, known)]
    if args.tree:
        tree_parsing, tree_models = load_tree(Path(args.tree))
        tree_known = tree_models.KnownIds(vendors=known.vendors, business_units=known.business_units)
        modules.insert(0, (args.tree, tree_parsing, tree_known))
    gc.disable()
    best = {name: float("inf") for name, _, _ in modules}
    for _ in range(args.repeat):
        for name, module, k in modules:
            best[name] = min(best[name], run(module, bodies, k))
    print(f"typed records + checks  old {best['old']:.3f} s  new {best['new']:.3f} s  "
          f"new/old {best['new'] / best['old']:.2f}  (old: the frozen reference parsers, this tree's records)")
    if args.tree:
        print(f"typed records + checks  {args.tree} {best[args.tree]:.3f} s  "
              f"new/{args.tree} {best['new'] / best[args.tree]:.2f}  (that tree's parsers and records)")
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
