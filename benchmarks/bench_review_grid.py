"""Review grid at 100,000 documents: time to open, to filter, to sort, and peak memory.

Run: .venv/bin/python benchmarks/bench_review_grid.py [--rows 100000]
Offscreen Qt; a temporary STNAV_HOME; prints figures, exits 0.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from decimal import Decimal

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["STNAV_HOME"] = tempfile.mkdtemp(prefix="stnav-bench-")


def build(rows: int) -> None:
    from datetime import UTC, datetime, timedelta

    from stnav_desktop.store import settings
    from stnav_desktop.store.db import db
    from stnav_desktop.store.models import StDocument
    from stnav_desktop.sync.app import mapping
    profile = settings.get_profile("default")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    statuses = ["needs_mapping", "ready", "posted", "approved", "failed"]
    with db.atomic():
        batch = []
        for i in range(rows):
            batch.append(dict(profile=profile.id, kind="purchase_order" if i % 3 else "inventory_bill", st_id=i,
                              number=f"{10000 + i}-001", vendor_st_id=2001 + i % 7, vendor_name=f"Vendor {i % 7}",
                              business_unit_st_id=1001 + i % 4, business_unit_name=f"Territory {i % 4}",
                              doc_date=start + timedelta(minutes=7 * i), total=Decimal(i % 50000) / 100,
                              raw="{}", content_hash="x", status=statuses[i % 5],
                              problem="vendor not mapped" if i % 5 == 0 else ""))
            if len(batch) == 5000:
                StDocument.insert_many(batch).execute()
                batch = []
        if batch:
            StDocument.insert_many(batch).execute()
    for v in range(3):
        mapping.set_mapping(profile, "vendor", str(2001 + v), f"V{v}0000")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    from stnav_desktop import runtime

    runtime.start()
    t0 = time.perf_counter()
    build(args.rows)
    print(f"seeded {args.rows:,} documents in {time.perf_counter() - t0:.1f} s")

    from stnav_desktop.store import settings
    from stnav_desktop.sync.views import review
    from stnav_desktop.ui.qt import QApplication, Qt
    from stnav_desktop.ui.review_page import ReviewPage

    app = QApplication.instance() or QApplication(sys.argv[:1])
    profile = settings.get_profile("default")
    t = time.perf_counter()
    page = ReviewPage(profile)
    page.resize(1400, 900)
    page.show()
    app.processEvents()
    opened = time.perf_counter() - t
    t = time.perf_counter()
    page.search.setText("Vendor 3")
    page.apply_filter()
    app.processEvents()
    filtered = time.perf_counter() - t
    shown = page.model.rowCount()
    t = time.perf_counter()
    page.status_filter.setCurrentIndex(2)  # one status
    app.processEvents()
    status_filtered = time.perf_counter() - t
    page.status_filter.setCurrentIndex(0)
    page.search.setText("")
    page.apply_filter()
    t = time.perf_counter()
    page.table.sortByColumn(review.COLUMNS.index("amount"), Qt.SortOrder.AscendingOrder)
    app.processEvents()
    sorted_amount = time.perf_counter() - t
    t = time.perf_counter()
    page.table.sortByColumn(review.COLUMNS.index("nav_vendor"), Qt.SortOrder.DescendingOrder)
    app.processEvents()
    sorted_vendor = time.perf_counter() - t
    t = time.perf_counter()
    page.table.scrollToBottom()
    app.processEvents()
    scrolled = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"open grid on {page.model.rowCount():,} rows: {opened * 1000:8.1f} ms")
    print(f"search filter ({shown:,} rows match): {filtered * 1000:8.1f} ms")
    print(f"status filter: {status_filtered * 1000:8.1f} ms")
    print(f"sort by amount: {sorted_amount * 1000:8.1f} ms")
    print(f"sort by NAV vendor (joined column): {sorted_vendor * 1000:8.1f} ms")
    print(f"scroll to the last row: {scrolled * 1000:8.1f} ms")
    print(f"peak memory (RSS): {peak_mb:,.0f} MB")
    page.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
