"""The Settings tab: every declared setting (``store.settings.SETTINGS``) rendered generically, one
group per prefix, one editor per kind. Values a deployment file locks are shown disabled with a note
naming the file; Save writes only what the user changed, through ``settings.set_value``, and shows
each rejected value beside its field without losing what was typed elsewhere. No secrets here (they
live in the keychain: see ``connections_page``)."""

from __future__ import annotations

import functools
from typing import Any

from stnav_desktop import deploy
from stnav_desktop.store import audit, settings
from stnav_desktop.store.db import db
from stnav_desktop.store.models import Profile
from stnav_desktop.sync.app import refdata
from stnav_desktop.sync.app.refdata import Choice
from stnav_desktop.ui.pickers import NavPicker
from stnav_desktop.ui.qt import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QtWidgets,
    QVBoxLayout,
    QWidget,
    Signal,
)

GROUPS = {
    "servicetitan": "ServiceTitan",
    "nav": "NAV / Business Central",
    "posting": "Posting",
    "approval": "Approval",
    "schedule": "Schedule",
    "retry": "Retries",
}
INT_LIMIT = 2_147_483_647


def lock_note(source: str) -> str:
    return f"Locked by your IT department ({source})"


@functools.lru_cache(maxsize=1)
def timezone_choices() -> list[Choice]:
    """The IANA zones (600 files read by zoneinfo): once per run."""
    from zoneinfo import available_timezones

    return [Choice(name, name.rsplit("/", 1)[-1].replace("_", " ")) for name in sorted(available_timezones())]


