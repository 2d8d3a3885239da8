"""What the window offers when nothing is configured: connect your systems, or open the demo (the
bundled simulators with sample data, in a separate throw-away home so it never mixes with real books)."""

from __future__ import annotations

import subprocess
import sys

from stnav_desktop.ui.qt import QLabel, QPushButton, Qt, QVBoxLayout, QWidget, Signal


class FirstRun(QWidget):
    connect_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRun")
        layout = QVBoxLayout(self)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("<h2>Welcome to ml-connector</h2>"
                       "<p>Move ServiceTitan purchase orders and inventory bills into NAV / Business Central, "
                       "reviewed and approved by you, each cost booked once.</p>", self)
        title.setWordWrap(True)
        layout.addWidget(title)
        self.connect_button = QPushButton("Connect your systems…", self)
        self.connect_button.setAccessibleName("Connect your systems")
        self.demo_button = QPushButton("Open the demo (sample data, nothing real)", self)
        self.demo_button.setAccessibleName("Open the demo")
        layout.addWidget(self.connect_button)
        layout.addWidget(self.demo_button)
        self.connect_button.clicked.connect(self.connect_requested.emit)
        self.demo_button.clicked.connect(self.open_demo)

    def open_demo(self) -> None:
        # a separate process with its own temporary STNAV_HOME: demo data never touches this database
        subprocess.Popen(demo_command(), close_fds=True)


def demo_command() -> list[str]:
    """``stnav demo`` from a source install, or the bundled console executable beside a frozen one."""
    if getattr(sys, "frozen", False):
        from pathlib import Path

        folder = Path(sys.executable).parent
        exe = folder / ("stnav.exe" if sys.platform == "win32" else "stnav")
        return [str(exe), "demo"]
    return [sys.executable, "-m", "stnav_desktop", "demo"]
