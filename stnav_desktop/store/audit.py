"""The append-only, hash-chained audit log.

Each event stores the hash of the previous event and the SHA-256 of its own canonical content
(sequence number, time, actor, action, references, detail, previous hash). Editing, deleting or
reordering rows with any SQLite tool breaks the chain at the first touched event, and
``verify()`` names it. Appends take the write lock first (``BEGIN IMMEDIATE``), so two threads can
never chain onto the same predecessor.
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
               detail: str, prev_hash: str) -> str:
    content = json.dumps([seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash],
                         separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def append(action: str, *, st_ref: str = "", nav_ref: str = "", detail: Any = None, actor: str | None = None,
           profile: str = "") -> AuditEvent:
    """Append one event. Safe from any thread; joins an enclosing transaction if there is one."""
    actor = actor or current_actor()
    detail_text = canonical_detail(detail)
    with db.atomic():
        head = AuditHead.get_or_none(AuditHead.id == 1)
        if head is None:
            AuditHead.insert(id=1, seq=0, hash="").execute()
            head = AuditHead.get(AuditHead.id == 1)
        seq = head.seq + 1
        prev = head.hash or GENESIS
        ts = datetime.now(UTC)
        ts_text = ts.isoformat(timespec="microseconds")
        digest = event_hash(seq, ts_text, actor, action, profile, st_ref or "", nav_ref or "", detail_text, prev)
        event = AuditEvent(seq=seq, ts=ts, actor=actor, action=action, profile_name=profile,
                           st_ref=st_ref or "", nav_ref=nav_ref or "", detail=detail_text, prev_hash=prev,
                           hash=digest)
        event.save(force_insert=True)
        AuditHead.update(seq=seq, hash=digest).where(AuditHead.id == 1).execute()
    return event


def append_many(events: list[dict[str, Any]], *, actor: str | None = None, profile: str = "") -> int:
    """Append many events in order with one read of the head, the chain computed in memory, one
    multi-row INSERT (per 3,000 events: SQLite's bound-variable limit) and one head update; the same
    rows ``append`` would write one by one. Each event is a dict with ``action`` and optionally
    ``st_ref``, ``nav_ref``, ``detail``, ``actor``, ``profile``. Joins an enclosing transaction."""
    if not events:
        return 0
    default_actor = actor or current_actor()
    table = AuditEvent._meta.table_name
    columns = "(seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash, hash)"
    with db.atomic():
        row = db.execute_sql("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        if row is None:
            AuditHead.insert(id=1, seq=0, hash="").execute()
            row = (0, "")
        seq, prev = row[0], row[1] or GENESIS
        ts_text = datetime.now(UTC).isoformat(timespec="microseconds")
        values: list[Any] = []
        # redaction works member by member, so a member value repeated across the batch (a status, the
        # same "vendor not mapped" reason) is redacted once: same text as canonical_detail, far cheaper
        memo: dict[Any, Any] = {}

        def redacted(detail: Any) -> Any:
            if not isinstance(detail, dict):
                return redact_mapping(detail or {})
            out = {}
            for key, value in detail.items():
                memo_key = (key, type(value), tuple((type(v), v) for v in value) if isinstance(value, list)
                            else value)  # the types too: 1, True and Decimal("1") are equal keys
                try:
                    out[key] = memo[memo_key]
                except KeyError:
                    out[key] = memo[memo_key] = redact_mapping({key: value})[key]
                except TypeError:  # not hashable
                    out[key] = redact_mapping({key: value})[key]
            return out

        for event in events:
            seq += 1
            who = event.get("actor") or default_actor
            where = event.get("profile", profile) or ""
            st_ref, nav_ref = event.get("st_ref") or "", event.get("nav_ref") or ""
            detail_text = json.dumps(redacted(event.get("detail")), sort_keys=True, separators=(",", ":"),
                                     default=_default, ensure_ascii=False)
            digest = event_hash(seq, ts_text, who, event["action"], where, st_ref, nav_ref, detail_text, prev)
            values.extend((seq, ts_text, who, event["action"], where, st_ref, nav_ref, detail_text, prev, digest))
            prev = digest
        per = 3000
        for start in range(0, len(events), per):
            chunk = values[start * 10:(start + per) * 10]
            marks = ",".join(["(?,?,?,?,?,?,?,?,?,?)"] * (len(chunk) // 10))
            db.execute_sql(f"INSERT INTO {table} {columns} VALUES {marks}", chunk)
        db.execute_sql("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
    return len(events)


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
        "SELECT seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash, hash "
        "FROM audit_event ORDER BY seq")
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash, digest in cursor:
        if seq != expected_seq:
            missing = expected_seq if seq > expected_seq else seq
            return VerifyResult(False, checked, missing, f"sequence gap: expected event {expected_seq}, found {seq} "
                                "(events deleted or renumbered)")
        if prev_hash != expected_prev:
            return VerifyResult(False, checked, seq, "previous-hash link does not match the event before it "
                                "(an event was deleted, inserted or reordered)")
        if event_hash(seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash) != digest:
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
