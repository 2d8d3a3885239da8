"""Batches & posting: inspect a batch (its documents, count and total) before approving it, approve it
after a confirmation that shows the total, post it with a progress bar that can be cancelled safely, and
find each document's result with the batch afterwards. Post is offered only for an approved batch with
something left to post; a batch can be sent back for approval (Reopen)."""

from __future__ import annotations

import threading

from stnav_desktop.store.models import Batch, Profile
from stnav_desktop.sync.app import batches, posting
from stnav_desktop.sync.views.activity import being_posted, holder_name
from stnav_desktop.ui.page import Page
from stnav_desktop.ui.qt import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QObject,
    QPushButton,
    Qt,
    QtCore,
    QtWidgets,
    QVBoxLayout,
    Signal,
)
from stnav_desktop.ui.text import money

BATCH_COLUMNS = ("Batch", "Status", "Documents", "Total", "Prepared by", "Prepared at", "Approved by",
                 "Approved at", "Documents by status")
DOC_COLUMNS = ("ServiceTitan", "Date", "Vendor", "Amount", "Status", "NAV document", "Result / reason")
PROBLEM_OUTCOMES = ("failed", "needs_attention", "not_ready")


class _Progress(QObject):
    step = Signal(int, int, object)


def _table(parent, columns, name: str, widths) -> QtWidgets.QTableWidget:
    table = QtWidgets.QTableWidget(0, len(columns), parent)
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(columns))
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().setDefaultSectionSize(22)
    table.verticalHeader().setVisible(False)
    for column, width in enumerate(widths):
        table.setColumnWidth(column, width)
    return table


