"""documents.prepare made cheaper (one walk of the payload, orjson for each part, header without
closures, document dates parsed once per text) must store the very bytes it stored before: the JSON
text, the content hash (stores filled by older code compare against it), the grid columns and the
problems. The reference below is a frozen copy of the code before the change (documents.prepare,
_texts, header and jsontext.dumps_sorted as of main 6bfca80); every record of the ServiceTitan
simulator's data, as the connector reads it off the wire and as the simulator holds it, and hand-made
oddities go through both."""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum, IntEnum
from typing import Any

import pytest

from stnav_desktop.connectors.servicetitan import parsing
from stnav_desktop.sandbox import jsonutil
from stnav_desktop.sandbox.servicetitan.data import Dataset
from stnav_desktop.store import jsontext
from stnav_desktop.store.models import DocStatus, SourceKind
from stnav_desktop.sync.app import documents
from tests.foundation.jsontext_reference import ref_dumps_sorted, ref_plain
from tests.sync import plan_reference

# --- the reference: frozen copies of the code before the change ----------------------------------------


REF_VOLATILE = {"modifiedOn", "syncStatus", "batch", "batchId", "postDate", "dateReconciled"}


# documents.to_decimal / to_datetime as they were: the frozen copies the plan equivalence test keeps
ref_to_decimal, ref_to_datetime = plan_reference.to_decimal, plan_reference.to_datetime


REF_REPLACEMENT = "\ufffd"
_REF_SURROGATES = re.compile("[\ud800-\udfff]")


