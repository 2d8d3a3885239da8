"""``stnav-desktop``: the GUI entry point (qasync event loop over Qt)."""

from __future__ import annotations

import asyncio
import sys

from stnav_desktop import APP_NAME, runtime
from stnav_desktop.ui.qt import QApplication


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationDisplayName("ml-connector")
    return app


def main(argv: list[str] | None = None) -> int:
    import qasync

    from stnav_desktop.ui.main_window import MainWindow

    runtime.start()
    app = make_app(argv)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow()
    window.show()
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
