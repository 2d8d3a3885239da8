from decimal import Decimal

import pytest

from stnav_desktop.paths import app_paths
from stnav_desktop.store import migrations
from stnav_desktop.store.db import db, open_db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import Profile, StDocument


@pytest.mark.sqlite_only
def test_pragmas(store):
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert migrations.current_version(db) == migrations.LATEST


@pytest.mark.sqlite_only
def test_a_new_store_has_16k_pages_and_an_existing_one_keeps_its_own(tmp_path):
    """page_size takes effect only before the first write: set after journal_mode it would silently stay
    4 KiB. A store made by an older release (4 KiB pages) opens, migrates and works as it is."""
    import sqlite3

    from stnav_desktop.store.db import close_db

    open_db(tmp_path / "new.sqlite3")
    try:
        assert db.execute_sql("PRAGMA page_size").fetchone()[0] == 16384
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        close_db()
    old = sqlite3.connect(tmp_path / "old.sqlite3")
    old.execute("PRAGMA journal_mode=wal")
    old.execute("CREATE TABLE earlier (a)")
    old.commit()
    old.close()
    open_db(tmp_path / "old.sqlite3")
    try:
        assert db.execute_sql("PRAGMA page_size").fetchone()[0] == 4096
        assert migrations.current_version(db) == migrations.LATEST
        Profile.create(name="kept")
        assert Profile.select().where(Profile.name == "kept").count() == 1
    finally:
        close_db()


def test_money_is_exact_and_floats_are_refused(store):
    profile = Profile.create(name="default")
    doc = StDocument.create(profile=profile, kind="purchase_order", st_id=1, raw={"total": Decimal("0.10")},
                            content_hash="h", total=Decimal("1234567.8912"))
    assert StDocument.get_by_id(doc.id).total == Decimal("1234567.8912")
    assert StDocument.get_by_id(doc.id).raw["total"] == "0.10"
    with pytest.raises(TypeError):
        StDocument.create(profile=profile, kind="purchase_order", st_id=2, raw={}, content_hash="h", total=0.1)


def test_naive_datetimes_are_refused(store):
    from datetime import datetime

    profile = Profile.create(name="default")
    with pytest.raises(ValueError, match="naive"):
        StDocument.create(profile=profile, kind="purchase_order", st_id=3, raw={}, content_hash="h",
                          modified_on=datetime(2026, 1, 1))
    doc = StDocument.create(profile=profile, kind="purchase_order", st_id=4, raw={}, content_hash="h",
                            modified_on=utcnow())
    assert StDocument.get_by_id(doc.id).modified_on.tzinfo is not None


@pytest.mark.sqlite_only
def test_migration_copies_the_file_first_and_each_step_is_atomic(store, monkeypatch):
    Profile.create(name="kept")
    path = app_paths().database
    before = migrations.current_version(db)

    def bad_step(database):
        database.execute_sql("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("step failed")

    monkeypatch.setattr(migrations, "LADDER", [*migrations.LADDER, (99, "broken", bad_step)])
    db.close()
    with pytest.raises(RuntimeError):
        open_db(path)
    assert migrations.current_version(db) == before  # the version was not bumped
    assert not db.table_exists("half_done")  # the step's work was rolled back with it
    backups = list((path.parent / "backups").glob("*.sqlite3"))
    assert len(backups) == 1
    import sqlite3

    con = sqlite3.connect(backups[0])
    assert con.execute("SELECT name FROM profile").fetchall() == [("kept",)]
    con.close()
