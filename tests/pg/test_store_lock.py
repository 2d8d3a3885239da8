"""One scheduler per store: the store-wide lock (store/locks.py) on both backends."""

import pytest

from stnav_desktop.store import locks

pytestmark = pytest.mark.both_backends


def test_one_holder_per_store_and_everyone_can_see_who(store):
    first = locks.StoreLock("scheduler", "alice@AP-1#1")
    second = locks.StoreLock("scheduler", "bob@AP-2#2")
    assert first.try_acquire()
    assert not second.try_acquire()  # another PC (here: another connection / file handle) holds it
    info = locks.who("scheduler")
    assert info.holder == "alice@AP-1#1" and info.age_seconds < 60
    assert first.heartbeat()
    first.release()
    assert locks.who("scheduler") is None
    with second:
        assert second.try_acquire() and second.held
        assert locks.who("scheduler").holder == "bob@AP-2#2"
    assert not second.held


@pytest.mark.parametrize("store_backend", ["postgresql"], indirect=True)
def test_a_lost_connection_frees_the_lock_and_the_holder_learns_it(store, store_backend):
    first = locks.StoreLock("scheduler", "alice@AP-1#1")
    assert first.try_acquire()
    first._conn.close()  # what a crash or a network cut does to the holder's session
    assert not first.heartbeat()
    second = locks.StoreLock("scheduler", "bob@AP-2#2")
    assert second.try_acquire()
    second.release()


@pytest.mark.parametrize("store_backend", ["postgresql"], indirect=True)
def test_stnav_run_stands_by_while_another_pc_runs_the_scheduler(store, store_backend, tmp_path, request):
    import json
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import keyring

    from stnav_desktop.store import backend
    from stnav_desktop.store.db import close_db

    other = locks.StoreLock("scheduler", "controller@CTRL-PC#77")
    assert other.try_acquire()
    keyfile = tmp_path / "keyring.json"
    keyfile.write_text(json.dumps({
        f"ml-connector|{backend.KEYCHAIN_PROFILE}:{backend.PASSWORD_FIELD}": request.node.pg_server.password}))
    close_db()
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), PYTHON_KEYRING_BACKEND="tests.support.filekeyring.FileKeyring",
               STNAV_TEST_KEYRING=str(keyfile))
    proc = subprocess.Popen([sys.executable, "-m", "stnav_desktop", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "already runs for this store (controller@CTRL-PC#77); standing by" in line, proc.stderr.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "scheduler running" not in out
    assert keyring.get_keyring() is not None
    other.release()


@pytest.mark.parametrize("store_backend", ["postgresql"], indirect=True)
def test_the_self_test_checks_the_shared_store_without_writing_to_it(store, store_backend):
    from stnav_desktop import selftest
    from stnav_desktop.store.models import AuditEvent

    events = AuditEvent.select().count()
    ok, lines = selftest.run_self_test(gui=False)
    assert any(line.startswith("[ OK ]") and "shared store: PostgreSQL" in line and "reachable" in line
               for line in lines), lines
    from stnav_desktop.paths import app_paths
    from stnav_desktop.store.db import open_db

    open_db(app_paths().database)
    assert AuditEvent.select().count() == events  # the self-test's events went to its temporary SQLite
