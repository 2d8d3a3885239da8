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
    # audit_event refuses UPDATEs (append-only triggers), and peewee's migrator back-fills a NOT NULL column
    # with an UPDATE: add the column with a SQL default instead
    for table in ("audit_event", "audit_head"):
        if "mac" not in {c.name for c in db.get_columns(table)}:
            db.execute_sql(f"ALTER TABLE {table} ADD COLUMN mac VARCHAR(255) NOT NULL DEFAULT ''")


def _v4_reopen_stranded_batches(db: SqliteDatabase) -> None:
    # corrections (credit memo / reversal) go through batches too: a batch says what it holds
    if "kind" not in {c.name for c in db.get_columns("batch")}:
        db.execute_sql("ALTER TABLE batch ADD COLUMN kind VARCHAR(255) NOT NULL DEFAULT 'documents'")
    db.create_tables([models.CorrectionItem], safe=True)
    _v4_batch_rules(db)


def _v4_batch_rules(db: SqliteDatabase) -> None:
    """Before v4, posting a batch nobody had approved marked it done and stranded its ready documents
    (they could neither be approved nor put in a new batch). Such batches go back to waiting for approval;
    a done batch still holding approved or failed documents goes back to approved. Idempotent."""
    db.execute_sql("""UPDATE batch SET status = 'prepared' WHERE status = 'done' AND approved_by IS NULL
                      AND id IN (SELECT batch_id FROM st_document WHERE batch_id IS NOT NULL
                                 AND status IN ('ready', 'approved', 'failed', 'posting'))""")
    # the two-person rule is on by default from v4: existing profiles keep what they had (off) explicitly
    db.execute_sql("""INSERT INTO profile_setting (profile_id, key, value, updated_at)
                      SELECT id, 'approval.two_person_rule', 'false', strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', 'now') FROM profile
                      WHERE id NOT IN (SELECT profile_id FROM profile_setting
                                       WHERE key = 'approval.two_person_rule')""")
    db.execute_sql("""UPDATE batch SET status = 'approved' WHERE status = 'done' AND approved_by IS NOT NULL
                      AND id IN (SELECT batch_id FROM st_document WHERE batch_id IS NOT NULL
                                 AND status IN ('approved', 'failed', 'posting'))""")


# (version, description, step). Append only; never edit a released step.
LADDER: list[tuple[int, str, Callable[[SqliteDatabase], None]]] = [
    (1, "initial schema", _v1_initial),
    (2, "held bills: st_active, hold_reason, hold_released", _v2_holds),
    (3, "audit log sealed with a keyed MAC", _v3_audit_mac),
    (4, "batch kind (corrections); reopen batches closed before anything in them was posted; two-person rule "
        "kept off for existing profiles",
     _v4_reopen_stranded_batches),
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
