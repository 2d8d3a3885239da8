"""The simulator's data: tables of plain dicts, an undo log per transaction, ETags.

Every change goes through ``Txn`` so a failing request (or a failing ``$batch`` atomicity group)
is rolled back completely. Posting "commits" inside a transaction the way BC's posting routines
do: what was done before cannot be rolled back any more.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from collections.abc import Callable
from typing import Any


class ApiError(Exception):
    """An OData error answer: status, BC error code and message (CorrelationId appended on send)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def dialog(message: str) -> ApiError:
    return ApiError(400, "Application_DialogException", message)


def field_error(message: str) -> ApiError:
    return ApiError(400, "Application_FieldValidationException", message)


class Txn:
    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []
        self.changes: list[tuple[str, str, str]] = []  # (table, id, changeType) for webhooks

    def record(self, undo: Callable[[], None]) -> None:
        self._undo.append(undo)

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()
        self.changes.clear()

    def commit(self) -> None:
        """Like AL's Commit(): what happened so far stays even if the request later fails."""
        self._undo.clear()


def etag_for(rec: dict[str, Any]) -> str:
    digest = hashlib.sha1(f"{rec.get('id')}:{rec.get('_ver', 0)}".encode()).hexdigest()[:16]
    raw = f"'{rec.get('_ver', 0)};{digest};00;'".encode()
    return 'W/"' + base64.b64encode(raw).decode() + '"'


class Store:
    """Tables (name -> id -> record). Records' keys starting with ``_`` are internal."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.lock = threading.RLock()
        self.counters: dict[str, int] = {}

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        return self.tables.setdefault(name, {})

    def next(self, counter: str, start: int = 1) -> int:
        value = self.counters.get(counter, start - 1) + 1
        self.counters[counter] = value
        return value

    def next_in(self, txn: Txn, counter: str, start: int = 1) -> int:
        old = self.counters.get(counter)
        value = self.next(counter, start)

        def undo() -> None:
            if old is None:
                self.counters.pop(counter, None)
            else:
                self.counters[counter] = old
        txn.record(undo)
        return value

    def insert(self, txn: Txn, table: str, rec: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        key = key or rec.get("id") or str(uuid.uuid4())
        rec.setdefault("id", key)
        rec["_ver"] = 1
        tbl = self.table(table)
        tbl[key] = rec
        txn.record(lambda: tbl.pop(key, None))
        txn.changes.append((table, key, "created"))
        return rec

    def update(self, txn: Txn, table: str, key: str, changes: dict[str, Any]) -> dict[str, Any]:
        rec = self.table(table)[key]
        old = dict(rec)
        rec.update(changes)
        rec["_ver"] = old.get("_ver", 0) + 1

        def undo() -> None:
            rec.clear()
            rec.update(old)
        txn.record(undo)
        txn.changes.append((table, key, "updated"))
        return rec

    def delete(self, txn: Txn, table: str, key: str) -> None:
        tbl = self.table(table)
        rec = tbl.pop(key)
        txn.record(lambda: tbl.__setitem__(key, rec))
        txn.changes.append((table, key, "deleted"))
