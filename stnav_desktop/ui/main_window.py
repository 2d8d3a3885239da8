"""The main window: one tab per job of the day, a status bar with each system's state."""

from __future__ import annotations

from stnav_desktop import __version__
from stnav_desktop.ui.qt import (
    QAction,
    QByteArray,
    QKeySequence,
    QLabel,
    QMainWindow,
    QSettings,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

TABS = ("Review", "Mappings", "Batches && posting", "Reports", "Audit", "Settings")


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"ml-connector — ServiceTitan → NAV  {__version__}")
        self.setObjectName("mainWindow")
        self.qsettings = settings or QSettings()
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("mainTabs")
        self.tabs.setAccessibleName("Main sections")
        for index, title in enumerate(TABS):
            page = QWidget(self.tabs)
            page.setObjectName(f"tab{index}")
            layout = QVBoxLayout(page)
            layout.addWidget(QLabel(f"{title.replace('&&', '&')}: nothing here yet.", page))
            self.tabs.addTab(page, title)
            shortcut = QAction(self)
            shortcut.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            shortcut.triggered.connect(lambda _=False, i=index: self.tabs.setCurrentIndex(i))
            self.addAction(shortcut)
        self.setCentralWidget(self.tabs)
        self.st_state = QLabel("ServiceTitan: not configured", self)
        self.nav_state = QLabel("NAV: not configured", self)
        self.schedule_state = QLabel("Schedule: off", self)
        self.attention_state = QLabel("Needs attention: 0", self)
        for label in (self.st_state, self.nav_state, self.schedule_state, self.attention_state):
            label.setAccessibleName(label.text().split(":")[0])
            self.statusBar().addPermanentWidget(label)
        geometry = self.qsettings.value("mainWindow/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt signature
        self.qsettings.setValue("mainWindow/geometry", self.saveGeometry())
        super().closeEvent(event)
