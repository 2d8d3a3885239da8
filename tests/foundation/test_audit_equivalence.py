"""audit.append_many made cheaper per event (the batch's texts redacted in a few checks, a detail of plain
members written by orjson without a copy or a walk, the MAC from the key's two hashed pads) must write
the very rows it wrote before: the detail text as hashed and stored, the chain's hashes and the MACs
(``stnav audit verify`` checks old and new events alike), and every redaction. The reference below is a
frozen copy of append_many's per-event work before the change (main 6bfca80: its member-by-member
redaction, jsontext.dumps_sorted, event_hash, event_mac); the events are those a pull of the simulator's
data writes, plus hand-made oddities and secrets."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum
from typing import Any

import orjson
import pytest

from stnav_desktop import redact
from stnav_desktop.sandbox.servicetitan.data import Dataset
from stnav_desktop.store import audit
from stnav_desktop.store.backend import pc_name
from stnav_desktop.store.db import db
from stnav_desktop.store.models import DocStatus, SourceKind
from stnav_desktop.sync.app import documents
from tests.foundation.jsontext_reference import ref_dumps_sorted

# --- the reference: frozen copies of the code before the change ----------------------------------------


def ref_dumps_texts(values: list[Any]) -> bytes:
    try:
        return orjson.dumps(values)
    except TypeError:
        return json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def ref_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime):
        return obj.astimezone(UTC).isoformat()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)


def ref_event_hash(seq: int, ts: str, actor: str, action: str, profile_name: str, st_ref: str, nav_ref: str,
                   detail: str, prev_hash: str, host: str = "") -> str:
    fields = [seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash]
    if host:
        fields.append(host)
    return hashlib.sha256(ref_dumps_texts(fields)).hexdigest()


def ref_event_mac(key: bytes, seq: int, digest: str) -> str:
    return hmac.digest(key, f"event:{seq}:{digest}".encode(), "sha256").hex()


def ref_rows(events: list[dict[str, Any]], *, seq: int, prev: str, ts_text: str, host: str, key: bytes | None,
             default_actor: str, profile: str) -> list[tuple[Any, ...]]:
    """The rows append_many wrote before the change, after a head at (seq, prev)."""
    rows = []
    secret_name: dict[Any, bool] = {}
    texts: dict[str, str] = {}

    def redacted(detail: Any) -> Any:
        if not isinstance(detail, dict):
            return redact.redact_mapping(detail or {})
        out: dict[Any, Any] = {}
        for name, value in detail.items():
            secret = secret_name.get(name)
            if secret is None:
                secret = secret_name[name] = redact.redact_mapping({name: 1}) != {name: 1}
            if secret and value:
                out[name] = redact.MASK
            elif isinstance(value, str):
                try:
                    out[name] = texts[value]
                except KeyError:
                    out[name] = texts[value] = redact.redact(value)
            elif value is None or isinstance(value, int | Decimal | float):
                out[name] = value
            else:
                out[name] = redact.redact_mapping(value)
        return out

    for event in events:
        seq += 1
        who = event.get("actor") or default_actor
        where = event.get("profile", profile) or ""
        st_ref, nav_ref = event.get("st_ref") or "", event.get("nav_ref") or ""
        detail_text = ref_dumps_sorted(redacted(event.get("detail")), ref_default).decode("utf-8")
        digest = ref_event_hash(seq, ts_text, who, event["action"], where, st_ref, nav_ref, detail_text, prev, host)
        rows.append((seq, ts_text, who, event["action"], where, st_ref, nav_ref, detail_text, prev, digest,
                     ref_event_mac(key, seq, digest) if key else "", host))
        prev = digest
    return rows


# --- the events ----------------------------------------------------------------------------------------

STATUSES = list(DocStatus)


def pull_events() -> list[dict[str, Any]]:
    """The events a pull of the simulator's data writes (documents pulled with their verdicts and
    problems, updated with their changes, moved to another status, unreadable), one or more per record."""
    data = Dataset(tenant=1234567, now=datetime(2026, 11, 30, 12, 0, tzinfo=UTC), purchase_orders=1100)
    events: list[dict[str, Any]] = []
    for attr, kind in (("purchase_orders", SourceKind.PURCHASE_ORDER), ("bills", SourceKind.INVENTORY_BILL),
                       ("returns", SourceKind.INVENTORY_RETURN)):
        for n, record in enumerate(getattr(data, attr).values()):
            try:
                item = documents.prepare(kind, record)
            except documents.Unreadable as exc:
                events.append({"action": "document.unreadable", "detail": {"kind": kind, "problem": str(exc)}})
                continue
            status = STATUSES[n % len(STATUSES)]
            number = item.columns["number"]
            summary = str(item.raw.get("summary") or "")
            detail: dict[str, Any] = {"st_id": item.st_id, "total": item.columns["total"], "status": status}
            if n % 3:
                detail["reason"] = f"{number}: vendor {item.columns['vendor_st_id']} is not mapped; {summary[:300]}"
            if item.problems:
                detail["problems"] = item.problems
            events.append({"action": "document.pulled", "st_ref": f"PO-{number}", "detail": detail})
            if n % 4 == 0:
                events.append({"action": "document.updated", "st_ref": f"PO-{number}", "detail": {
                    "version": 2, "changes": documents.diff({**item.raw, "summary": "before"}, item.raw)}})
            if n % 5 == 0:
                events.append({"action": f"document.{status}", "st_ref": f"PO-{number}", "nav_ref": "PI-1",
                               "detail": {"from": DocStatus.READY, "to": status, "reason": summary[:80],
                                          "version": 3}})
    return events


class Colour(Enum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


KNOWN_SECRET = "registered-secret-42"

ODD_DETAILS: list[Any] = [
    {"st_id": 1, "total": Decimal("1"), "status": "ready"},
    {"st_id": 2, "total": 1, "status": DocStatus.READY, "reason": "password=hunter2 in the memo"},
    {"st_id": 3, "flag": True, "problems": ["Bearer abcdefghijklmnopqrstuvwx", "plain"]},
    {"client_secret": "s3cr3t-value", "nested": {"access_token": "t", "list": [{"password": "p"}]}},
    None, {}, [], "", 0, "a text detail password=x", ["a", "token=abc"], ("t", 1), 5, Decimal("1.5"),
    {"password": 123456, "pin": 0, "api_key": None, "secret": "", "token": [], "st_id": 7, "total": 2.5, "ok": False},
    {"reason": "password=hunter2 in the memo", "status": DocStatus.READY, "memo": f"key is {KNOWN_SECRET} here",
     "pair": ("token=abc", 1)},
    {"reason": f"{KNOWN_SECRET}", "other": f"x{KNOWN_SECRET}x"},
    {"headers": {"Authorization": "Bearer abc.def", "X": f"{KNOWN_SECRET}"}, "url": "https://user:pw@host/x"},
    {"reason": "Ünïcödé pässword=geheim \u2028 😀", "who": "Zoë", "line": "a\u2028b\u2029c"},
    {"reason": "ＰＡＳＳＷＯＲＤ=full-width", "k": "K\u212aey=kelvin"},  # non-ASCII: the patterns run
    {"when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "day": date(2026, 1, 2),
     "other": datetime(2026, 1, 2, tzinfo=timezone(timedelta(hours=-5)))},
    {"f": 1e-05, "g": 1e16, "h": -0.0, "nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")},
    {"big": 2 ** 70, "neg": -(2 ** 63), "edge": 2 ** 64 - 1, "over": 2 ** 64, "level": Level.HIGH},
    {"total": Decimal("1E+2"), "tax": Decimal("-0"), "x": Decimal("NaN"), "y": Decimal("-Infinity"),
     "z": Decimal("0E-8")},
    {"colour": Colour.RED, "kind": SourceKind.INVENTORY_BILL, "set": {1}, "bytes": b"x"},
    {"nested": [[1, [2, [3, {"a": [Decimal("1.10"), None, True, "password=deep"]}]]]], "tup": (1, "a", (2,))},
    {"changes": [{"field": "total", "before": Decimal("1.00"), "after": Decimal("2.00")},
                 {"field": "memo", "before": None, "after": "Bearer xyz123456"}]},
    {1: "int key", 2: "b"},
    {"é": 1, "e": 2, "E": 3, "_": 4, "\U0001f600": 5, "\u00ff": 6, "\uffff": 7, "a\u0000": 8, "": 9},
    OrderedDict([("st_id", 11), ("reason", "password=ordered"), ("total", Decimal("1.00"))]),
    {"reason": ""},
    {"status": DocStatus.NEEDS_MAPPING, "reason": "plain reason repeated"},
    {"status": "needs_mapping", "reason": "plain reason repeated"},
]


# no text in these needs redacting (so a batch of them takes plain details as they are), yet a secret's
# name masks a value, and a member orjson would write otherwise than json.dumps must not slip through
UNREDACTED_DETAILS: list[Any] = [
    {"st_id": 1, "total": Decimal("1.50"), "status": DocStatus.READY, "reason": "plain \u2028 Zoë 😀"},
    {"password": 123456, "pin": 0, "client_secret": "s3cr3t-value", "api_key": None, "st_id": 7},
    {"f": 1e-05, "g": 1e16, "h": -0.0, "nan": float("nan"), "inf": float("inf")},
    {"st_id": 2, "total": 1.5},
    {"big": 2 ** 70, "over": 2 ** 64, "edge": 2 ** 64 - 1, "neg": -(2 ** 63) - 1},
    {"level": Level.HIGH, "flag": True, "none": None},
    {"colour": Colour.RED, "kind": SourceKind.INVENTORY_BILL},
    {"when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "day": date(2026, 1, 2)},
    {"total": Decimal("1E+2"), "tax": Decimal("-0"), "x": Decimal("NaN"), "y": Decimal("-Infinity")},
    {"nested": [[1, [2, {"a": [Decimal("1.10"), None, True]}]]], "tup": (1, "a"), "d": {"password": "p"}},
    {1: "int key", 2: "b"},
    OrderedDict([("st_id", 11), ("total", Decimal("1.00"))]),
    {"é": 1, "e": 2, "E": 3, "\U0001f600": 5, "\uffff": 7, "a\u0000": 8, "": 9},
]


def odd_events() -> list[dict[str, Any]]:
    # each twice: a detail's member names are known the second time (and taken without a copy if plain)
    events = [{"action": "document.pulled", "st_ref": f"PO-{i}", "detail": d}
              for i, d in enumerate(ODD_DETAILS + ODD_DETAILS)]
    events += [{"action": "pull.finished", "actor": "DOMAIN\\ann", "profile": "other", "nav_ref": "PI-9",
                "detail": {"pages": 3}},
               {"action": "pull.finished", "profile": None, "st_ref": None, "nav_ref": None, "actor": ""},
               {"action": "document.pulled", "st_ref": "Ünïcödé \u2028", "detail": {"st_id": 12}}]
    # groups of the batch's texts (64 a group) with and without a text that needs redacting
    events += [{"action": "document.pulled", "detail": {"reason": f"plain reason number {i}"}} for i in range(130)]
    events += [{"action": "document.pulled", "detail": {"reason": f"reason {i} with a key in it"}}
               for i in range(0, 130, 40)]
    return events


# --- comparing -----------------------------------------------------------------------------------------

COLUMNS = "seq, ts, actor, action, profile_name, st_ref, nav_ref, detail, prev_hash, hash, mac, host"


def appended_as_before(events: list[dict[str, Any]], **kw: Any) -> list[tuple[Any, ...]]:
    head = db.execute_sql("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    seq, prev = (head[0] or 0, head[1] or audit.GENESIS) if head else (0, audit.GENESIS)
    count = audit.append_many(events, **kw)
    assert count == len(events)
    rows = [tuple(r) for r in db.execute_sql(f"SELECT {COLUMNS} FROM audit_event WHERE seq > {db.param} "
                                             "ORDER BY seq", [seq]).fetchall()]
    expected = ref_rows(events, seq=seq, prev=prev, ts_text=rows[0][1], host=pc_name(),
                        key=audit.sealing_key(create=False), default_actor=kw.get("actor") or audit.current_actor(),
                        profile=kw.get("profile", ""))
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        assert got == want, (got, want)
    return rows


@pytest.fixture
def known_secret(monkeypatch):
    monkeypatch.setattr(redact, "_known", set(redact._known))  # this test's secret, not the next test's
    redact.register_secret(KNOWN_SECRET)


@pytest.mark.both_backends
def test_pull_events_are_written_as_before(store, known_secret):
    events = pull_events()
    assert len(events) > 2500  # more than one INSERT
    assert audit._Details(events).unchanged  # the batch takes plain details as they are
    audit.append("first.event", st_ref="PO-1", detail={"a": 1})
    rows = appended_as_before(events, profile="default")
    assert any('"problems":[' in row[7] for row in rows) and any('"changes":[' in row[7] for row in rows)
    assert audit.verify().ok


@pytest.mark.both_backends
def test_oddities_and_secrets_are_written_and_redacted_as_before(store, known_secret):
    rows = appended_as_before(odd_events(), profile="default")
    plain = [{"action": "document.pulled", "detail": d} for d in UNREDACTED_DETAILS + UNREDACTED_DETAILS]
    assert audit._Details(plain).unchanged  # the batch takes plain details as they are
    rows += appended_as_before(plain)
    appended_as_before(odd_events()[::-1], actor="DOMAIN\\bob")  # the texts met in another order
    text = "\n".join(row[7] for row in rows)
    for secret in ("hunter2", "s3cr3t", "123456", KNOWN_SECRET, "abcdefghijklmnopqrstuvwx", "abc.def", ":pw@",
                   "password=deep", "xyz123456", "password=ordered"):
        assert secret not in text
    assert audit.verify().ok


def test_a_lone_surrogate_fails_the_batch_as_before(store):
    audit.append("first.event")
    for detail in ({"reason": "cut \ud83d here"}, ["cut \ud83d here"], {"nested": {"a": "\udfff"}}):
        with pytest.raises(UnicodeEncodeError):
            ref_dumps_sorted(detail if isinstance(detail, dict) else redact.redact_mapping(detail), ref_default)
        with pytest.raises(UnicodeEncodeError):
            audit.append_many([{"action": "document.pulled", "detail": {"ok": 1}},
                               {"action": "document.pulled", "detail": detail}])
    assert audit.verify().ok and audit.verify().checked == 1


def test_the_seal_is_hmac_sha256():
    for length in (0, 1, 31, 32, 33, 63, 64, 65, 100, 200):
        key = bytes((i * 37 + length) % 256 for i in range(length))
        sealer = audit._Sealer(key)
        for seq, digest in ((1, "0" * 64), (123456789, hashlib.sha256(key).hexdigest()), (2 ** 40, "")):
            assert sealer.event(seq, digest) == ref_event_mac(key, seq, digest) == audit.event_mac(key, seq, digest)


def test_pinned_detail_hash_and_seal():
    """Pinned (computed by the code before the change), so that a change to the reference too cannot
    pass unnoticed."""
    detail = {"st_id": 40100000, "total": Decimal("2346.80"), "status": DocStatus.NEEDS_MAPPING,
              "reason": "PO 10400-001: vendor 2003 is not mapped \u2028 Zoë", "problems": ["password=x"]}
    text = audit._Details([{"action": "a", "detail": detail}]).text(detail)
    assert text == ('{"problems":["password=***"],"reason":"PO 10400-001: vendor 2003 is not mapped \u2028 Zoë",'
                    '"st_id":40100000,"status":"needs_mapping","total":"2346.80"}')
    digest = ref_event_hash(7, "2026-01-02T03:04:05.000001+00:00", "DOMAIN\\ann", "document.pulled", "default",
                            "PO-10400-001", "", text, "0" * 64, "PC-1")
    assert digest == "9a6a002ad66a6efbb829499056f49a2b5efc76b93c4f916970f5ab96a7d2dc96"
    assert audit._Sealer(b"k" * 32).event(7, digest) == (
        "9ec91c2dfce65f5baa871ba31bc2e249aa45edcdc3116d7d25837dcdaba31a81")


def test_redact_texts_is_redact_text_by_text(known_secret):
    texts = [f"plain reason {i}" for i in range(200)] + [
        "password=hunter2", f"a {KNOWN_SECRET} b", "Bearer abcdefghij", "https://u:p@h/", "Ünïcödé", "", "KEY=1",
        "a\u2028b", "registered", "-secret-42", "ends with registered-", "secret-42 starts", "\ud83d lone",
        "API_KEY=abcdef in capitals", "AUTHORIZATION: BEARER XYZ", "Client_Secret: s"]
    for group in (1, 2, 3, 64, 1000):
        for order in (texts, texts[::-1], texts[::7] + texts):
            assert audit.redact_texts(order, group) == {t: redact.redact(t) for t in order}
    assert "API_KEY=***" in audit.redact_texts(texts)["API_KEY=abcdef in capitals"]
    # a known secret cut by the line the group joins texts with is no secret in either text
    redact.register_secret("tail\nhead")
    assert redact.redact_texts(["the tail", "head of it"]) == {"the tail": "the tail", "head of it": "head of it"}
