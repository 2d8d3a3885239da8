"""The append-only, hash-chained audit log.

Each event stores the hash of the previous event and the SHA-256 of its own canonical content
(sequence number, time, actor, action, references, detail, previous hash). Editing, deleting or
reordering rows with any SQLite tool breaks the chain at the first touched event, and
``verify()`` names it. Each event and the head also carry a keyed MAC whose key is in the OS keychain
(one per database), so a chain recomputed after an edit, a head reset to hide deleted events or an
emptied log are detected too; and ``anchor()`` gives the head as a short text to write outside the
database (NAV documents, support bundles) so ``verify(anchors=...)`` proves the log is complete up to
there. Appends take the write lock first (``BEGIN IMMEDIATE``), so two threads can
never chain onto the same predecessor. On a shared PostgreSQL store the head row is locked
(``SELECT … FOR UPDATE``) instead, so appends from every PC of the office queue up on one chain; each
event then names the PC (``host``) as well as the OS user (``actor``).
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any

from peewee import SqliteDatabase

from stnav_desktop.redact import MASK, redact, redact_mapping, redact_texts
from stnav_desktop.store import jsontext
from stnav_desktop.store.backend import is_postgres, pc_name
from stnav_desktop.store.models import AuditEvent, AuditHead
from stnav_desktop.store.proxy import db

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
    # the bytes of json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8"): texts and
    # numbers only, so orjson where it can (jsontext), as every chain stored so far was hashed
    return hashlib.sha256(jsontext.dumps_texts(fields)).hexdigest()


# --- sealing: a keyed MAC (key in the OS keychain) and anchors kept outside the database ---------------

ANCHOR_PREFIX = "stnav:"
ANCHOR_RE = re.compile(r"stnav:(\d{1,12}):([0-9a-f]{16})\b")
GUARD_TRIGGERS = ("audit_event_no_update", "audit_event_no_delete")


def _bound():
    """The database behind ``db`` (a peewee ``DatabaseProxy`` is looked through), or None when unbound."""
    target = getattr(db, "obj", db) if not isinstance(db, SqliteDatabase) else db
    try:
        return target if target is not None and target.database else None
    except AttributeError:  # an uninitialised proxy
        return None


def store_open() -> bool:
    return _bound() is not None


def _is_sqlite() -> bool:
    return isinstance(_bound(), SqliteDatabase)


def database_id() -> str:
    """Which database file the audit key belongs to."""
    bound = _bound()
    name = str(bound.database if bound is not None else "")
    if name and name != ":memory:" and isinstance(bound, SqliteDatabase):
        name = str(Path(name).resolve())
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]


def sealing_key(*, create: bool = True) -> bytes | None:
    """The key that seals this database's events (None: unsealed). Fetch it BEFORE opening a write
    transaction (a keychain call can wait for an unlock prompt). Only a SQLite file on this PC is sealed: a
    server database shared by several PCs would need one key shared by all of them, which no OS keychain
    gives, so it stays hash-chained and anchored only."""
    if not _is_sqlite():
        return None
    from stnav_desktop import credentials

    return credentials.audit_key(database_id(), create=create)


_key = sealing_key


def event_mac(key: bytes, seq: int, digest: str) -> str:
    # hmac.digest: the same HMAC-SHA256 as hmac.new(...).hexdigest(), computed in one call (OpenSSL)
    return hmac.digest(key, f"event:{seq}:{digest}".encode(), "sha256").hex()


def head_mac(key: bytes, seq: int, digest: str) -> str:
    return hmac.new(key, f"head:{seq}:{digest}".encode(), hashlib.sha256).hexdigest()


def seal_head(seq: int, digest: str, key: bytes | None) -> None:
    """Write the head (last sequence number and hash) with its MAC. Any code that appends events in bulk
    must give each event ``mac=event_mac(key, seq, hash)`` (empty when the key is None) and end with this,
    inside its transaction, ``key`` being ``sealing_key()`` fetched before the transaction."""
    AuditHead.update(seq=seq, hash=digest, mac=head_mac(key, seq, digest) if key else "").where(
        AuditHead.id == 1).execute()


def anchor() -> str:
    """A short text naming the newest event and its hash, e.g. ``stnav:1234:9f3a2b1c4d5e6f70`` (at most 35
    characters). Written where the user cannot quietly rewrite it (each NAV document we create, every
    support bundle), it lets ``verify(anchors=[...])`` prove the log still holds everything up to there."""
    row = db.execute_sql("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    seq, digest = (row[0] or 0, row[1] or "") if row else (0, "")
    return f"{ANCHOR_PREFIX}{seq}:{(digest or GENESIS)[:16]}"


def parse_anchors(text: str) -> list[tuple[int, str]]:
    """Every anchor found in a text (a NAV description, a support bundle file): (seq, hash prefix)."""
    return [(int(m.group(1)), m.group(2)) for m in ANCHOR_RE.finditer(text or "")]


def append(action: str, *, st_ref: str = "", nav_ref: str = "", detail: Any = None, actor: str | None = None,
           profile: str = "") -> AuditEvent:
    """Append one event. Safe from any thread; joins an enclosing transaction if there is one."""
    actor = actor or current_actor()
    detail_text = canonical_detail(detail)
    key = _key(create=True)  # before taking the write lock: a keychain call can wait for an unlock prompt
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
                           hash=digest, mac=event_mac(key, seq, digest) if key else "", host=host)
        event.save(force_insert=True)
        seal_head(seq, digest, key)
    return event


class _Sealer:
    """``event_mac`` for many events with one key: the standard library's HMAC-SHA256 keyed once and its
    keyed state copied per event (``hmac.HMAC.copy``), rather than keyed again for every event."""

    def __init__(self, key: bytes) -> None:
        self.keyed = hmac.new(key, digestmod=hashlib.sha256)

    def event(self, seq: int, digest: str) -> str:
        """``event_mac(key, seq, digest)``."""
        mac = self.keyed.copy()
        mac.update(f"event:{seq}:{digest}".encode())
        return mac.hexdigest()


_LEAVES = frozenset({str, int, bool, type(None), Decimal})  # jsontext's plain scalars


def _detail_texts(events: list[dict[str, Any]]) -> list[str]:
    """The texts directly in the events' details (reasons, statuses, a StrEnum's member too): redacted
    for the batch at once."""
    details = [detail for event in events if type(detail := event.get("detail")) is dict]
    return [value for value in chain.from_iterable(map(dict.values, details)) if isinstance(value, str)]


class _Details:
    """``canonical_detail`` for a batch's details, each the same text. A detail is a dict of members,
    redacted as ``redact_mapping`` does it; the batch's texts are redacted first (``redact_texts``). When
    none of them changed, a detail whose every member name is known not to be a secret's and whose every
    value is a text, a whole number or an exact Decimal (the common case: a document's id, total, status
    and reason) is its own redaction, and orjson writes it (``jsontext.dumps_plain``: no walk needed for
    those types, a Decimal written as ``str`` writes it, as ``_default`` does)."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.texts = redact_texts(_detail_texts(events))
        # every text kept as it is: then a detail of plain members needs no copy
        self.unchanged = all(redacted == text for text, redacted in self.texts.items())
        self.secret_names: dict[Any, bool] = {}
        self.clean_names: set[Any] = set()  # names whose values are not masked
        # exact types the walk accepts as leaves, and the text types (StrEnum) the batch's texts have
        self.leaves = set(_LEAVES) | {type(text) for text in self.texts}

    def text(self, detail: Any) -> str:
        if (self.unchanged and type(detail) is dict and self.clean_names.issuperset(detail)
                and self.leaves.issuperset(map(type, detail.values()))):
            try:
                return jsontext.dumps_plain(detail).decode("utf-8")
            except TypeError:  # an integer beyond 64 bits, a lone surrogate: as below
                pass
        return _detail_text(detail, self.secret_names, self.texts, self.clean_names)


