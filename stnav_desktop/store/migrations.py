"""Schema migrations as an ordered ladder (Vorta ``store/migrations.py``).

Each step runs in one transaction together with its version bump, and the database file is copied
to ``backups/`` before any step runs, so a failed upgrade can be rolled back by hand.

The same ladder runs on SQLite and on a shared PostgreSQL store. Several PCs may start a new release
at once: on PostgreSQL the whole upgrade holds an advisory lock, and every step re-reads the version
inside its own transaction, so each step runs exactly once. A PC whose release is older than the
database refuses to open it and names the release it needs (``refuse_if_newer``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

from peewee import Database, DatabaseProxy

from stnav_desktop import __version__
from stnav_desktop.store import models
from stnav_desktop.store.backend import is_postgres
from stnav_desktop.store.changes import install_notify_trigger
from stnav_desktop.store.claims import DocumentClaim
from stnav_desktop.store.errors import SchemaTooNew, newer_schema_message
from stnav_desktop.store.locks import StoreLease

log = logging.getLogger(__name__)

# what the steps are given: the store's proxy (store.db.db), bound to SQLite or PostgreSQL
StoreDatabase: TypeAlias = Database | DatabaseProxy

# pg_advisory_lock key of the schema upgrade ("stnav" + 1); held by one PC at a time
MIGRATION_LOCK_KEY = 0x73746E617601




def _pg_append_only_triggers(db) -> None:
    """PostgreSQL's equivalent of the SQLite triggers: UPDATE, DELETE and TRUNCATE of the audit log
    raise, whoever connects (psql, pgAdmin, another app)."""
    db.execute_sql("""CREATE OR REPLACE FUNCTION stnav_audit_append_only() RETURNS trigger
                      LANGUAGE plpgsql AS $$
                      BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$""")
    db.execute_sql("DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event")
    db.execute_sql("""CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
                      FOR EACH ROW EXECUTE FUNCTION stnav_audit_append_only()""")
    db.execute_sql("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
    db.execute_sql("""CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
                      FOR EACH STATEMENT EXECUTE FUNCTION stnav_audit_append_only()""")


def _v1_initial(db: StoreDatabase) -> None:
    db.create_tables([m for m in models.ALL_MODELS if m is not models.SchemaVersion])
    if is_postgres(db):
        _pg_append_only_triggers(db)
        db.execute_sql("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '') ON CONFLICT DO NOTHING")
        return
    db.execute_sql("""CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
                      BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""")
    db.execute_sql("""CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
                      BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""")
    db.execute_sql("INSERT OR IGNORE INTO audit_head (id, seq, hash) VALUES (1, 0, '')")


def _add_column_if_missing(db, table: str, column: str, ddl: str) -> None:
    """Idempotent on both backends (v1 already creates the current models' columns on a new database). A
    SQL default, never a back-fill UPDATE: audit_event refuses UPDATEs (append-only triggers)."""
    if column not in {c.name for c in db.get_columns(table)}:
        db.execute_sql(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")


def _add_missing_columns(db: StoreDatabase, model, names: list[str]) -> None:
    """Idempotent: v1 already creates the current models' columns on a fresh database."""
    from playhouse.migrate import SqliteMigrator, migrate

    table = model._meta.table_name
    have = {c.name for c in db.get_columns(table)}
    migrator = SqliteMigrator(db)
    ops = [migrator.add_column(table, name, model._meta.fields[name]) for name in names if name not in have]
    if ops:
        migrate(*ops)


def _v2_holds(db: StoreDatabase) -> None:
    # bills held back from booking (deleted in ServiceTitan, orphaned, duplicate vendor invoice) and releases
    _add_missing_columns(db, models.StDocument, ["st_active", "hold_reason", "hold_released"])


def _v3_audit_mac(db: StoreDatabase) -> None:
    """Keyed MACs on audit events and the head (store/audit.py); older events stay verifiable by hash."""
    for table in ("audit_event", "audit_head"):
        _add_column_if_missing(db, table, "mac", "VARCHAR(255) NOT NULL DEFAULT ''")


def _v4_reopen_stranded_batches(db: StoreDatabase) -> None:
    # corrections (credit memo / reversal) go through batches too: a batch says what it holds
    _add_column_if_missing(db, "batch", "kind", "VARCHAR(255) NOT NULL DEFAULT 'documents'")
    db.create_tables([models.CorrectionItem], safe=True)
    _v4_batch_rules(db)


def _v4_batch_rules(db: StoreDatabase) -> None:
    """Before v4, posting a batch nobody had approved marked it done and stranded its ready documents
    (they could neither be approved nor put in a new batch). Such batches go back to waiting for approval;
    a done batch still holding approved or failed documents goes back to approved. Idempotent."""
    db.execute_sql("""UPDATE batch SET status = 'prepared' WHERE status = 'done' AND approved_by IS NULL
                      AND id IN (SELECT batch_id FROM st_document WHERE batch_id IS NOT NULL
                                 AND status IN ('ready', 'approved', 'failed', 'posting'))""")
    # the two-person rule is on by default from v4: existing profiles keep what they had (off) explicitly
    now = datetime.now(UTC).isoformat(timespec="microseconds")  # a parameter: the same SQL on both backends
    db.execute_sql(f"""INSERT INTO profile_setting (profile_id, key, value, updated_at)
                       SELECT id, 'approval.two_person_rule', 'false', {db.param} FROM profile
                       WHERE id NOT IN (SELECT profile_id FROM profile_setting
                                        WHERE key = 'approval.two_person_rule')""", (now,))
    db.execute_sql("""UPDATE batch SET status = 'approved' WHERE status = 'done' AND approved_by IS NOT NULL
                      AND id IN (SELECT batch_id FROM st_document WHERE batch_id IS NOT NULL
                                 AND status IN ('approved', 'failed', 'posting'))""")


def _v5_shared_store(db) -> None:
    """Several PCs on one store: the PC naming each audit event, claims on documents being posted, and
    who holds each store-wide lock (the scheduler)."""
    _add_column_if_missing(db, "audit_event", "host", "VARCHAR(255) NOT NULL DEFAULT ''")
    db.create_tables([DocumentClaim, StoreLease], safe=True)
    if is_postgres(db):  # live views: the other PCs hear of each appended event (store/changes.py)
        install_notify_trigger(db)


def _v7_attachments(db: StoreDatabase) -> None:
    """Source-document PDFs attached to NAV documents, with their retry state (issue #15)."""
    db.create_tables([models.NavAttachment], safe=True)


def _v8_bills_of_po_index(db: StoreDatabase) -> None:
    """An index for a PO's bills (returns credit the accounts they used): one look-up was a scan of every
    document, 26 ms at 36,000 documents, paid by every return a pull or a posting run checks."""
    db.create_tables([models.StDocument], safe=True)  # IF NOT EXISTS: table and indexes v1 made stay as they are


def _v10_nav_change_watch(db: StoreDatabase) -> None:
    """How each profile hears of NAV changes (webhook notifications or polling, and why) (issue #19 item 6)."""
    db.create_tables([models.NavChangeWatch], safe=True)


# (version, description, step). Append only; never edit a released step.
LADDER: list[tuple[int, str, Callable[[StoreDatabase], None]]] = [
    (1, "initial schema", _v1_initial),
    (2, "held bills: st_active, hold_reason, hold_released", _v2_holds),
    (3, "audit log sealed with a keyed MAC", _v3_audit_mac),
    (4, "batch kind (corrections); reopen batches closed before anything in them was posted; two-person rule "
        "kept off for existing profiles",
     _v4_reopen_stranded_batches),
    (5, "shared store: audit host, document claims, store leases", _v5_shared_store),
    (7, "source documents attached to NAV documents (nav_attachment)", _v7_attachments),
    (8, "index of documents by the purchase order they belong to (a PO's bills)", _v8_bills_of_po_index),
    (10, "how each profile hears of NAV changes (nav_change_watch)", _v10_nav_change_watch),
]
LATEST = LADDER[-1][0]


def current_version(db: StoreDatabase) -> int:
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


def _ensure_bookkeeping(db) -> None:
    db.create_tables([models.SchemaVersion], safe=True)
    # which release applied a step: added here rather than by a step, since every step records it
    _add_column_if_missing(db, "schema_version", "app_version", "VARCHAR(255) NOT NULL DEFAULT ''")


def refuse_if_newer(db) -> int:
    """Raise ``SchemaTooNew`` naming the release needed when the database is ahead of this app."""

    version = current_version(db)
    if version <= LATEST:
        return version
    needed = ""
    if "app_version" in {c.name for c in db.get_columns("schema_version")}:
        row = db.execute_sql("SELECT app_version FROM schema_version ORDER BY version DESC LIMIT 1").fetchone()
        needed = (row[0] or "") if row else ""
    raise SchemaTooNew(newer_schema_message(_describe(db), version, LATEST, needed))


def _describe(db) -> str:
    return f"{db.database} on the shared server" if is_postgres(db) else str(db.database)


@contextmanager
def _upgrade_lock(db) -> Iterator[None]:
    """On PostgreSQL, one PC upgrades at a time (the others wait, then find nothing left to do).
    SQLite needs none: each step's BEGIN IMMEDIATE already serialises, and the version is re-read."""
    if not is_postgres(db):
        yield
        return
    db.execute_sql("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        yield
    finally:
        db.execute_sql("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))


def migrate(db: StoreDatabase, path: Path | None = None) -> int:

    with _upgrade_lock(db):
        with db.atomic():
            _ensure_bookkeeping(db)
        version = refuse_if_newer(db)
        pending = [step for step in LADDER if step[0] > version]
        if not pending:
            return version
        if path is not None and version > 0:
            copy = backup(path, version)
            log.info("database copied to %s before migrating from v%s", copy, version)
        for number, description, step in pending:
            with db.atomic():
                if current_version(db) >= number:  # another process ran it meanwhile
                    continue
                step(db)
                models.SchemaVersion.create(version=number, app_version=__version__)
            log.info("schema migrated to v%s (%s)", number, description)
    return max(version, pending[-1][0])
