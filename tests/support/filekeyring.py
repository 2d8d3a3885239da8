"""A keyring backend for tests that start `stnav` as a separate process (the crash test): the child
cannot see the parent's in-memory keychain, so both read one JSON file named by STNAV_TEST_KEYRING.
Test-only: it holds the simulators' fake secrets, never a real one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.backend


class FileKeyring(keyring.backend.KeyringBackend):
    priority = 1

    @property
    def path(self) -> Path:
        return Path(os.environ["STNAV_TEST_KEYRING"])

    def _load(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service, username):
        return self._load().get(f"{service}|{username}")

    def set_password(self, service, username, password):
        data = self._load()
        data[f"{service}|{username}"] = password
        self.path.write_text(json.dumps(data))

    def delete_password(self, service, username):
        data = self._load()
        data.pop(f"{service}|{username}", None)
        self.path.write_text(json.dumps(data))