def _ref_scrub(value: Any, path: str, found: list[str]) -> Any:
    if isinstance(value, str):
        if _REF_SURROGATES.search(value):
            found.append(path or "(value)")
            return _REF_SURROGATES.sub(REF_REPLACEMENT, value)
        return value
    if isinstance(value, dict):
        return {_ref_scrub(k, path, found) if isinstance(k, str) else k:
                _ref_scrub(v, f"{path}.{k}" if path else str(k), found) for k, v in value.items()}
    if isinstance(value, list):
        return [_ref_scrub(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


def ref_scrub(raw: dict[str, Any], label: str) -> tuple[dict[str, Any], list[str]]:
    found: list[str] = []
    clean = _ref_scrub(raw, "", found)
    problems = [f"{label}: {path} contains a broken character (a lone UTF-16 surrogate), shown as "
                f"{REF_REPLACEMENT}" for path in dict.fromkeys(found)]
    return clean, problems


def ref_label(kind: str, raw: dict[str, Any]) -> str:
    if kind == SourceKind.PURCHASE_ORDER:
        return f"PO {raw.get('number') or raw.get('id')}"
    if kind == SourceKind.INVENTORY_RETURN:
        return f"return {raw.get('number') or raw.get('id')}"
    return f"bill {raw.get('referenceNumber') or raw.get('id')}"


def ref_stable(raw: dict[str, Any]) -> dict[str, Any]:
    stable = {k: v for k, v in raw.items() if k not in REF_VOLATILE}
    if stable.get("status") == "Exported":
        stable["status"] = "Received"
    return stable


def ref_stable_text(raw: dict[str, Any]) -> str:
    return json.dumps(ref_stable(raw), sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def ref_content_hash(raw: dict[str, Any]) -> str:
    try:
        data = ref_dumps_sorted(ref_stable(raw))
    except UnicodeEncodeError:
        data = _REF_SURROGATES.sub(REF_REPLACEMENT, ref_stable_text(raw)).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


@dataclass
class RefHeader:
    number: str
    vendor_st_id: int | None
    vendor_name: str
    business_unit_st_id: int | None
    business_unit_name: str
    doc_date: datetime | None
    modified_on: datetime | None
    st_status: str
    total: Decimal | None
    purchase_order_st_id: int | None


def ref_header(kind: str, raw: dict[str, Any]) -> tuple[RefHeader, list[str]]:
    problems: list[str] = []

    def amount(key: str) -> Decimal | None:
        try:
            return ref_to_decimal(raw.get(key))
        except (ValueError, TypeError):
            problems.append(f"{key} {str(raw.get(key))[:40]!r} is not a number")
            return None

    def when(key: str) -> datetime | None:
        try:
            return ref_to_datetime(raw.get(key))
        except (ValueError, TypeError):
            problems.append(f"{key} {str(raw.get(key))[:40]!r} is not a date")
            return None

    def ident(value: Any, key: str) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        problems.append(f"{key} {str(value)[:40]!r} is not an id")
        return None

    def named(key: str) -> dict[str, Any]:
        value = raw.get(key)
        if value is None or isinstance(value, dict):
            return value or {}
        problems.append(f"{key} {str(value)[:40]!r} is not an object with an id and a name")
        return {}

    if kind == SourceKind.PURCHASE_ORDER:
        return RefHeader(
            number=str(raw.get("number") or raw.get("id")), vendor_st_id=ident(raw.get("vendorId"), "vendorId"),
            vendor_name="", business_unit_st_id=ident(raw.get("businessUnitId"), "businessUnitId"),
            business_unit_name="", doc_date=when("date"),
            modified_on=when("modifiedOn"), st_status=str(raw.get("status") or ""), total=amount("total"),
            purchase_order_st_id=None), problems
    if kind == SourceKind.INVENTORY_RETURN:
        status = raw.get("status")
        return RefHeader(
            number=str(raw.get("number") or raw.get("id")), vendor_st_id=ident(raw.get("vendorId"), "vendorId"),
            vendor_name="", business_unit_st_id=ident(raw.get("businessUnitId"), "businessUnitId"),
            business_unit_name="", doc_date=when("creditReceivedOn") or when("returnDate"),
            modified_on=when("modifiedOn"), st_status=str(status if isinstance(status, str) else ""),
            total=amount("returnAmount"),
            purchase_order_st_id=ident(raw.get("purchaseOrderId"), "purchaseOrderId")), problems
    vendor = named("vendor")
    bu = named("businessUnit")
    return RefHeader(
        number=str(raw.get("referenceNumber") or raw.get("id")), vendor_st_id=ident(vendor.get("id"), "vendor.id"),
        vendor_name=str(vendor.get("name") or ""), business_unit_st_id=ident(bu.get("id"), "businessUnit.id"),
        business_unit_name=str(bu.get("name") or ""), doc_date=when("billDate"), modified_on=when("modifiedOn"),
        st_status=str(raw.get("syncStatus") or ""), total=amount("billAmount"),
        purchase_order_st_id=ident(raw.get("purchaseOrderId"), "purchaseOrderId")), problems


def ref_json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime):
        return obj.astimezone(UTC).isoformat()
    return str(obj)


def ref_raw_text(raw: dict[str, Any]) -> str:
    try:
        return ref_dumps_sorted(raw, ref_json_default).decode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(raw, sort_keys=True, separators=(",", ":"), default=ref_json_default,
                          ensure_ascii=False)


def ref_texts(raw: dict[str, Any]) -> tuple[str, str]:
    if raw.get("status") == "Exported":
        text = ref_raw_text(raw)
        text.encode("utf-8")
        return text, ref_content_hash(raw)
    stable = {k: v for k, v in raw.items() if k not in REF_VOLATILE}
    stable_bytes = ref_dumps_sorted(stable)
    digest = hashlib.sha256(stable_bytes).hexdigest()
    stable_text = stable_bytes.decode("utf-8")
    if len(stable) == len(raw):
        return stable_text, digest
    tail = ref_dumps_sorted({k: raw[k] for k in REF_VOLATILE if k in raw}).decode("utf-8")
    return (stable_text[:-1] + "," + tail[1:]) if len(stable_text) > 2 else tail, digest


def ref_prepare(kind: str, raw: Any, problems: list[str] | None = None) -> tuple[Any, ...]:
    """documents.prepare before the change, as a tuple: (st_id, raw, raw_text, digest, columns, problems,
    header fields)."""
    if not isinstance(raw, dict):
        raise documents.Unreadable(f"a {kind.replace('_', ' ')} record is not a JSON object: {str(raw)[:60]!r}")
    problems = list(problems or [])
    try:
        raw_text, digest = ref_texts(raw)
    except UnicodeEncodeError:
        raw, broken = ref_scrub(raw, ref_label(kind, raw))
        problems.extend(broken)
        raw_text, digest = ref_texts(raw)
    st_id = raw.get("id")
    if isinstance(st_id, str) and st_id.strip().isdigit():
        st_id = int(st_id)
    if not isinstance(st_id, int) or isinstance(st_id, bool) or st_id <= 0:
        raise documents.Unreadable(f"{ref_label(kind, raw)}: has no usable id ({str(raw.get('id'))[:40]!r})")
    head, parse_problems = ref_header(kind, raw)
    problems = list(dict.fromkeys([*problems, *parse_problems]))
    columns = dict(number=head.number[:200], vendor_st_id=head.vendor_st_id, business_unit_st_id=head.business_unit_st_id,
                   doc_date=head.doc_date, modified_on=head.modified_on, st_status=head.st_status[:50],
                   total=head.total, purchase_order_st_id=head.purchase_order_st_id,
                   st_active=raw.get("active") is not False)
    if head.vendor_name:
        columns["vendor_name"] = head.vendor_name[:200]
    if head.business_unit_name:
        columns["business_unit_name"] = head.business_unit_name[:200]
    return st_id, raw, raw_text, digest, columns, problems, tuple(head.__dict__.items())


# --- comparing -----------------------------------------------------------------------------------------

def typed(value: Any) -> Any:
    """A value with its type, so 1 == True == Decimal(1) and two datetimes in different zones differ."""
    if isinstance(value, dict):
        return ("dict", type(value).__name__, [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value).__name__, [typed(v) for v in value])
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), str(value.tzinfo))
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    return (type(value).__name__, value)


