import threading
import time

import pytest

from stnav_desktop.cli import main
from stnav_desktop.store import audit
from stnav_desktop.store.models import AuditEvent


def _seed(n=5):
    for i in range(n):
        audit.append("document.pulled", st_ref=f"PO-{1000 + i}", detail={"i": i, "amount": "12.50"})


@pytest.fixture
def _tamper(raw_sql):
    """What someone with the sqlite3 tool or psql would do: switch the guard triggers off, then edit."""
    return raw_sql


def test_fresh_store_verifies(store, capsys):
    assert audit.verify().ok
    _seed()
    assert main(["audit", "verify"]) == 0
    assert "5 events" in capsys.readouterr().out


def test_edited_row_is_named(store, _tamper, capsys):
    _seed()
    _tamper("UPDATE audit_event SET detail = ? WHERE seq = 3", '{"amount":"99.99","i":2}')
    result = audit.verify()
    assert not result.ok and result.broken_seq == 3
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "event 3" in err and "edited" in err


def test_deleted_row_is_named(store, _tamper):
    _seed()
    _tamper("DELETE FROM audit_event WHERE seq = 2")
    result = audit.verify()
    assert not result.ok and result.broken_seq == 2


def test_deleted_newest_rows_are_detected(store, _tamper):
    _seed()
    _tamper("DELETE FROM audit_event WHERE seq >= 4")
    result = audit.verify()
    assert not result.ok and "newest" in result.reason


def test_reordered_rows_are_detected(store, raw_sql):
    _seed()
    # swap the contents of events 2 and 4 (keeping their sequence numbers)
    rows = {r[0]: r[1:] for r in raw_sql("SELECT seq, ts, action, st_ref, detail, prev_hash, hash "
                                         "FROM audit_event WHERE seq IN (2, 4)")}
    for seq, other in ((2, 4), (4, 2)):
        raw_sql("UPDATE audit_event SET ts=?, action=?, st_ref=?, detail=?, prev_hash=?, hash=? WHERE seq=?",
                *rows[other], seq)
    result = audit.verify()
    assert not result.ok and result.broken_seq == 2


def test_no_update_or_delete_path(store, raw_sql):
    _seed(1)
    event = AuditEvent.get()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete_instance()
    with pytest.raises(PermissionError):
        AuditEvent.update(action="x")
    with pytest.raises(PermissionError):
        AuditEvent.delete()
    # the database refuses it too (SQLite triggers; PostgreSQL plpgsql triggers, TRUNCATE included)
    for sql in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(Exception, match="append-only"):
            raw_sql(sql, guards_off=False)
    if store.obj.__class__.__name__ == "PostgresqlDatabase":
        with pytest.raises(Exception, match="append-only"):
            raw_sql("TRUNCATE audit_event", guards_off=False)


def test_events_are_timezone_aware_and_carry_the_actor(store):
    event = audit.append("batch.approved", st_ref="PO-1", nav_ref="PI-1", actor="alice")
    stored = AuditEvent.get_by_id(event.seq)
    assert stored.ts.tzinfo is not None and stored.ts.utcoffset().total_seconds() == 0
    assert stored.actor == "alice" and stored.nav_ref == "PI-1"


def test_two_threads_writing_concurrently_lose_nothing(store):
    errors: list[BaseException] = []
    counts = {"a": 0, "b": 0}
    deadline = time.monotonic() + 2.0

    def writer(name):
        try:
            while time.monotonic() < deadline:
                audit.append("stress", st_ref=name, detail={"n": counts[name]})
                counts[name] += 1
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever happened
            errors.append(exc)
        finally:
            from stnav_desktop.store.db import db

            db.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in counts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert counts["a"] > 10 and counts["b"] > 10
    assert AuditEvent.select().where(AuditEvent.st_ref == "a").count() == counts["a"]
    assert AuditEvent.select().where(AuditEvent.st_ref == "b").count() == counts["b"]
    result = audit.verify()
    assert result.ok and result.checked == counts["a"] + counts["b"]
