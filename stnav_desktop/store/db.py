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
import sqlite3
from pathlib import Path

import peewee

from stnav_desktop.store import backend, migrations
from stnav_desktop.store.errors import DatabaseProblem, SchemaTooNew, newer_schema_message
from stnav_desktop.store.proxy import BUSY_TIMEOUT_MS, PRAGMAS, _sqlite, db

__all__ = ["BUSY_TIMEOUT_MS", "PRAGMAS", "DatabaseProblem", "SchemaTooNew", "close_db", "db", "explain",
           "newer_schema_message", "open_db", "open_sqlite", "refuse_unusable_file"]

log = logging.getLogger(__name__)



def open_db(path: Path, *, migrate: bool = True):
    """Bind the placeholder to the installation's store (``path`` for SQLite, or the PostgreSQL server
    configured in deploy.toml / store.toml) and bring the schema up to date."""
    cfg = backend.current()
    if cfg.is_postgres:
        from stnav_desktop.store import pg  # psycopg is loaded only where a shared server is configured

        return pg.open_postgres(cfg, migrate=migrate)
    return open_sqlite(path, migrate=migrate)


def open_sqlite(path: Path, *, migrate: bool = True):
    """This PC's SQLite file, whatever the installation's store setting (self-test, migrate-to).

    Raises ``DatabaseProblem`` (one line naming the file and what to do) when the file cannot be used;
    a database written by a newer version of the app is refused before anything is written to it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        refuse_unusable_file(path, migrations.LATEST)
        if not db.is_closed():
            db.close()
        db.initialize(_sqlite)
        _sqlite.init(str(path), pragmas=PRAGMAS, timeout=BUSY_TIMEOUT_MS // 1000)
        db.connect(reuse_if_open=True)
        if migrate:
            migrations.migrate(db, path)
    except DatabaseProblem:
        raise
    except (OSError, sqlite3.Error, peewee.DatabaseError) as exc:
        if not db.is_closed():
            db.close()
        raise DatabaseProblem(explain(path, exc)) from exc
    return db


# --- naming what is wrong with a database file (kept apart from the rest for the PostgreSQL merge) ---



LOCK_HOLDERS = ("another ml-connector window or `stnav run`", "a backup tool", "a file sync client "
                "(OneDrive, Dropbox, Google Drive)", "a SQLite browser")


def explain(path: Path, exc: BaseException) -> str:
    """One line for a failure to open or write ``path``: which file, what is wrong, what to do."""
    text = str(exc).lower()
    if isinstance(exc, FileExistsError | NotADirectoryError) or (
            path.parent.exists() and not path.parent.is_dir()):
        return (f"database folder {path.parent} is not a folder (STNAV_HOME points at a file?): "
                "point STNAV_HOME at a folder, or move that file away")
    if path.is_dir():
        return f"database {path} is a folder, not a file: move it away and start again"
    if "locked" in text or "busy" in text:
        return (f"database {path} is locked by another program for longer than {BUSY_TIMEOUT_MS // 1000} s: "
                f"close {', '.join(LOCK_HOLDERS[:-1])} or {LOCK_HOLDERS[-1]} using it, then try again")
    if "not a database" in text or "malformed" in text or "corrupt" in text or "encrypted" in text:
        return (f"database {path} is damaged or not an ml-connector database: restore it from "
                f"{path.parent / 'backups'} (or move it away to start empty), then try again")
    if isinstance(exc, PermissionError) or "readonly" in text or "read-only" in text or "permission" in text \
            or "unable to open" in text or "access" in text:
        return (f"database {path} cannot be written (read-only file or folder, or no permission): give "
                f"your user write access to {path.parent}, or set STNAV_HOME to a writable local folder")
    if "disk" in text and ("full" in text or "i/o" in text):
        return f"database {path}: the disk is full or failing ({exc}); free space or move STNAV_HOME"
    return f"database {path} cannot be used: {type(exc).__name__}: {exc}"


def refuse_unusable_file(path: Path, latest: int) -> None:
    """Look at an existing file read-only before the app touches it: a file that is not SQLite, or a
    schema newer than this app knows, is refused without writing a byte."""
    if path.is_dir():
        raise DatabaseProblem(explain(path, IsADirectoryError(str(path))))
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        con = sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise DatabaseProblem(explain(path, exc)) from exc
    try:
        has_table = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
                                ).fetchone()
        version = con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] if has_table else 0
        needed = ""
        if (version or 0) > latest and "app_version" in {r[1] for r in con.execute(
                "PRAGMA table_info(schema_version)")}:
            row = con.execute("SELECT app_version FROM schema_version ORDER BY version DESC LIMIT 1").fetchone()
            needed = (row[0] or "") if row else ""
    except sqlite3.Error as exc:
        raise DatabaseProblem(explain(path, exc)) from exc
    finally:
        con.close()
    if (version or 0) > latest:
        raise SchemaTooNew(newer_schema_message(str(path), version, latest, needed))


def close_db() -> None:
    if not db.is_closed():
        db.close()
