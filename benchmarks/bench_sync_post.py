"""Post approved ServiceTitan documents through the real ``Poster`` + ``ApiBooks`` against the NAV
simulator (30 ms added latency per request): chunked ($batch per chunk of documents) against one by one
(chunk size 1, the same code path), each on the same data in a fresh database and a fresh simulator, in
the same process. Printed per mode: HTTP requests AND operations (BC's limit of 6,000 per 5 minutes
counts every operation inside a ``$batch``), operations per document, the documents BC's limit lets
through in 5 minutes, and the wall time at two sizes (time linear in documents).

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


BC_LIMIT = 6000  # operations per 5 minutes per user (BC online)


def lines_written(sb: NavSandbox) -> int:
    """Operations no client can avoid, before any look-up: one insert per journal line (each posts one G/L
    entry), and per invoice its deep insert and its post action."""
    journal_lines = sum(1 for e in sb.gl_entries() if e["documentNumber"].startswith("STB"))
    return journal_lines + 2 * len(sb.purchase_invoices())


def run(mode: str, chunk: int, documents_: int, latency: float, tmp: Path) -> dict:
    from stnav_desktop.connectors.nav.bulk import ApiBooks
    from stnav_desktop.store import settings
    from stnav_desktop.store.db import close_db, open_db
    from stnav_desktop.store.models import DocStatus, StDocument
    from stnav_desktop.sync.app import batches, documents, mapping, posting, refdata
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
        before, ops_before = counter.total, counter.operations
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
                "outcomes": dict(Counter(str(r.outcome) for r in results)), "requests": counter.total - before,
                "operations": counter.operations - ops_before, "lines": lines_written(sb), "wall": wall,
                "doubled": doubled}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--documents", type=int, default=300)
    ap.add_argument("--chunk", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.030)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        half = run("chunked-half", args.chunk, args.documents // 2, args.latency, Path(tmp))
        rows = [run("chunked", args.chunk, args.documents, args.latency, Path(tmp)),
                run("one-by-one", 1, args.documents, args.latency, Path(tmp))]
    for r in [half, *rows]:
        per_doc = r["operations"] / r["approved"]
        print(f"{r['mode']:>12} (chunk {r['chunk']:>3}): {r['approved']} approved, {r['posted']} posted "
              f"{r['outcomes']}; {r['requests']} requests, {r['operations']} operations "
              f"({per_doc:.2f}/document), {r['wall']:.1f} s; doubled in NAV: {r['doubled']}")
    fast, slow = rows
    for r in rows:
        per_doc = r["operations"] / r["approved"]
        needed = r["lines"] / r["approved"]
        print(f"{r['mode']:>12}: at BC's limit ({BC_LIMIT} operations / 5 min) {BC_LIMIT / per_doc:.0f} documents "
              f"per 5 minutes; {needed:.2f} operations/document are writes and posts no client can avoid, so this reaches "
              f"{needed / per_doc:.2f} of what the limit allows")
    print(f"ratio: one-by-one/chunked requests = {slow['requests'] / fast['requests']:.1f}x, operations = "
          f"{slow['operations'] / fast['operations']:.2f}x, wall time = {slow['wall'] / fast['wall']:.1f}x "
          f"(latency {args.latency * 1000:.0f} ms per request)")
    print(f"linearity: {args.documents} documents took {fast['wall'] / half['wall']:.2f}x the time of "
          f"{args.documents // 2} (2.00 = linear)")


if __name__ == "__main__":
    main()
