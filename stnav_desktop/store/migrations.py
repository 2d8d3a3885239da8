"""Schema migrations as an ordered ladder (Vorta ``store/migrations.py``).

Each step runs in one transaction together with its version bump, and the database file is copied
to ``backups/`` before any step runs, so a failed upgrade can be rolled back by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from peewee import SqliteDatabase

from stnav_desktop.store import models

log = logging.getLogger(__name__)


def _v1_initial(db: SqliteDatabase) -> None:
    db.create_tables([m for m in models.ALL_MODELS if m is not models.SchemaVersion])
    db.execute_sql("""CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
                      BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""")
    db.execute_sql("""CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
                      BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""")
    db.execute_sql("INSERT OR IGNORE INTO audit_head (id, seq, hash) VALUES (1, 0, '')")


def _add_missing_columns(db: SqliteDatabase, model, names: list[str]) -> None:
    """Idempotent: v1 already creates the current models' columns on a fresh database."""
    from playhouse.migrate import SqliteMigrator, migrate

    table = model._meta.table_name
    have = {c.name for c in db.get_columns(table)}
    migrator = SqliteMigrator(db)
    ops = [migrator.add_column(table, name, model._meta.fields[name]) for name in names if name not in have]
    if ops:
        migrate(*ops)


def _v2_holds(db: SqliteDatabase) -> None:
    # bills held back from booking (deleted in ServiceTitan, orphaned, duplicate vendor invoice) and releases
    _add_missing_columns(db, models.StDocument, ["st_active", "hold_reason", "hold_released"])


def _v3_audit_mac(db: SqliteDatabase) -> None:
    """Keyed MACs on audit events and the head (store/audit.py); older events stay verifiable by hash."""
    _add_missing_columns(db, models.AuditEvent, ["mac"])
    _add_missing_columns(db, models.AuditHead, ["mac"])


# (version, description, step). Append only; never edit a released step.
LADDER: list[tuple[int, str, Callable[[SqliteDatabase], None]]] = [
    (1, "initial schema", _v1_initial),
    (2, "held bills: st_active, hold_reason, hold_released", _v2_holds),
    (3, "audit log sealed with a keyed MAC", _v3_audit_mac),
]
LATEST = LADDER[-1][0]


def current_version(db: SqliteDatabase) -> int:
    if not db.table_exists("schema_version"):
        return 0
    row = db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
    return row[0] or 0


def backup(path: Path, version: int) -> Path | None:
    if not path.exists() or path.stat().st_size == 0:
        return None
    folder = path.parent / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{path.stem}-v{version}-{stamp}{path.suffix}"
    # sqlite's online backup copies a consistent snapshot including the WAL's content
    import sqlite3

    src = sqlite3.connect(str(path))
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def migrate(db: SqliteDatabase, path: Path | None = None) -> int:
    db.create_tables([models.SchemaVersion])
    version = current_version(db)
    pending = [step for step in LADDER if step[0] > version]
    if not pending:
        return version
    if path is not None and version > 0:
        copy = backup(path, version)
        log.info("database copied to %s before migrating from v%s", copy, version)
    for number, description, step in pending:
        with db.atomic():
            step(db)
            models.SchemaVersion.create(version=number)
        log.info("schema migrated to v%s (%s)", number, description)
    return pending[-1][0]
