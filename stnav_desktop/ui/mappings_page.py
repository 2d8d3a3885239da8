"""The Mappings tab: every mapping with search, edit, delete, CSV import/export, and the open
suggestions — readable (whole names, confidence, why, warnings), several accepted at once, the list
keeping its place afterwards. Suggestions are computed and accepted on the task runner."""

from __future__ import annotations

from pathlib import Path

from stnav_desktop.store.models import Profile
from stnav_desktop.sync.app import mapping
from stnav_desktop.ui.page import Page
from stnav_desktop.ui.qt import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QtWidgets,
    QVBoxLayout,
)

MAPPING_COLUMNS = ("Kind", "ServiceTitan key", "ServiceTitan name", "NAV target", "Target type")
SUGGESTION_COLUMNS = ("Kind", "ServiceTitan", "Suggested NAV", "Confidence", "Why", "")


class MappingsPage(Page):
    def __init__(self, profile: Profile, parent=None, *, runner=None, service_fn=None) -> None:
        super().__init__(profile, parent, runner=runner, service_fn=service_fn)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search mappings")
        self.search.setAccessibleName("Search mappings")
        self.import_button = QPushButton("Import CSV…", self)
        self.export_button = QPushButton("Export CSV…", self)
        self.delete_button = QPushButton("Delete", self)
        for w in (self.search, self.import_button, self.export_button, self.delete_button):
            top.addWidget(w)
        layout.addLayout(top)
        add = QHBoxLayout()
        self.add_kind = QtWidgets.QComboBox(self)
        for kind, label in mapping.KIND_LABELS.items():
            self.add_kind.addItem(label, str(kind))
        self.add_kind.setAccessibleName("Mapping kind")
        self.add_key = QLineEdit(self)
        self.add_key.setPlaceholderText("ServiceTitan id, or a rule: sku_type:Material, business_unit:1001")
        self.add_key.setAccessibleName("ServiceTitan key")
        self.add_target = QLineEdit(self)
        self.add_target.setPlaceholderText("NAV number (vendor, item, G/L account, dimension value)")
        self.add_target.setAccessibleName("NAV target")
        self.add_type = QtWidgets.QComboBox(self)
        self.add_type.addItems(["", "Item", "Account", "TERRITORY"])
        self.add_type.setEditable(True)
        self.add_type.setAccessibleName("Target type")
        self.add_button = QPushButton("Add mapping", self)
        for w in (self.add_kind, self.add_key, self.add_target, self.add_type, self.add_button):
            add.addWidget(w)
        layout.addLayout(add)
        self.add_button.clicked.connect(self._add)
        split = QtWidgets.QSplitter(Qt.Orientation.Vertical, self)
        self.table = QtWidgets.QTableWidget(0, len(MAPPING_COLUMNS), split)
        self.table.setObjectName("mappingsTable")
        self.table.setAccessibleName("Mappings")
        self.table.setHorizontalHeaderLabels(list(MAPPING_COLUMNS))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        for column, width in enumerate((190, 120, 260, 120)):
            self.table.setColumnWidth(column, width)
        lower = QtWidgets.QWidget(split)
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        self.suggestions_label = QLabel("<b>Suggestions</b> (applied only when you accept them)", lower)
        self.accept_selected_button = QPushButton("Accept &selected", lower)
        self.accept_selected_button.setToolTip("Accept every selected suggestion (Ctrl+click, Shift+click to select)")
        self.accept_safe_button = QPushButton("Select the sure ones", lower)
        self.accept_safe_button.setToolTip("Select the suggestions proven safe: same name or tax id, no warning")
        head.addWidget(self.suggestions_label, 1)
        head.addWidget(self.accept_safe_button)
        head.addWidget(self.accept_selected_button)
        lower_layout.addLayout(head)
        self.suggestions = QtWidgets.QTableWidget(0, len(SUGGESTION_COLUMNS), lower)
        self.suggestions.setObjectName("suggestionsTable")
        self.suggestions.setAccessibleName("Suggested mappings")
        self.suggestions.setHorizontalHeaderLabels(list(SUGGESTION_COLUMNS))
        self.suggestions.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.suggestions.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.suggestions.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.suggestions.verticalHeader().setVisible(False)
        self.suggestions.setWordWrap(False)
        self.suggestions.verticalHeader().setDefaultSectionSize(26)
        header = self.suggestions.horizontalHeader()
        header.setStretchLastSection(False)
        for column, width in enumerate((170, 250, 250, 90, 230, 80)):
            self.suggestions.setColumnWidth(column, width)
        header.setSectionResizeMode(4, QtWidgets.QHeaderView.ResizeMode.Stretch)
        lower_layout.addWidget(self.suggestions, 1)
        split.addWidget(self.table)
        split.addWidget(lower)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout.addWidget(split, 1)
        self.search.textChanged.connect(lambda _: self.refresh_mappings())
        self.table.itemChanged.connect(self._edited)
        self.delete_button.clicked.connect(self._delete)
        self.import_button.clicked.connect(self._import)
        self.export_button.clicked.connect(self._export)
        self.accept_selected_button.clicked.connect(self.accept_selected)
        self.accept_safe_button.clicked.connect(self.select_safe)
        self._rows: list = []
        self._found: list[mapping.Suggestion] = []
        self.refresh()

    # -- lists ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.refresh_mappings()
        self.refresh_suggestions()

    def refresh_mappings(self) -> None:
        self._rows = mapping.all_mappings(self.profile, self.search.text())
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._rows))
        for r, m in enumerate(self._rows):
            values = [mapping.KIND_LABELS.get(m.kind, m.kind), m.source_key, m.source_label, m.target, m.target_type]
            for c, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(value)
                item.setToolTip(value)
                if c != 3:  # only the NAV target is edited in place
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(r, c, item)
        self.table.blockSignals(False)

    def refresh_suggestions(self, keep_row: int | None = None) -> None:
        """Suggestions over every unmapped key grow with the data: computed on the worker."""
        profile = self.profile
        self.suggestions_label.setText("<b>Suggestions</b> — looking…")
        self.run_busy([self.accept_selected_button, self.accept_safe_button], lambda: mapping.suggest(profile),
                      lambda found: self._show_suggestions(found, keep_row))

    def _show_suggestions(self, found: list[mapping.Suggestion], keep_row: int | None = None) -> None:
        scroll = self.suggestions.verticalScrollBar().value()
        self._found = found
        for r in range(self.suggestions.rowCount()):  # the old Accept buttons go at once, not on a later turn
            old = self.suggestions.cellWidget(r, 5)
            if old is not None:
                old.hide()
                self.suggestions.removeCellWidget(r, 5)
        self.suggestions.setRowCount(len(found))
        for r, s in enumerate(found):
            why = s.method + (f" — ⚠ {s.warning}" if s.warning else "")
            values = [mapping.KIND_LABELS.get(s.kind, s.kind), f"{s.source_label}  [{s.source_key}]",
                      f"{s.target} — {s.target_label}", f"{s.score:.0f}%", why]
            for c, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(value)
                item.setToolTip(value)
                if s.warning:
                    item.setForeground(Qt.GlobalColor.darkRed)
                if c == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.suggestions.setItem(r, c, item)
            button = QPushButton("Accept")  # no parent: the table owns it from setCellWidget on
            button.setAccessibleName(f"Accept {s.target} for {s.source_label}")
            button.setToolTip(f"Map {s.source_label} to {s.target} {s.target_label}")
            button.clicked.connect(lambda _=False, s=s: self.accept([s]))
            self.suggestions.setCellWidget(r, 5, button)
        self.suggestions_label.setText(f"<b>Suggestions</b> ({len(found)}, applied only when you accept them)")
        if keep_row is not None and found:  # keep the place: the row that took the accepted one's place
            row = min(keep_row, len(found) - 1)
            self.suggestions.setCurrentCell(row, 0)
            self.suggestions.selectRow(row)
        self.suggestions.verticalScrollBar().setValue(scroll)

    # -- accepting ------------------------------------------------------------------------------
    def selected_suggestions(self) -> list[mapping.Suggestion]:
        rows = sorted({i.row() for i in self.suggestions.selectedIndexes()})
        return [self._found[r] for r in rows if r < len(self._found)]

    def select_safe(self) -> None:
        self.suggestions.clearSelection()
        mode = self.suggestions.selectionMode()
        self.suggestions.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.MultiSelection)
        for r, s in enumerate(self._found):
            if s.safe and not s.warning:
                self.suggestions.selectRow(r)
        self.suggestions.setSelectionMode(mode)

    def accept_selected(self) -> None:
        self.accept(self.selected_suggestions())

    def accept(self, chosen: list[mapping.Suggestion]) -> None:
        if not chosen:
            self.say("Select one or more suggestions first.")
            return
        profile = self.profile
        first_row = min(self._found.index(s) for s in chosen if s in self._found) if self._found else 0

        def work():
            counts: dict[str, int] = {}
            for s in chosen:
                for status, n in mapping.accept_and_refresh(profile, s).items():
                    counts[status] = counts.get(status, 0) + n
            return counts

        def done(_counts) -> None:
            self.say(f"{len(chosen)} suggestion(s) accepted.")
            self.refresh_mappings()
            self.refresh_suggestions(keep_row=first_row)
            self.changed.emit()

        self.run_busy([self.accept_selected_button, self.accept_safe_button], work, done)

    # -- editing --------------------------------------------------------------------------------
    def _apply(self, work, title: str) -> None:
        """Set/delete/import on the worker, then re-check the documents it affects and reload."""
        def failed(message: str) -> None:
            QtWidgets.QMessageBox.warning(self, title, message)
            self.refresh_mappings()

        def done(message) -> None:
            if message:
                self.say(message)
            self.refresh()
            self.changed.emit()

        self.runner.submit(work, done, failed)

    def _add(self) -> None:
        profile = self.profile
        kind = self.add_kind.currentData() or self.add_kind.currentText()
        key, target, target_type = self.add_key.text(), self.add_target.text(), self.add_type.currentText().strip()

        def work():
            mapping.map_and_refresh(profile, kind, key, target, target_type=target_type)
            return f"Mapping added: {mapping.KIND_LABELS.get(kind, kind)} {key} → {target}"

        def failed(message: str) -> None:
            QtWidgets.QMessageBox.warning(self, "Add mapping", message)

        def done(message: str) -> None:
            self.add_key.clear()
            self.add_target.clear()
            self.say(message)
            self.refresh()
            self.changed.emit()

        self.runner.submit(work, done, failed)

    def _edited(self, item) -> None:
        m = self._rows[item.row()]
        profile, text = self.profile, item.text()
        self._apply(lambda: mapping.map_and_refresh(profile, m.kind, m.source_key, text, target_type=m.target_type,
                                                    source_label=m.source_label) and None, "Mapping")

    def _delete(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        chosen = [self._rows[r] for r in rows]
        if not chosen:
            return
        profile = self.profile

        def work():
            for m in chosen:
                mapping.delete_mapping(profile, m.kind, m.source_key)
                mapping.refresh_readiness(profile, documents=mapping.documents_using(profile, m.kind, m.source_key))
            return f"{len(chosen)} mapping(s) deleted"

        self._apply(work, "Delete mappings")

    def _import(self, path: str | None = None) -> None:
        """Read, check and save the file on the task runner (it grows with the file), then re-check readiness
        once; rows it refuses are listed, each naming its row and field."""
        if not path:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Import mappings", "", "CSV files (*.csv)")
        if not path:
            return
        profile, source = self.profile, Path(path)

        def work() -> mapping.ImportResult:
            result = mapping.import_csv_bytes(profile, source.read_bytes())
            mapping.refresh_readiness(profile)
            return result

        def done(result: mapping.ImportResult) -> None:
            message = f"{result.imported} mappings imported"
            if result.errors:
                message += f"; {len(result.errors)} rows not imported:\n" + "\n".join(result.errors[:20])
                QtWidgets.QMessageBox.warning(self, "Import mappings", message)
            self.say(message.split("\n")[0])
            self.refresh()
            self.changed.emit()

        def failed(message: str) -> None:  # unreadable file, wrong columns: one line, nothing imported
            QtWidgets.QMessageBox.warning(self, "Import mappings", message)
            self.refresh_mappings()

        self.runner.submit(work, done, failed)

    def _export(self, path: str | None = None) -> None:
        if not path:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export mappings", "mappings.csv",
                                                            "CSV files (*.csv)")
        if path:
            Path(path).write_text(mapping.export_csv(self.profile), encoding="utf-8")
            self.say(f"Mappings exported to {path}")
