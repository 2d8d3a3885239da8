"""Claims on documents being posted: the database operation only one PC can win (issue #19).

Two PCs pressing Post on the same batch each call ``claim`` for the documents they are about to
post; every document goes to exactly one of them. A claim is a lease: a PC that dies mid-post (power
cut, SIGKILL) stops renewing it, and once it expires another PC may take the document over. The
find-before-create in NAV stays the second guard for the document the dead PC may have half-written.

The lease runs on the DATABASE's clock (PostgreSQL ``clock_timestamp()``, SQLite ``julianday('now')``),
never a PC's, so two PCs whose clocks disagree still agree on when a lease ends.

- PostgreSQL: the candidate documents are locked with ``SELECT … FOR UPDATE SKIP LOCKED`` (a PC never
  waits behind another PC's claiming transaction: it simply does not get those documents), then one
  ``INSERT … ON CONFLICT DO UPDATE … WHERE expired OR mine`` takes or renews each claim.
- SQLite: the same upsert inside ``BEGIN IMMEDIATE``, which serialises every writer of the file.

The holder text names the OS user, the PC and the process (``alice@AP-PC-2#4242``): what other windows
show as "being posted by …".
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from peewee import CharField, DoubleField, ForeignKeyField, IntegerField

from stnav_desktop.store.backend import is_postgres, os_user, pc_name
from stnav_desktop.store.models import BaseModel, StDocument
from stnav_desktop.store.proxy import db

DEFAULT_LEASE_SECONDS = 300
_CHUNK = 500  # bound parameters per statement (SQLite allows 32766; keeps statements small)


class DocumentClaim(BaseModel):
    """One row per document some PC is posting; times are seconds since the epoch on the DB clock."""

    document = ForeignKeyField(StDocument, primary_key=True, on_delete="CASCADE")
    holder = CharField()
    claimed_at = DoubleField()
    expires_at = DoubleField()

    if TYPE_CHECKING:  # declared for the type checker only; peewee adds the id accessor
        document_id = IntegerField()


@dataclass(frozen=True)
class Claim:
    document_id: int
    holder: str
    claimed_at: datetime
    expires_at: datetime
    expired: bool


def default_holder() -> str:
    """This process: ``user@PC#pid``."""
    return f"{os_user()}@{pc_name()}#{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    """Whether a process of this PC still runs (a claim it holds is then live until its lease ends)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill would TERMINATE the process on Windows: ask the kernel instead
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _forget_dead_local_claims(ids: list[int]) -> None:
    """Claims that a process of THIS PC held when it died (killed, crashed): nobody will renew or release
    them, and waiting out the lease would only delay the rerun on the same PC. Another PC's claims are
    left to their lease: its processes cannot be seen from here."""
    here = f"@{pc_name()}#"
    p = "%s" if is_postgres(db) else "?"
    for part in _chunks(ids):
        rows = db.execute_sql(f"SELECT document_id, holder FROM document_claim WHERE document_id IN "
                              f"({_marks(len(part))})", part).fetchall()
        for doc_id, holder in rows:
            if here not in holder:
                continue
            try:
                pid = int(holder.rsplit("#", 1)[1])
            except (IndexError, ValueError):
                continue
            if not _pid_alive(pid):
                db.execute_sql(f"DELETE FROM document_claim WHERE document_id = {p} AND holder = {p}",
                               (doc_id, holder))


def _now_sql() -> str:
    if is_postgres(db):
        return "EXTRACT(EPOCH FROM clock_timestamp())::double precision"
    return "((julianday('now') - 2440587.5) * 86400.0)"


def db_now() -> float:
    """The database's clock, seconds since the epoch."""
    return float(db.execute_sql(f"SELECT {_now_sql()}").fetchone()[0])


def _ids(doc_ids: Iterable[int]) -> list[int]:
    seen: dict[int, None] = {}
    for doc_id in doc_ids:
        seen[int(doc_id)] = None
    return list(seen)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _marks(n: int) -> str:
    return ", ".join(["%s" if is_postgres(db) else "?"] * n)


