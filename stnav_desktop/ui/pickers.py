"""Mapping pickers: editable combo boxes with a completer over the cached NAV vendors, items, accounts
and dimension values — number and name, case-insensitive, contains-match (Picard's editable list)."""

from __future__ import annotations

from stnav_desktop.sync.app.refdata import Choice
from stnav_desktop.ui.qt import QComboBox, QCompleter, Qt, QtWidgets


class NavPicker(QComboBox):
    def __init__(self, choices: list[Choice], parent=None, *, accessible_name: str = "NAV picker") -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setAccessibleName(accessible_name)
        self.set_choices(choices)
        completer = QCompleter(self.model(), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        self.setMinimumWidth(280)
        completer.popup().setMinimumWidth(360)

    def set_choices(self, choices: list[Choice]) -> None:
        self.clear()
        self.addItem("", "")
        for choice in choices:
            self.addItem(choice.label, choice.key)
            if choice.blocked:
                index = self.count() - 1
                self.setItemData(index, "Blocked in NAV: documents using it will not be ready",
                                 Qt.ItemDataRole.ToolTipRole)

    def current_key(self) -> str:
        """The NAV number chosen, also when typed: "V10000", "v10000" or "V10000 — Ferguson" all work."""
        text = self.currentText().strip()
        index = self.findText(text, Qt.MatchFlag.MatchFixedString)
        if index >= 0:
            return self.itemData(index) or ""
        key = text.split(" — ", 1)[0].strip()
        for i in range(self.count()):
            if (self.itemData(i) or "").casefold() == key.casefold():
                return self.itemData(i)
        return ""

    def select_key(self, key: str) -> None:
        for i in range(self.count()):
            if self.itemData(i) == key:
                self.setCurrentIndex(i)
                return
        self.setCurrentIndex(0)


class PickerDelegate(QtWidgets.QStyledItemDelegate):
    """A NavPicker as the editor of a grid column; ``commit(row, key)`` stores the mapping via sync/."""

    def __init__(self, choices_fn, commit, parent=None, *, name: str = "NAV picker") -> None:
        super().__init__(parent)
        self._choices_fn = choices_fn
        self._commit = commit
        self._name = name

    def createEditor(self, parent, option, index):  # noqa: N802
        return NavPicker(self._choices_fn(), parent, accessible_name=self._name)

    def setEditorData(self, editor, index):  # noqa: N802
        text = index.data() or ""
        editor.select_key(text if not text.startswith("(") else "")

    def setModelData(self, editor, model, index):  # noqa: N802
        key = editor.current_key()
        if key:
            self._commit(index.row(), key)
