"""Pull 20,000 purchase orders from the local ServiceTitan simulator with our connector, then with
the open-source ``servicepytan`` client against the same simulator, and compare calls, peak calls per
second (ServiceTitan allows 60/s per tenant) and wall time.

    .venv/bin/python benchmarks/bench_servicetitan_pull.py [--purchase-orders 20000] [--export-batch 1000]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stnav_desktop.connectors.http import CallCounter  # noqa: E402
from stnav_desktop.connectors.servicetitan import ServiceTitanClient, ServiceTitanConfig  # noqa: E402
from stnav_desktop.sandbox.servicetitan import ServiceTitanSandbox  # noqa: E402


def server_peak(sandbox: ServiceTitanSandbox, since: int) -> int:
    """Peak API calls in any 1-second sliding window, as the simulator saw them."""
    stamps = sorted(r.at for r in sandbox.requests[since:])
    peak, lo = 0, 0
    for hi, t in enumerate(stamps):
        while stamps[lo] <= t - 1.0:
            lo += 1
        peak = max(peak, hi - lo + 1)
    return peak


def run_ours(sandbox: ServiceTitanSandbox) -> dict:
    counter = CallCounter()
    since, tokens0 = len(sandbox.requests), sandbox.token_requests
    client = ServiceTitanClient(ServiceTitanConfig(**sandbox.config_kwargs()), sandbox.client_secret, counter=counter)
    t0 = time.perf_counter()
    records = pages = problems = 0
    for page in client.iter_export_purchase_orders():
        pages += 1
        records += len(page)
        problems += sum(1 for r in page.records if r.problems)
    wall = time.perf_counter() - t0
    client.close()
    return {"records": records, "pages": pages, "calls": counter.total,
            "tokens": sandbox.token_requests - tokens0, "peak_client": counter.peak_per_second,
            "peak_server": server_peak(sandbox, since), "wall": wall, "problems": problems,
            "statuses": Counter(r.status for r in sandbox.requests[since:])}


def run_servicepytan(sandbox: ServiceTitanSandbox, mode: str) -> dict:
    import servicepytan
    from servicepytan.requests import Endpoint

    logging.getLogger("servicepytan").setLevel(logging.CRITICAL)  # it logs secrets and headers on errors
    os.environ["REQUESTS_CA_BUNDLE"] = str(sandbox.ca_pem)
    conn = servicepytan.auth.servicepytan_connect(
        api_environment="integration", app_key=sandbox.app_key, tenant_id=str(sandbox.tenant),
        client_id=sandbox.client_id, client_secret=sandbox.client_secret)
    conn["auth_root"] = sandbox.auth_root
    conn["api_root"] = sandbox.base_url
    since, tokens0 = len(sandbox.requests), sandbox.token_requests
    endpoint = Endpoint("inventory", "purchase-orders", conn=conn)
    t0 = time.perf_counter()
    error = None
    rows: list = []
    try:
        if mode == "export":
            rows = endpoint.export_all("purchase-orders")
        else:
            rows = endpoint.get_all({"pageSize": 100} if mode == "list-100" else {"pageSize": 5000})
    except Exception as exc:  # servicepytan does not handle 429: report how it fails
        error = f"{type(exc).__name__}: {str(exc)[:80]}"
    wall = time.perf_counter() - t0
    api = len(sandbox.requests) - since
    tokens = sandbox.token_requests - tokens0
    return {"records": len(rows), "calls": api + tokens, "tokens": tokens, "peak_server": server_peak(sandbox, since),
            "wall": wall, "error": error, "statuses": Counter(r.status for r in sandbox.requests[since:])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--purchase-orders", type=int, default=20_000)
    ap.add_argument("--export-batch", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        sandbox = ServiceTitanSandbox(Path(tmp) / "tls", purchase_orders=args.purchase_orders,
                                      export_batch=args.export_batch)
        with sandbox:
            print(f"simulator: {len(sandbox.data.purchase_orders)} POs, {len(sandbox.data.bills)} bills, "
                  f"export batch {args.export_batch}, built+started in {time.perf_counter() - t0:.1f} s")
            n = len(sandbox.data.purchase_orders)
            feed_pages = max(1, math.ceil(n / args.export_batch))
            ours = run_ours(sandbox)
            minimum = feed_pages + 1
            print("\n== ml-connector (export feed, Decimal parsing, problem checks) ==")
            print(f"records {ours['records']} in {ours['pages']} pages; problems flagged on {ours['problems']}")
            print(f"calls {ours['calls']} (tokens {ours['tokens']}); minimum = pages + token = {minimum}; "
                  f"extra = 2 reference lookups (vendors, business units) for dangling-reference checks")
            print(f"peak calls/s: client {ours['peak_client']}, server sliding window {ours['peak_server']} "
                  f"(limit 60); statuses {dict(ours['statuses'])}")
            print(f"wall {ours['wall']:.2f} s")
            results = {}
            for mode in ("export", "list-5000", "list-100"):
                r = results[mode] = run_servicepytan(sandbox, mode)
                label = {"export": "export_all('purchase-orders')", "list-5000": "get_all(pageSize=5000)",
                         "list-100": "get_all() default pageSize 100"}[mode]
                print(f"\n== servicepytan {label} ==")
                print(f"records {r['records']}; calls {r['calls']} (tokens {r['tokens']}); "
                      f"peak calls/s (server) {r['peak_server']}; statuses {dict(r['statuses'])}")
                print(f"wall {r['wall']:.2f} s" + (f"; FAILED: {r['error']}" if r["error"] else ""))
            sp = results["export"]
            print("\n== ratio (servicepytan export_all / ours) ==")
            print(f"calls {sp['calls'] / ours['calls']:.2f}x, wall {sp['wall'] / ours['wall']:.2f}x, "
                  f"records {sp['records']} vs {ours['records']}")
            assert ours["records"] == n and ours["peak_client"] <= 60 and ours["peak_server"] <= 60


if __name__ == "__main__":
    main()
