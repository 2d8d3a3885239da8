"""``stnav-desktop``: the GUI entry point (qasync event loop over Qt). The scheduler runs on its own
thread, so a stuck GUI task can never stop polling; its news reaches the window by a Qt signal."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable

from stnav_desktop import APP_NAME, runtime
from stnav_desktop.ui.qt import QApplication, QObject, Signal

log = logging.getLogger(__name__)


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationDisplayName("ml-connector")
    from importlib import resources

    from stnav_desktop.ui.qt import QIcon

    icon = resources.files("stnav_desktop") / "resources" / "icon.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


class _SchedulerRelay(QObject):
    event = Signal(object)  # a sync.scheduler.JobNews, from the scheduler thread to the GUI thread


def main(argv: list[str] | None = None) -> int:
    if "--self-test" in (sys.argv[1:] if argv is None else argv[1:]):
        from stnav_desktop import selftest

        return selftest.main()
    runtime.start()
    from stnav_desktop.store import settings
    from stnav_desktop.sync.app.service import SyncService

    profile = settings.get_profile(os.environ.get("STNAV_PROFILE", "default"))
    service: list[SyncService] = []

    def service_fn() -> SyncService:
        if not service:
            service.append(SyncService(profile))
        return service[0]

    return run_window(profile, service_fn=service_fn)


def run_window(profile, *, service_fn: Callable, title_suffix: str = "") -> int:
    import qasync

    from stnav_desktop.store import settings
    from stnav_desktop.ui.errors import install_excepthook
    from stnav_desktop.ui.main_window import MainWindow

    app = make_app()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow(profile=profile, service_fn=service_fn)
    if title_suffix:
        window.setWindowTitle(f"{window.windowTitle()} — {title_suffix}")
    install_excepthook(lambda: window)
    relay = _SchedulerRelay()

    def on_event(news) -> None:  # sync.scheduler.JobNews
        if news.job == "pull":
            window.refresh_page("review")
        if not news.ok:
            window.notify(f"Scheduled {news.job} {news.summary}")
        elif news.new_for_review or news.needs_attention:
            window.notify(f"Scheduled {news.job}: {news.summary}")
        window.refresh_status()

    relay.event.connect(on_event)
    values = settings.all_values(profile)
    if values["schedule.enabled"] and values["servicetitan.tenant"]:
        # one scheduler per store: runs here only while this window holds the store's lock
        window.start_scheduler(lambda: service_fn().scheduler(on_event=relay.event.emit))
    window.show()
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    window.stop_scheduler(timeout=10)
    if window.live is not None:
        window.live.stop()
    window.runner.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
