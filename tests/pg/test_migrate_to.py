"""`stnav store migrate-to URL`: the demo store moved from SQLite into PostgreSQL, chain intact."""

import pytest

from stnav_desktop import demo
from stnav_desktop.cli import main
from stnav_desktop.paths import app_paths
from stnav_desktop.store import audit, backend, settings
from stnav_desktop.store.db import close_db, db, open_db
from stnav_desktop.store.models import AuditEvent, PostingAttempt, Profile, StDocument
from stnav_desktop.sync.app.service import SyncService


@pytest.fixture
def pg_target(memory_keyring):
    from tests.conftest import pg_server_or_skip

    server = pg_server_or_skip()
    dbname = server.create_database()
    memory_keyring.set_password("ml-connector", f"{backend.KEYCHAIN_PROFILE}:{backend.PASSWORD_FIELD}",
                                server.password)
    yield server, dbname
    close_db()
    server.drop_database(dbname)


def test_the_demo_store_moves_into_postgresql_and_verifies_there(store, tmp_path, pg_target, capsys):
    server, dbname = pg_target
    with demo.simulators(tmp_path / "sims", purchase_orders=20) as sims:
        profile = settings.get_profile("default")
        demo.configure(profile, sims)
        result = demo.run_cycle(profile, SyncService(profile), out=lambda _line: None)
    assert result["posted"] > 0
    before = {"docs": StDocument.select().count(), "attempts": PostingAttempt.select().count(),
              "events": AuditEvent.select().count(), "posted": StDocument.select().where(
                  StDocument.status == "posted").count()}
    last_hash = AuditEvent.select().order_by(AuditEvent.seq.desc()).get().hash
    close_db()

    assert main(["store", "migrate-to", server.url(dbname), "--sslmode", "prefer"]) == 0
    out = capsys.readouterr().out
    assert f"audit log intact: {before['events']} events" in out and "now uses PostgreSQL" in out
    assert backend.current().is_postgres  # this PC switched

    assert main(["audit", "verify"]) == 0
    assert f"{before['events']} events" in capsys.readouterr().out
    open_db(app_paths().database)
    assert type(db.obj).__name__ == "PostgresqlDatabase"
    assert StDocument.select().count() == before["docs"]
    assert PostingAttempt.select().count() == before["attempts"]
    assert StDocument.select().where(StDocument.status == "posted").count() == before["posted"]
    assert AuditEvent.select().order_by(AuditEvent.seq.desc()).get().hash == last_hash  # the same chain
    # the app goes on writing there: new ids past the copied ones, the chain continues
    new = Profile.create(name="second company")
    assert new.id > Profile.select().where(Profile.name == "default").get().id
    audit.append("store.moved")
    assert audit.verify().ok
    assert main(["store", "status"]) == 0
    assert "PostgreSQL" in capsys.readouterr().out


def test_migrate_to_refuses_a_database_that_already_holds_data(store, pg_target, capsys):
    server, dbname = pg_target
    audit.append("first")
    close_db()
    assert main(["store", "migrate-to", server.url(dbname), "--no-switch"]) == 0
    capsys.readouterr()
    assert not backend.current().is_postgres  # --no-switch kept SQLite
    assert main(["store", "migrate-to", server.url(dbname)]) == 1
    err = capsys.readouterr().err
    assert "store not moved: the target database already holds data" in err and err.count("\n") == 1
    assert not backend.current().is_postgres


def test_a_password_in_the_url_is_refused_on_the_command_line(store, capsys):
    assert main(["store", "use", "postgresql://stnav:secret@db/stnav"]) == 1
    err = capsys.readouterr().err
    assert "must not contain the password" in err and "secret" not in err.replace("stnav:secret", "")
