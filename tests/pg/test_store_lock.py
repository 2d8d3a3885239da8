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


def test_a_lost_connection_frees_the_lock_and_the_holder_learns_it(store, store_backend):
    if store_backend != "postgresql":
        pytest.skip("PostgreSQL: the server ends the lock with the session")
    first = locks.StoreLock("scheduler", "alice@AP-1#1")
    assert first.try_acquire()
    first._conn.close()  # what a crash or a network cut does to the holder's session
    assert not first.heartbeat()
    second = locks.StoreLock("scheduler", "bob@AP-2#2")
    assert second.try_acquire()
    second.release()
