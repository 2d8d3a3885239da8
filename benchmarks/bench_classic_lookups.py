"""Exactly-once look-ups on classic NAV page web services (5 ms added latency per request): 300 purchase
invoices (half posted by the accountant, half drafts) and 300 journal documents looked up by identity with
``find_documents`` chunked (one OR-filtered read per page per 20 keys) against one key at a time (the same
code with chunks of 1). Also prints what creating a document costs in requests on pages (no $batch, no
deep insert).

Run: .venv/bin/python benchmarks/bench_classic_lookups.py [--documents 300]
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
from stnav_desktop.connectors.nav.books import InvoiceKey, JournalDocumentSpec, JournalKey  # noqa: E402
from stnav_desktop.connectors.nav.classic import ClassicBooks, ClassicClient, ClassicConfig  # noqa: E402
from stnav_desktop.connectors.nav.classic import books as classic_books  # noqa: E402
from stnav_desktop.connectors.nav.journals import JournalLineSpec  # noqa: E402
from stnav_desktop.connectors.nav.purchase_invoices import InvoiceLineSpec, PurchaseInvoiceSpec  # noqa: E402
from stnav_desktop.sandbox.navclassic import ClassicNavSandbox  # noqa: E402

DAY = date(2026, 11, 2)
TERR = ["NORTH", "SOUTH", "EAST", "WEST"]


def invoice(i: int) -> PurchaseInvoiceSpec:
    lines = [InvoiceLineSpec("Account", "6110", Decimal(k + 1), Decimal("10.25"), f"line {k}") for k in range(3)]
    return PurchaseInvoiceSpec("V10000", f"BENCH-{i:05d}", DAY, DAY, lines, dimensions={"TERRITORY": TERR[i % 4]})


def journal(i: int) -> JournalDocumentSpec:
    n = f"STB-{i:05d}"
    return JournalDocumentSpec(n, [JournalLineSpec("6110", Decimal("12.34"), DAY, n, "", "", None, {"TERRITORY": "EAST"}),
                                   JournalLineSpec("2950", Decimal("-12.34"), DAY, n, "", "", None, {"TERRITORY": "EAST"})])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--documents", type=int, default=300)
    n = ap.parse_args().documents
    with tempfile.TemporaryDirectory() as tmp, ClassicNavSandbox(Path(tmp), latency=0.005) as nav:
        counter = CallCounter()
        cfg = ClassicConfig(odata_url=nav.odata_url, company=nav.company.name, user=nav.user, ca_bundle=str(nav.ca_pem))
        books = ClassicBooks(ClassicClient(cfg, nav.web_service_key, counter=counter, retry=RetryPolicy(total=2)))
        books.general_ledger_setup(), books.max_lengths("x")  # read once per connection, not counted
        before, t0 = counter.total, time.perf_counter()
        docs = books.create_invoices([invoice(i) for i in range(n)], post=False)
        wall = time.perf_counter() - t0
        print(f"create {n} invoices of 3 lines: {counter.total - before} requests "
              f"({(counter.total - before) / n:.1f} per invoice), {wall:.1f} s")
        before = counter.total
        books.create_journals([journal(i) for i in range(n)], post=False)
        print(f"create {n} journal documents of 2 lines: {counter.total - before} requests "
              f"({(counter.total - before) / n:.1f} per document)")
        for d in docs[: n // 2]:
            nav.post_purchase_invoice(d.nav_id)  # the accountant posts half
        keys = [InvoiceKey("V10000", f"BENCH-{i:05d}") for i in range(n)] + [JournalKey(f"STB-{i:05d}") for i in range(n)]
        results = {}
        for label, chunk in (("chunked (20 keys per read)", 20), ("one key at a time", 1)):
            classic_books.LOOKUP_CHUNK = chunk
            before, t0 = counter.total, time.perf_counter()
            found = books.find_documents(keys)
            results[label] = (counter.total - before, time.perf_counter() - t0)
            assert sum(1 for f in found if f is not None and not isinstance(f, Exception)) == 2 * n
            print(f"find_documents {len(keys)} keys, {label}: {results[label][0]} requests, {results[label][1]:.2f} s")
        (c_req, c_wall), (s_req, s_wall) = results.values()
        print(f"ratio one-at-a-time / chunked: {s_req / c_req:.1f}x requests, {s_wall / c_wall:.1f}x wall time")


if __name__ == "__main__":
    main()
