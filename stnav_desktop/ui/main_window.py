"""The main window: one tab per job of the day, a status bar with each system's state, the last pull,
the next scheduled run, and what needs attention; a banner for news from scheduled runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

from stnav_desktop import __version__
from stnav_desktop.store.models import Profile
from stnav_desktop.ui.qt import (
    QAction,
    QByteArray,
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QMainWindow,
    QPushButton,
    QSettings,
    QTabWidget,
    QTimer,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

TABS = ("Review", "Mappings", "Batches && posting", "Reports", "Audit", "Settings")


class Banner(QWidget):
    """An in-window notification: scheduled runs that found documents, things that need attention."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.close_button = QPushButton("Dismiss", self)
        self.close_button.setAccessibleName("Dismiss notification")
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self.close_button.clicked.connect(self.hide)
        self.setStyleSheet("#banner { background: palette(highlight); } #banner QLabel { color: palette(highlighted-text); }")
        self.hide()

    def notify(self, text: str) -> None:
        self.label.setText(text)
        self.setAccessibleDescription(text)
        self.show()


class LazyTab(QWidget):
    """The tab's place holder: the page itself is built the first time the tab is shown."""

    def __init__(self, name: str, factory: Callable[[QWidget], QWidget], parent=None) -> None:
        super().__init__(parent)
        self.name = name
        self.setObjectName(f"{name}Tab")
        self.factory = factory
        self.page: QWidget | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    def ensure(self) -> QWidget:
        if self.page is None:
            self.page = self.factory(self)
            self.layout().addWidget(self.page)
            # a child added to a shown parent is otherwise shown only by a queued call (QLayout::addChildWidget):
            # whoever looked the page up would see it hidden until the event loop runs
            self.page.show()
        return self.page


class Pages(Mapping):
    """The window's pages by name; looking one up builds it if its tab was never shown."""

    def __init__(self, holders: dict[str, LazyTab] | None = None) -> None:
        self._holders = holders or {}

    def __getitem__(self, name: str) -> QWidget:
        return self._holders[name].ensure()

    def __contains__(self, name: object) -> bool:
        return name in self._holders

    def __iter__(self) -> Iterator[str]:
        return iter(self._holders)

    def __len__(self) -> int:
        return len(self._holders)

    def built(self) -> dict[str, QWidget]:
        return {name: h.page for name, h in self._holders.items() if h.page is not None}


