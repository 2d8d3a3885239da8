"""The database: one peewee placeholder bound at start-up (Vorta ``store/connection.py``).

SQLite in WAL mode with a busy timeout and foreign keys on. Every transaction is ``BEGIN IMMEDIATE``
(``lock_type``): a writer takes the write lock when it starts rather than upgrading a read lock
half-way, which in WAL mode fails at once with "database is locked" whatever the busy timeout.
peewee keeps one connection per thread, so the GUI thread and the scheduler thread can both use it.

``db`` is a proxy: an installation configured for a shared PostgreSQL server (``store/backend.py``)
binds it to that server instead, with the same models and the same migration ladder.
"""

from __future__ import annotations

import logging
from pathlib import Path

from peewee import DatabaseProxy, SqliteDatabase

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000
PRAGMAS = (
    ("journal_mode", "wal"),
    ("busy_timeout", BUSY_TIMEOUT_MS),
    ("foreign_keys", 1),
    ("synchronous", "normal"),
)

_sqlite = SqliteDatabase(None, pragmas=PRAGMAS, lock_type="IMMEDIATE", timeout=BUSY_TIMEOUT_MS / 1000)
db = DatabaseProxy()
db.initialize(_sqlite)


def open_db(path: Path, *, migrate: bool = True):
    """Bind the placeholder to the installation's store (``path`` for SQLite, or the PostgreSQL server
    configured in deploy.toml / store.toml) and bring the schema up to date."""
    from stnav_desktop.store import backend

    cfg = backend.current()
    if cfg.is_postgres:
        from stnav_desktop.store import pg

        return pg.open_postgres(cfg, migrate=migrate)
    return open_sqlite(path, migrate=migrate)


def open_sqlite(path: Path, *, migrate: bool = True):
    """This PC's SQLite file, whatever the installation's store setting (self-test, migrate-to)."""
    from stnav_desktop.store import migrations

    path.parent.mkdir(parents=True, exist_ok=True)
    if not db.is_closed():
        db.close()
    db.initialize(_sqlite)
    _sqlite.init(str(path), pragmas=PRAGMAS, timeout=BUSY_TIMEOUT_MS / 1000)
    db.connect(reuse_if_open=True)
    if migrate:
        migrations.migrate(db, path)
    return db


def close_db() -> None:
    if not db.is_closed():
        db.close()
