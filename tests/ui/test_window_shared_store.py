"""The window on a store other PCs share (#19): what another connection does shows in the window within
seconds without a click on refresh: a batch approved, a mapping changed, the scheduler held elsewhere,
documents being posted elsewhere. The other PC is a second connection to the same database (a thread of
its own: peewee gives each thread its connection)."""

from __future__ import annotations

import threading

import pytest

from stnav_desktop.store import claims, settings
from stnav_desktop.store.locks import StoreLock
from stnav_desktop.store.models import StDocument
from stnav_desktop.sync.app import batches, documents, mapping
from stnav_desktop.ui.main_window import MainWindow
from stnav_desktop.ui.qt import QSettings
from tests.sync.example import BILL_R1, MAPPINGS

pytestmark = pytest.mark.both_backends  # SQLite (two connections to one file) and PostgreSQL (LISTEN/NOTIFY)

OTHER_PC = "alice@AP-PC-2#4242"


def on_other_pc(fn):
    """Run ``fn`` on another connection to the store and wait for it (its writes are committed)."""
    out: list = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join(30)
    return out[0] if out else None


def stage(profile, count, *, unmapped: str = ""):
    for kind, entries in MAPPINGS.items():
        if kind == unmapped:
            continue
        for key, (target, target_type) in entries.items():
            mapping.set_mapping(profile, kind, key, target, target_type=target_type)
    for i in range(count):
        documents.stage(profile, "inventory_bill", dict(BILL_R1, id=8_000_000 + i, referenceNumber=f"R-{i}"))
    mapping.refresh_readiness(profile)


def open_window(qtbot, tmp_path, profile):
    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), profile=profile,
                        live_interval=0.2)
    qtbot.addWidget(window)
    window.show()
    return window


def cell(table, row, column):
    item = table.item(row, column)
    return item.text() if item else ""


def test_a_batch_approved_on_another_pc_shows_as_approved_without_refresh(qtbot, store, tmp_path):
    profile = settings.get_profile("default")
    settings.set_value(profile, "approval.two_person_rule", False)
    stage(profile, 3)
    batch = batches.create_batch(profile, actor="ana")
    window = open_window(qtbot, tmp_path, profile)
    window.tabs.setCurrentIndex(2)
    page = window.pages["batches"]
    qtbot.waitUntil(lambda: page.table.rowCount() == 1)
    assert cell(page.table, 0, 1) != "Approved" and page.approve_button.isEnabled()
    on_other_pc(lambda: batches.approve(StDocument.get_by_id(batch.documents[0].id).batch, actor="carol"))
    # the watcher hears it and the tab refreshes itself (well before its 5 s look at the claims)
    qtbot.waitUntil(lambda: cell(page.table, 0, 6) == "carol", timeout=2500)
    qtbot.waitUntil(lambda: not page.approve_button.isEnabled() and page.post_button.isEnabled())
    window.close()
    window.runner.shutdown()


def test_a_mapping_changed_on_another_pc_refreshes_readiness_in_the_grid(qtbot, store, tmp_path):
    profile = settings.get_profile("default")
    stage(profile, 2, unmapped="business_unit")
    window = open_window(qtbot, tmp_path, profile)
    review = window.pages["review"]
    qtbot.waitUntil(lambda: review.model.rowCount() == 2)
    status = lambda: {review.model.index(r, 8).data() for r in range(review.model.rowCount())}  # noqa: E731
    assert status() == {"⚠ Needs mapping"}
    loads = []
    review.model.modelReset.connect(lambda: loads.append(1))
    on_other_pc(lambda: mapping.map_and_refresh(profile, "business_unit", "1001", "NORTH",
                                                          target_type="TERRITORY"))
    qtbot.waitUntil(lambda: status() == {"✓ Ready"}, timeout=2500)
    qtbot.wait(600)  # a few more watcher rounds: the burst is refreshed once, not once per event
    assert len(loads) == 1
    window.close()
    window.runner.shutdown()


def recording_scheduler(started: list):
    """A scheduler class whose start and stop are written down in ``started``."""

    class FakeScheduler:
        def start(self):
            started.append("start")

        def stop(self, timeout=0):
            started.append("stop")

    return FakeScheduler


def test_the_scheduler_runs_on_one_pc_per_store_and_the_window_takes_over(qtbot, store, tmp_path):
    profile = settings.get_profile("default")
    started: list = []
    FakeScheduler = recording_scheduler(started)  # noqa: N806 - a class, as the factory builds it

    other = StoreLock("scheduler", holder=OTHER_PC)  # the service on another PC holds it
    assert other.try_acquire()
    window = open_window(qtbot, tmp_path, profile)
    window.start_scheduler(FakeScheduler, standby_seconds=0.2)
    qtbot.waitUntil(lambda: window.schedule_state.text() == "Scheduler runs on alice@AP-PC-2 (last run not yet)")
    qtbot.wait(500)
    assert started == [] and not window.scheduler_host.running  # never two schedulers on one store
    other.release()  # the other PC stops: this window takes over at its next look
    qtbot.waitUntil(lambda: window.scheduler_host.running, timeout=3000)
    assert started == ["start"]
    qtbot.waitUntil(lambda: not window.schedule_state.text().startswith("Scheduler runs on"))
    # and now another window / `stnav run` stands by
    assert not StoreLock("scheduler", holder=OTHER_PC).try_acquire()
    window.stop_scheduler()
    assert started == ["start", "stop"]
    assert StoreLock("scheduler", holder=OTHER_PC).try_acquire()  # released on close
    window.close()
    window.runner.shutdown()