class BatchesPage(Page):
    def __init__(self, profile: Profile, runner, service_fn, parent=None) -> None:
        super().__init__(profile, parent, runner=runner, service_fn=service_fn)
        self._cancel = threading.Event()
        self._posting = False
        self._progress = _Progress()
        self._progress.step.connect(self._on_step)
        layout = QVBoxLayout(self)
        split = QtWidgets.QSplitter(Qt.Orientation.Vertical, self)
        self.table = _table(split, BATCH_COLUMNS, "batchesTable", (55, 150, 80, 100, 120, 120, 120, 120))
        self.table.setAccessibleName("Batches")
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        lower = QtWidgets.QWidget(split)
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel("Select a batch to see its documents.", lower)
        self.summary.setObjectName("batchSummary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.documents = _table(lower, DOC_COLUMNS, "batchDocuments", (150, 90, 200, 100, 170, 110))
        self.documents.setAccessibleName("Documents of the selected batch, with their posting result")
        lower_layout.addWidget(self.summary)
        lower_layout.addWidget(self.documents, 1)
        split.addWidget(self.table)
        split.addWidget(lower)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout.addWidget(split, 1)
        row = QHBoxLayout()
        self.approve_button = QPushButton("&Approve batch…", self)
        self.approve_button.setToolTip("Approve the selected batch after checking its documents and total")
        self.post_button = QPushButton("&Post", self)
        self.post_button.setToolTip("Post the approved documents of the selected batch to NAV")
        self.cancel_button = QPushButton("Cancel posting", self)
        self.replay_button = QPushButton("&Replay failed", self)
        self.replay_button.setToolTip("Queue the documents of this batch that failed to post again")
        self.reopen_button = QPushButton("Re&open batch…", self)
        self.reopen_button.setToolTip("Send the batch back for approval; its unposted documents return to ready")
        self.cancel_button.setEnabled(False)
        for button in (self.approve_button, self.post_button, self.cancel_button, self.replay_button,
                       self.reopen_button):
            button.setAccessibleName(button.text().replace("&", "").rstrip("…"))
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.progress = QtWidgets.QProgressBar(self)
        self.progress.setAccessibleName("Posting progress")
        self.progress.setFormat("%v / %m documents")
        self.progress_label = QLabel(self)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        self.approve_button.clicked.connect(self.approve_selected)
        self.post_button.clicked.connect(self.post_selected)
        self.cancel_button.clicked.connect(self.cancel)
        self.replay_button.clicked.connect(self.replay_failed)
        self.reopen_button.clicked.connect(self.reopen_selected)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self._summaries: list[batches.BatchSummary] = []
        self._busy: dict[int, set[str]] = {}
        self._held_here: frozenset = frozenset()  # live claims on the shown batch's documents
        self._view: batches.BatchView | None = None
        self._row_of: dict[int, int] = {}
        self._list_generation = self._view_generation = 0
        # claims are not audit events: while this tab is on screen, who posts what is looked at again
        self._claims_timer = QtCore.QTimer(self, interval=5000)
        self._claims_timer.timeout.connect(self._poll_claims)
        self._claims_timer.start()
        self.refresh()

    # -- batches list -------------------------------------------------------------------------
    def refresh(self) -> None:
        """The list, and who is posting what on other PCs, read on the task runner (they grow with the
        store; on a shared store they are another PC's work)."""
        if self._posting:  # our own posting shows its progress row by row; refreshed when it ends
            return
        selected = self.selected_batch()
        selected_id = selected.id if selected else None
        profile = self.profile
        self._list_generation += 1
        generation = self._list_generation

        def work():
            return batches.list_batches(profile), being_posted()

        def done(result) -> None:
            if generation == self._list_generation and not self._posting:
                self._show_batches(*result, selected_id)

        self.runner.submit(work, done, self.say)

    def _poll_claims(self) -> None:
        """Claims are not audit events (the watcher does not hear them): while the tab is on screen, look at
        who posts what every few seconds, and refresh only when that changed."""
        if not self.isVisible() or self._posting:
            return
        shown = self._busy, self._held_here
        ids = list(self._row_of)

        def work():
            from stnav_desktop.store import claims

            busy = being_posted()
            held = frozenset((doc_id, c.holder) for doc_id, c in claims.holders(ids).items()
                             if not c.expired)
            return busy, held

        def done(result) -> None:
            busy, held = result
            if (busy, held) != shown and (self._busy, self._held_here) == shown:
                self.refresh()

        self.runner.submit(work, done, lambda _m: None)

    def _show_batches(self, summaries, busy: dict[int, set[str]], selected_id: int | None) -> None:
        self._summaries = summaries
        self._busy = busy
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._summaries))
        for r, s in enumerate(self._summaries):
            b = s.batch
            status_line = s.status_line
            if busy.get(b.id):  # another PC (or process) posts it right now
                status_line = f"being posted by {', '.join(sorted(busy[b.id]))} · {status_line}"
            values = [str(b.id), s.status_label, str(s.documents), money(s.total), b.prepared_by,
                      f"{b.prepared_at.astimezone():%Y-%m-%d %H:%M}", b.approved_by or "—",
                      f"{b.approved_at.astimezone():%Y-%m-%d %H:%M}" if b.approved_at else "—", status_line]
            for c, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(value)
                if c in (0, 2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.blockSignals(False)
        row = next((r for r, s in enumerate(self._summaries) if selected_id and s.id == selected_id), 0)
        if self._summaries:
            self.table.selectRow(row)
        self._show_selected()

    def selected_summary(self) -> batches.BatchSummary | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if not rows or min(rows) >= len(self._summaries):
            return None
        return self._summaries[min(rows)]

    def selected_batch(self) -> Batch | None:
        summary = self.selected_summary()
        return summary.batch if summary else None

    def select_batch(self, batch_id: int) -> None:
        for r, s in enumerate(self._summaries):
            if s.id == batch_id:
                self.table.selectRow(r)
                return

    # -- the selected batch's documents (and their results) ------------------------------------
    def _show_selected(self) -> None:
        batch = self.selected_batch()
        self._view_generation += 1
        generation = self._view_generation
        if batch is None:
            self._show_view(None, {})
            return

        def work():
            from stnav_desktop.store import claims

            view = batches.inspect(batch)
            return view, claims.holders([line.document_id for line in view.lines])

        def done(result) -> None:
            if generation == self._view_generation:
                self._show_view(*result)

        self.runner.submit(work, done, self.say)

    def _show_view(self, view, holders: dict) -> None:
        from stnav_desktop.store.claims import default_holder

        self._view = view
        self._held_here = frozenset((doc_id, c.holder) for doc_id, c in holders.items() if not c.expired)
        me = default_holder()
        self.documents.setRowCount(len(view.lines) if view else 0)
        self._row_of = {}
        elsewhere: set[str] = set()
        for r, line in enumerate(view.lines if view else []):
            self._row_of[line.document_id] = r
            status = line.status
            claim = holders.get(line.document_id)
            if claim is not None and not claim.expired and claim.holder != me and not line.final:
                status = f"Posting: {holder_name(claim.holder)}"  # on another PC, now
                elsewhere.add(holder_name(claim.holder))
            self._set_doc_row(r, [line.st_ref, line.date, line.vendor, money(line.amount), status,
                                  line.nav_number, line.message], problem=not line.final and bool(line.message))
        if view is None:
            self.summary.setText("No batch yet: create one on the Review tab from ready documents.")
        else:
            b = view.batch
            who = f"prepared by {b.prepared_by}" + (f", approved by {b.approved_by}" if b.approved_by else "")
            self.summary.setText(f"<b>Batch {b.id}</b> · {view.status_label} · {who} · {view.count} documents · "
                                 f"total <b>{money(view.total)}</b> · " + (
                                     "approve it to post" if b.status == batches.PREPARED
                                     else f"{view.left_to_post} left to post") + (
                                     f" · <b>being posted by {', '.join(sorted(elsewhere))}</b>" if elsewhere
                                     else ""))
        self._update_buttons()

    def _set_doc_row(self, r: int, values: list[str], *, problem: bool) -> None:
        for c, value in enumerate(values):
            item = QtWidgets.QTableWidgetItem(value)
            item.setToolTip(value if c == len(values) - 1 else "")
            if c == 3:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if problem:
                item.setForeground(Qt.GlobalColor.darkRed)
            self.documents.setItem(r, c, item)

    def _update_buttons(self) -> None:
        summary = self.selected_summary()
        busy = self._posting
        self.approve_button.setEnabled(not busy and bool(summary and summary.can_approve))
        self.post_button.setEnabled(not busy and bool(summary and summary.can_post))
        self.replay_button.setEnabled(not busy and bool(summary and (
            summary.by_status.get("needs_attention") or summary.by_status.get("failed"))))
        self.reopen_button.setEnabled(not busy and bool(summary and summary.batch.status != batches.PREPARED
                                                        and summary.left_to_post + summary.by_status.get(
                                                            "needs_attention", 0) + summary.by_status.get(
                                                            "ready", 0)))
        if summary and summary.batch.status == batches.PREPARED:
            self.post_button.setToolTip(f"Approve batch {summary.id} first")
        elif summary and not summary.can_post:
            self.post_button.setToolTip("Nothing left to post in this batch")
        else:
            self.post_button.setToolTip("Post the approved documents of the selected batch to NAV")

    # -- approve --------------------------------------------------------------------------------
    def confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def approve_selected(self) -> None:
        batch = self.selected_batch()
        view = self._view
        if batch is None or view is None:
            return
        text = (f"Approve batch {batch.id}, prepared by {batch.prepared_by}?\n\n"
                f"{view.count} documents, total {money(view.total)}.\n\n"
                "Approved documents are posted to NAV when you press Post.")
        if not self.confirm("Approve batch", text):
            self.say(f"Batch {batch.id} not approved.")
            return

        def done(dropped: list[str]) -> None:
            fresh = Batch.get_by_id(batch.id)
            message = (f"Batch {fresh.id} (prepared by {fresh.prepared_by}) approved by {fresh.approved_by}: "
                       f"{view.count - len(dropped)} documents.")
            if dropped:
                message += " Taken out: " + "; ".join(dropped)
            self.say(message)
            self.refresh()
            self.changed.emit()

        def failed(message: str) -> None:
            QMessageBox.warning(self, "Approve batch", message)
            self.refresh()

        self.run_busy(self.approve_button, lambda: batches.approve(batch), done, on_error=failed)

    # -- post -----------------------------------------------------------------------------------
    def post_selected(self) -> None:
        batch = self.selected_batch()
        if batch is None:
            return
        try:
            has_work = batches.require_postable(batch)
        except batches.BatchError as exc:
            QMessageBox.information(self, "Post", str(exc))
            self.say(str(exc))
            self._update_buttons()
            return
        if not has_work:
            self.say(f"Batch {batch.id} is done: nothing left to post.")
            self.refresh()
            return
        self.start_posting(batch)

    def start_posting(self, batch: Batch | None) -> None:
        self._cancel.clear()
        self._posting = True
        self._results: list[posting.PostResult] = []
        self.progress.setValue(0)
        self.progress.setMaximum(0)  # busy until the first step says how many
        self._update_buttons()
        self.cancel_button.setEnabled(True)
        self.progress_label.setText("Posting…")

        def work():
            return self.service_fn().post(batch, cancel=self._cancel.is_set,
                                          progress=lambda i, n, res: self._progress.step.emit(i, n, res))

        self.runner.submit(work, self._finished, self._failed)

    def cancel(self) -> None:
        self._cancel.set()
        self.progress_label.setText("Cancelling: the document in flight finishes, nothing is half-posted…")

    def _on_step(self, index: int, total: int, result: posting.PostResult) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(index)
        self._results.append(result)
        counts: dict[str, int] = {}
        for res in self._results:
            counts[res.outcome] = counts.get(res.outcome, 0) + 1
        self.progress_label.setText(" · ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items())))
        r = self._row_of.get(result.document_id)
        if r is not None:
            for c, value in ((4, result.outcome.replace("_", " ").capitalize()), (5, result.nav_number),
                             (6, result.message)):
                item = QtWidgets.QTableWidgetItem(value)
                if result.outcome in PROBLEM_OUTCOMES:
                    item.setForeground(Qt.GlobalColor.darkRed)
                self.documents.setItem(r, c, item)

    def _finished(self, results) -> None:
        self._posting = False
        self.cancel_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setMaximum(1)
            self.progress.setValue(1)
        posted = sum(1 for r in results if r.outcome in ("posted", "already_posted"))
        failed = sum(1 for r in results if r.outcome in PROBLEM_OUTCOMES)
        cancelled = " (cancelled)" if self._cancel.is_set() else ""
        self.progress_label.setText(f"Done{cancelled}: {posted} posted, {failed} not posted — each document's "
                                    "result is in the list above.")
        self.say(f"Posting done{cancelled}: {posted} posted, {failed} not posted")
        self.refresh()
        self.changed.emit()

    def _failed(self, message: str) -> None:
        self._posting = False
        self.cancel_button.setEnabled(False)
        self.progress.setMaximum(1)
        self.progress_label.setText(f"Posting stopped: {message}")
        self.say(self.progress_label.text())
        self.refresh()
        self.changed.emit()

    # -- replay and reopen ---------------------------------------------------------------------
    def replay_failed(self) -> None:
        batch = self.selected_batch()
        if batch is None:
            return
        count = posting.replay(self.profile, batch=batch)
        self.say(f"{count} document(s) of batch {batch.id} queued to post again; press Post.")
        self.refresh()
        self.changed.emit()

    def reopen_selected(self) -> None:
        batch = self.selected_batch()
        if batch is None or not self.confirm(
                "Reopen batch", f"Send batch {batch.id} back for approval? Its documents not yet posted return "
                "to ready and the batch must be approved again before posting."):
            return
        try:
            count = batches.reopen_batch(batch)
        except batches.BatchError as exc:
            QMessageBox.warning(self, "Reopen batch", str(exc))
            return
        self.say(f"Batch {batch.id} reopened: {count} document(s) wait for approval again.")
        self.refresh()
        self.changed.emit()