def _detail_text(detail: Any, secret_names: dict[Any, bool], texts: dict[str, str],
                 clean_names: set[Any] | None = None) -> str:
    """``canonical_detail(detail)``: the same text, made with less work per event. Member by member as
    ``redact_mapping`` does it (a truthy value under a secret-looking name masked, text redacted, containers
    walked); a member name's verdict kept in ``secret_names`` and a text's redaction in ``texts`` (statuses
    and reasons repeat); numbers and null passed as they are. While redacting, each member is checked as
    ``jsontext.dumps_sorted`` checks it (its walk, done here once) before orjson writes the text."""
    if not isinstance(detail, dict):
        return jsontext.dumps_sorted(redact_mapping(detail or {}), _default).decode("utf-8")
    out: dict[Any, Any] = {}
    plain = True
    for name, value in detail.items():
        secret = secret_names.get(name)
        if secret is None:
            secret = secret_names[name] = redact_mapping({name: 1}) != {name: 1}
            if not secret and clean_names is not None:
                clean_names.add(name)
        if secret and value:
            out[name] = MASK
            continue
        if isinstance(value, str):  # a text, a StrEnum member (a status): its redaction is text too
            try:
                out[name] = texts[value]
            except KeyError:
                out[name] = texts[value] = redact(value)
        elif value is None or isinstance(value, int | Decimal | float):
            out[name] = value
            # as the walk: None, an int (a bool, an IntEnum) or an exact Decimal; not a float
            plain = plain and (type(value) in _LEAVES or isinstance(value, int))
        else:  # a container (a copy of it, redacted), or an object the walk refuses (a datetime...)
            out[name] = value = redact_mapping(value)
            plain = plain and jsontext.is_plain(value)
    if plain:
        try:
            # only Decimals reach ``default`` in a plain detail: str(value), as _default writes them
            return jsontext.dumps_plain(out).decode("utf-8")
        except TypeError:  # a non-text key, an integer beyond 64 bits, a lone surrogate: as dumps_sorted
            pass
    return jsontext.dumps_sorted(out, _default).decode("utf-8")