class SettingField:
    """One setting's editor, its lock note and its error label."""

    def __init__(self, setting: settings.Setting, parent: QWidget, profile: Profile | None = None, *,
                 choice_cache: dict[str, list[Choice]] | None = None) -> None:
        self.setting = setting
        self.profile = profile
        self.choice_cache = {} if choice_cache is None else choice_cache
        self.editor = self._make_editor(parent)
        self.editor.setObjectName(f"setting_{setting.key}")
        self.editor.setAccessibleName(setting.label)
        if setting.help:
            self.editor.setToolTip(setting.help)
        self.lock = QLabel(parent)
        self.lock.setObjectName(f"lock_{setting.key}")
        self.lock.setWordWrap(True)
        self.lock.hide()
        self.error = QLabel(parent)
        self.error.setObjectName(f"error_{setting.key}")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: white; background: #b00020; padding: 2px;")
        self.error.hide()
        self.loaded: Any = None

    def _make_editor(self, parent: QWidget) -> QWidget:
        s = self.setting
        if s.kind == "bool":
            return QtWidgets.QCheckBox(parent)
        if s.kind == "int":
            box = QtWidgets.QSpinBox(parent)
            box.setRange(s.minimum if s.minimum is not None else 0,
                         s.maximum if s.maximum is not None else INT_LIMIT)
            return box
        if s.kind == "choice":
            combo = QComboBox(parent)
            combo.addItems(list(s.choices))
            return combo
        if s.kind in ("account", "dimension", "timezone"):
            # pickers that show names: NAV's cached chart of accounts / dimensions, the IANA zones
            picker = NavPicker(self._choices(s.kind), parent, accessible_name=s.label)
            picker.setMinimumWidth(240)
            return picker
        edit = QLineEdit(parent)
        if s.kind == "list":
            edit.setPlaceholderText("comma-separated" + (f": {', '.join(s.choices)}" if s.choices else ""))
        elif s.kind == "url":
            edit.setPlaceholderText("https://…")
        elif s.kind == "time":
            edit.setPlaceholderText("HH:MM")
        elif s.kind == "date":
            edit.setPlaceholderText("YYYY-MM-DD (empty: no limit)")
        elif s.kind == "path":
            edit.setPlaceholderText("full path to a PEM file (empty: the system's certificates)")
        return edit

    def _choices(self, kind: str) -> list[Choice]:
        if kind not in self.choice_cache:  # shared by the page's fields: each list read once per page built
            self.choice_cache[kind] = self._read_choices(kind)
        return self.choice_cache[kind]

    def _read_choices(self, kind: str) -> list[Choice]:
        profile = self.profile
        if kind == "timezone":
            return timezone_choices()
        if profile is None:
            return []
        if kind == "account":
            return refdata.choices(profile, "accounts")
        codes: dict[str, str] = {}
        for choice in refdata.choices(profile, "dimensionValues"):
            codes.setdefault(choice.key.split(":", 1)[0], "dimension")
        return [Choice(code, name) for code, name in sorted(codes.items())]

    def show_value(self, value: Any) -> None:
        editor = self.editor
        if isinstance(editor, NavPicker):
            text = "" if value is None else str(value)
            editor.select_key(text)
            if text and editor.current_key() != text:
                editor.setEditText(text)  # not in the cached list: shown as stored, Save checks it
        elif isinstance(editor, QtWidgets.QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QtWidgets.QSpinBox):
            editor.setValue(int(value) if value is not None else editor.minimum())
        elif isinstance(editor, QComboBox):
            index = editor.findText(str(value))
            if index < 0:  # a stored value the declaration no longer offers: show it, Save will say why
                editor.addItem(str(value))
                index = editor.count() - 1
            editor.setCurrentIndex(index)
        elif isinstance(value, list | tuple):
            editor.setText(", ".join(str(v) for v in value))
        else:
            editor.setText("" if value is None else str(value))
        self.loaded = self.raw()

    def raw(self) -> Any:
        editor = self.editor
        if isinstance(editor, NavPicker):
            return editor.current_key() or editor.currentText().split(" — ", 1)[0].strip()
        if isinstance(editor, QtWidgets.QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QtWidgets.QSpinBox):
            return editor.value()
        if isinstance(editor, QComboBox):
            return editor.currentText()
        return editor.text()

    def changed(self) -> bool:
        return self.raw() != self.loaded

    def set_locked(self, source: str | None) -> None:
        locked = source is not None
        self.editor.setEnabled(not locked)
        if locked:
            note = lock_note(source)
            self.lock.setText("🔒 " + note)
            self.lock.setToolTip(note)
            self.editor.setToolTip(note)
        else:
            self.editor.setToolTip(self.setting.help)
        self.lock.setVisible(locked)

    def set_error(self, message: str | None) -> None:
        self.error.setText(f"⚠ {message}" if message else "")
        self.error.setVisible(bool(message))


