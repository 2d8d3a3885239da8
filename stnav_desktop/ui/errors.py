"""Unexpected errors: a dialog in plain words with a copyable, secret-free report, never a bare
traceback in the user's face; the full (redacted) detail goes to the log."""

from __future__ import annotations

import logging
import platform
import sys
import traceback

from stnav_desktop import __version__
from stnav_desktop.redact import redact
from stnav_desktop.ui.qt import QApplication, QtWidgets

log = logging.getLogger(__name__)


def report_text(exc_type, exc, tb) -> str:
    lines = traceback.format_exception(exc_type, exc, tb)
    return redact(f"ml-connector {__version__} on Python {platform.python_version()}, {platform.platform()}\n\n"
                  + "".join(lines))


class ErrorDialog(QtWidgets.QDialog):
    def __init__(self, summary: str, report: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Something went wrong")
        layout = QtWidgets.QVBoxLayout(self)
        text = QtWidgets.QLabel(f"{summary}\n\nNothing was posted twice: the app checks NAV before any retry. "
                                "You can copy the report below for support (it contains no passwords or keys).",
                                self)
        text.setWordWrap(True)
        layout.addWidget(text)
        self.report = QtWidgets.QPlainTextEdit(report, self)
        self.report.setReadOnly(True)
        self.report.setAccessibleName("Error report")
        layout.addWidget(self.report)
        buttons = QtWidgets.QDialogButtonBox(self)
        copy = buttons.addButton("Copy report", QtWidgets.QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QtWidgets.QDialogButtonBox.StandardButton.Close)
        copy.clicked.connect(lambda: QApplication.clipboard().setText(self.report.toPlainText()))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(720, 420)


def install_excepthook(parent_fn=lambda: None) -> None:
    def hook(exc_type, exc, tb):
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        if QApplication.instance() is None:
            sys.__excepthook__(exc_type, exc, tb)
            return
        summary = redact(f"{exc_type.__name__}: {exc}")
        ErrorDialog(summary, report_text(exc_type, exc, tb), parent_fn()).exec()

    sys.excepthook = hook