def new_prepare(kind: str, raw: Any, problems: list[str] | None = None) -> tuple[Any, ...]:
    item = documents.prepare(kind, raw, problems)
    return (item.st_id, item.raw, item.raw_text, item.digest, item.columns, item.problems,
            tuple(item.head.__dict__.items()))


def outcome(fn, kind: str, raw: Any, problems: list[str] | None = None) -> Any:
    try:
        return typed(fn(kind, raw, problems))
    except Exception as exc:  # the same refusal, word for word
        return ("raises", type(exc).__name__, str(exc))


def assert_same(kind: str, raw: Any, problems: list[str] | None = None) -> None:
    expected = outcome(ref_prepare, kind, raw, problems)
    assert outcome(new_prepare, kind, raw, problems) == expected, (kind, raw)
    # a second time: the parsed dates now come from documents' cache
    assert outcome(new_prepare, kind, raw, problems) == expected, (kind, raw)
    if isinstance(raw, dict):
        try:
            before = ("ok", ref_content_hash(raw))
        except Exception as exc:
            before = ("raises", type(exc).__name__, str(exc))
        try:
            after = ("ok", documents.content_hash(raw))
        except Exception as exc:
            after = ("raises", type(exc).__name__, str(exc))
        assert after == before, raw


# --- the simulator's data, as the connector reads it and as the simulator holds it ---------------------

_SURROGATE = re.compile("[\ud800-\udfff]")
KINDS = (("purchase_orders", SourceKind.PURCHASE_ORDER), ("bills", SourceKind.INVENTORY_BILL),
         ("returns", SourceKind.INVENTORY_RETURN))


