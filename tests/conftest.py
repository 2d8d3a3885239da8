"""Shared fixtures: a neutral environment, a fresh STNAV_HOME per test, an in-memory keychain."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["DBUS_SESSION_BUS_ADDRESS"] = "disabled:"

import keyring  # noqa: E402
import keyring.backend  # noqa: E402
import pytest  # noqa: E402

from stnav_desktop import redact  # noqa: E402


class MemoryKeyring(keyring.backend.KeyringBackend):
    """In-memory keychain for tests (never the database, never a file)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if (service, username) not in self.store:
            raise PasswordDeleteError("not found")
        del self.store[(service, username)]


def pytest_configure(config: pytest.Config) -> None:
    for var in ("STNAV_PROFILE", "PYTHON_KEYRING_BACKEND", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(var, None)


@pytest.fixture(autouse=True)
def stnav_home(tmp_path, monkeypatch):
    home = tmp_path / "stnav-home"
    monkeypatch.setenv("STNAV_HOME", str(home))
    # never let a machine-wide deployment file of the developer's PC leak into a test
    monkeypatch.setenv("STNAV_DEPLOY_FILE", str(tmp_path / "no-deploy.toml"))
    yield home


@pytest.fixture
def deploy_file(tmp_path, monkeypatch):
    """A machine-wide deployment file (deploy.toml) the test writes."""
    path = tmp_path / "deploy.toml"
    monkeypatch.setenv("STNAV_DEPLOY_FILE", str(path))
    return path


@pytest.fixture
def nav(tmp_path):
    """An on-premises NAV simulator (Basic auth) for tests that post through the real connector."""
    from stnav_desktop.sandbox.nav import NavSandbox

    with NavSandbox(tmp_path / "tls", flavour="onprem") as sb:
        yield sb


@pytest.fixture
def store(stnav_home):
    """A fresh, migrated SQLite database in this test's STNAV_HOME."""
    from stnav_desktop.paths import app_paths
    from stnav_desktop.store.db import close_db, open_db

    paths = app_paths().ensure()
    database = open_db(paths.database)
    yield database
    close_db()


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(previous)
    redact.forget_secrets()
