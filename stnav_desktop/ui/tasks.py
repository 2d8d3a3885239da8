"""Background work for the GUI: blocking calls (network, keychain) run on a worker thread; the result
or the error comes back on the GUI thread through a Qt signal. Tests swap in ``InlineRunner``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from stnav_desktop.redact import redact
from stnav_desktop.ui.qt import QObject, Signal

log = logging.getLogger(__name__)


class _Relay(QObject):
    done = Signal(object, object, object)  # callback, result, error


class TaskRunner:
    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gui-worker")
        self._relay = _Relay()
        self._relay.done.connect(self._deliver)
        self._futures: set[Future] = set()  # keep references to what is running
        self._closed = False

    def submit(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
               on_error: Callable[[str], None] | None = None) -> Future:
        if self._closed:  # the window is closing: a late refresh (a result delivered after close) is dropped
            dropped: Future = Future()
            dropped.cancel()
            return dropped

        def work():
            try:
                self._relay.done.emit((on_done, on_error), fn(), None)
            except Exception as exc:  # delivered to the GUI as plain, secret-free words
                log.exception("background task failed")
                self._relay.done.emit((on_done, on_error), None, exc)
            finally:
                from stnav_desktop.store.db import db

                db.close()  # this worker thread's connection

        future = self._pool.submit(work)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        return future

    @staticmethod
    def _deliver(callbacks, result, error) -> None:
        on_done, on_error = callbacks
        if error is None:
            on_done(result)
        elif on_error is not None:
            on_error(redact(error))
        else:
            log.error("unhandled background error: %s", redact(error))

    def busy(self) -> bool:
        return bool(self._futures)

    def shutdown(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)


class InlineRunner:
    """Runs tasks at once on the calling thread (tests)."""

    def submit(self, fn, on_done, on_error=None):
        try:
            result = fn()
        except Exception as exc:
            if on_error is None:
                raise
            on_error(redact(exc))
            return None
        on_done(result)
        return None

    def busy(self) -> bool:
        return False

    def shutdown(self) -> None:
        pass
