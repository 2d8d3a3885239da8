"""The Audit tab, for people: local time, actions in words, the detail summarised (the full JSON for
the selected event on demand), the chain of one ServiceTitan document from pull to NAV document and
G/L entries, export to CSV/XLSX (the complete record), and "verify audit log"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stnav_desktop.redact import redact
from stnav_desktop.store import audit
from stnav_desktop.sync.views import audit_export
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

ACTIONS = {
    "document.pulled": "Pulled from ServiceTitan", "document.updated": "Changed in ServiceTitan",
    "document.needs_mapping": "Needs mapping", "document.ready": "Ready to batch", "document.approved": "Approved",
    "document.posting": "Sent to NAV", "document.posted": "Posted in NAV", "document.failed": "Posting failed (retry)",
    "document.needs_attention": "Needs attention", "document.rejected": "Rejected",
    "document.skipped": "Not posted by rule", "document.data_problem": "Data problem in ServiceTitan",
    "document.waiting_for_receipt": "Waiting for full receipt",
    "document.changed_after_posting": "Changed after posting", "document.changed_again": "Changed again",
    "document.changed_while_posting": "Changed while posting", "document.marked_exported": "Marked exported in ST",
    "attempt.settled": "Unknown outcome settled", "batch.prepared": "Batch prepared", "batch.approved": "Batch approved",
    "batch.done": "Batch done", "batch.reopened": "Batch reopened", "mapping.set": "Mapping set",
    "mapping.deleted": "Mapping deleted", "pull.finished": "Pull finished", "refdata.refreshed": "Reference data read",
    "settings.changed": "Settings changed", "correction.approved": "Correction approved",
    "correction.posted": "Correction posted", "vendor.created_in_nav": "Vendor created in NAV",
    "vendor.created_in_servicetitan": "Vendor created in ServiceTitan", "scheduler.requested": "Run requested",
    "scheduler.skipped": "Scheduled run skipped", "scheduler.wake": "Woke from sleep", "selftest": "Self-test",
    "demo.configured": "Demo configured",
}
COLUMNS = ["#", "When (local time)", "Who", "What", "ServiceTitan", "NAV", "Summary"]


def action_words(action: str) -> str:
    return ACTIONS.get(action) or action.replace(".", ": ").replace("_", " ").capitalize()


def summarise(action: str, detail: dict[str, Any]) -> str:
    """One readable line from the detail (the full JSON stays one click away)."""
    if not isinstance(detail, dict):
        return str(detail)[:200]
    parts: list[str] = []
    if detail.get("reason"):
        parts.append(str(detail["reason"]))
    if action == "document.posted" and detail.get("nav_number"):
        gl = [str(n) for n in detail.get("gl_entries") or [] if n is not None]
        parts.append(f"NAV {str(detail.get('nav_kind') or '').replace('_', ' ')} {detail['nav_number']}"
                     + (f", {len(gl)} G/L entries" if gl else ""))
    if action.startswith("batch.") and detail.get("documents") is not None:
        parts.append(f"{len(detail['documents'])} documents")
    if detail.get("dropped"):
        parts.append(f"{len(detail['dropped'])} taken out")
    if action.startswith("mapping.") and detail.get("target"):
        parts.append(f"{detail.get('label') or detail.get('source_key') or ''} → {detail['target']}"
                     + (f" ({detail['how']})" if detail.get("how") else ""))
    if action == "settings.changed":
        parts.append(", ".join(f"{k} = {v}" for k, v in list(detail.items())[:4]))
    if action == "pull.finished":
        parts.append(f"{detail.get('new', 0)} new, {detail.get('updated', detail.get('changed', 0)) or 0} changed"
                     + (" (cancelled)" if detail.get("cancelled") else ""))
    if action == "refdata.refreshed":
        parts.append(f"{detail.get('rows')} {detail.get('entity')}")
    if not parts:
        keys = [k for k in detail if k not in ("version", "from", "to", "new_payload", "changes")]
        parts.append(", ".join(f"{k}: {detail[k]}" for k in keys[:3]))
    return "; ".join(p for p in parts if p)[:300]


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
        self.action_filter.setPlaceholderText("what, e.g. Posted in NAV")
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
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("auditTable")
        self.table.setAccessibleName("Audit events")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((55, 135, 120, 190, 130, 110)):
            self.table.setColumnWidth(column, width)
        layout.addWidget(self.table, 3)
        below = QHBoxLayout()
        chain_box = QVBoxLayout()
        chain_box.addWidget(QLabel("<b>Chain</b> of the selected ServiceTitan document", self))
        self.chain = QtWidgets.QPlainTextEdit(self)
        self.chain.setObjectName("auditChain")
        self.chain.setReadOnly(True)
        self.chain.setAccessibleName("Document audit chain")
        chain_box.addWidget(self.chain)
        detail_box = QVBoxLayout()
        self.detail_button = QPushButton("Show the full detail (JSON)", self)
        self.detail_button.setCheckable(True)
        self.detail = QtWidgets.QPlainTextEdit(self)
        self.detail.setObjectName("auditDetail")
        self.detail.setReadOnly(True)
        self.detail.setAccessibleName("Full detail of the selected event")
        self.detail.hide()
        detail_box.addWidget(self.detail_button)
        detail_box.addWidget(self.detail)
        below.addLayout(chain_box, 3)
        below.addLayout(detail_box, 2)
        layout.addLayout(below, 1)
        self.detail_button.toggled.connect(self._toggle_detail)
        self._events: list = []
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
        if action and action not in ACTIONS:  # words as the table shows them: "posted in nav"
            action = next((k for k, v in ACTIONS.items() if action.casefold() in v.casefold()), action)
        events = list(reversed(list(audit.events(st_ref=st_ref, action=action))[-2000:]))
        self._events = events
        self.table.setRowCount(len(events))
        for r, e in enumerate(events):
            try:
                detail = json.loads(e.detail or "{}")
            except ValueError:
                detail = e.detail
            values = [str(e.seq), f"{e.ts.astimezone():%Y-%m-%d %H:%M:%S}", e.actor, action_words(e.action),
                      e.st_ref, e.nav_ref, summarise(e.action, detail)]
            for c, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(value)
                item.setToolTip(e.action if c == 3 else value)
                self.table.setItem(r, c, item)
        if st_ref:
            self.chain.setPlainText(audit_export.to_text(audit_export.chain(st_ref)))

    def _row_changed(self, row, *_):
        item = self.table.item(row, 4) if row >= 0 else None
        if item and item.text():
            self.chain.setPlainText(audit_export.to_text(audit_export.chain(item.text())))
        self._show_detail(row)

    def _toggle_detail(self, on: bool) -> None:
        self.detail.setVisible(on)
        self.detail_button.setText("Hide the full detail" if on else "Show the full detail (JSON)")
        self._show_detail(self.table.currentRow())

    def _show_detail(self, row: int) -> None:
        if not self.detail.isVisible() or not (0 <= row < len(self._events)):
            return
        e = self._events[row]
        try:
            text = json.dumps(json.loads(e.detail or "{}"), indent=2, ensure_ascii=False, sort_keys=True)
        except ValueError:
            text = e.detail
        self.detail.setPlainText(f"{e.action} · event {e.seq} · hash {e.hash[:16]}…\n{redact(text)}")

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
