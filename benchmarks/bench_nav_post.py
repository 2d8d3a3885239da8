"""Post purchase invoices of 5 lines each to the NAV simulator (30 ms added latency per request): the
batched connector ($batch, deep insert, one atomicity group per invoice) against a naive client (header
POST, each line POST, each dimension POST, post action: one request per entity). Both post the SAME
number of invoices, one request in flight each, in the same run: nothing is extrapolated. Printed: HTTP
requests, operations (BC's 6,000-per-5-minutes limit counts each operation inside a ``$batch``), wall
time, and the time each would need for the same work under BC's limit.

Run: .venv/bin/python benchmarks/bench_nav_post.py [--invoices 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
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
    start_calls, start_ops = counter.total, counter.operations
    specs = [make_spec(i, "BAT") for i in range(n)]
    t0 = time.perf_counter()
    outcomes = [o for i in range(0, n, 50) for o in pi.create_many(specs[i:i + 50], post=True)]
    wall = time.perf_counter() - t0
    ok = sum(1 for o in outcomes if o.result and o.result.posted)
    return counter.total - start_calls, counter.operations - start_ops, wall, ok


def naive(sb: NavSandbox, n: int) -> tuple[int, float, int]:
    counter = CallCounter()
    client = NavClient(config(sb), sb.client_secret, counter=counter, retry=RetryPolicy(total=4))
    client.companies()
    start_calls, start_ops = counter.total, counter.operations
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
    return counter.total - start_calls, counter.operations - start_ops, time.perf_counter() - t0, posted


BC_OPERATIONS_PER_SECOND = 6000 / 300  # BC online: 6,000 operations per 5 minutes per user


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--invoices", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.030)
    args = ap.parse_args()
    n = args.invoices
    with tempfile.TemporaryDirectory() as tmp, NavSandbox(Path(tmp), flavour="online", rate_limit=None) as sb:
        sb.faults.latency = args.latency
        rows = [("batched", *batched(sb, n)), ("naive", *naive(sb, n))]
    for name, calls, ops, wall, ok in rows:
        at_limit = max(wall, ops / BC_OPERATIONS_PER_SECOND)
        print(f"{name:>8}: {n} invoices x 5 lines, posted {ok}: {calls} requests, {ops} operations "
              f"({ops / n:.1f}/invoice), {wall:.1f} s here; under BC's limit at least {at_limit:.0f} s")
    (_, bcalls, bops, bwall, _), (_, ncalls, nops, nwall, _) = rows
    print(f"ratio naive/batched: requests {ncalls / bcalls:.0f}x, operations {nops / bops:.1f}x (what BC's limit "
          f"counts), wall time here {nwall / bwall:.1f}x; latency {args.latency * 1000:.0f} ms per request, "
          f"one request in flight each")


if __name__ == "__main__":
    main()
