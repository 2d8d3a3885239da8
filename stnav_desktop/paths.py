"""Where the app keeps its files. platformdirs by default; ``STNAV_HOME`` puts everything under one
folder (tests, demos, portable installs). The database must live on a local disk: WAL needs one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from stnav_desktop import APP_NAME

APP_AUTHOR = "ml-connector"


@dataclass(frozen=True)
class AppPaths:
    data: Path
    logs: Path
    config: Path

    @property
    def database(self) -> Path:
        return self.data / "stnav.sqlite3"

    @property
    def backups(self) -> Path:
        return self.data / "backups"

    @property
    def sandbox(self) -> Path:
        return self.data / "sandbox"

    @property
    def log_file(self) -> Path:
        return self.logs / "stnav.log"

    def ensure(self) -> AppPaths:
        for p in (self.data, self.logs, self.config):
            p.mkdir(parents=True, exist_ok=True)
        return self


def app_paths() -> AppPaths:
    home = os.environ.get("STNAV_HOME")
    if home:
        root = Path(home).expanduser()
        return AppPaths(data=root / "data", logs=root / "logs", config=root / "config")
    return AppPaths(
        data=Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)),
        logs=Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)),
        config=Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)),
    )
