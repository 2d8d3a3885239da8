"""Secrets and the connection test, on the Settings tab. Secrets go to the OS keychain only and are
shown as "stored" / "missing", never echoed back. Keychain calls and the connection test run on a
worker thread (a keychain can block on an unlock prompt)."""

from __future__ import annotations

from stnav_desktop import credentials
from stnav_desktop.store.models import Profile
from stnav_desktop.ui.qt import (
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


class ConnectionsPanel(QWidget):
    status_message = Signal(str)
    company_chosen = Signal(str)

    def __init__(self, profile: Profile, runner, service_fn, parent=None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.runner = runner
        self.service_fn = service_fn
        layout = QVBoxLayout(self)
        box = QtWidgets.QGroupBox("Secrets (stored in this computer's keychain for you only)", self)
        form = QFormLayout(box)
        self.fields: dict[str, tuple[QLineEdit, QLabel]] = {}
        for field, label in credentials.SECRET_FIELDS.items():
            edit = QLineEdit(box)
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText("type to replace")
            edit.setAccessibleName(label)
            state = QLabel("…", box)
            state.setObjectName(f"state_{field}")
            row = QHBoxLayout()
            row.addWidget(edit, 1)
            row.addWidget(state)
            form.addRow(label, row)
            self.fields[field] = (edit, state)
        self.save_secrets = QPushButton("Save secrets", box)
        form.addRow(self.save_secrets)
        layout.addWidget(box)
        self.keychain_note = QLabel(self)
        self.keychain_note.setWordWrap(True)
        layout.addWidget(self.keychain_note)
        company_row = QHBoxLayout()
        self.load_companies = QPushButton("Load companies from NAV", self)
        self.load_companies.setToolTip("Uses the NAV settings and secret above; pick the company to post to")
        self.company_picker = QtWidgets.QComboBox(self)
        self.company_picker.setAccessibleName("NAV company")
        self.company_picker.setEnabled(False)
        self.use_company = QPushButton("Use this company", self)
        self.use_company.setEnabled(False)
        for widget in (self.load_companies, self.company_picker, self.use_company):
            company_row.addWidget(widget)
        layout.addLayout(company_row)
        self.load_companies.clicked.connect(self.fetch_companies)
        self.use_company.clicked.connect(self.choose_company)
        test_row = QHBoxLayout()
        self.test_button = QPushButton("&Test connection", self)
        self.test_button.setAccessibleName("Test connection")
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        layout.addLayout(test_row)
        self.results = QtWidgets.QPlainTextEdit(self)
        self.results.setReadOnly(True)
        self.results.setObjectName("connectionResults")
        self.results.setAccessibleName("Connection test results")
        layout.addWidget(self.results)
        self.save_secrets.clicked.connect(self.save)
        self.test_button.clicked.connect(self.test)
        self.refresh()

    def refresh(self) -> None:
        self.runner.submit(lambda: credentials.status(self.profile.name), self._show_status, self._keychain_error)

    def _show_status(self, status: dict[str, str]) -> None:
        self.keychain_note.setText(f"Keychain: {credentials.backend_name()}")
        for field, (_edit, label) in self.fields.items():
            label.setText("stored" if status.get(field) == "stored" else "missing")

    def _keychain_error(self, message: str) -> None:
        self.keychain_note.setText(f"⚠ {message}")
        for _edit, label in self.fields.values():
            label.setText("unavailable")

    def save(self) -> None:
        values = {f: e.text() for f, (e, _l) in self.fields.items() if e.text()}
        for edit, _label in self.fields.values():
            edit.clear()  # the typed secret does not stay in the widget

        def work():
            for field, value in values.items():
                credentials.set_secret(self.profile.name, field, value)
            return credentials.status(self.profile.name)

        self.runner.submit(work, lambda s: (self._show_status(s), self.status_message.emit(
            f"{len(values)} secret(s) stored in the keychain")), self._keychain_error)

    def fetch_companies(self) -> None:
        def done(companies):
            from stnav_desktop.sync.views import status
            status.remember_companies(self.profile, companies)
            self.company_picker.clear()
            for company in companies:
                self.company_picker.addItem(f"{company['name']}  ({company['id']})", company["id"])
            self.company_picker.setEnabled(bool(companies))
            self.use_company.setEnabled(bool(companies))
            self.status_message.emit(f"{len(companies)} companies in NAV")

        self.runner.submit(lambda: self.service_fn().companies(), done,
                           lambda message: self.status_message.emit(f"Could not load companies: {message}"))

    def choose_company(self) -> None:
        from stnav_desktop.store import settings

        company_id = self.company_picker.currentData()
        if company_id:
            settings.set_value(self.profile, "nav.company_id", company_id)
            self.company_chosen.emit(company_id)
            self.status_message.emit(f"Posting to company {self.company_picker.currentText()}")

    def test(self) -> None:
        self.results.setPlainText("Testing…")
        self.test_button.setEnabled(False)

        def done(lines):
            self.test_button.setEnabled(True)
            self.results.setPlainText("\n".join(f"{'PASS' if ok else 'FAIL'}  {system}: {name} — {message}"
                                                for system, name, ok, message in lines))

        def failed(message):
            self.test_button.setEnabled(True)
            self.results.setPlainText(f"FAIL  {message}")

        self.runner.submit(lambda: self.service_fn().test_connections(), done, failed)
