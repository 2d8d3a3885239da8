"""The one peewee placeholder every model and query uses (Vorta ``store/connection.py``); ``store/db.py``
binds it at start-up. Kept apart from db.py so that models, migrations and the audit log can import it
without importing the code that opens and migrates the database (no import cycle).

SQLite in WAL mode with a busy timeout and foreign keys on. Every transaction is ``BEGIN IMMEDIATE``
(``lock_type``): a writer takes the write lock when it starts rather than upgrading a read lock
half-way, which in WAL mode fails at once with "database is locked" whatever the busy timeout.

A new database gets 16 KiB pages (SQLite's default is 4 KiB): a stored document is a row of some 2.5 KB
(its payload's JSON text), and a first pull writes 120 MB; with 16 KiB pages SQLite writes and checkpoints a
quarter as many pages (a first pull's INSERTs and commits: 0.71 -> 0.56 s CPU). ``page_size`` only takes
effect before the first table is written, so it must come before ``journal_mode`` and changes nothing in a
database that already exists (it keeps its page size; a backup takes the source's).
"""

from __future__ import annotations

from peewee import DatabaseProxy, SqliteDatabase

BUSY_TIMEOUT_MS = 15_000
PRAGMAS = (
    ("page_size", 16384),  # new databases only: see above
    ("journal_mode", "wal"),
    ("busy_timeout", BUSY_TIMEOUT_MS),
    ("foreign_keys", 1),
    ("synchronous", "normal"),
)

_sqlite = SqliteDatabase(None, pragmas=PRAGMAS, lock_type="IMMEDIATE", timeout=BUSY_TIMEOUT_MS // 1000)
db = DatabaseProxy()
db.initialize(_sqlite)
