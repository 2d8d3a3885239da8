"""The Audit tab, for people: local time, actions in words, the detail summarised (the full JSON for
the selected event on demand), the chain of one ServiceTitan document from pull to NAV document and
G/L entries, export to CSV/XLSX (the complete record), and "verify audit log"."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stnav_desktop.redact import redact
from stnav_desktop.store import audit
from stnav_desktop.sync.views import audit_export
from stnav_desktop.ui.qt import (
    QAbstractTableModel,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QModelIndex,
    QPushButton,
    Qt,
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


PAGE = 200  # events per fetch: the table asks for the next page as the user scrolls


@dataclass(frozen=True)
class AuditRow:
    """One event as the table shows it (computed on the task runner, not while painting)."""

    seq: int
    values: tuple[str, ...]
    action: str
    st_ref: str
    detail: str
    hash: str


def to_row(e) -> AuditRow:
    try:
        detail = json.loads(e.detail or "{}")
    except ValueError:
        detail = e.detail
    who = f"{e.actor} on {e.host}" if getattr(e, "host", "") else e.actor  # the PC that did it (#19)
    values = (str(e.seq), f"{e.ts.astimezone():%Y-%m-%d %H:%M:%S}", who, action_words(e.action), e.st_ref,
              e.nav_ref, summarise(e.action, detail))
    return AuditRow(e.seq, values, e.action, e.st_ref, e.detail, e.hash)


def fetch_rows(*, before: int | None = None, after: int | None = None, st_ref: str | None, action: str | None,
               limit: int = PAGE) -> list[AuditRow]:
    return [to_row(e) for e in audit.events_page(before=before, after=after, limit=limit, st_ref=st_ref,
                                                 action=action)]


class AuditModel(QAbstractTableModel):
    """The audit log newest first, a page at a time (keyset on the event number, filters in SQL): the
    view asks for more (``canFetchMore``/``fetchMore``) as the user scrolls; pages load on the runner."""

    loaded = Signal()
    failed = Signal(str)

    def __init__(self, runner, parent=None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.rows: list[AuditRow] = []
        self.st_ref: str | None = None
        self.action: str | None = None
        self.exhausted = False
        self.loading = False
        self._generation = 0

    def reload(self, st_ref: str | None = None, action: str | None = None) -> None:
        """Start again from the newest event (new filter, or the log grew)."""
        self._generation += 1
        self.beginResetModel()
        self.rows = []
        self.st_ref, self.action = st_ref, action
        self.exhausted = False
        self.loading = False
        self.endResetModel()
        self._load()

    def _load(self) -> None:
        if self.loading or self.exhausted:
            return
        self.loading = True
        generation = self._generation
        before = self.rows[-1].seq if self.rows else None
        st_ref, action = self.st_ref, self.action
        self.runner.submit(lambda: fetch_rows(before=before, st_ref=st_ref, action=action),
                           lambda rows: self._append(generation, rows),
                           lambda message: self._failed(generation, message))

    def load_newer(self) -> None:
        """Events appended since (on this PC or another): put on top, the rows already read stay where
        they are. A flood of them starts the list again from the newest."""
        if self.loading or not self.rows:
            if not self.loading:
                self.reload(self.st_ref, self.action)
            return
        generation = self._generation
        after, st_ref, action = self.rows[0].seq, self.st_ref, self.action

        def done(rows: list[AuditRow]) -> None:
            if generation != self._generation or not rows or rows[-1].seq <= self.rows[0].seq:
                return
            if len(rows) >= PAGE:
                self.reload(self.st_ref, self.action)
                return
            self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
            self.rows[:0] = rows
            self.endInsertRows()
            self.loaded.emit()

        self.runner.submit(lambda: fetch_rows(after=after, st_ref=st_ref, action=action), done,
                           lambda message: self._failed(generation, message))

    def _append(self, generation: int, rows: list[AuditRow]) -> None:
        if generation != self._generation:  # an older filter's page: dropped
            return
        self.loading = False
        self.exhausted = len(rows) < PAGE
        if rows:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(rows) - 1)
            self.rows.extend(rows)
            self.endInsertRows()
        self.loaded.emit()

    def _failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.loading = False
            self.failed.emit(message)

    # -- Qt model API --------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802,B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802,B008
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent=QModelIndex()) -> bool:  # noqa: N802,B008
        return not parent.isValid() and not self.exhausted and not self.loading

    def fetchMore(self, parent=QModelIndex()) -> None:  # noqa: N802,B008
        if not parent.isValid():
            self._load()

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return row.values[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.action if index.column() == 3 else row.values[index.column()]
        return None


class AuditPage(QWidget):
    status_message = Signal(str)

    def __init__(self, parent=None, *, runner=None) -> None:
        super().__init__(parent)
        if runner is None:
            from stnav_desktop.ui.tasks import InlineRunner

            runner = InlineRunner()
        self.runner = runner
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
        self.model = AuditModel(runner, self)
        self.table = QtWidgets.QTableView(self)
        self.table.setObjectName("auditTable")
        self.table.setAccessibleName("Audit events")
        self.table.setModel(self.model)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((55, 135, 120, 190, 130, 110)):
            self.table.setColumnWidth(column, width)
        layout.addWidget(self.table, 3)
        self.state = QLabel(self)
        self.state.setObjectName("auditState")
        layout.addWidget(self.state)
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
        self.st_filter.returnPressed.connect(self.refresh)
        self.action_filter.returnPressed.connect(self.refresh)
        self.verify_button.clicked.connect(self.verify)
        self.export_csv.clicked.connect(lambda: self.export("csv"))
        self.export_xlsx.clicked.connect(lambda: self.export("xlsx"))
        self.table.selectionModel().currentRowChanged.connect(lambda current, _prev: self._row_changed(current.row()))
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(self._load_failed)
        self.refresh()

    def refresh(self) -> None:
        st_ref = self.st_filter.text().strip() or None
        action = self.action_filter.text().strip() or None
        if action and action not in ACTIONS:  # words as the table shows them: "posted in nav"
            action = next((k for k, v in ACTIONS.items() if action.casefold() in v.casefold()), action)
        self.state.setText("Loading…")
        self.model.reload(st_ref, action)
        if st_ref:
            self._show_chain(st_ref)

    def _loaded(self) -> None:
        n = self.model.rowCount()
        if n == 0:
            self.state.setText("No audit events" + (" match the filter." if self.model.st_ref or self.model.action
                                                   else " yet."))
        elif self.model.exhausted:
            self.state.setText(f"{n:,} events (all of them), newest first")
        else:
            self.state.setText(f"{n:,} most recent events shown, newest first; scroll down for older ones")

    def _load_failed(self, message: str) -> None:
        self.state.setText(f"The audit log could not be read: {message}")
        self.status_message.emit(f"Audit log: {message}")

    def _show_chain(self, st_ref: str) -> None:
        self.runner.submit(lambda: audit_export.to_text(audit_export.chain(st_ref)), self.chain.setPlainText)

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self.model.rows) and self.model.rows[row].st_ref:
            self._show_chain(self.model.rows[row].st_ref)
        self._show_detail(row)

    def _toggle_detail(self, on: bool) -> None:
        self.detail.setVisible(on)
        self.detail_button.setText("Hide the full detail" if on else "Show the full detail (JSON)")
        self._show_detail(self.table.currentIndex().row())

    def _show_detail(self, row: int) -> None:
        if not self.detail.isVisible() or not (0 <= row < len(self.model.rows)):
            return
        e = self.model.rows[row]
        try:
            text = json.dumps(json.loads(e.detail or "{}"), indent=2, ensure_ascii=False, sort_keys=True)
        except ValueError:
            text = e.detail
        self.detail.setPlainText(f"{e.action} · event {e.seq} · hash {e.hash[:16]}…\n{redact(text)}")

    def verify(self) -> None:
        """The whole chain is read: on the task runner, the button busy meanwhile."""
        self.verify_button.setEnabled(False)
        self.verify_result.setText("Verifying the audit log…")

        def done(result) -> None:
            self.verify_button.setEnabled(True)
            self.verify_result.setText(("✓ " if result.ok else "✖ ") + result.message())
            self.verify_result.setStyleSheet("" if result.ok else "color: #b71c1c; font-weight: bold")
            self.status_message.emit(result.message())

        def failed(message: str) -> None:
            self.verify_button.setEnabled(True)
            self.verify_result.setText(f"The audit log could not be verified: {message}")

        self.runner.submit(audit.verify, done, failed)

    def export(self, fmt: str, path: str | None = None) -> None:
        if not path:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export audit log", f"audit.{fmt}",
                                                            f"{fmt.upper()} files (*.{fmt})")
        if not path:
            return
        st_ref = self.st_filter.text().strip() or None
        target = Path(path)
        self.runner.submit(lambda: audit_export.export(target, fmt, st_ref=st_ref),
                           lambda count: self.status_message.emit(f"{count} audit events exported to {path}"),
                           lambda message: self.status_message.emit(f"Export failed: {message}"))
