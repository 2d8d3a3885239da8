"""What a desktop app is expected to do: fit 1366×768, Ctrl+F to search, a menu with Help, About and
Quit, the NAV company by name in the status bar."""

from __future__ import annotations

from stnav_desktop.store import settings
from stnav_desktop.sync.views import status
from stnav_desktop.ui.main_window import MainWindow
from stnav_desktop.ui.qt import QSettings


def test_window_fits_a_small_laptop_and_has_the_usual_menu(qtbot, store, tmp_path):
    profile = settings.get_profile("default")
    settings.set_value(profile, "nav.company_id", "c0ffee00-1111-2222-3333-444455556666")
    status.remember_companies(profile, [{"id": "c0ffee00-1111-2222-3333-444455556666", "name": "CRONUS USA, Inc."}])
    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), profile=profile)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.width() <= 1366 and window.height() <= 768
    # every tab fits: no page asks for more than the 1366×768 window offers
    for page in window.pages.values():
        hint = page.minimumSizeHint()
        assert hint.width() <= 1366 and hint.height() <= 700, (page, hint)
    assert window.minimumSizeHint().width() <= 1366 and window.minimumSizeHint().height() <= 768
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "Edit", "Help"]
    assert window.quit_action.shortcut().toString() and window.about_action.text()
    assert window.help_url().startswith(("file://", "https://"))
    # Ctrl+F focuses the search box of the Review tab, from any tab
    window.tabs.setCurrentIndex(3)
    assert window.find_action.shortcut().toString() == "Ctrl+F"
    window.find_action.trigger()  # what Ctrl+F does (the offscreen test platform has no active window)
    assert window.tabs.currentWidget().page is window.pages["review"]
    assert window.focusWidget() is window.pages["review"].search
    # the status bar names the company, not its id (read on the task runner)
    qtbot.waitUntil(lambda: "CRONUS" in window.nav_state.text())
    assert "CRONUS USA, Inc." in window.nav_state.text() and "c0ffee00" not in window.nav_state.text()
    window.quit_action.trigger()
    assert not window.isVisible()


def test_news_reaches_the_tray_when_the_window_is_minimised(qtbot, store, tmp_path, monkeypatch):
    from stnav_desktop.ui.qt import QtWidgets

    monkeypatch.setattr(QtWidgets.QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    shown = []
    monkeypatch.setattr(QtWidgets.QSystemTrayIcon, "showMessage", lambda self, title, text, *a: shown.append(text))
    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
                        profile=settings.get_profile("default"))
    qtbot.addWidget(window)
    window.show()
    window.notify("Scheduled pull: 3 new")
    assert shown == []  # the window is on screen: the banner says it
    window.hide()
    window.notify("Scheduled retries failed: NAV is unreachable")
    assert shown == ["Scheduled retries failed: NAV is unreachable"]


def test_tabs_are_built_when_first_shown_and_load_their_data_off_the_gui_thread(qtbot, store, tmp_path):
    from stnav_desktop.store import audit
    from stnav_desktop.store.db import db
    from stnav_desktop.store.models import StDocument

    profile = settings.get_profile("default")
    with db.atomic():
        StDocument.insert_many([dict(profile=profile.id, kind="purchase_order", st_id=i, number=f"{1000 + i}-001",
                                     raw="{}", content_hash=f"h{i}", status="ready") for i in range(30)]).execute()
    audit.append_many([dict(action="document.pulled", st_ref=f"PO-{i}", profile="default") for i in range(500)],
                      actor="bob")

    class HeldRunner:
        """A task runner whose tasks wait until the test lets them run (what a slow store looks like)."""

        def __init__(self):
            self.queue = []

        def submit(self, fn, on_done, on_error=None):
            self.queue.append((fn, on_done))

        def run_all(self):
            while self.queue:
                fn, on_done = self.queue.pop(0)
                on_done(fn())

        def shutdown(self):
            pass

    runner = HeldRunner()
    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), profile=profile,
                        runner=runner)
    qtbot.addWidget(window)
    # no page is built before the window frame is up; then the first tab, whose rows are read on the task
    # runner, "Loading…" meanwhile
    assert window.pages.built() == {}
    qtbot.waitUntil(lambda: "review" in window.pages.built())
    review = window.pages["review"]
    assert review.model.rowCount() == 0 and review.count_label.text() == "Loading…"
    window.show()
    qtbot.wait(50)
    assert review.count_label.text() == "Loading…"  # the window paints and answers meanwhile
    runner.run_all()
    assert review.model.rowCount() == 30
    assert review.count_label.text().startswith("30 shown · 30 ready")
    # the Audit tab is built the first time it is shown, and reads one page of the log, not all of it
    window.tabs.setCurrentIndex(4)
    assert "audit" in window.pages.built()
    audit_page = window.pages["audit"]
    assert audit_page.model.rowCount() == 0 and audit_page.state.text() == "Loading…"
    runner.run_all()
    assert audit_page.model.rowCount() == 200 and audit_page.model.rows[0].values[4] == "PO-499"
    assert set(window.pages.built()) == {"review", "audit"}
    window.close()
