"""The append-only, hash-chained audit log.

Each event stores the hash of the previous event and the SHA-256 of its own canonical content
(sequence number, time, actor, action, references, detail, previous hash). Editing, deleting or
reordering rows with any SQLite tool breaks the chain at the first touched event, and
``verify()`` names it. Appends take the write lock first (``BEGIN IMMEDIATE``), so two threads can
never chain onto the same predecessor. On a shared PostgreSQL store the head row is locked
(``SELECT … FOR UPDATE``) instead, so appends from every PC of the office queue up on one chain; each
event then names the PC (``host``) as well as the OS user (``actor``).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from stnav_desktop.redact import redact_mapping
from stnav_desktop.store.backend import is_postgres, pc_name
from stnav_desktop.store.db import db
from stnav_desktop.store.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def current_actor() -> str:
    """The OS user, as the approval records require (``DOMAIN\\user`` on Windows where available)."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (service accounts, containers)
        user = "unknown"
    domain = os.environ.get("USERDOMAIN")
    return f"{domain}\\{user}" if domain and os.name == "nt" else user


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime):
        return obj.astimezone(UTC).isoformat()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)


def canonical_detail(detail: Any) -> str:
    return json.dumps(redact_mapping(detail or {}), sort_keys=True, separators=(",", ":"), default=_default,
                      ensure_ascii=False)


def event_hash(seq: int, ts: str, actor: str, action: str, profile_name: str, st_ref: str, nav_ref: str,
               detail: str, prev_hash: str, host: str = "") -> str:
    fields = [seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash]
    if host:  # events from before the PC was recorded hash as they always did
        fields.append(host)
    content = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def append(action: str, *, st_ref: str = "", nav_ref: str = "", detail: Any = None, actor: str | None = None,
           profile: str = "") -> AuditEvent:
    """Append one event. Safe from any thread; joins an enclosing transaction if there is one."""
    actor = actor or current_actor()
    detail_text = canonical_detail(detail)
    host = pc_name()
    with db.atomic():
        head = _locked_head()
        if head is None:
            AuditHead.insert(id=1, seq=0, hash="").execute()
            head = AuditHead.get(AuditHead.id == 1)
        seq = head.seq + 1
        prev = head.hash or GENESIS
        ts = datetime.now(UTC)
        ts_text = ts.isoformat(timespec="microseconds")
        digest = event_hash(seq, ts_text, actor, action, profile, st_ref or "", nav_ref or "", detail_text, prev,
                            host)
        event = AuditEvent(seq=seq, ts=ts, actor=actor, action=action, profile_name=profile,
                           st_ref=st_ref or "", nav_ref=nav_ref or "", detail=detail_text, prev_hash=prev,
                           hash=digest, host=host)
        event.save(force_insert=True)
        AuditHead.update(seq=seq, hash=digest).where(AuditHead.id == 1).execute()
    return event


def _locked_head() -> AuditHead | None:
    """The chain's head, locked until the transaction ends: on PostgreSQL every other PC's append waits
    here (SQLite's BEGIN IMMEDIATE already holds the whole file)."""
    query = AuditHead.select().where(AuditHead.id == 1)
    if is_postgres(db):
        query = query.for_update()
    return query.get_or_none()


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""

    def message(self) -> str:
        if self.ok:
            return f"audit log intact: {self.checked} events, hash chain verified"
        return f"audit log BROKEN at event {self.broken_seq}: {self.reason} ({self.checked} events checked before it)"


def verify() -> VerifyResult:
    """Walk the chain in sequence order; report the first event that does not fit."""
    cursor = db.execute_sql(
        "SELECT seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash, hash, host "
        "FROM audit_event ORDER BY seq")
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash, digest, host in cursor:
        if seq != expected_seq:
            missing = expected_seq if seq > expected_seq else seq
            return VerifyResult(False, checked, missing, f"sequence gap: expected event {expected_seq}, found {seq} "
                                "(events deleted or renumbered)")
        if prev_hash != expected_prev:
            return VerifyResult(False, checked, seq, "previous-hash link does not match the event before it "
                                "(an event was deleted, inserted or reordered)")
        if event_hash(seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash, host) != digest:
            return VerifyResult(False, checked, seq, "content does not match its hash (the row was edited)")
        expected_prev = digest
        expected_seq += 1
        checked += 1
    head = db.execute_sql("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    if head is not None and head[0] != checked:
        return VerifyResult(False, checked, checked + 1 if head[0] > checked else head[0],
                            f"the log should hold {head[0]} events but holds {checked} "
                            "(the newest events were deleted)")
    if head is not None and checked and head[1] != expected_prev:
        return VerifyResult(False, checked, checked, "the newest event does not match the recorded head")
    return VerifyResult(True, checked)


def events(*, st_ref: str | None = None, action: str | None = None, profile: str | None = None,
           limit: int | None = None) -> Iterator[AuditEvent]:
    query = AuditEvent.select().order_by(AuditEvent.seq)
    if st_ref:
        query = query.where(AuditEvent.st_ref == st_ref)
    if action:
        query = query.where(AuditEvent.action == action)
    if profile:
        query = query.where(AuditEvent.profile_name == profile)
    if limit:
        query = query.limit(limit)
    yield from query
