"""Moving a single-PC SQLite store into a shared PostgreSQL database (``stnav store migrate-to``).

Both sides are brought to the same schema by the one migration ladder first, then every table is
copied row for row in ONE PostgreSQL transaction (all or nothing), ids kept, sequences moved past
them. Values are copied as stored, never re-encoded: the audit log's text is hashed as stored, so the
chain is the same chain. After the copy the audit chain is verified on PostgreSQL and every table's
row count compared; only then does this installation switch to the shared database. The SQLite file
stays where it was, untouched, as the fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stnav_desktop.store import backend, models
from stnav_desktop.store.backend import StoreConfig

log = logging.getLogger(__name__)

# not copied: the version table is written by the ladder itself; the head is set from the source;
# claims are live leases of running posts, meaningless on another database
_SKIP = {"schema_version", "audit_head", "document_claim", "store_lease"}
_CHUNK = 1000


class TransferError(RuntimeError):
    pass


@dataclass
class TransferResult:
    rows: dict[str, int] = field(default_factory=dict)
    audit_events: int = 0
    verify_message: str = ""

    def summary(self) -> str:
        total = sum(self.rows.values())
        return f"{total} rows in {len(self.rows)} tables copied; {self.verify_message}"


def _tables() -> list[str]:
    return [m._meta.table_name for m in models.ALL_MODELS if m._meta.table_name not in _SKIP]


def migrate_to(sqlite_path: Path, target: StoreConfig, *, password: str | None = None,
               progress: Callable[[str], None] | None = None) -> TransferResult:
    from stnav_desktop.store import audit, migrations
    from stnav_desktop.store.db import close_db, db
    from stnav_desktop.store.pg import open_postgres

    say = progress or (lambda _msg: None)
    if not target.is_postgres:
        raise TransferError("migrate-to needs a postgresql:// URL")
    if not sqlite_path.is_file():
        raise TransferError(f"there is no SQLite store to move at {sqlite_path}")

    # 1. the source, brought to this release's schema (with its usual backup copy first)
    from stnav_desktop.store.db import _sqlite, open_sqlite

    close_db()
    open_sqlite(sqlite_path)
    before = audit.verify()
    if not before.ok:
        raise TransferError(f"the SQLite store's audit log does not verify, so it is not moved: {before.message()}")
    source = {t: _read(_sqlite, t) for t in _tables()}
    head = _sqlite.execute_sql("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone() or (0, "")
    src_version = migrations.current_version(db)
    close_db()
    say(f"read {sum(len(rows) for _cols, rows in source.values())} rows from {sqlite_path}")

    # 2. the target: migrated by the same ladder, and empty
    open_postgres(target, migrate=True, password=password)
    pg = db.obj
    try:
        if migrations.current_version(db) != src_version:
            raise TransferError(f"schema versions differ (SQLite v{src_version}, PostgreSQL "
                                f"v{migrations.current_version(db)}): run the same release on both")
        busy = [t for t in _tables() if pg.execute_sql(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()]
        if busy:
            raise TransferError(f"the target database already holds data ({', '.join(busy)}); migrate-to only "
                                "fills an empty database")
        result = TransferResult()
        with pg.atomic():
            for table in _tables():
                columns, rows = source[table]
                result.rows[table] = _write(pg, table, columns, rows)
            pg.execute_sql("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (head[0], head[1]))
            for model in models.ALL_MODELS:
                pk = model._meta.primary_key
                if model._meta.table_name in _SKIP or pk is None or pk is False or pk.field_type != "AUTO":
                    continue
                t, c = model._meta.table_name, pk.column_name
                pg.execute_sql(f"SELECT setval(pg_get_serial_sequence('{t}', '{c}'), "
                               f'COALESCE(MAX("{c}"), 1), MAX("{c}") IS NOT NULL) FROM "{t}"')
        say("copied; verifying")
        # 3. proof: the same rows, the same unbroken chain
        for table, count in result.rows.items():
            there = pg.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            if there != count:
                raise TransferError(f"{table}: {count} rows read but {there} in PostgreSQL")
        after = audit.verify()
        if not after.ok or after.checked != before.checked:
            raise TransferError(f"the audit chain does not verify after the move: {after.message()}")
        result.audit_events = after.checked
        result.verify_message = after.message()
        return result
    finally:
        close_db()


def _read(database, table: str) -> tuple[list[str], list[tuple]]:
    columns = [c.name for c in database.get_columns(table)]
    quoted = ", ".join(f'"{c}"' for c in columns)
    rows = database.execute_sql(f'SELECT {quoted} FROM "{table}" ORDER BY 1').fetchall()
    return columns, rows


def _write(pg, table: str, columns: list[str], rows: list[tuple]) -> int:
    target_cols = {c.name: c.data_type.lower() for c in pg.get_columns(table)}
    missing = [c for c in columns if c not in target_cols]
    if missing:
        raise TransferError(f"{table}: columns {', '.join(missing)} exist in SQLite but not in PostgreSQL")
    # SQLite keeps booleans as 0/1: PostgreSQL wants true/false; everything else is copied as stored
    booleans = [i for i, c in enumerate(columns) if target_cols[c] == "boolean"]
    sql = (f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)}) '
           f'VALUES ({", ".join(["%s"] * len(columns))})')
    cursor = pg.cursor()
    for i in range(0, len(rows), _CHUNK):
        chunk = rows[i:i + _CHUNK]
        if booleans:
            chunk = [tuple(bool(v) if j in booleans and v is not None else v for j, v in enumerate(r))
                     for r in chunk]
        cursor.executemany(sql, chunk)
    return len(rows)


def switch_to(target: StoreConfig) -> Path:
    """Make this installation use ``target`` from now on (this user's store.toml)."""
    return backend.write_config(target)
