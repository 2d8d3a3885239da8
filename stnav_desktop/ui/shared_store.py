"""The window on a store other PCs share (issue #19).

- ``LiveViews``: a ``store.changes.Watcher`` on its own thread; each burst of changes (another PC approved
  a batch, changed a mapping, posted …) reaches the GUI thread through a queued Qt signal, and the window
  refreshes the views it touches once.
- ``SchedulerHost``: one scheduler per STORE. The window runs its scheduler only while it holds the store's
  ``scheduler`` lock (``store.locks.StoreLock``, as ``stnav run`` does); when another PC or the service holds
  it, the window stands by and tries again every ``standby_seconds``, so it takes over when the other one
  stops. The lock is taken, renewed and released on ONE worker thread of its own (the SQLite file lock is
  per thread; on PostgreSQL taking it opens a connection: never on the GUI thread).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from stnav_desktop.sync.views.activity import holder_name
from stnav_desktop.ui.qt import QObject, QTimer, Signal

log = logging.getLogger(__name__)

# how often a standing-by ``stnav run`` says it waits (cli/sync_cmd.py STANDBY_SECONDS); older is no one
SERVICE_STANDBY_SECONDS = 30.0


class _ChangeRelay(QObject):
    changes = Signal(object)  # list[store.changes.Change], from the watcher's thread to the GUI thread


class LiveViews:
    def __init__(self, on_changes: Callable[[list], None], *, interval: float = 3.0) -> None:
        self.interval = interval
        self._relay = _ChangeRelay()
        self._relay.changes.connect(on_changes)
        self._watcher = None

    @property
    def running(self) -> bool:
        return self._watcher is not None

    def start(self) -> None:
        from stnav_desktop.store.changes import Watcher

        if self._watcher is None:
            self._watcher = Watcher(self._relay.changes.emit, interval=self.interval).start()

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None


class SchedulerHost(QObject):
    changed = Signal()  # running here / standing by changed
    failed = Signal(str)  # the scheduler could not be started (not configured …)

    def __init__(self, factory: Callable[[], object], *, standby_seconds: float = 30.0,
                 heartbeat_seconds: float = 60.0, parent=None) -> None:
        super().__init__(parent)
        from stnav_desktop.ui.tasks import TaskRunner

        self.factory = factory
        self.standby_ms = int(standby_seconds * 1000)
        self.heartbeat_ms = int(heartbeat_seconds * 1000)
        self.scheduler = None
        self.standing_by = False
        self._lock = None
        self._pending = False
        self.handed_to: str | None = None  # the service this window handed the schedule to
        self._runner = TaskRunner(workers=1)  # every lock call on the same thread
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)

    @property
    def running(self) -> bool:
        return self.scheduler is not None

    @property
    def holder(self) -> str:
        from stnav_desktop.store.claims import default_holder

        return self._lock.holder if self._lock is not None else default_holder()

    def start(self) -> None:
        self._timer.start(self.standby_ms)
        self._tick()

    def _tick(self) -> None:
        if self._pending:
            return
        self._pending = True
        if self.scheduler is None:
            self._runner.submit(self._try_acquire, self._acquired, self._lock_error)
        else:
            self._runner.submit(self._heartbeat, self._beat, self._lock_error)

    def _heartbeat(self) -> bool:
        """On the lock's worker: renew the lock; False (stand by) when it was lost or a service waits for it."""
        from stnav_desktop.store.locks import service_waiting

        if not self._lock.heartbeat():
            return False
        waiting = service_waiting(fresh_seconds=3 * SERVICE_STANDBY_SECONDS)
        if waiting is None:
            return True
        log.info("the service (%s) waits for the scheduler: this window hands it over", waiting.holder)
        self.handed_to = holder_name(waiting.holder)
        return False

    def _try_acquire(self) -> bool:
        from stnav_desktop.store.locks import StoreLock, service_waiting

        if service_waiting(fresh_seconds=3 * SERVICE_STANDBY_SECONDS) is not None:
            return False  # a service is about to take it: the window does not run the schedule
        if self._lock is None:
            self._lock = StoreLock("scheduler")
        return self._lock.try_acquire()

    def _acquired(self, ok: bool) -> None:
        self._pending = False
        if not ok:
            if not self.standing_by:
                self.standing_by = True
                self.changed.emit()
            return
        try:
            scheduler = self.factory()
            scheduler.start()
        except Exception as exc:  # not configured yet: say so; give the lock back for whoever can run it
            log.warning("scheduler not started: %s", exc)
            self._runner.submit(self._lock.release, lambda _r: None, lambda _m: None)
            self._timer.stop()
            self.failed.emit(str(exc))
            return
        self.scheduler = scheduler
        self.standing_by = False
        self._timer.setInterval(self.heartbeat_ms)
        self.changed.emit()

    def _beat(self, alive: bool) -> None:
        self._pending = False
        if not alive:  # a service waits for it, or the database dropped our session: stand by
            if self.handed_to is None:
                log.warning("lost the store's scheduler lock; the scheduler stops here")
            self._stop_scheduler(timeout=0)
            lock = self._lock
            self._runner.submit(lock.release, lambda _r: None, lambda _m: None)
            self.standing_by = True
            self._timer.setInterval(self.standby_ms)
            self.changed.emit()

    def _lock_error(self, message: str) -> None:
        self._pending = False
        log.warning("scheduler lock: %s", message)

    def _stop_scheduler(self, timeout: float) -> None:
        if self.scheduler is not None:
            self.scheduler.stop(timeout=timeout)
            self.scheduler = None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the scheduler and give the lock back (the next window or the service takes over)."""
        self._timer.stop()
        self._stop_scheduler(timeout)
        if self._lock is not None:
            lock = self._lock
            try:
                self._runner.submit(lock.release, lambda _r: None, lambda _m: None).result(timeout=timeout)
            except Exception as exc:  # the lock ends with the process / connection anyway
                log.warning("scheduler lock not released: %s", exc)
        self._runner.shutdown()
