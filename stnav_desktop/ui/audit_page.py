"""The Audit tab: a filterable view of the audit log, the chain of one ServiceTitan document from
pull to NAV document and G/L entries, export to CSV/XLSX, and "verify audit log"."""

from __future__ import annotations

from pathlib import Path

from stnav_desktop.store import audit
from stnav_desktop.sync import audit_export
from stnav_desktop.ui.qt import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QtWidgets,
    QVBoxLayout,
    QWidget,
    Signal,
)


class AuditPage(QWidget):
    status_message = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.st_filter = QLineEdit(self)
        self.st_filter.setPlaceholderText("ServiceTitan reference, e.g. PO-10452-001")
        self.st_filter.setAccessibleName("ServiceTitan reference filter")
        self.action_filter = QLineEdit(self)
        self.action_filter.setPlaceholderText("action, e.g. document.posted")
        self.action_filter.setAccessibleName("Action filter")
        self.verify_button = QPushButton("&Verify audit log", self)
        self.export_csv = QPushButton("Export CSV…", self)
        self.export_xlsx = QPushButton("Export Excel…", self)
        for w in (self.st_filter, self.action_filter, self.verify_button, self.export_csv, self.export_xlsx):
            top.addWidget(w)
        layout.addLayout(top)
        self.verify_result = QLabel(self)
        self.verify_result.setObjectName("verifyResult")
        layout.addWidget(self.verify_result)
        self.table = QtWidgets.QTableWidget(0, len(audit_export.COLUMNS) - 1, self)
        self.table.setObjectName("auditTable")
        self.table.setAccessibleName("Audit events")
        self.table.setHorizontalHeaderLabels(audit_export.COLUMNS[:-1])
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 3)
        layout.addWidget(QLabel("<b>Chain</b> of the selected ServiceTitan document", self))
        self.chain = QtWidgets.QPlainTextEdit(self)
        self.chain.setObjectName("auditChain")
        self.chain.setReadOnly(True)
        self.chain.setAccessibleName("Document audit chain")
        layout.addWidget(self.chain, 1)
        self.st_filter.returnPressed.connect(self.refresh)
        self.action_filter.returnPressed.connect(self.refresh)
        self.verify_button.clicked.connect(self.verify)
        self.export_csv.clicked.connect(lambda: self.export("csv"))
        self.export_xlsx.clicked.connect(lambda: self.export("xlsx"))
        self.table.currentCellChanged.connect(self._row_changed)
        self.refresh()

    def refresh(self) -> None:
        st_ref = self.st_filter.text().strip() or None
        action = self.action_filter.text().strip() or None
        events = list(audit.events(st_ref=st_ref, action=action))[-2000:]
        self.table.setRowCount(len(events))
        for r, row in enumerate(audit_export.rows(reversed(events))):
            for c, value in enumerate(row[:-1]):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(value))
        if st_ref:
            self.chain.setPlainText(audit_export.to_text(audit_export.chain(st_ref)))

    def _row_changed(self, row, *_):
        item = self.table.item(row, 5) if row >= 0 else None
        if item and item.text():
            self.chain.setPlainText(audit_export.to_text(audit_export.chain(item.text())))

    def verify(self) -> None:
        result = audit.verify()
        self.verify_result.setText(("✓ " if result.ok else "✖ ") + result.message())
        self.verify_result.setStyleSheet("" if result.ok else "color: #b71c1c; font-weight: bold")
        self.status_message.emit(result.message())

    def export(self, fmt: str, path: str | None = None) -> None:
        if not path:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export audit log", f"audit.{fmt}",
                                                            f"{fmt.upper()} files (*.{fmt})")
        if path:
            count = audit_export.export(Path(path), fmt, st_ref=self.st_filter.text().strip() or None)
            self.status_message.emit(f"{count} audit events exported to {path}")
