"""The database: one peewee placeholder bound at start-up (Vorta ``store/connection.py``).

SQLite in WAL mode with a busy timeout and foreign keys on. Every transaction is ``BEGIN IMMEDIATE``
(``lock_type``): a writer takes the write lock when it starts rather than upgrading a read lock
half-way, which in WAL mode fails at once with "database is locked" whatever the busy timeout.
peewee keeps one connection per thread, so the GUI thread and the scheduler thread can both use it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from peewee import SqliteDatabase

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000
PRAGMAS = (
    ("journal_mode", "wal"),
    ("busy_timeout", BUSY_TIMEOUT_MS),
    ("foreign_keys", 1),
    ("synchronous", "normal"),
)

db = SqliteDatabase(None, pragmas=PRAGMAS, lock_type="IMMEDIATE", timeout=BUSY_TIMEOUT_MS / 1000)


def open_db(path: Path, *, migrate: bool = True) -> SqliteDatabase:
    """Bind the placeholder to ``path`` and bring the schema up to date."""
    from stnav_desktop.store import migrations

    path.parent.mkdir(parents=True, exist_ok=True)
    if not db.is_closed():
        db.close()
    db.init(str(path), pragmas=PRAGMAS, timeout=BUSY_TIMEOUT_MS / 1000)
    db.connect(reuse_if_open=True)
    if migrate:
        migrations.migrate(db, path)
    return db


def close_db() -> None:
    if not db.is_closed():
        db.close()
