"""The shared store: configuration, the version refusal, concurrent upgrades, the PC in the audit log."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stnav_desktop.cli import main
from stnav_desktop.paths import app_paths
from stnav_desktop.store import audit, backend, migrations
from stnav_desktop.store.db import close_db, db, open_db

ROOT = Path(__file__).resolve().parents[2]


def test_the_url_never_carries_the_password_and_bad_settings_are_named(tmp_path, deploy_file):
    with pytest.raises(backend.StoreConfigError, match="must not contain the password"):
        backend.write_config(backend.StoreConfig(url="postgresql://stnav:hunter2@db.lan/stnav"))
    with pytest.raises(backend.StoreConfigError, match="names no database"):
        backend.parse_url("postgresql://stnav@db.lan")
    with pytest.raises(backend.StoreConfigError, match="sslmode 'sometimes'"):
        backend.parse_url("postgresql://stnav@db.lan/stnav?sslmode=sometimes")
    # IT's deploy.toml wins over the user's own choice, and a bad value names the key and the file
    backend.write_config(backend.StoreConfig(url="postgresql://me@laptop/mine"))
    assert backend.current().url == "postgresql://me@laptop/mine"
    deploy_file.write_text('[store]\nurl = "postgresql://stnav@db.office.lan:5433/stnav"\nsslmode = "verify-full"\n')
    cfg = backend.current()
    assert cfg.url.endswith("db.office.lan:5433/stnav") and cfg.sslmode == "verify-full"
    assert "PostgreSQL stnav@db.office.lan:5433/stnav (sslmode verify-full" in cfg.describe()
    params = backend.connect_params(cfg, password="pw")
    assert params["sslmode"] == "verify-full" and params["port"] == 5433 and params["dbname"] == "stnav"
    deploy_file.write_text('[store]\nurl = "postgresql://stnav@db/stnav"\nsslrootcert = "/nowhere/ca.pem"\n')
    from stnav_desktop import deploy

    with pytest.raises(deploy.DeployError, match="store.sslrootcert '/nowhere/ca.pem' is not a readable file"):
        backend.current()


def test_an_unreachable_server_is_one_line_naming_it(capsys):
    backend.write_config(backend.StoreConfig(url="postgresql://stnav@127.0.0.1:1/stnav?connect_timeout=2"))
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot open the shared database PostgreSQL stnav@127.0.0.1:1/stnav" in err
    close_db()


@pytest.mark.both_backends
def test_a_pc_older_than_the_database_refuses_it_and_names_the_release(store, capsys):
    migrations.refuse_if_newer(db)  # same version: fine
    db.execute_sql("INSERT INTO schema_version (version, applied_at, app_version) VALUES (99, '2026-11-30T00:00:00"
                   "+00:00', '9.4.0')")
    close_db()
    with pytest.raises(migrations.SchemaTooNew, match=r"schema v99 \(upgraded by stnav 9.4.0 or later\).*install "
                                                       r"stnav 9.4.0 or later"):
        open_db(app_paths().database)
    assert main(["audit", "verify"]) == 1
    assert "install stnav 9.4.0 or later on this PC" in capsys.readouterr().err


@pytest.mark.both_backends
def test_events_name_the_pc_and_old_events_still_verify(store, raw_sql):
    event = audit.append("batch.approved", st_ref="PO-1")
    assert event.host == backend.pc_name() and event.actor
    # an event written before the PC was recorded (host empty) hashes as it always did
    raw_sql("UPDATE audit_event SET host = '', hash = ? WHERE seq = 1",
            audit.event_hash(1, event.ts.isoformat(timespec="microseconds"), event.actor, event.action, "", "PO-1",
                             "", event.detail, event.prev_hash))
    raw_sql("UPDATE audit_head SET hash = (SELECT hash FROM audit_event WHERE seq = 1)", guards_off=False)
    key = audit.sealing_key(create=False)
    if key is not None:  # a SQLite store seals its events: the rewritten event gets its seal again, as the app would
        digest = raw_sql("SELECT hash FROM audit_event WHERE seq = 1", guards_off=False)[0][0]
        raw_sql("UPDATE audit_event SET mac = ? WHERE seq = 1", audit.event_mac(key, 1, digest))
        audit.seal_head(1, digest, key)
    audit.append("batch.posted", st_ref="PO-1")
    assert audit.verify().ok
    # changing the PC an event names breaks the chain there
    raw_sql("UPDATE audit_event SET host = 'OTHER-PC' WHERE seq = 2")
    result = audit.verify()
    assert not result.ok and result.broken_seq == 2


def test_two_pcs_upgrading_one_postgres_database_at_once_run_each_step_once(tmp_path, memory_keyring):
    from tests.conftest import pg_server_or_skip, use_pg_store

    server = pg_server_or_skip()
    dbname = server.create_database()
    try:
        keyfile = tmp_path / "keyring.json"
        homes = []
        for n in range(3):
            home = tmp_path / f"pc{n}"
            os.environ["STNAV_HOME"] = str(home)
            use_pg_store(server, dbname, memory_keyring)
            homes.append(home)
        import json

        keyfile.write_text(json.dumps({f"{k[0]}|{k[1]}": v for k, v in memory_keyring.store.items()}))
        procs = []
        for home in homes:
            env = dict(os.environ, PYTHONPATH=str(ROOT), STNAV_HOME=str(home), STNAV_TEST_KEYRING=str(keyfile),
                       PYTHON_KEYRING_BACKEND="tests.support.filekeyring.FileKeyring")
            procs.append(subprocess.Popen([sys.executable, "-m", "stnav_desktop", "audit", "verify"], env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        results = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), results
        with server.connect(dbname) as con:
            versions = [r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY version")]
            triggers = {r[0] for r in con.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal")}
        assert versions == [step[0] for step in migrations.LADDER]
        assert triggers == {"audit_event_no_update", "audit_event_no_truncate", "audit_event_notify"}
    finally:
        server.drop_database(dbname)


def test_store_use_saves_nothing_when_the_server_cannot_be_reached(capsys):
    assert main(["store", "use", "postgresql://stnav@127.0.0.1:1/stnav?connect_timeout=2"]) == 1
    err = capsys.readouterr().err
    assert "cannot open the shared database" in err and "not saved" in err and err.count("\n") == 1
    assert not backend.current().is_postgres and not backend.config_path().exists()


def test_store_use_points_this_pc_at_a_reachable_server(memory_keyring, capsys):
    from tests.conftest import pg_server_or_skip

    server = pg_server_or_skip()
    dbname = server.create_database()
    try:
        memory_keyring.set_password("ml-connector", f"{backend.KEYCHAIN_PROFILE}:{backend.PASSWORD_FIELD}",
                                    server.password)
        assert main(["store", "use", server.url(dbname)]) == 0
        assert "now using PostgreSQL" in capsys.readouterr().out
        assert backend.current().url == server.url(dbname)
        assert main(["store", "status"]) == 0
        out = capsys.readouterr().out
        assert f"schema: v{migrations.LATEST}" in out and "being posted: nothing" in out
    finally:
        close_db()
        server.drop_database(dbname)