class MainWindow(QMainWindow):
    def __init__(self, settings_store: QSettings | None = None, *, profile: Profile | None = None, runner=None,
                 service_fn: Callable | None = None, live_interval: float = 3.0) -> None:
        super().__init__()
        from stnav_desktop.ui.tasks import TaskRunner

        self.setWindowTitle(f"ml-connector — ServiceTitan → NAV  {__version__}")
        self.setObjectName("mainWindow")
        self.qsettings = settings_store or QSettings()
        self.profile = profile
        self.runner = runner or TaskRunner()
        self.service_fn = service_fn or self._no_service
        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        self.banner = Banner(central)
        outer.addWidget(self.banner)
        from stnav_desktop.ui.first_run import FirstRun

        self.first_run = FirstRun(central)
        self.first_run.connect_requested.connect(lambda: self.tabs.setCurrentIndex(len(TABS) - 1))
        outer.addWidget(self.first_run)
        self.tabs = QTabWidget(central)
        self.tabs.setObjectName("mainTabs")
        self.tabs.setAccessibleName("Main sections")
        outer.addWidget(self.tabs)
        self.setCentralWidget(central)
        self.pages = Pages()
        self._build_pages()
        self._build_menu()
        self._build_tray()
        for index in range(self.tabs.count()):
            shortcut = QAction(self)
            shortcut.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            shortcut.triggered.connect(lambda _=False, i=index: self.tabs.setCurrentIndex(i))
            self.addAction(shortcut)
        self.st_state = QLabel("ServiceTitan: not configured", self)
        self.nav_state = QLabel("NAV: not configured", self)
        self.last_pull = QLabel("Last pull: never", self)
        self.schedule_state = QLabel("Schedule: off", self)
        self.attention_state = QLabel("Needs attention: 0", self)
        for label in (self.st_state, self.nav_state, self.last_pull, self.schedule_state, self.attention_state):
            label.setAccessibleName(label.text().split(":")[0])
            self.statusBar().addPermanentWidget(label)
        geometry = self.qsettings.value("mainWindow/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(*self.default_size())
        self._status_pending = False
        self.scheduler_host = None  # start_scheduler(): one scheduler per store
        self.live = None
        if self.profile is not None:  # other PCs' changes show without a click (started when shown)
            from stnav_desktop.ui.shared_store import LiveViews

            self.live = LiveViews(self._store_changed, interval=live_interval)
        self._status_timer = QTimer(self, interval=5000)
        self._status_timer.timeout.connect(self.refresh_status)
        self._status_timer.start()
        self.refresh_status()

    @staticmethod
    def default_size() -> tuple[int, int]:
        """1366×768 laptops are common in back offices: fit the screen's free area, never more."""
        from stnav_desktop.ui.qt import QApplication

        screen = QApplication.primaryScreen()
        free = screen.availableGeometry() if screen else None
        width, height = 1366, 768
        if free is not None:
            width, height = min(width, free.width()), min(height, free.height())
        return width, height

    def _build_menu(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))  # StandardKey.Quit is empty on Windows
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        self.find_action = QAction("&Find documents…", self)
        self.find_action.setShortcut(QKeySequence("Ctrl+F"))
        self.find_action.triggered.connect(self.focus_search)
        edit_menu.addAction(self.find_action)
        help_menu = bar.addMenu("&Help")
        self.help_action = QAction("&User guide", self)
        self.help_action.setShortcut(QKeySequence("F1"))
        self.help_action.triggered.connect(self.open_help)
        self.about_action = QAction("&About ml-connector", self)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.help_action)
        help_menu.addAction(self.about_action)

    def _build_tray(self) -> None:
        """A tray icon (where the desktop has a tray): news from scheduled runs reaches a minimised window."""
        from stnav_desktop.ui.qt import QtWidgets

        self.tray = None
        if not QtWidgets.QSystemTrayIcon.isSystemTrayAvailable():
            return
        from stnav_desktop.ui.qt import QApplication

        self.tray = QtWidgets.QSystemTrayIcon(QApplication.windowIcon() or self.windowIcon(), self)
        self.tray.setToolTip("ml-connector")
        menu = QtWidgets.QMenu(self)
        menu.addAction("Show ml-connector", self.show_from_tray)
        menu.addAction(self.quit_action)
        self.tray.setContextMenu(menu)
        self.tray.activated.connect(lambda _reason: self.show_from_tray())
        self.tray.show()

    def show_from_tray(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def focus_search(self) -> None:
        """Ctrl+F: the Review tab's search box, with its text selected."""
        if "review" not in self.pages:
            return
        page = self.pages["review"]
        self.tabs.setCurrentIndex(0)
        page.search.setFocus()
        page.search.selectAll()

    @staticmethod
    def help_url() -> str:
        """The user guide shipped beside the app (README), or the project's page when it is not there."""
        from pathlib import Path

        for candidate in (Path(__file__).resolve().parents[2] / "README.md",
                          Path(__file__).resolve().parents[1] / "resources" / "README.md"):
            if candidate.exists():
                return candidate.as_uri()
        return "https://github.com/ml-connector/ml-connector#readme"

    def open_help(self) -> None:
        from stnav_desktop.ui.qt import QtCore, QtGui

        QtGui.QDesktopServices.openUrl(QtCore.QUrl(self.help_url()))

    def show_about(self) -> None:
        from stnav_desktop.ui.qt import QMessageBox

        QMessageBox.about(self, "About ml-connector",
                          f"<b>ml-connector {__version__}</b><p>ServiceTitan purchase orders and inventory bills "
                          "into Microsoft Dynamics NAV / Business Central, reviewed and approved by you, each "
                          "cost booked once.</p><p>Help: the user guide (F1). Your data stays on this PC and in "
                          "your NAV; secrets live in the system keychain.</p>")

    @staticmethod
    def _no_service():
        raise RuntimeError("the connectors are not configured yet: fill in the Settings tab")

    def _build_pages(self) -> None:
        if self.profile is None:
            for index, title in enumerate(TABS):
                page = QWidget(self.tabs)
                page.setObjectName(f"tab{index}")
                layout = QVBoxLayout(page)
                layout.addWidget(QLabel(f"{title.replace('&&', '&')}: open a profile first.", page))
                self.tabs.addTab(page, title)
            return
        # each page is built (and loads its data on the task runner) the first time its tab is shown
        factories = {"review": self._review_page, "mappings": self._mappings_page, "batches": self._batches_page,
                     "reports": self._reports_page, "audit": self._audit_page, "settings": self._settings_page}
        holders = {}
        for (name, factory), title in zip(factories.items(), TABS, strict=True):
            holders[name] = LazyTab(name, factory, self.tabs)
            self.tabs.addTab(holders[name], title)
        self.pages = Pages(holders)
        self.tabs.currentChanged.connect(self._tab_changed)
        # the first tab shown: built once the window frame is up (its rows then load on the runner)
        QTimer.singleShot(0, lambda: self.pages["review"])

    def _connect_page(self, page: QWidget) -> QWidget:
        if hasattr(page, "status_message"):
            page.status_message.connect(lambda text: self.statusBar().showMessage(text, 15000))
        return page

    def refresh_page(self, name: str) -> None:
        """Refresh a page if it was built (a page not built yet loads fresh data when first shown)."""
        page = self.pages.built().get(name)
        if page is not None and hasattr(page, "refresh"):
            page.refresh()

    def _review_page(self, parent: QWidget) -> QWidget:
        from stnav_desktop.ui.review_page import ReviewPage

        page = ReviewPage(self.profile, parent, runner=self.runner, service_fn=self.service_fn)
        page.changed.connect(self._data_changed)
        return self._connect_page(page)

    def _mappings_page(self, parent: QWidget) -> QWidget:
        from stnav_desktop.ui.mappings_page import MappingsPage

        page = MappingsPage(self.profile, parent, runner=self.runner, service_fn=self.service_fn)
        page.changed.connect(lambda: self.refresh_page("review"))
        return self._connect_page(page)

    def _batches_page(self, parent: QWidget) -> QWidget:
        from stnav_desktop.ui.batches_page import BatchesPage

        page = BatchesPage(self.profile, self.runner, self.service_fn, parent)
        page.changed.connect(lambda: self.refresh_page("review"))
        return self._connect_page(page)

    def _reports_page(self, parent: QWidget) -> QWidget:
        from stnav_desktop.ui.reports_page import ReportsPage

        return self._connect_page(ReportsPage(self.profile, self.runner, self.service_fn, parent))

    def _audit_page(self, parent: QWidget) -> QWidget:
        from stnav_desktop.ui.audit_page import AuditPage

        return self._connect_page(AuditPage(parent, runner=self.runner))

    @property
    def settings_page(self):
        self.pages["settings"]  # noqa: B018 - built on first use
        return self._settings

    @property
    def connections(self):
        self.pages["settings"]  # noqa: B018 - built on first use
        return self._connections

    def _settings_page(self, parent: QWidget) -> QWidget:
        """Connection and posting settings (generic, with IT locks) beside the secrets and the
        connection test."""
        from stnav_desktop.ui.connections_page import ConnectionsPanel
        from stnav_desktop.ui.qt import QtWidgets
        from stnav_desktop.ui.settings_page import SettingsPage

        page = QtWidgets.QSplitter(parent)
        page.setObjectName("settingsTab")
        self._settings = SettingsPage(self.profile, page)
        self._connections = ConnectionsPanel(self.profile, self.runner, self._fresh_service, page)
        page.addWidget(self._settings)
        page.addWidget(self._connections)
        page.setStretchFactor(0, 3)
        page.setStretchFactor(1, 2)
        self._settings.saved.connect(lambda _changes: self._settings_saved())
        self._connections.company_chosen.connect(lambda _id: (self._settings.refresh(), self._settings_saved()))
        for widget in (self._settings, self._connections):
            widget.status_message.connect(lambda text: self.statusBar().showMessage(text, 15000))
        page.refresh = lambda: (self._connections.refresh(),)
        return page

    def _fresh_service(self):
        """After settings change the connectors must be rebuilt from them."""
        service = self.service_fn()
        if hasattr(service, "reset"):
            service.reset()
        return service

    def _settings_saved(self) -> None:
        self.refresh_status()
        self.refresh_page("review")

    def _tab_changed(self, index: int) -> None:
        holder = self.tabs.widget(index)
        if not isinstance(holder, LazyTab):
            return
        if holder.page is None:
            holder.ensure()  # built now: it loads its data as it starts
        elif hasattr(holder.page, "refresh") and holder.name != "review":
            holder.page.refresh()

    def _data_changed(self) -> None:
        self.refresh_status()

    def notify(self, text: str) -> None:
        self.banner.notify(text)
        if self.tray is not None and (self.isMinimized() or not self.isVisible()):
            self.tray.showMessage("ml-connector", text)

    def refresh_status(self) -> None:
        """The status bar's figures are counted on the task runner (they grow with the store)."""
        if self.profile is None or self._status_pending:
            return
        from stnav_desktop.sync.views import status

        profile = self.profile

        def work():
            from stnav_desktop.store import locks
            from stnav_desktop.store.models import SchedulerJob

            job = SchedulerJob.get_or_none((SchedulerJob.profile == profile) & (SchedulerJob.name == "pull"))
            return status.summary(profile), locks.who("scheduler"), job.last_run_at if job else None

        self._status_pending = True
        self.runner.submit(work, self._show_status, self._status_failed)

    def _status_failed(self, message: str) -> None:
        self._status_pending = False
        log.warning("status bar not refreshed: %s", message)

    def _show_status(self, result) -> None:
        now, lease, last_run = result
        self._status_pending = False
        self.first_run.setVisible(not now.configured)
        self.st_state.setText(f"ServiceTitan: {now.servicetitan}")
        self.nav_state.setText(f"NAV: {now.nav}")
        self.last_pull.setText(f"Last pull: {now.last_pull.astimezone():%Y-%m-%d %H:%M}" if now.last_pull
                               else "Last pull: never")
        self.schedule_state.setText(self._scheduler_text(now.schedule, lease, last_run))
        self.attention_state.setText(f"Needs attention: {now.attention}")

    def _scheduler_text(self, schedule: str, lease, last_run) -> str:
        """Where the store's one scheduler runs: here (the schedule as usual), or on another PC / the
        service ("Scheduler runs on alice@AP-PC-2 (last run 14:05)")."""
        from stnav_desktop.sync.views.activity import holder_name

        host = self.scheduler_host
        if host is not None and host.running:
            return schedule
        if lease is not None and (host is None or lease.holder != host.holder):
            when = f"{last_run.astimezone():%H:%M}" if last_run else "not yet"
            return f"Scheduler runs on {holder_name(lease.holder)} (last run {when})"
        return schedule

    def start_scheduler(self, factory: Callable[[], object], *, standby_seconds: float = 30.0,
                        heartbeat_seconds: float = 60.0) -> None:
        """Run the background schedule here if no other PC (or the service) runs it for this store;
        otherwise stand by and take over when it stops. ``factory`` builds and returns the Scheduler."""
        from stnav_desktop.ui.shared_store import SchedulerHost

        self.scheduler_host = SchedulerHost(factory, standby_seconds=standby_seconds,
                                            heartbeat_seconds=heartbeat_seconds, parent=self)
        self.scheduler_host.changed.connect(self.refresh_status)
        self.scheduler_host.failed.connect(lambda text: self.notify(f"Background schedule not started: {text}"))
        self.scheduler_host.start()

    def stop_scheduler(self, timeout: float = 10.0) -> None:
        if self.scheduler_host is not None:
            self.scheduler_host.stop(timeout)
            self.scheduler_host = None

    def _store_changed(self, changes: list) -> None:
        """A burst of changes from this or another PC (store.changes.Watcher): each view it touches is
        refreshed once, on the task runner."""
        from stnav_desktop.store.changes import affected

        views = affected(changes)
        if views & {"documents", "readiness"}:
            self.refresh_page("review")
        if views & {"batches", "documents"}:
            self.refresh_page("batches")
        if "mappings" in views:
            self.refresh_page("mappings")
        audit_page = self.pages.built().get("audit")
        if audit_page is not None:
            audit_page.model.load_newer()  # every change is an audit event
        self.refresh_status()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt signature
        super().showEvent(event)
        if self.live is not None and not self.live.running:
            self.live.start()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt signature
        self.qsettings.setValue("mainWindow/geometry", self.saveGeometry())
        self._status_timer.stop()
        if self.live is not None:
            self.live.stop()
        super().closeEvent(event)
