"""The one peewee placeholder every model and query uses (Vorta ``store/connection.py``); ``store/db.py``
binds it at start-up. Kept apart from db.py so that models, migrations and the audit log can import it
without importing the code that opens and migrates the database (no import cycle).

SQLite in WAL mode with a busy timeout and foreign keys on. Every transaction is ``BEGIN IMMEDIATE``
(``lock_type``): a writer takes the write lock when it starts rather than upgrading a read lock
half-way, which in WAL mode fails at once with "database is locked" whatever the busy timeout.
"""

from __future__ import annotations

from peewee import DatabaseProxy, SqliteDatabase

BUSY_TIMEOUT_MS = 15_000
PRAGMAS = (
    ("journal_mode", "wal"),
    ("busy_timeout", BUSY_TIMEOUT_MS),
    ("foreign_keys", 1),
    ("synchronous", "normal"),
)

_sqlite = SqliteDatabase(None, pragmas=PRAGMAS, lock_type="IMMEDIATE", timeout=BUSY_TIMEOUT_MS // 1000)
db = DatabaseProxy()
db.initialize(_sqlite)