class SettingsPage(QWidget):
    status_message = Signal(str)
    saved = Signal(dict)

    def __init__(self, profile: Profile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        choice_cache: dict[str, list[Choice]] = {}  # NAV lists as they are now, read once for every field
        outer = QVBoxLayout(self)
        self.deploy_error = QLabel(self)
        self.deploy_error.setObjectName("deployError")
        self.deploy_error.setWordWrap(True)
        self.deploy_error.setStyleSheet("background: #b00020; color: white; padding: 6px;")
        self.deploy_error.hide()
        outer.addWidget(self.deploy_error)
        scroll = QtWidgets.QScrollArea(self)
        scroll.setWidgetResizable(True)
        body = QWidget(scroll)
        body_layout = QVBoxLayout(body)
        self.fields: dict[str, SettingField] = {}
        self.groups: dict[str, QtWidgets.QGroupBox] = {}
        for prefix in self._prefixes():
            box = QtWidgets.QGroupBox(GROUPS.get(prefix, prefix.capitalize()), body)
            box.setObjectName(f"group_{prefix}")
            form = QFormLayout(box)
            for setting in settings.SETTINGS:
                if setting.key.split(".", 1)[0] != prefix:
                    continue
                field = SettingField(setting, box, profile, choice_cache=choice_cache)
                column = QVBoxLayout()
                column.setSpacing(2)
                column.addWidget(field.editor)
                column.addWidget(field.lock)
                column.addWidget(field.error)
                label = QLabel(setting.label, box)
                label.setBuddy(field.editor)
                if setting.help:
                    label.setToolTip(setting.help)
                form.addRow(label, column)
                self.fields[setting.key] = field
            self.groups[prefix] = box
            body_layout.addWidget(box)
            if prefix == "nav":  # read-only: how NAV changes reach this profile (the service writes it)
                self.nav_changes = QLabel(box)
                self.nav_changes.setObjectName("navChanges")
                self.nav_changes.setWordWrap(True)
                form.insertRow(0, QLabel("NAV changes", box), self.nav_changes)
        body_layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        self.summary = QLabel(self)
        self.summary.setObjectName("settingsSummary")
        buttons.addWidget(self.summary, 1)
        self.revert_button = QPushButton("&Revert", self)
        self.save_button = QPushButton("&Save settings", self)
        self.save_button.setObjectName("saveSettings")
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self.refresh)
        self.refresh()

    @staticmethod
    def _prefixes() -> list[str]:
        """The known groups in their order, then any prefix a later setting adds (never dropped)."""
        seen = list(GROUPS)
        for setting in settings.SETTINGS:
            prefix = setting.key.split(".", 1)[0]
            if prefix not in seen:
                seen.append(prefix)
        return [p for p in seen if any(s.key.startswith(p + ".") for s in settings.SETTINGS)]

    def refresh(self) -> None:
        try:
            dep = deploy.current()
        except deploy.DeployError as exc:
            self.deploy_error.setText(f"The deployment file set up by your IT department is invalid, so settings "
                                      f"cannot be shown or changed until IT corrects it:\n{exc}")
            self.deploy_error.show()
            for field in self.fields.values():
                field.editor.setEnabled(False)
            self.save_button.setEnabled(False)
            self.revert_button.setEnabled(False)
            return
        self.deploy_error.hide()
        self.save_button.setEnabled(True)
        self.revert_button.setEnabled(True)
        values = settings.all_values(self.profile)  # one query, not one per field
        for key, field in self.fields.items():
            field.set_error(None)
            field.show_value(values[key] if key in values else settings.get(self.profile, key))
            field.set_locked(dep.source if key in dep.locked else None)
        if hasattr(self, "nav_changes"):
            from stnav_desktop.sync.app import notifications

            self.nav_changes.setText(notifications.status_line(self.profile).removeprefix("NAV changes: "))
            self.nav_changes.setToolTip("\n".join(notifications.subscription_lines(self.profile)))
        self.summary.setText(f"Profile {self.profile.name}" +
                             (f" · {len(dep.locked)} settings locked by IT" if dep.locked else ""))

    def save(self) -> dict[str, Any]:
        """Write every changed, unlocked field; returns the values saved. Rejected fields keep what was
        typed and show the reason; the others are saved."""
        try:
            locked = settings.locked_keys()
        except deploy.DeployError:
            self.refresh()
            return {}
        applied: dict[str, Any] = {}
        errors: dict[str, str] = {}
        with db.atomic():
            for key, field in self.fields.items():
                field.set_error(None)
                if key in locked or not field.changed():
                    continue
                try:
                    applied[key] = settings.set_value(self.profile, key, field.raw())
                except settings.SettingError as exc:
                    errors[key] = str(exc)
            if applied:
                audit.append("settings.changed", profile=self.profile.name, detail=applied)
        for key, message in errors.items():
            self.fields[key].set_error(message)
        for key, value in applied.items():
            self.fields[key].show_value(value)
        if errors:
            text = (f"Saved {len(applied)} setting(s); {len(errors)} need correcting: " + ", ".join(errors))
            first = self.fields[next(iter(errors))].editor
            first.setFocus()
        elif applied:
            text = f"Saved {len(applied)} setting(s)."
        else:
            text = "Nothing to save: no setting was changed."
        self.summary.setText(text)
        self.status_message.emit(text)
        if applied:
            self.saved.emit(applied)
        return applied
