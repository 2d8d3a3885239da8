"""store.jsontext: orjson's canonical text must be the standard library's, byte for byte, or content
hashes of stored documents and the audit chain would change on upgrade."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum

import pytest

from stnav_desktop.store import audit, jsontext
from stnav_desktop.store.models import DocStatus, SourceKind
from stnav_desktop.sync.app import documents


def stdlib(obj, default=str) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=default).encode("utf-8")


class Level(IntEnum):
    HIGH = 3


EVERY_CHARACTER = "".join(chr(i) for i in range(0x250)) + "\u2028\u2029\u202e\ufeff\U0001f600 é 😀"

SAMPLES = [
    {"id": 10452, "number": "10452-001", "total": Decimal("1234.50"), "tax": Decimal("0E-8"),
     "summary": EVERY_CHARACTER, "active": True, "vendorId": None, "zeta": [], "alpha": {},
     "items": [{"cost": Decimal("-0.0100"), "quantity": Decimal("3"), "skuCode": "Ω-1", "n": -(2 ** 63)}]},
    {"é": 1, "e": 2, "E": 3, "_": 4, "\U0001f600": 5, "\u00ff": 6, "\uffff": 7, "a\u0000": 8, "": 9},
    [1, "two", None, False, Decimal("NaN")],
    {"ts": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "f": 1e-05, "nan": float("nan")},  # json.dumps' own
    {"big": 2 ** 70, "tuple": (1, 2)},
    {"status": DocStatus.NEEDS_MAPPING, "kind": SourceKind.INVENTORY_BILL, "tuple": ("a", 1), "n": Level.HIGH},
    {1: "int key", 2: "b"},
]


@pytest.mark.parametrize("obj", SAMPLES)
def test_same_bytes_as_json_dumps(obj):
    assert jsontext.dumps_sorted(obj) == stdlib(obj)
    assert jsontext.dumps_sorted(obj, audit._default) == stdlib(obj, audit._default)


def test_a_lone_surrogate_raises_as_encoding_the_standard_text_does():
    with pytest.raises(UnicodeEncodeError):
        jsontext.dumps_sorted({"summary": "cut \ud83d here"})


def test_content_hash_and_stored_text_as_before_orjson():
    raw = {**SAMPLES[0], "modifiedOn": "2026-01-02T03:04:05Z", "syncStatus": "Pending"}
    stable = {k: v for k, v in raw.items() if k not in documents.VOLATILE}
    text, digest = documents._texts(raw)
    import hashlib
    assert digest == hashlib.sha256(stdlib(stable)).hexdigest() == documents.content_hash(raw)
    assert json.loads(text, parse_float=Decimal) == json.loads(stdlib(raw), parse_float=Decimal)
    exported = {**raw, "status": "Exported"}
    assert documents._texts(exported) == (stdlib(exported, documents._json_default).decode(),
                                          hashlib.sha256(stdlib({**stable, "status": "Received"})).hexdigest())


def test_event_hash_as_before_orjson():
    fields = [7, "2026-01-02T03:04:05.000001+00:00", "DOMAIN\\ann", "document.pulled", "default", "PO-1",
              "", '{"total":"1.50"}', "0" * 64, "PC-\u00e9\u2028"]
    import hashlib
    expected = hashlib.sha256(json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    assert audit.event_hash(*fields) == expected


def test_plain_payloads_and_statuses_take_the_fast_path(monkeypatch):
    expected = [stdlib(obj) for obj in (SAMPLES[0], SAMPLES[1], SAMPLES[5])]

    def no_stdlib(*_a, **_kw):
        raise AssertionError("json.dumps used for a payload orjson writes alike")

    monkeypatch.setattr(jsontext.json, "dumps", no_stdlib)
    assert [jsontext.dumps_sorted(obj) for obj in (SAMPLES[0], SAMPLES[1], SAMPLES[5])] == expected
