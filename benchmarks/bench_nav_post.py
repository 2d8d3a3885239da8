"""Post 1,000 purchase invoices of 5 lines each to the NAV simulator (30 ms added latency per request):
the batched connector ($batch, deep insert, one atomicity group per invoice, 5 requests in flight) against
a naive client (header POST, each line POST, each dimension POST, post action: one request per entity).

Run: .venv/bin/python benchmarks/bench_nav_post.py [--invoices 1000] [--naive 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stnav_desktop.connectors.http import CallCounter, RetryPolicy  # noqa: E402
from stnav_desktop.connectors.nav.client import NavClient  # noqa: E402
from stnav_desktop.connectors.nav.config import NavConfig  # noqa: E402
from stnav_desktop.connectors.nav.purchase_invoices import (  # noqa: E402
    InvoiceLineSpec,
    PurchaseInvoices,
    PurchaseInvoiceSpec,
)
from stnav_desktop.sandbox.nav import NavSandbox  # noqa: E402

ITEMS = ["1000", "1010", "1020", "1030", "1040"]
TERR = ["NORTH", "SOUTH", "EAST", "WEST"]


def make_spec(i: int, prefix: str) -> PurchaseInvoiceSpec:
    lines = [InvoiceLineSpec("Item", ITEMS[k], Decimal(k + 1), Decimal("10.25"), f"line {k}",
                             {"TERRITORY": TERR[(i + k) % 4]}) for k in range(5)]
    return PurchaseInvoiceSpec("V10000", f"{prefix}-{i:05d}", date(2026, 11, 2), date(2026, 11, 2), lines,
                               dimensions={"TERRITORY": TERR[i % 4]})


def config(sb: NavSandbox) -> NavConfig:
    return NavConfig(deployment="online", tenant=sb.tenant, environment=sb.environment, company_id=sb.company_id,
                     client_id=sb.client_id, authority=sb.authority, api_url=sb.base_url, ca_bundle=str(sb.ca_pem))


def batched(sb: NavSandbox, n: int) -> tuple[int, float, int]:
    counter = CallCounter()
    client = NavClient(config(sb), sb.client_secret, counter=counter, retry=RetryPolicy(total=4))
    pi = PurchaseInvoices(client)
    client.companies()  # sign in first (not timed)
    start_calls = counter.total
    specs = [make_spec(i, "BAT") for i in range(n)]
    t0 = time.perf_counter()
    chunks = [specs[i:i + 100] for i in range(0, n, 100)]
    with ThreadPoolExecutor(max_workers=5) as pool:  # BC online allows 5 requests in flight
        outcomes = [o for part in pool.map(lambda c: pi.create_many(c, post=True), chunks) for o in part]
    wall = time.perf_counter() - t0
    ok = sum(1 for o in outcomes if o.result and o.result.posted)
    return counter.total - start_calls, wall, ok


def naive(sb: NavSandbox, n: int) -> tuple[int, float, int]:
    counter = CallCounter()
    client = NavClient(config(sb), sb.client_secret, counter=counter, retry=RetryPolicy(total=4))
    client.companies()
    start_calls = counter.total
    t0 = time.perf_counter()
    posted = 0
    for i in range(n):
        s = make_spec(i, "NAI")
        head = client.post(client.cpath("purchaseInvoices"), {
            "vendorNumber": s.vendor_number, "vendorInvoiceNumber": s.vendor_invoice_number,
            "invoiceDate": s.invoice_date, "postingDate": s.posting_date})
        for code, value in s.dimensions.items():
            client.post(client.cpath(f"purchaseInvoices({head['id']})/dimensionSetLines"),
                        {"code": code, "valueCode": value})
        for ln in s.lines:
            line = client.post(client.cpath(f"purchaseInvoices({head['id']})/purchaseInvoiceLines"), {
                "lineType": ln.line_type, "lineObjectNumber": ln.line_object_number, "quantity": ln.quantity,
                "unitCost": ln.direct_unit_cost, "description": ln.description})
            for code, value in ln.dimensions.items():
                try:
                    client.post(client.cpath(f"purchaseInvoiceLines({line['id']})/dimensionSetLines"),
                                {"code": code, "valueCode": value})
                except Exception:  # header dimension copied onto the line: change it instead
                    dim = client.get(client.cpath(f"purchaseInvoiceLines({line['id']})/dimensionSetLines"))["value"][0]
                    client.patch(client.cpath(f"purchaseInvoiceLines({line['id']})/dimensionSetLines({dim['id']})"),
                                 {"valueCode": value}, dim["@odata.etag"])
        client.action(client.cpath(f"purchaseInvoices({head['id']})/Microsoft.NAV.post"))
        client.get(client.cpath(f"purchaseInvoices({head['id']})"))
        posted += 1
    return counter.total - start_calls, time.perf_counter() - t0, posted


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--invoices", type=int, default=1000)
    ap.add_argument("--naive", type=int, default=60, help="invoices the naive client posts (then extrapolated)")
    ap.add_argument("--latency", type=float, default=0.030)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, NavSandbox(Path(tmp), flavour="online", rate_limit=None) as sb:
        sb.faults.latency = args.latency
        calls, wall, ok = batched(sb, args.invoices)
        print(f"batched:  {args.invoices} invoices x 5 lines, posted {ok}: {calls} requests, {wall:.1f} s "
              f"({args.invoices / wall:.1f} invoices/s)")
        n = min(args.naive, args.invoices)
        ncalls, nwall, nposted = naive(sb, n)
        factor = args.invoices / n
        est_calls, est_wall = ncalls * factor, nwall * factor
        note = "" if n == args.invoices else f" (measured on {n} invoices, extrapolated x{factor:.1f})"
        print(f"naive:    {nposted} invoices: {ncalls} requests, {nwall:.1f} s; for {args.invoices}: "
              f"~{est_calls:.0f} requests, ~{est_wall:.0f} s{note}")
        print(f"ratio:    naive/batched requests = {est_calls / calls:.0f}x, wall time = {est_wall / wall:.1f}x")
        print(f"latency per request: {args.latency * 1000:.0f} ms; simulator saw {sb.requests_seen} requests; "
              f"G/L entries: {len(sb.gl_entries())}")


if __name__ == "__main__":
    main()
