"""Store-wide locks: one holder per STORE, whichever PC it runs on (issue #19: one scheduler per store).

- PostgreSQL: a session advisory lock on a connection of its own. The server drops it the moment that
  connection ends, so a PC that crashes or loses the network frees it without anyone's help.
- SQLite: a lock file beside the database (one PC, so a file lock covers every process).

Each holder also records itself (``store_lease``: PC, user, since, last heartbeat on the database's
clock), so every window can say where the scheduler runs and when it was last seen.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peewee import CharField, DoubleField

from stnav_desktop.store.backend import is_postgres
from stnav_desktop.store.claims import db_now
from stnav_desktop.store.models import BaseModel
from stnav_desktop.store.proxy import db

if TYPE_CHECKING:
    import psycopg
    from filelock import BaseFileLock

log = logging.getLogger(__name__)


class StoreLease(BaseModel):
    """Who holds each store-wide lock (informative: the lock itself is the advisory lock / file)."""

    name = CharField(primary_key=True)
    holder = CharField()
    acquired_at = DoubleField()
    heartbeat_at = DoubleField()


@dataclass(frozen=True)
class LeaseInfo:
    name: str
    holder: str
    acquired_at: datetime
    heartbeat_at: datetime
    age_seconds: float


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock."""
    return int.from_bytes(hashlib.sha256(f"stnav:{name}".encode()).digest()[:8], "big", signed=True)


class StoreLock:
    def __init__(self, name: str, holder: str | None = None, *, folder: Path | None = None) -> None:
        from stnav_desktop.store.claims import default_holder

        self.name = name
        self.holder = holder or default_holder()
        self.folder = folder
        self._conn: psycopg.Connection[Any] | None = None  # PostgreSQL: the connection that holds the advisory lock
        self._file: BaseFileLock | None = None  # SQLite: the FileLock

    @property
    def held(self) -> bool:
        return self._conn is not None or self._file is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; never waits."""
        if self.held:
            return True
        if is_postgres(db):
            import psycopg

            from stnav_desktop.store import backend

            conn = psycopg.connect(**backend.connect_params(backend.current()), autocommit=True)
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(self.name),)).fetchone()
            if not (row and row[0]):
                conn.close()
                return False
            self._conn = conn
        else:
            from filelock import FileLock, Timeout

            from stnav_desktop.paths import app_paths

            folder = self.folder or app_paths().data
            lock = FileLock(str(folder / f"{self.name}.lock"), timeout=0)
            try:
                lock.acquire()
            except Timeout:
                return False
            self._file = lock
        self._record(acquired=True)
        return True

    def heartbeat(self) -> bool:
        """Say we are alive; False when the lock was lost (connection gone): the holder must stop."""
        if self._conn is not None:
            try:
                self._conn.execute("SELECT 1")
            except Exception:  # the server dropped us: the advisory lock is gone with the connection
                log.warning("store lock %s lost with its connection", self.name)
                self._conn = None
                return False
        elif self._file is None:
            return False
        self._record(acquired=False)
        return True

    def release(self) -> None:
        if not self.held:
            return
        with db.atomic():
            StoreLease.delete().where((StoreLease.name == self.name) & (StoreLease.holder == self.holder)).execute()
        if self._conn is not None:
            try:
                self._conn.close()  # ends the session: the advisory lock goes with it
            finally:
                self._conn = None
        if self._file is not None:
            self._file.release()
            self._file = None

    def __enter__(self) -> StoreLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _record(self, *, acquired: bool) -> None:

        now = db_now()
        with db.atomic():
            if acquired:
                (StoreLease.insert(name=self.name, holder=self.holder, acquired_at=now, heartbeat_at=now)
                 .on_conflict(conflict_target=[StoreLease.name],
                              update={StoreLease.holder: self.holder, StoreLease.acquired_at: now,
                                      StoreLease.heartbeat_at: now}).execute())
            else:
                StoreLease.update(heartbeat_at=now).where(
                    (StoreLease.name == self.name) & (StoreLease.holder == self.holder)).execute()


def who(name: str) -> LeaseInfo | None:
    """Who holds ``name`` (as last recorded), e.g. for "scheduler runs on AP-PC-2, seen 12 s ago"."""

    row = StoreLease.get_or_none(StoreLease.name == name)
    if row is None:
        return None
    return LeaseInfo(name=row.name, holder=row.holder, acquired_at=datetime.fromtimestamp(row.acquired_at, UTC),
                     heartbeat_at=datetime.fromtimestamp(row.heartbeat_at, UTC),
                     age_seconds=max(0.0, db_now() - row.heartbeat_at))


# A ``stnav run`` (the service) standing by for the scheduler lock holds this one: a window that runs the
# schedule hands it over at its next heartbeat, so the service (which also hosts NAV's notifications and
# runs with no one logged on) wins over a window, and a window runs the schedule only when no service does.
SERVICE_WAITING = "scheduler-service-waiting"


def service_waiting(fresh_seconds: float) -> LeaseInfo | None:
    """The service waiting for the scheduler lock, if it said so within ``fresh_seconds`` (a waiting
    service that died leaves its row behind on SQLite: an old row is no one)."""
    info = who(SERVICE_WAITING)
    return info if info is not None and info.age_seconds <= fresh_seconds else None

