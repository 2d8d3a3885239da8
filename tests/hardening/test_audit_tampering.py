"""Tampering with the audit log as someone with the sqlite3 tool (and no access to the user's keychain)
would: every way listed in issue 16 item 9 is detected by `stnav audit verify`."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3

import pytest

from stnav_desktop import credentials
from stnav_desktop.cli import main
from stnav_desktop.paths import app_paths
from stnav_desktop.store import audit
from stnav_desktop.store.db import close_db, open_db

GUARDS = ("""CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
             BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
          """CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
             BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""")


def _seed(n=6):
    for i in range(n):
        audit.append("document.pulled", st_ref=f"PO-{1000 + i}", detail={"i": i, "amount": "12.50"})


def _sql(*statements, restore_guards=True):
    """Drop the guards, run the statements, put the guards back (a careful attacker hides the trail)."""
    con = sqlite3.connect(app_paths().database)
    con.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
    con.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    for statement in statements:
        if isinstance(statement, tuple):
            con.execute(*statement)
        else:
            con.execute(statement)
    if restore_guards:
        for guard in GUARDS:
            con.execute(guard)
    con.commit()
    con.close()


def _recompute_chain(con, start_prev=audit.GENESIS, mac=None):
    """What an attacker who read store/audit.py does after editing: recompute every hash and the head."""
    prev = start_prev
    rows = con.execute("SELECT seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, mac, host "
                       "FROM audit_event ORDER BY seq").fetchall()
    for seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, old_mac, host in rows:
        digest = audit.event_hash(seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev, host)
        con.execute("UPDATE audit_event SET prev_hash = ?, hash = ?, mac = ? WHERE seq = ?",
                    (prev, digest, old_mac if mac is None else mac, seq))
        prev = digest
    seq = rows[-1][0] if rows else 0
    con.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev if rows else ""))


def _broken(capsys, *anchors):
    args = ["audit", "verify"] + [a for anchor in anchors for a in ("--anchor", anchor)]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stnav: audit log BROKEN"), captured.err
    return lines[0]


def test_untouched_log_is_intact_and_sealed(store, capsys):
    _seed()
    anchor = audit.anchor()
    assert main(["audit", "verify", "--anchor", anchor]) == 0
    out = capsys.readouterr().out
    assert "6 events" in out and "sealed" in out and "NOT sealed" not in out and "1 outside anchor" in out
    assert len(anchor) <= 35 and anchor.startswith("stnav:6:")
    event = next(audit.events())
    assert len(event.mac) == 64  # every event carries its keyed MAC


def test_deleted_newest_rows_and_reset_head_are_detected(store, capsys):
    _seed()
    con = sqlite3.connect(app_paths().database)
    seq4_hash = con.execute("SELECT hash FROM audit_event WHERE seq = 4").fetchone()[0]
    con.close()
    _sql("DELETE FROM audit_event WHERE seq > 4", ("UPDATE audit_head SET seq = 4, hash = ? WHERE id = 1", (seq4_hash,)))
    line = _broken(capsys)
    assert "head" in line and "seal" in line


def test_deleted_newest_rows_with_an_old_head_from_a_backup_are_caught_by_an_anchor(store, capsys):
    _seed(4)
    path = app_paths().database
    close_db()
    old_copy = path.with_name("old.sqlite3")
    shutil.copy(path, old_copy)  # e.g. a file in backups/: its head carries a valid seal for event 4
    open_db(path)
    _seed(3)
    anchor_in_nav = audit.anchor()  # written into the NAV document created after event 7
    old = sqlite3.connect(old_copy)
    head = old.execute("SELECT seq, hash, mac FROM audit_head").fetchone()
    old.close()
    _sql("DELETE FROM audit_event WHERE seq > 4", ("UPDATE audit_head SET seq = ?, hash = ?, mac = ? WHERE id = 1", head))
    assert audit.verify().ok  # without an outside anchor this replay is undetectable...
    line = _broken(capsys, anchor_in_nav)  # ...with the NAV document's anchor it is
    assert "event 7" in line and "ends at event 4" in line