def test_a_window_hands_the_schedule_to_a_waiting_service(qtbot, store, tmp_path):
    """The service (``stnav run``, also the host of NAV's notifications, running with nobody logged on) wins
    over a window: once it says it waits, the window stops its scheduler and gives the lock back."""
    from stnav_desktop.store.locks import SERVICE_WAITING

    profile = settings.get_profile("default")
    started: list = []
    FakeScheduler = recording_scheduler(started)  # noqa: N806 - a class, as the factory builds it

    window = open_window(qtbot, tmp_path, profile)
    window.start_scheduler(FakeScheduler, standby_seconds=0.2, heartbeat_seconds=0.2)
    qtbot.waitUntil(lambda: window.scheduler_host.running, timeout=3000)
    service_pc = "svc-stnav@NIGHT-PC#77"
    waiting = on_other_pc(lambda: (lock := StoreLock(SERVICE_WAITING, holder=service_pc)).try_acquire() and lock)
    assert waiting
    qtbot.waitUntil(lambda: not window.scheduler_host.running, timeout=3000)
    assert started == ["start", "stop"] and window.scheduler_host.handed_to == "svc-stnav@NIGHT-PC"
    # the lock is free for the service, and the window does not take it back while the service waits
    service = StoreLock("scheduler", holder=service_pc)
    qtbot.waitUntil(lambda: on_other_pc(service.try_acquire), timeout=3000)
    on_other_pc(waiting.release)
    window.refresh_status()  # (the status bar's own timer would show it within its period)
    qtbot.waitUntil(lambda: window.schedule_state.text().startswith("Scheduler runs on svc-stnav@NIGHT-PC"))
    assert started == ["start", "stop"]
    on_other_pc(service.release)
    window.stop_scheduler()
    window.close()
    window.runner.shutdown()


def test_documents_being_posted_on_another_pc_show_who_posts_them(qtbot, store, tmp_path):
    profile = settings.get_profile("default")
    settings.set_value(profile, "approval.two_person_rule", False)
    stage(profile, 3)
    batch = batches.create_batch(profile, actor="ana")
    batches.approve(batch, actor="carol")
    ids = [d.id for d in StDocument.select().order_by(StDocument.id)]
    window = open_window(qtbot, tmp_path, profile)
    window.tabs.setCurrentIndex(2)
    page = window.pages["batches"]
    qtbot.waitUntil(lambda: page.documents.rowCount() == 3)
    won = on_other_pc(lambda: claims.claim(ids[:2], OTHER_PC))
    assert won == ids[:2]
    page._claims_timer.setInterval(200)  # the tab's look at the claims, sooner than every 5 s for the test
    qtbot.waitUntil(lambda: cell(page.table, 0, 8).startswith("being posted by alice@AP-PC-2"), timeout=3000)
    qtbot.waitUntil(lambda: sum(cell(page.documents, r, 4) == "Posting: alice@AP-PC-2"
                                for r in range(3)) == 2)
    assert "being posted by alice@AP-PC-2" in page.summary.text()
    on_other_pc(lambda: claims.release_all(OTHER_PC))
    qtbot.waitUntil(lambda: "being posted" not in cell(page.table, 0, 8), timeout=3000)
    window.close()
    window.runner.shutdown()


def test_the_audit_tab_puts_what_another_pc_did_on_top_and_keeps_the_rows_read(qtbot, store, tmp_path):
    from stnav_desktop.store import audit
    from stnav_desktop.ui.audit_page import PAGE

    profile = settings.get_profile("default")
    audit.append_many([dict(action="document.pulled", st_ref=f"PO-{i}", profile="default") for i in range(PAGE + 20)],
                      actor="bob")
    window = open_window(qtbot, tmp_path, profile)
    window.tabs.setCurrentIndex(4)
    page = window.pages["audit"]
    qtbot.waitUntil(lambda: page.model.rowCount() == PAGE)
    page.table.scrollToBottom()
    qtbot.waitUntil(lambda: page.model.rowCount() == PAGE + 20 and page.model.exhausted)
    page.table.setCurrentIndex(page.model.index(5, 0))
    selected = page.model.rows[5].seq
    on_other_pc(lambda: audit.append("batch.approved", profile="default", actor="carol", nav_ref="batch 9",
                                     detail={"batch": 9, "documents": [1, 2]}))
    qtbot.waitUntil(lambda: page.model.rowCount() == PAGE + 21, timeout=2500)
    top = page.model.rows[0].values
    assert top[3] == "Batch approved" and top[2].startswith("carol on ")
    assert page.model.rows[page.table.currentIndex().row()].seq == selected  # the selection stays on its event
    window.close()
    window.runner.shutdown()
