"""The Mappings tab: every mapping with search, edit, delete, CSV import/export, and the open
suggestions, each accepted with one click."""

from __future__ import annotations

from pathlib import Path

from stnav_desktop.store.models import Profile
from stnav_desktop.sync import mapping
from stnav_desktop.ui.qt import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QtWidgets,
    QVBoxLayout,
    QWidget,
    Signal,
)


class MappingsPage(QWidget):
    changed = Signal()
    status_message = Signal(str)

    def __init__(self, profile: Profile, parent=None) -> None:
        super().__init__(parent)
        self.profile = profile
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
        self.add_kind.addItems(sorted(mapping.KINDS))
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
        self.table = QtWidgets.QTableWidget(0, 5, self)
        self.table.setObjectName("mappingsTable")
        self.table.setAccessibleName("Mappings")
        self.table.setHorizontalHeaderLabels(["Kind", "ServiceTitan key", "ServiceTitan name", "NAV target",
                                              "Target type"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        layout.addWidget(self.table, 3)
        layout.addWidget(QLabel("<b>Suggestions</b> (applied only when you accept them)", self))
        self.suggestions = QtWidgets.QTableWidget(0, 5, self)
        self.suggestions.setObjectName("suggestionsTable")
        self.suggestions.setAccessibleName("Suggested mappings")
        self.suggestions.setHorizontalHeaderLabels(["Kind", "ServiceTitan", "Suggested NAV", "Score", ""])
        self.suggestions.horizontalHeader().setStretchLastSection(True)
        self.suggestions.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(self.suggestions, 2)
        self.search.textChanged.connect(lambda _: self.refresh())
        self.table.itemChanged.connect(self._edited)
        self.delete_button.clicked.connect(self._delete)
        self.import_button.clicked.connect(self._import)
        self.export_button.clicked.connect(self._export)
        self._rows = []
        self.refresh()

    def refresh(self) -> None:
        self._rows = mapping.all_mappings(self.profile, self.search.text())
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._rows))
        for r, m in enumerate(self._rows):
            for c, value in enumerate([m.kind, m.source_key, m.source_label, m.target, m.target_type]):
                item = QtWidgets.QTableWidgetItem(value)
                if c != 3:  # only the NAV target is edited in place
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(r, c, item)
        self.table.blockSignals(False)
        found = mapping.suggest(self.profile)
        self.suggestions.setRowCount(len(found))
        for r, s in enumerate(found):
            for c, value in enumerate([s.kind, f"{s.source_key} {s.source_label}", f"{s.target} {s.target_label}",
                                       f"{s.score:.0f}% ({s.method})"]):
                self.suggestions.setItem(r, c, QtWidgets.QTableWidgetItem(value))
            button = QPushButton("Accept", self.suggestions)
            button.setAccessibleName(f"Accept {s.target} for {s.source_label}")
            button.clicked.connect(lambda _=False, s=s: self._accept(s))
            self.suggestions.setCellWidget(r, 4, button)

    def _add(self) -> None:
        try:
            mapping.set_mapping(self.profile, self.add_kind.currentText(), self.add_key.text(), self.add_target.text(),
                                target_type=self.add_type.currentText().strip())
        except mapping.MappingError as exc:
            QtWidgets.QMessageBox.warning(self, "Add mapping", str(exc))
            return
        self.add_key.clear()
        self.add_target.clear()
        mapping.refresh_readiness(self.profile)
        self.refresh()
        self.changed.emit()

    def _accept(self, suggestion) -> None:
        mapping.accept(self.profile, suggestion)
        mapping.refresh_readiness(self.profile)
        self.refresh()
        self.changed.emit()

    def _edited(self, item) -> None:
        m = self._rows[item.row()]
        try:
            mapping.set_mapping(self.profile, m.kind, m.source_key, item.text(), target_type=m.target_type,
                                source_label=m.source_label)
        except mapping.MappingError as exc:
            QtWidgets.QMessageBox.warning(self, "Mapping", str(exc))
        mapping.refresh_readiness(self.profile)
        self.refresh()
        self.changed.emit()

    def _delete(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        for r in rows:
            m = self._rows[r]
            mapping.delete_mapping(self.profile, m.kind, m.source_key)
        if rows:
            mapping.refresh_readiness(self.profile)
            self.refresh()
            self.changed.emit()

    def _import(self, path: str | None = None) -> None:
        if not path:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Import mappings", "", "CSV files (*.csv)")
        if not path:
            return
        try:
            result = mapping.import_csv_bytes(self.profile, Path(path).read_bytes())
        except (OSError, mapping.MappingError) as exc:
            QtWidgets.QMessageBox.warning(self, "Import mappings", str(exc))
            return
        message = f"{result.imported} mappings imported"
        if result.errors:
            message += f"; {len(result.errors)} rows not imported:\n" + "\n".join(result.errors[:20])
            QtWidgets.QMessageBox.warning(self, "Import mappings", message)
        self.status_message.emit(message.split("\n")[0])
        mapping.refresh_readiness(self.profile)
        self.refresh()
        self.changed.emit()

    def _export(self, path: str | None = None) -> None:
        if not path:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export mappings", "mappings.csv",
                                                            "CSV files (*.csv)")
        if path:
            Path(path).write_text(mapping.export_csv(self.profile), encoding="utf-8")
            self.status_message.emit(f"Mappings exported to {path}")
