"""Posting runs on a worker: the window keeps painting and answering while 300 documents post, the
progress bar counts, and Cancel stops between documents with nothing half-posted."""

from __future__ import annotations

import time

from stnav_desktop.store import settings
from stnav_desktop.store.models import DocStatus, StDocument
from stnav_desktop.sync.app import batches, documents, mapping, posting
from stnav_desktop.ui.batches_page import BatchesPage
from stnav_desktop.ui.qt import QTimer
from stnav_desktop.ui.tasks import TaskRunner
from tests.sync.example import BILL_R1, MAPPINGS
from tests.sync.fake_nav import FakeNav


class SlowNav(FakeNav):
    def create_journals(self, docs, *, post):
        time.sleep(0.01 * len(docs))  # network round trips
        return super().create_journals(docs, post=post)


class Service:
    def __init__(self, profile, nav):
        self.profile, self.nav = profile, nav

    def post(self, batch, *, cancel, progress):
        return posting.Poster(self.profile, self.nav).post_batch(batch, cancel=cancel, progress=progress)


def make_batch(count):
    profile = settings.get_profile("default")
    settings.set_value(profile, "posting.post_journal", True)
    for kind, entries in MAPPINGS.items():
        for key, (target, target_type) in entries.items():
            mapping.set_mapping(profile, kind, key, target, target_type=target_type)
    for i in range(count):
        documents.stage(profile, "inventory_bill", dict(BILL_R1, id=8_000_000 + i, referenceNumber=f"R-{i}"))
    mapping.refresh_readiness(profile)
    batch = batches.create_batch(profile, actor="a")
    batches.approve(batch, actor="b")
    return profile, batch


def test_window_stays_responsive_and_cancel_is_clean(qtbot, store):
    profile, batch = make_batch(300)
    nav = SlowNav()
    runner = TaskRunner()
    page = BatchesPage(profile, runner, lambda: Service(profile, nav))
    qtbot.addWidget(page)
    page.show()
    ticks = []
    timer = QTimer(page, interval=10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    qtbot.waitUntil(lambda: page.table.rowCount() == 1)  # the list is read on the task runner
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.post_button.isEnabled())
    page.post_selected()
    qtbot.waitUntil(lambda: page.progress.value() >= 100, timeout=20000)
    page.cancel()
    qtbot.waitUntil(lambda: page.post_button.isEnabled(), timeout=20000)
    timer.stop()
    runner.shutdown()
    # the event loop kept running: the longest gap between timer ticks stays small
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert len(ticks) > 50 and max(gaps) < 0.5, max(gaps)
    posted = StDocument.select().where(StDocument.status == DocStatus.POSTED).count()
    approved = StDocument.select().where(StDocument.status == DocStatus.APPROVED).count()
    assert 100 <= posted < 300 and posted + approved == 300  # stopped between chunks
    assert len(nav.journals) == posted  # nothing half-posted, nothing extra
    # each document's result stays with the batch: the batch's list says Posted with the NAV number
    shown = [page.documents.item(r, 4).text() for r in range(page.documents.rowCount())]
    assert shown.count("Posted") == posted and page.documents.rowCount() == 300
    assert "cancelled" in page.progress_label.text()