def claim(doc_ids: Iterable[int], holder: str, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[int]:
    """Claim the documents for ``holder``; return the ids won (in the order given).

    A document is won when nobody holds it, its lease expired, or ``holder`` already holds it (then
    the lease is renewed). Documents held by another live holder are left out. Commits its own
    transaction (call it outside any other): a claim must be visible to the other PCs at once.
    """
    ids = _ids(doc_ids)
    if not ids:
        return []
    if lease_seconds <= 0:
        raise ValueError("lease_seconds must be positive")
    if db.in_transaction():
        # inside another transaction the claim would stay invisible to the other PCs until that one
        # commits, and on PostgreSQL the row locks would be held just as long
        raise RuntimeError("claims.claim() must be called outside any transaction")
    _forget_dead_local_claims(ids)
    won: set[int] = set()
    pg = is_postgres(db)
    now = _now_sql()
    for part in _chunks(ids):
        with db.atomic():
            candidates = part
            if pg:
                # rows another PC is claiming right now are skipped, not waited for
                rows = db.execute_sql(
                    f"SELECT id FROM st_document WHERE id IN ({_marks(len(part))}) ORDER BY id "
                    "FOR UPDATE SKIP LOCKED", part).fetchall()
                candidates = [r[0] for r in rows]
            else:
                existing = {r[0] for r in db.execute_sql(
                    f"SELECT id FROM st_document WHERE id IN ({_marks(len(part))})", part).fetchall()}
                candidates = [i for i in part if i in existing]
            if not candidates:
                continue
            p = "%s" if pg else "?"
            values = ", ".join([f"({p}, {p}, {now}, {now} + {p})"] * len(candidates))
            params: list = []
            for doc_id in candidates:
                params += [doc_id, holder, float(lease_seconds)]
            cursor = db.execute_sql(
                f"INSERT INTO document_claim (document_id, holder, claimed_at, expires_at) VALUES {values} "
                "ON CONFLICT (document_id) DO UPDATE SET "
                "holder = excluded.holder, "
                "claimed_at = CASE WHEN document_claim.holder = excluded.holder "
                "THEN document_claim.claimed_at ELSE excluded.claimed_at END, "
                "expires_at = excluded.expires_at "
                f"WHERE document_claim.holder = excluded.holder OR document_claim.expires_at <= {now} "
                "RETURNING document_id", params)
            won.update(r[0] for r in cursor.fetchall())
    return [i for i in ids if i in won]


def renew(doc_ids: Iterable[int], holder: str, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[int]:
    """Extend ``holder``'s leases; return the ids still held (a lost one was taken over: stop on it)."""
    ids = _ids(doc_ids)
    kept: set[int] = set()
    now = _now_sql()
    p = "%s" if is_postgres(db) else "?"
    for part in _chunks(ids):
        with db.atomic():
            cursor = db.execute_sql(
                f"UPDATE document_claim SET expires_at = {now} + {p} "
                f"WHERE holder = {p} AND document_id IN ({_marks(len(part))}) RETURNING document_id",
                [float(lease_seconds), holder, *part])
            kept.update(r[0] for r in cursor.fetchall())
    return [i for i in ids if i in kept]


def release(doc_ids: Iterable[int], holder: str) -> int:
    """Give the documents back (after their outcome is committed); returns how many were held."""
    ids = _ids(doc_ids)
    count = 0
    p = "%s" if is_postgres(db) else "?"
    for part in _chunks(ids):
        with db.atomic():
            cursor = db.execute_sql(
                f"DELETE FROM document_claim WHERE holder = {p} AND document_id IN ({_marks(len(part))})",
                [holder, *part])
            count += cursor.rowcount or 0
    return count


def release_all(holder: str) -> int:
    """Everything ``holder`` holds (a posting run's ``finally``)."""
    with db.atomic():
        cursor = db.execute_sql(f"DELETE FROM document_claim WHERE holder = {'%s' if is_postgres(db) else '?'}",
                                [holder])
        return cursor.rowcount or 0


def holders(doc_ids: Iterable[int] | None = None) -> dict[int, Claim]:
    """Who holds which document (live and expired claims), for "being posted by …" in every window."""
    now = db_now()
    query = DocumentClaim.select()
    if doc_ids is not None:
        ids = _ids(doc_ids)
        if not ids:
            return {}
        query = query.where(DocumentClaim.document.in_(ids))
    out = {}
    for row in query:
        out[row.document_id] = Claim(
            document_id=row.document_id, holder=row.holder,
            claimed_at=datetime.fromtimestamp(row.claimed_at, UTC),
            expires_at=datetime.fromtimestamp(row.expires_at, UTC), expired=row.expires_at <= now)
    return out


@contextmanager
def claimed(doc_ids: Iterable[int], holder: str | None = None,
            lease_seconds: float = DEFAULT_LEASE_SECONDS) -> Iterator[list[int]]:
    """``with claimed(ids) as won:`` post ``won`` only; the claims are released on the way out, even on
    an error (a SIGKILL leaves them to expire instead)."""
    holder = holder or default_holder()
    won = claim(doc_ids, holder, lease_seconds)
    try:
        yield won
    finally:
        if won:
            release(won, holder)