def test_emptied_log_is_detected(store, capsys):
    _seed()
    _sql("DELETE FROM audit_event", "UPDATE audit_head SET seq = 0, hash = '', mac = '' WHERE id = 1")
    line = _broken(capsys)
    assert "empty" in line


def test_emptied_log_and_deleted_head_is_detected(store, capsys):
    _seed()
    _sql("DELETE FROM audit_event", "DELETE FROM audit_head")
    line = _broken(capsys)
    assert "head" in line and "missing" in line


def test_missing_head_is_detected(store, capsys):
    _seed()
    _sql("DELETE FROM audit_head")
    line = _broken(capsys)
    assert "head record" in line and "missing" in line


def test_missing_append_only_triggers_are_detected(store, capsys):
    _seed()
    _sql(restore_guards=False)
    line = _broken(capsys)
    assert "audit_event_no_update" in line and "audit_event_no_delete" in line


def test_chain_recomputed_after_an_edit_is_detected(store, capsys):
    _seed()
    con = sqlite3.connect(app_paths().database)
    for sql in ("DROP TRIGGER audit_event_no_update", "DROP TRIGGER audit_event_no_delete"):
        con.execute(sql)
    con.execute("UPDATE audit_event SET detail = ? WHERE seq = 3", (json.dumps({"amount": "99.99", "i": 2}),))
    _recompute_chain(con)
    for guard in GUARDS:
        con.execute(guard)
    con.commit()
    con.close()
    line = _broken(capsys)
    assert "event 3" in line and "recomputed" in line


def test_chain_recomputed_with_seals_stripped_is_detected(store, capsys):
    _seed()
    con = sqlite3.connect(app_paths().database)
    for sql in ("DROP TRIGGER audit_event_no_update", "DROP TRIGGER audit_event_no_delete"):
        con.execute(sql)
    con.execute("UPDATE audit_event SET detail = '{}' WHERE seq = 2")
    _recompute_chain(con, mac="")
    con.execute("UPDATE audit_head SET mac = '' WHERE id = 1")
    for guard in GUARDS:
        con.execute(guard)
    con.commit()
    con.close()
    line = _broken(capsys)
    assert "no event is sealed" in line or "reset" in line


def test_seal_forged_with_a_guessed_key_is_detected(store, capsys):
    _seed()
    con = sqlite3.connect(app_paths().database)
    for sql in ("DROP TRIGGER audit_event_no_update", "DROP TRIGGER audit_event_no_delete"):
        con.execute(sql)
    con.execute("UPDATE audit_event SET actor = 'someone-else' WHERE seq = 5")
    _recompute_chain(con)
    guessed = hashlib.sha256(b"guess").digest()
    for seq, digest in con.execute("SELECT seq, hash FROM audit_event").fetchall():
        con.execute("UPDATE audit_event SET mac = ? WHERE seq = ?", (audit.event_mac(guessed, seq, digest), seq))
    seq, digest = con.execute("SELECT seq, hash FROM audit_head").fetchone()
    con.execute("UPDATE audit_head SET mac = ? WHERE id = 1", (audit.head_mac(guessed, seq, digest),))
    for guard in GUARDS:
        con.execute(guard)
    con.commit()
    con.close()
    line = _broken(capsys)
    assert "event 1" in line and "seal" in line


