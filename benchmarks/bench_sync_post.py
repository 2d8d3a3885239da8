"""Post approved ServiceTitan documents through the real ``Poster`` + ``ApiBooks`` against the NAV
simulator (30 ms added latency per request): chunked ($batch per chunk of documents) against one by one
(chunk size 1). Each mode gets a fresh database and a fresh simulator; both run in the same process.

Run: .venv/bin/python benchmarks/bench_sync_post.py [--documents 300] [--chunk 50] [--latency 0.030]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ["STNAV_HOME"] = tempfile.mkdtemp(prefix="stnav-bench-")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stnav_desktop.connectors.http import CallCounter, RetryPolicy  # noqa: E402
from stnav_desktop.connectors.nav import NavClient, RefData  # noqa: E402
from stnav_desktop.connectors.nav.config import NavConfig  # noqa: E402
from stnav_desktop.sandbox.nav import NavSandbox  # noqa: E402
from tests.sync.example import BILL_R2, MAPPINGS, PO  # noqa: E402


def config(sb: NavSandbox) -> NavConfig:
    return NavConfig(deployment="online", tenant=sb.tenant, environment=sb.environment, company_id=sb.company_id,
                     client_id=sb.client_id, authority=sb.authority, api_url=sb.base_url, ca_bundle=str(sb.ca_pem))


def run(mode: str, chunk: int, documents_: int, latency: float, tmp: Path) -> dict:
    from stnav_desktop.connectors.nav.bulk import ApiBooks
    from stnav_desktop.store import settings
    from stnav_desktop.store.db import close_db, open_db
    from stnav_desktop.store.models import DocStatus, StDocument
    from stnav_desktop.sync import batches, documents, mapping, posting, refdata

    close_db()
    open_db(tmp / f"{mode}.sqlite3")
    with NavSandbox(tmp / f"nav-{mode}", flavour="online", rate_limit=None) as sb:
        counter = CallCounter()
        client = NavClient(config(sb), sb.client_secret, counter=counter, retry=RetryPolicy(total=4))
        profile = settings.get_profile("default")
        settings.set_value(profile, "posting.mode", "post")
        settings.set_value(profile, "posting.post_journal", True)
        refdata.refresh_nav(profile, RefData(client))
        for kind, entries in MAPPINGS.items():
            for key, (target, target_type) in entries.items():
                mapping.set_mapping(profile, kind, key, target, target_type=target_type)
        pos = documents_ // 3
        for i in range(pos):
            documents.stage(profile, "purchase_order", dict(PO, id=41_000_000 + i, number=f"2{i:05d}-001"))
        for i in range(documents_ - pos):
            documents.stage(profile, "inventory_bill", dict(BILL_R2, id=8_000_000 + i, referenceNumber=f"B-{i}"))
        mapping.refresh_readiness(profile)
        batch = batches.create_batch(profile, actor="clerk")
        batches.approve(batch, actor="controller")
        approved = StDocument.select().where(StDocument.batch == batch).count()
        sb.faults.latency = latency
        before = counter.total
        t0 = time.perf_counter()
        results = posting.Poster(profile, ApiBooks(client), chunk_size=chunk).post_batch(batch)
        wall = time.perf_counter() - t0
        sb.faults.latency = 0.0
        posted = StDocument.select().where((StDocument.batch == batch)
                                           & (StDocument.status == DocStatus.POSTED)).count()
        invoices = Counter(inv["vendorInvoiceNumber"] for inv in sb.purchase_invoices())
        journals = Counter(e["documentNumber"] for e in sb.gl_entries()
                           if e["documentNumber"].startswith("STB") and e["accountNumber"] == "2950")
        doubled = sum(1 for n in list(invoices.values()) + list(journals.values()) if n > 1)
        return {"mode": mode, "chunk": chunk, "approved": approved, "posted": posted,
                "outcomes": dict(Counter(r.outcome for r in results)), "requests": counter.total - before,
                "wall": wall, "doubled": doubled}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--documents", type=int, default=300)
    ap.add_argument("--chunk", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.030)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run("chunked", args.chunk, args.documents, args.latency, Path(tmp)),
                run("one-by-one", 1, args.documents, args.latency, Path(tmp))]
    for r in rows:
        print(f"{r['mode']:>10} (chunk {r['chunk']:>3}): {r['approved']} approved, {r['posted']} posted "
              f"{r['outcomes']}; {r['requests']} requests, {r['wall']:.1f} s "
              f"({r['approved'] / r['wall']:.1f} documents/s); doubled in NAV: {r['doubled']}")
    fast, slow = rows
    print(f"ratio: one-by-one/chunked requests = {slow['requests'] / fast['requests']:.1f}x, "
          f"wall time = {slow['wall'] / fast['wall']:.1f}x (latency {args.latency * 1000:.0f} ms per request)")


if __name__ == "__main__":
    main()