@pytest.fixture(scope="module")
def simulated() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(kind, record as parsed off the wire, record as the simulator holds it) for every record of a
    dataset with every hazard the simulator seeds (bad ids, huge and control-character texts, bidi marks,
    negative amounts, lone surrogates)."""
    data = Dataset(tenant=1234567, now=datetime(2026, 11, 30, 12, 0, tzinfo=UTC), purchase_orders=600)
    out = []
    for attr, kind in KINDS:
        for record in getattr(data, attr).values():
            # as the simulator sends it (ServiceTitanHandler.send_json): a lone surrogate as its JSON escape
            text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", jsonutil.dumps(record))
            wire = parsing.loads(text.encode("utf-8"))
            out.append((kind, wire, record))
    return out


def test_every_simulated_record_stores_the_same_bytes(simulated):
    kinds = {kind for kind, _wire, _held in simulated}
    assert kinds == {kind for _attr, kind in KINDS} and len(simulated) > 1000
    for kind, wire, held in simulated:
        assert_same(kind, wire)
        assert_same(kind, held)
    # the simulator's hazards are among them: a lone surrogate is scrubbed and named in both
    assert any("lone UTF-16 surrogate" in problem for kind, wire, _held in simulated
               for problem in documents.prepare(kind, wire).problems)


def test_every_simulated_record_under_each_other_kind(simulated):
    """A record read as another kind (a PO as a bill...): other fields missing or of other shapes."""
    for kind, wire, _held in simulated[::7]:
        for other in (SourceKind.PURCHASE_ORDER, SourceKind.INVENTORY_BILL, SourceKind.INVENTORY_RETURN):
            if other != kind:
                assert_same(other, wire)


class Colour(Enum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


class Texty(str, Enum):  # noqa: UP042 (deliberately not a StrEnum)
    ONE = 1  # a str mixin whose value is not its text


EVERY_CHARACTER = "".join(chr(i) for i in range(0x250)) + "\u2028\u2029\u202e\ufeff\U0001f600 é 😀"


def po(**extra: Any) -> dict[str, Any]:
    base = {"id": 40100000, "number": "10400-001", "status": "Received", "vendorId": 2003, "businessUnitId": 1001,
            "date": "2026-10-01T00:00:00Z", "modifiedOn": "2026-10-01T18:04:47.383Z", "total": Decimal("2346.80"),
            "batchId": None, "items": [{"id": 1, "cost": Decimal("2150.00"), "serialNumbers": []}]}
    base.update(extra)
    return base


ODDITIES: list[dict[str, Any] | Any] = [
    po(),
    po(status="Exported"),
    po(status="Exported", modifiedOn=None, batchId=None),
    po(status=DocStatus.READY),
    po(status=Colour.RED),
    po(summary="cut \ud83d here"),  # a lone surrogate: scrubbed and named, both ways
    po(status="Exported", summary="cut \ud83d here"),
    po(summary="\ud800", items=[{"memo": "a\udfffb"}, ["\ud83d"]], modifiedOn="2026-10-01T18:04:47\ud800Z"),
    {"\ud800key": 1, "id": 5},
    po(summary=EVERY_CHARACTER, vendorName="Ünïcödé Supply \u2028 line"),
    po(big=2 ** 70, neg=-(2 ** 63), edge=2 ** 64 - 1, over=2 ** 64),
    po(total=2 ** 70),
    po(f=1e-05, g=1e16, h=-0.0, i=0.1),
    po(total=1.5),
    po(total=float("nan")),
    po(nan=float("nan"), inf=float("inf"), ninf=float("-inf")),
    # what the connector's json.loads(parse_float=Decimal) makes of the NaN / Infinity literals: floats,
    # which orjson writes as null and json.dumps as NaN / Infinity, so a payload is walked before orjson
    parsing.loads(b'{"id": 77, "total": NaN, "tax": Infinity, "shipping": -Infinity, "items": [{"cost": NaN}]}'),
    po(total=Decimal("1E+2"), tax=Decimal("-0"), shipping=Decimal("0E-8"), x=Decimal("NaN"), y=Decimal("-Infinity")),
    po(total=Decimal("NaN")),
    po(total=Decimal("sNaN")),
    po(total="12.50"),
    po(total=" 7 "),
    po(total="abc"),
    po(total=True),
    po(total=[1]),
    po(nested=[[1, [2, [3, {"a": [Decimal("1.10"), None, True, "x"]}]]]], tup=(1, "a", (2,))),
    po(kind=SourceKind.INVENTORY_BILL, level=Level.HIGH, texty=Texty.ONE, colour=Colour.RED),
    po(when=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), naive=datetime(2026, 1, 2),
       other=datetime(2026, 1, 2, tzinfo=timezone(timedelta(hours=-5)))),
    po(date=datetime(2026, 1, 2, 3, 4, 5), modifiedOn=datetime(2026, 1, 2, tzinfo=timezone(timedelta(hours=2)))),
    po(date="2026-13-45", modifiedOn="yesterday"),
    po(date="2026-10-01", modifiedOn="2026-10-01T18:04:47+02:00"),
    po(date="2026-10-01T00:00:00Z", modifiedOn="2026-10-01T18:04:47.1234567Z"),
    po(date="2026-10-01T00:00:00ZZ"),
    po(date="", modifiedOn=None),
    po(date=20261001),
    po(date=0, modifiedOn=False),
    po(vendorId="2003", businessUnitId=True, number=None, id="40100000"),
    po(vendorId=Level.HIGH, businessUnitId=1.0, number=""),
    po(id=" 42 "),
    po(id=0),
    po(id=-5),
    po(id=True),
    po(id=None, number=None),
    po(id=2 ** 70),
    po(active=False),
    po(active=0),
    {1: "int key", "id": 7},
    {1: "int key", 2: "b"},
    {"id": 8, "modifiedOn": "2026-10-01T18:04:47.383Z", "syncStatus": "Pending"},  # nothing stable
    {"modifiedOn": "2026-10-01T18:04:47.383Z"},
    {},
    {"id": 9, "status": "Exported"},
    {"id": 10, "é": 1, "e": 2, "E": 3, "_": 4, "\U0001f600": 5, "\u00ff": 6, "\uffff": 7, "a\u0000": 8, "": 9},
    OrderedDict([("id", 11), ("modifiedOn", "2026-10-01T18:04:47.383Z"), ("total", Decimal("1.00"))]),
    "not an object",
    ["a", "list"],
    None,
    # a bill's and a return's shapes
    {"id": 50, "referenceNumber": "10452-001-R1", "vendor": {"id": 2003, "name": "Ace \u2028 Supply"},
     "businessUnit": {"id": 1001, "name": "HVAC"}, "billDate": "2026-10-02T00:00:00Z", "billAmount": Decimal("10.00"),
     "syncStatus": "Pending", "batch": {"id": 5, "number": "B-5"}, "postDate": None, "purchaseOrderId": 40100000},
    {"id": 51, "vendor": "Ace", "businessUnit": 7, "billAmount": "x", "purchaseOrderId": "40100000"},
    {"id": 52, "vendor": {"id": "2003", "name": None}, "businessUnit": {}, "billDate": "bad"},
    {"id": 60, "number": "RET-1", "status": 3, "vendorId": 2003, "returnAmount": Decimal("-5.00"),
     "creditReceivedOn": None, "returnDate": "2026-10-03T00:00:00Z", "purchaseOrderId": 40100000},
    {"id": 61, "status": "Canceled", "creditReceivedOn": "bad", "returnDate": "also bad", "returnAmount": None},
    {"id": 62, "creditReceivedOn": "2026-10-04T00:00:00Z", "returnDate": "bad"},
]


@pytest.mark.parametrize("kind", [SourceKind.PURCHASE_ORDER, SourceKind.INVENTORY_BILL, SourceKind.INVENTORY_RETURN])
@pytest.mark.parametrize("index", range(len(ODDITIES)))
def test_oddities_store_the_same_bytes(kind, index):
    raw = ODDITIES[index]
    assert_same(kind, raw)
    assert_same(kind, raw, ["PO 10400-001: vendor 0 does not exist in ServiceTitan", "total 'abc' is not a number"])


def test_the_date_cache_gives_what_parsing_gives(monkeypatch):
    """A date text read once is taken from the cache; a full cache starts over; neither changes a value."""
    monkeypatch.setattr(documents, "_DATES", {})
    monkeypatch.setattr(documents, "_DATES_MAX", 3)
    texts = [f"2026-10-{day:02d}T0{day % 10}:00:00Z" for day in range(1, 12)] + ["2026-10-01T00:00:00+05:00"]
    for _round in range(3):
        for text in texts:
            raw = po(date=text, modifiedOn=text)
            assert outcome(new_prepare, SourceKind.PURCHASE_ORDER, raw) == outcome(
                ref_prepare, SourceKind.PURCHASE_ORDER, raw)
    assert 0 < len(documents._DATES) <= 3


def test_pinned_bytes_and_hash():
    """Pinned (computed by the code before the change), so that a change to the reference too cannot
    pass unnoticed: the text a store holds for these payloads and their content hashes."""
    exported = documents.prepare(SourceKind.PURCHASE_ORDER, po(summary="Ünïcödé \u2028 😀", status="Exported"))
    assert exported.raw_text == (
        '{"batchId":null,"businessUnitId":1001,"date":"2026-10-01T00:00:00Z","id":40100000,"items":[{"cost":'
        '"2150.00","id":1,"serialNumbers":[]}],"modifiedOn":"2026-10-01T18:04:47.383Z","number":"10400-001",'
        '"status":"Exported","summary":"Ünïcödé \u2028 😀","total":"2346.80","vendorId":2003}')
    assert exported.digest == "5621d24857cd8d695f9417a89b4afe7f404164079ea00e7331c2f0544e054f3c"
    received = documents.prepare(SourceKind.PURCHASE_ORDER, po())
    assert received.raw_text == (  # the stable members sorted, then the volatile ones
        '{"businessUnitId":1001,"date":"2026-10-01T00:00:00Z","id":40100000,"items":[{"cost":"2150.00","id":1,'
        '"serialNumbers":[]}],"number":"10400-001","status":"Received","total":"2346.80","vendorId":2003,'
        '"batchId":null,"modifiedOn":"2026-10-01T18:04:47.383Z"}')
    assert received.digest == "4b4894bc3ac27b3ac87344c2ca77c46061b8ec3516c75969e919bffec56b87df"


def test_a_changed_byte_is_caught():
    """The comparison above is byte-exact: a text differing in one byte (a space) is told apart."""
    raw = po()
    st_id, clean, text, digest, columns, problems, head = ref_prepare(SourceKind.PURCHASE_ORDER, raw)
    item = documents.prepare(SourceKind.PURCHASE_ORDER, raw)
    assert item.raw_text == text and item.digest == digest
    assert typed(text.replace(",", ", ", 1)) != typed(item.raw_text)
    assert typed(item.columns) != typed({**columns, "total": float(columns["total"])})


def test_is_plain_and_dumps_plain_are_dumps_sorted_in_two_steps():
    for raw in ODDITIES:
        if not isinstance(raw, dict | list):
            continue
        try:
            expected = ("ok", ref_dumps_sorted(raw))
        except Exception as exc:
            expected = ("raises", type(exc).__name__)
        if jsontext.is_plain(raw):
            try:
                got = ("ok", jsontext.dumps_plain(raw))
            except TypeError:
                got = ("ok", ref_dumps_sorted(raw)) if expected[0] == "ok" else expected
        else:
            got = expected
        assert got == expected
        assert jsontext.is_plain(raw) == (type(raw) in (dict, list) and ref_plain(raw))