def test_reset_chain_restarted_by_the_app_is_caught_by_a_support_bundle_anchor(store, capsys, tmp_path):
    import zipfile

    from stnav_desktop import support_bundle

    _seed(5)
    bundle = support_bundle.write(tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as zf:
        bundle_anchor = zf.read("audit-anchor.txt").decode().strip()
    assert bundle_anchor.startswith("stnav:5:")
    # someone empties the log and lets the app carry on: every new event is validly sealed
    _sql("DELETE FROM audit_event", "UPDATE audit_head SET seq = 0, hash = '', mac = '' WHERE id = 1")
    _seed(6)
    line = _broken(capsys, bundle_anchor)
    assert "event 5 differs from anchor" in line


def test_reset_chain_to_an_earlier_state_is_detected(store, capsys):
    _seed(3)
    con = sqlite3.connect(app_paths().database)
    early = con.execute("SELECT seq, hash, mac FROM audit_head").fetchone()
    con.close()
    _seed(3)
    anchor_from_nav = "Invoice PO-1005 " + audit.anchor()  # a NAV description holding the anchor
    # put the head back to where it was and remove the later events, with the head's seal recorded then
    _sql("DELETE FROM audit_event WHERE seq > 3",
         ("UPDATE audit_head SET seq = ?, hash = ?, mac = ? WHERE id = 1", early))
    line = _broken(capsys, anchor_from_nav)
    assert "event 6" in line


def test_missing_audit_key_is_reported(store, capsys, memory_keyring):
    _seed()
    memory_keyring.store.clear()
    credentials._audit_key_cache.clear()
    line = _broken(capsys)
    assert "audit key" in line and "keychain" in line


def test_not_an_anchor_is_a_usage_error(store, capsys):
    _seed()
    assert main(["audit", "verify", "--anchor", "stnav:abc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--anchor" in err[0]


@pytest.mark.parametrize("command", [["credentials", "set", "default", "nav.client_secret", "--stdin"],
                                     ["credentials", "delete", "default", "nav.client_secret"]])
def test_credential_changes_are_audited_without_the_value(store, monkeypatch, command):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-Value-123\n"))
    credentials.set_secret("default", "nav.client_secret", "older-Value-999")
    assert main(command) == 0
    events = [e for e in audit.events() if e.action.startswith("credential.")]
    assert events and events[-1].profile_name == "default"
    assert json.loads(events[-1].detail)["field"] == "nav.client_secret"
    assert events[-1].actor
    con = sqlite3.connect(app_paths().database)
    dump = "\n".join(con.iterdump())
    con.close()
    assert "s3cret-Value-123" not in dump and "older-Value-999" not in dump
    assert audit.verify().ok


def test_a_log_from_before_sealing_upgrades_and_stays_verifiable(store, memory_keyring):
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())  # written by the old app: hash-chained only
    credentials._audit_key_cache.clear()
    _seed(3)
    path = app_paths().database
    close_db()
    con = sqlite3.connect(path)  # back to schema v1: no MAC columns
    for table in ("audit_event", "audit_head"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN mac")
    con.execute("DELETE FROM schema_version WHERE version > 1")
    con.commit()
    con.close()
    keyring.set_keyring(memory_keyring)
    open_db(path)  # migration v3 adds the columns
    result = audit.verify()
    assert result.ok and not result.sealed and result.checked == 3
    _seed(2)  # from now on every event is sealed
    result = audit.verify()
    assert result.ok and result.sealed and result.checked == 5


def test_a_bulk_append_that_forgets_the_seal_is_reported(store):
    from datetime import UTC, datetime

    from stnav_desktop.store.db import db
    from stnav_desktop.store.models import AuditEvent, AuditHead

    _seed(2)
    head = AuditHead.get_by_id(1)
    ts = datetime.now(UTC)
    digest = audit.event_hash(3, ts.isoformat(timespec="microseconds"), "me", "x", "", "", "", "{}", head.hash)
    with db.atomic():  # what code that bypasses append() would do
        AuditEvent(seq=3, ts=ts, actor="me", action="x", profile_name="", st_ref="", nav_ref="", detail="{}",
                   prev_hash=head.hash, hash=digest).save(force_insert=True)
        AuditHead.update(seq=3, hash=digest).where(AuditHead.id == 1).execute()
    result = audit.verify()
    assert not result.ok and result.broken_seq == 3 and "not sealed" in result.reason
