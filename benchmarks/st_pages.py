"""The export pages of bench_servicetitan_pull.py's ServiceTitan simulator (20,000 purchase orders, their
bills, the returns: 37 pages of 1,000, 77 MB) as the simulator sends them, for the in-process benchmarks
(bench_st_parsing.py, bench_readiness.py, bench_staging.py): captured once over HTTPS from the simulator in
its own process, kept in the system's temporary folder (``stnav-bench-pages-<POs>``) and reused.

    .venv/bin/python benchmarks/st_pages.py [--purchase-orders 20000] [DIR]   # prints the folder
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def capture(folder: Path, purchase_orders: int = 20_000, export_batch: int = 1000) -> Path:
    import bench_servicetitan_pull as bench  # the simulator and its feeds, as the pull bench runs them
    import requests

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc, pipe, sim = bench.start_simulator(
            tmp, argparse.Namespace(purchase_orders=purchase_orders, export_batch=export_batch), False)
        try:
            session = requests.Session()
            ca = sim["ca"]
            token = session.post(sim["auth_url"], verify=ca, data={
                "grant_type": "client_credentials", "client_id": sim["client_id"],
                "client_secret": sim["client_secret"]}).json()["access_token"]
            session.headers.update({"Authorization": token, "ST-App-Key": sim["app_key"]})
            for module, feed in bench.FEEDS:
                params: dict[str, str] = {}
                for n in range(10_000):
                    resp = session.get(f"{sim['api_url']}/{module}/v2/tenant/{sim['tenant']}/export/{feed}",
                                       params=params, verify=ca)
                    resp.raise_for_status()
                    (folder / f"{feed}-{n:02d}.json").write_bytes(resp.content)
                    body = json.loads(resp.content)
                    if not body["hasMore"]:
                        break
                    params = {"from": body["continueFrom"]}
        finally:
            pipe.send("stop")
            proc.join(10)
    (folder / "complete").write_text("")
    return folder


def ensure(folder: Path | None = None, purchase_orders: int = 20_000) -> Path:
    """``folder`` if it holds captured pages, else the temporary folder's cache (captured first when it
    is not complete)."""
    if folder is not None and any(folder.glob("*.json")):
        return folder
    folder = folder or Path(tempfile.gettempdir()) / f"stnav-bench-pages-{purchase_orders}"
    return folder if (folder / "complete").exists() else capture(folder, purchase_orders)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--purchase-orders", type=int, default=20_000)
    ap.add_argument("folder", nargs="?", type=Path)
    args = ap.parse_args()
    print(ensure(args.folder, args.purchase_orders))
