"""Live views: a change made on one PC reaches the other PCs' windows without a refresh."""

import threading

import pytest

from stnav_desktop.store import audit, changes

pytestmark = pytest.mark.both_backends


def _other_pc_appends(action, **kw):
    """Another PC: its own thread, its own connection."""
    def run():
        from stnav_desktop.store.db import db

        try:
            audit.append(action, **kw)
        finally:
            db.close()

    t = threading.Thread(target=run)
    t.start()
    t.join()


def test_an_approval_on_another_pc_reaches_the_watcher(store, store_backend):
    audit.append("document.pulled", st_ref="PO-1")
    received: list[changes.Change] = []
    arrived = threading.Event()

    def on_change(batch):
        received.extend(batch)
        if any(c.action == "mapping.set" for c in received):
            arrived.set()

    # PostgreSQL: the poll is an hour away, so only NOTIFY can bring the change in time
    interval = 3600.0 if store_backend == "postgresql" else 0.05
    watcher = changes.Watcher(on_change, interval=interval).start()
    try:
        if store_backend == "postgresql":
            # the listener is up once the watcher waits on it; an append before that is caught by the
            # first read anyway, so this only makes the NOTIFY path the one under test
            for _ in range(200):
                if watcher._listen is not None:
                    break
                threading.Event().wait(0.02)
            assert watcher._listen is not None
        _other_pc_appends("batch.approved", nav_ref="batch 7")
        _other_pc_appends("mapping.set", st_ref="vendor 12")
        assert arrived.wait(30), received
    finally:
        watcher.stop()
    assert [c.action for c in received] == ["batch.approved", "mapping.set"]  # not the event before start
    assert all(c.host for c in received)
    assert changes.affected(received) == {"batches", "documents", "mappings", "readiness"}
    assert changes.revision() == received[-1].seq
