"""Batches & posting: approve a prepared batch (showing who prepared it), post it with a progress bar
that can be cancelled safely, and see a per-document result list from which failures can be replayed."""

from __future__ import annotations

import threading

from stnav_desktop.store.models import Batch, Profile
from stnav_desktop.sync import batches, posting
from stnav_desktop.ui.qt import (
    QHBoxLayout,
    QLabel,
    QObject,
    QPushButton,
    Qt,
    QtWidgets,
    QVBoxLayout,
    QWidget,
    Signal,
)


class _Progress(QObject):
    step = Signal(int, int, object)


class BatchesPage(QWidget):
    changed = Signal()
    status_message = Signal(str)

    def __init__(self, profile: Profile, runner, service_fn, parent=None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.runner = runner
        self.service_fn = service_fn  # returns the SyncService (built lazily: needs credentials)
        self._cancel = threading.Event()
        self._progress = _Progress()
        self._progress.step.connect(self._on_step)
        layout = QVBoxLayout(self)
        self.table = QtWidgets.QTableWidget(0, 7, self)
        self.table.setObjectName("batchesTable")
        self.table.setAccessibleName("Batches")
        self.table.setHorizontalHeaderLabels(["Batch", "Prepared by", "Prepared at", "Approved by", "Approved at",
                                              "Documents", "Total / status"])
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((60, 140, 140, 140, 140, 90)):
            self.table.setColumnWidth(column, width)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.approve_button = QPushButton("&Approve batch", self)
        self.post_button = QPushButton("&Post", self)
        self.cancel_button = QPushButton("Cancel posting", self)
        self.replay_button = QPushButton("&Replay failed", self)
        self.cancel_button.setEnabled(False)
        for button in (self.approve_button, self.post_button, self.cancel_button, self.replay_button):
            button.setAccessibleName(button.text().replace("&", ""))
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.progress = QtWidgets.QProgressBar(self)
        self.progress.setAccessibleName("Posting progress")
        self.progress.setFormat("%v / %m documents")
        self.progress_label = QLabel(self)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        self.results = QtWidgets.QTableWidget(0, 4, self)
        self.results.setObjectName("postingResults")
        self.results.setAccessibleName("Posting results")
        self.results.setHorizontalHeaderLabels(["ServiceTitan", "Result", "NAV document", "Message"])
        self.results.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((220, 130, 130)):
            self.results.setColumnWidth(column, width)
        self.results.verticalHeader().setDefaultSectionSize(22)
        self.results.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(self.results, 2)
        self.approve_button.clicked.connect(self.approve_selected)
        self.post_button.clicked.connect(self.post_selected)
        self.cancel_button.clicked.connect(self.cancel)
        self.replay_button.clicked.connect(self.replay_failed)
        self._summaries = []
        self._results: list[posting.PostResult] = []
        self.refresh()

    def refresh(self) -> None:
        self._summaries = batches.list_batches(self.profile)
        self.table.setRowCount(len(self._summaries))
        for r, s in enumerate(self._summaries):
            b = s.batch
            values = [str(b.id), b.prepared_by, f"{b.prepared_at.astimezone():%Y-%m-%d %H:%M}", b.approved_by or "—",
                      f"{b.approved_at.astimezone():%Y-%m-%d %H:%M}" if b.approved_at else "—", str(s.documents),
                      f"{s.total:,.2f} · {b.status} · {s.status_line}"]
            for c, value in enumerate(values):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(value))
        if self._summaries and not self.table.selectedItems():
            self.table.selectRow(0)

    def selected_batch(self) -> Batch | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if not rows:
            return None
        return self._summaries[min(rows)].batch

    def approve_selected(self) -> None:
        batch = self.selected_batch()
        if batch is None:
            return
        try:
            dropped = batches.approve(batch)
        except batches.BatchError as exc:
            QtWidgets.QMessageBox.warning(self, "Approve batch", str(exc))
            return
        message = f"Batch {batch.id} (prepared by {batch.prepared_by}) approved by {batch.approved_by}."
        if dropped:
            message += " Taken out: " + "; ".join(dropped)
        self.status_message.emit(message)
        self.refresh()
        self.changed.emit()

    def post_selected(self) -> None:
        batch = self.selected_batch()
        self.start_posting(batch)

    def start_posting(self, batch: Batch | None) -> None:
        self._cancel.clear()
        self._results = []
        self.results.setRowCount(0)
        self.progress.setValue(0)
        self.progress.setMaximum(0)  # busy until the first step says how many
        self.post_button.setEnabled(False)
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
        r = self.results.rowCount()
        self.results.insertRow(r)
        for c, value in enumerate([result.st_ref, result.outcome.replace("_", " "), result.nav_number,
                                   result.message]):
            item = QtWidgets.QTableWidgetItem(value)
            if result.outcome in ("failed", "needs_attention", "not_ready"):
                item.setForeground(Qt.GlobalColor.darkRed)
            self.results.setItem(r, c, item)

    def _finished(self, results) -> None:
        self.post_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setMaximum(1)
            self.progress.setValue(1)
        posted = sum(1 for r in results if r.outcome in ("posted", "already_posted"))
        failed = sum(1 for r in results if r.outcome in ("failed", "needs_attention", "not_ready"))
        cancelled = " (cancelled)" if self._cancel.is_set() else ""
        self.progress_label.setText(f"Done{cancelled}: {posted} posted, {failed} not posted — see the list below.")
        self.status_message.emit(self.progress_label.text())
        self.refresh()
        self.changed.emit()

    def _failed(self, message: str) -> None:
        self.post_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setMaximum(1)
        self.progress_label.setText(f"Posting stopped: {message}")
        self.status_message.emit(self.progress_label.text())
        self.refresh()
        self.changed.emit()

    def replay_failed(self) -> None:
        count = posting.replay(self.profile, batch=self.selected_batch())
        self.status_message.emit(f"{count} document(s) queued to post again; press Post.")
        self.refresh()
        self.changed.emit()
