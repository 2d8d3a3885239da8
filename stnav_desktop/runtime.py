"""Start-up shared by the CLI and the GUI: folders, logging, the database."""

from __future__ import annotations

import logging

from stnav_desktop.logs import setup_logging
from stnav_desktop.paths import AppPaths, app_paths
from stnav_desktop.store.db import open_db


def start(*, console: bool = False, level: int = logging.INFO) -> AppPaths:
    paths = app_paths().ensure()
    setup_logging(paths, level=level, console=console)
    open_db(paths.database)
    return paths