def append_many(events: list[dict[str, Any]], *, actor: str | None = None, profile: str = "") -> int:
    """Append many events in order with one read of the head, the chain computed in memory, one
    multi-row INSERT (per 3,000 events: SQLite's bound-variable limit) and one head update; the same
    rows ``append`` would write one by one. Each event is a dict with ``action`` and optionally
    ``st_ref``, ``nav_ref``, ``detail``, ``actor``, ``profile``. Joins an enclosing transaction."""
    if not events:
        return 0
    default_actor = actor or current_actor()
    table = AuditEvent._meta.table_name
    columns = "(seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash, hash, mac, host)"
    width = 12
    key = _key(create=True)  # before taking the write lock, as in ``append``
    host = pc_name()
    with db.atomic():
        head = _locked_head()  # on PostgreSQL every other PC's append waits here
        if head is None:
            AuditHead.insert(id=1, seq=0, hash="").execute()
            head = AuditHead.get(AuditHead.id == 1)
        seq, prev = head.seq, head.hash or GENESIS
        ts_text = datetime.now(UTC).isoformat(timespec="microseconds")
        values: list[Any] = []
        details = _Details(events)  # every text of the batch redacted in a few checks
        sealed = _Sealer(key) if key else None
        tail = [host] if host else []  # events from before the PC was recorded hash as they always did
        sha256, dumps_texts = hashlib.sha256, jsontext.dumps_texts
        for event in events:
            seq += 1
            action = event["action"]
            who = event.get("actor") or default_actor
            where = event.get("profile", profile) or ""
            st_ref, nav_ref = event.get("st_ref") or "", event.get("nav_ref") or ""
            detail_text = details.text(event.get("detail"))
            # event_hash, inline: the same fields, the same bytes
            digest = sha256(dumps_texts([seq, ts_text, who, action, where, st_ref, nav_ref, detail_text, prev,
                                         *tail])).hexdigest()
            values.extend((seq, ts_text, who, action, where, st_ref, nav_ref, detail_text, prev, digest,
                           sealed.event(seq, digest) if sealed else "", host))
            prev = digest
        per = 2500  # rows per INSERT: under SQLite's 32,766 bound variables (and PostgreSQL's 65,535)
        mark = db.param  # "?" on SQLite, "%s" on PostgreSQL
        for start in range(0, len(events), per):
            chunk = values[start * width:(start + per) * width]
            marks = ",".join(["(" + ",".join([mark] * width) + ")"] * (len(chunk) // width))
            db.execute_sql(f"INSERT INTO {table} {columns} VALUES {marks}", chunk)
        seal_head(seq, prev, key)
    return len(events)


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
    sealed: bool = False
    anchors: int = 0

    def message(self) -> str:
        if self.ok:
            extra = "sealed with this PC's audit key" if self.sealed else \
                "NOT sealed (no audit key in the OS keychain yet)"
            anchors = f", {self.anchors} outside anchor(s) matched" if self.anchors else ""
            return f"audit log intact: {self.checked} events, hash chain verified, {extra}{anchors}"
        where = f" at event {self.broken_seq}" if self.broken_seq is not None else ""
        return f"audit log BROKEN{where}: {self.reason} ({self.checked} events checked before it)"


def _guards_missing() -> list[str]:
    if not _is_sqlite():
        return []
    present = {r[0] for r in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    return [name for name in GUARD_TRIGGERS if name not in present]


def verify(anchors: Iterable[str] = ()) -> VerifyResult:
    """Walk the chain in sequence order; report the first event that does not fit, then check the head,
    the MACs (with the key in the OS keychain), the append-only guards and any anchors given."""
    cursor = db.execute_sql(
        "SELECT seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash, hash, mac, host "
        "FROM audit_event ORDER BY seq")
    key = _key(create=False)
    # seals are checked where they were made, on a SQLite file of this PC; a log moved to a shared server
    # (``stnav store migrate-to``, verified before the move) keeps its old seals, which no key there can check
    sealable = _is_sqlite()
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    sealed_seen = False
    hashes: dict[int, str] = {}
    for seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash, digest, mac, host in cursor:
        if seq != expected_seq:
            missing = expected_seq if seq > expected_seq else seq
            return VerifyResult(False, checked, missing, f"sequence gap: expected event {expected_seq}, found {seq} "
                                "(events deleted or renumbered)")
        if prev_hash != expected_prev:
            return VerifyResult(False, checked, seq, "previous-hash link does not match the event before it "
                                "(an event was deleted, inserted or reordered)")
        if event_hash(seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash, host) != digest:
            return VerifyResult(False, checked, seq, "content does not match its hash (the row was edited)")
        if mac and sealable:
            if key is None:
                return VerifyResult(False, checked, seq, "the events are sealed but this database's audit key is "
                                    "not in the OS keychain (deleted, another user or PC, or the database was "
                                    "moved): the seals cannot be checked")
            if not hmac.compare_digest(mac, event_mac(key, seq, digest)):
                return VerifyResult(False, checked, seq, "its seal (keyed MAC) does not match: the chain was "
                                    "recomputed after an edit")
            sealed_seen = True
        elif sealed_seen:
            return VerifyResult(False, checked, seq, "the event is not sealed though earlier events are "
                                "(written without the app, or its seal was stripped)")
        hashes[seq] = digest
        expected_prev = digest
        expected_seq += 1
        checked += 1
    head = db.execute_sql("SELECT seq, hash, mac FROM audit_head WHERE id = 1").fetchone()
    if head is None:
        return VerifyResult(False, checked, None, "the head record (newest event number and hash) is missing: "
                            "it was deleted to hide removed events")
    head_seq, head_hash, head_seal = head[0] or 0, head[1] or "", head[2] or ""
    if head_seq != checked:
        return VerifyResult(False, checked, checked + 1 if head_seq > checked else head_seq,
                            f"the log should hold {head_seq} events but holds {checked} "
                            "(the newest events were deleted)")
    if checked and head_hash != expected_prev:
        return VerifyResult(False, checked, checked, "the newest event does not match the recorded head")
    if key is not None:
        if checked == 0:
            return VerifyResult(False, 0, None, "the OS keychain holds this database's audit key, so events were "
                                "sealed here, but the log is empty: it was emptied or reset")
        if not sealed_seen and not head_seal:
            return VerifyResult(False, checked, checked, "the OS keychain holds this database's audit key but no "
                                "event is sealed: the chain was reset or rewritten")
        if not hmac.compare_digest(head_seal, head_mac(key, head_seq, head_hash)):
            return VerifyResult(False, checked, head_seq, "the head's seal does not match: the head was reset or "
                                "rewritten (newest events deleted or the chain recomputed)")
    missing = _guards_missing()
    if missing:
        return VerifyResult(False, checked, None, f"the append-only guard trigger(s) {', '.join(missing)} are "
                            "missing: they were dropped, which is how rows get edited or deleted")
    matched = 0
    for text in anchors:
        found = parse_anchors(text)
        if not found:
            return VerifyResult(False, checked, None, f"{text!r} is not an audit anchor (stnav:NUMBER:HASH)")
        for seq, prefix in found:
            if seq == 0:
                matched += 1
                continue
            if seq > checked:
                return VerifyResult(False, checked, seq, f"anchor stnav:{seq}:{prefix} names event {seq} but the "
                                    f"log ends at event {checked}: the newest events were deleted or the log reset")
            if not hashes[seq].startswith(prefix):
                return VerifyResult(False, checked, seq, f"event {seq} differs from anchor stnav:{seq}:{prefix}: the "
                                    "log was rewritten or reset after the anchor was written")
            matched += 1
    return VerifyResult(True, checked, sealed=sealed_seen or (key is not None and checked > 0), anchors=matched)


def _filtered(query: Any, st_ref: str | None, action: str | None, profile: str | None) -> Any:
    """The audit tab's and ``stnav audit show``'s filters, in SQL."""
    if st_ref:
        query = query.where(AuditEvent.st_ref == st_ref)
    if action:
        query = query.where(AuditEvent.action == action)
    if profile:
        query = query.where(AuditEvent.profile_name == profile)
    return query


def events(*, st_ref: str | None = None, action: str | None = None, profile: str | None = None,
           limit: int | None = None) -> Iterator[AuditEvent]:
    query = _filtered(AuditEvent.select().order_by(AuditEvent.seq), st_ref, action, profile)
    if limit:
        query = query.limit(limit)
    yield from query


def events_page(*, before: int | None = None, after: int | None = None, limit: int = 200,
                st_ref: str | None = None, action: str | None = None, profile: str | None = None) -> list[AuditEvent]:
    """One page of events, newest first: those with ``seq < before`` (keyset pagination on the primary
    key, so the 500th page costs what the first does) and/or ``seq > after`` (what is new since), filtered
    in SQL."""
    query = _filtered(AuditEvent.select().order_by(AuditEvent.seq.desc()).limit(limit), st_ref, action, profile)
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    if after is not None:
        query = query.where(AuditEvent.seq > after)
    return list(query)
