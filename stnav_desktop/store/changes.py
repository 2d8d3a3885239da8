"""Live views across PCs (issue #19): what changed in the store since a window last looked.

Every change a user cares about goes through the audit log (``batch.approved``, ``mapping.set``,
``document.pulled``, ``batch.done`` …), so the audit chain IS the office's change feed: its head's
sequence number is the store's revision, and the events after it say what changed and on which PC.

``Watcher`` runs on a thread of its own and calls back with the new events:

- PostgreSQL: ``LISTEN stnav_changes`` on a connection of its own; a trigger on ``audit_event``
  sends ``NOTIFY`` when an append commits, so other PCs hear of it at once. A slow poll stays as the
  safety net (a notification missed while the connection was being re-opened).
- SQLite: one PC; a cheap poll of the head row every ``interval`` seconds.

The callback runs on the watcher's thread: a Qt window forwards it with a signal (queued connection)
and refreshes the views ``affected()`` names, once per burst of events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from stnav_desktop.store.backend import is_postgres
from stnav_desktop.store.proxy import db

log = logging.getLogger(__name__)

CHANNEL = "stnav_changes"

# which views an event's action touches (by prefix)
_VIEWS = {
    "batch.": {"batches", "documents"},
    "document.": {"documents"},
    "attempt.": {"documents"},
    "correction.": {"documents"},
    "mapping.": {"mappings", "readiness"},
    "refdata.": {"refdata", "readiness"},
    "vendor.": {"refdata", "mappings", "readiness"},
    "pull.": {"documents"},
    "scheduler.": {"scheduler"},
}


@dataclass(frozen=True)
class Change:
    seq: int
    action: str
    profile: str
    host: str
    actor: str


def revision() -> int:
    row = db.execute_sql("SELECT seq FROM audit_head WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def since(seq: int, limit: int = 1000) -> list[Change]:
    p = "%s" if is_postgres(db) else "?"
    rows = db.execute_sql(f"SELECT seq, action, profile_name, host, actor FROM audit_event WHERE seq > {p} "
                          f"ORDER BY seq LIMIT {int(limit)}", (seq,)).fetchall()
    return [Change(*row) for row in rows]


def affected(changes: Iterable[Change]) -> set[str]:
    """The views to refresh (once) for a burst of changes."""
    views: set[str] = set()
    for change in changes:
        for prefix, names in _VIEWS.items():
            if change.action.startswith(prefix):
                views |= names
    return views


def install_notify_trigger(database) -> None:
    """PostgreSQL: NOTIFY the other PCs when an audit event commits (called by migration step v5)."""
    database.execute_sql(f"""CREATE OR REPLACE FUNCTION stnav_notify_change() RETURNS trigger
                             LANGUAGE plpgsql AS $$
                             BEGIN PERFORM pg_notify('{CHANNEL}', NEW.seq::text); RETURN NULL; END $$""")
    database.execute_sql("DROP TRIGGER IF EXISTS audit_event_notify ON audit_event")
    database.execute_sql("""CREATE TRIGGER audit_event_notify AFTER INSERT ON audit_event
                            FOR EACH ROW EXECUTE FUNCTION stnav_notify_change()""")


class Watcher:
    def __init__(self, on_change: Callable[[list[Change]], None], *, interval: float = 3.0,
                 start_at: int | None = None) -> None:
        self.on_change = on_change
        self.interval = interval
        self._start_at = start_at
        self._seen = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listen = None

    def start(self) -> Watcher:
        self._seen = revision() if self._start_at is None else self._start_at
        self._thread = threading.Thread(target=self._run, name="store-changes", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    # -- the thread ------------------------------------------------------------------------------
    def _open_listener(self):
        import psycopg

        from stnav_desktop.store import backend

        conn = psycopg.connect(**backend.connect_params(backend.current()), autocommit=True)
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def _wait(self) -> None:
        """Until a notification arrives (PostgreSQL) or ``interval`` passes."""
        if self._listen is None and is_postgres(db):
            try:
                self._listen = self._open_listener()
            except Exception as exc:  # the poll carries on; retried next round
                log.warning("live updates: LISTEN failed (%s); polling", exc)
        if self._listen is not None:
            try:
                # in slices of a second, so stop() is heard soon; the first notification ends the wait
                deadline = time.monotonic() + self.interval
                while not self._stop.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    for _ in self._listen.notifies(timeout=min(left, 1.0), stop_after=1):
                        return
                return
            except Exception as exc:
                log.warning("live updates: notification connection lost (%s); reopening", exc)
                try:
                    self._listen.close()
                finally:
                    self._listen = None
        self._stop.wait(self.interval)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wait()
                if self._stop.is_set():
                    break
                try:
                    changes = since(self._seen)
                except Exception as exc:  # the database is away for a moment: try again next round
                    log.warning("live updates: cannot read changes (%s)", exc)
                    db.close()
                    continue
                if changes:
                    self._seen = changes[-1].seq
                    try:
                        self.on_change(changes)
                    except Exception:
                        log.exception("live updates: the callback failed")
        finally:
            if self._listen is not None:
                self._listen.close()
            db.close()  # this thread's connection
