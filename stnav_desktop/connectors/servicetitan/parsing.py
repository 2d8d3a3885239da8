"""Payload -> record parsing. Never raises on a bad record: every oddity becomes a problem string
on the record ("PO 10452: vendor 0 does not exist in ServiceTitan"). Exact money (Decimal), aware UTC
datetimes, ServiceTitan's quirks tolerated (offset-less datetimes, 7 fractional digits, money as
strings on bills, ``landedCostMethod: 0``, unknown extra fields)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any, TypeVar

import msgspec

from stnav_desktop.connectors.servicetitan.models import (
    BusinessUnit,
    GLAccount,
    GLAccountRef,
    InventoryBill,
    InventoryBillItem,
    InventoryLocation,
    InventoryReturn,
    InventoryReturnItem,
    Job,
    KnownIds,
    PurchaseOrder,
    PurchaseOrderItem,
    Sku,
    Vendor,
)

MAX_TEXT = 4000  # longer than any sane memo; NAV fields are far shorter anyway
MAX_NAME = 500
CENT = Decimal("0.01")
_ZERO = Decimal(0)
# bidi embeddings/overrides/isolates: can make "10.00" display as "00.01" (Trojan Source)
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BIDI_RE = re.compile("[" + "".join(sorted(_BIDI)) + "]")
_DT_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?$")


def loads(content: bytes | str) -> Any:
    """JSON with exact decimals (never float)."""
    return loads_vouched(content)[0]


def _fast_loads(content: bytes | str) -> Any:
    """msgspec's decoder with every non-integer number read as ``Decimal`` from its text: the same objects,
    in the same order, as ``json.loads(content, parse_float=Decimal)`` for any text it accepts
    (tests/servicetitan/test_json_decoding.py); raises ``msgspec.DecodeError`` for what it refuses and the
    standard library may still read (NaN/Infinity literals, escaped lone surrogates, a BOM, UTF-16)."""
    return msgspec.json.Decoder(float_hook=Decimal).decode(content)


def loads_vouched(content: bytes | str) -> tuple[Any, bool]:
    """``loads(content)`` and whether the result holds no float. msgspec reads what it can (it refuses NaN
    and Infinity, so what it reads holds none); the standard library the rest, where with
    ``parse_float=Decimal`` the scanner makes a float only of the literals ``NaN``, ``Infinity`` and
    ``-Infinity``, through ``parse_constant`` (json.decoder: the same floats as its own table): the hook
    notes each one, at no cost for a text without them (scanning the bytes instead took 70 ms a pull)."""
    try:
        return _fast_loads(content), True  # it refuses NaN and Infinity: what it reads holds no float
    except (msgspec.DecodeError, UnicodeEncodeError):  # (a text holding a lone surrogate has no UTF-8 form)
        pass  # the standard library decides, as before
    seen: list[str] = []

    def constant(name: str) -> float:
        seen.append(name)
        return float(name)

    return json.loads(content, parse_float=Decimal, parse_constant=constant), not seen


# -- scalars ------------------------------------------------------------------------------------
def parse_datetime(value: Any) -> datetime | None:
    """RFC 3339 / .NET datetimes -> aware UTC. Offset-less values are UTC; 0-7 fractional digits."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    if 20 <= len(text) <= 28 and text[-1] == "Z" and text[10:11] == "T" and text[19:20] in ("Z", "."):
        # fast path for the .NET UTC stamps: "...:SSZ" / "...:SS.f{1,7}Z" (fractions beyond 6 digits cut,
        # as below)
        try:
            return datetime.fromisoformat(text[:-1] + "+00:00")
        except ValueError:
            pass
    m = _DT_RE.match(text)
    if not m:
        raise ValueError(f"not a date-time: {str(value)[:40]!r}")
    date, time_, frac, zone = m.groups()
    time_ = time_ or "00:00:00"
    if len(time_) == 5:
        time_ += ":00"
    micro = (frac or "0")[:6].ljust(6, "0")
    if zone in (None, "Z"):
        zone = "+00:00"
    elif ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    return datetime.fromisoformat(f"{date}T{time_}.{micro}{zone}").astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """Aware datetime -> the RFC 3339 UTC form ServiceTitan filters take."""
    if value.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.astimezone(UTC).microsecond // 1000:03d}Z"


def parse_decimal(value: Any) -> Decimal | None:
    """Exact Decimal from a JSON number (already Decimal/int) or a string; ValueError if neither."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):  # only if a caller parsed JSON without parse_float=Decimal
        d = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{_clip(value)!r} is not a number") from None
    else:
        raise ValueError(f"{_clip(value)!r} is not a number")
    if not d.is_finite():
        raise ValueError(f"{_clip(value)!r} is not a number")
    return d


def text_problems(label: str, value: Any, limit: int = MAX_TEXT) -> list[str]:
    """Control characters, NUL, bidi overrides and absurd lengths in a text field."""
    if not isinstance(value, str) or not value:
        return []
    if len(value) <= limit and value.isprintable():
        return []  # fast path: no control character, NUL or bidi format character (none is printable)
    problems = []
    if "\x00" in value:
        problems.append(f"{label} contains a NUL character")
    elif _BAD_CHARS.search(value):
        problems.append(f"{label} contains control characters")
    if _BIDI_RE.search(value):
        problems.append(f"{label} contains bidirectional override characters")
    if len(value) > limit:
        problems.append(f"{label} is absurdly long ({len(value)} characters, limit {limit})")
    return problems


def _clip(value: Any, n: int = 40) -> str:
    s = str(value)
    return s if len(s) <= n else s[:n] + "..."


def _int(value: Any) -> int | None:
    if type(value) is int:
        return value
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, ArithmeticError):
        return None


def _str(value: Any) -> str:
    return "" if value is None else str(value)


class _Ctx:
    """Collects problems for one record with its label prefix."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.problems: list[str] = []

    def add(self, message: str) -> None:
        self.problems.append(f"{self.label}: {message}")

    def dt(self, raw: dict[str, Any], name: str) -> datetime | None:
        try:
            return parse_datetime(raw.get(name))
        except ValueError as exc:
            self.add(f"{name} {exc}")
            return None

    def money(self, raw: dict[str, Any], name: str, *, negative_ok: bool = False, label: str | None = None
              ) -> Decimal | None:
        label = label or name
        value = raw.get(name)
        if type(value) is Decimal and value.is_finite() and (negative_ok or value >= 0):
            return value  # the common case (JSON numbers are read as Decimal): nothing to say
        try:
            d = parse_decimal(value)
        except ValueError as exc:
            self.add(f"{label} {exc}")
            return None
        if d is not None and d < 0 and not negative_ok:
            self.add(f"{label} {d} is negative")
        return d

    def text(self, raw: dict[str, Any], name: str, limit: int = MAX_TEXT) -> str:
        value = raw.get(name)
        if type(value) is str and len(value) <= limit and value.isprintable():
            return value  # text_problems' fast path, without the call
        for p in text_problems(name, value, limit):
            self.add(p)
        return _str(value)


def _record_id(raw: dict[str, Any], ctx: _Ctx) -> int:
    rid = _int(raw.get("id"))
    if rid is None:
        ctx.add("has no id")
        return 0
    return rid


# -- export feeds: the fast paths ---------------------------------------------------------------
# The three export parsers below run on every record of a first pull (tens of thousands), so they avoid
# per-record work that finds nothing: a problem is collected as its bare message (``line 3: cost -1 is
# negative``) and the record's label ("PO 10452: ") is put in front only when the record has one; the
# common value types (Decimal and int money, printable text, int ids, UTC stamps) are taken without
# the general helpers, which still decide everything else, so every problem string and value is the one
# the general path gives (tests/servicetitan/test_parsing_equivalence.py holds them to the old parsers).

# stamp text -> datetime: stamps repeat across a page (modifiedOn = createdOn, a PO's dates on its bill);
# a pure function of the text, so sharing the (immutable) datetimes is safe. Bounded to about two pages'
# distinct stamps and cleared when full: a whole pull's stamps (55,000, 8 MB) would stay alive for nothing.
# Shared by threads: a lost entry or a clear under another thread's feet costs a re-parse, never a wrong value
_DT_MEMO: dict[str, datetime] = {}
_DT_MEMO_MAX = 4096
# (id, name, number, type, detailType) -> GLAccountRef (frozen): a tenant has few GL accounts and every
# bill line names two or three of them
_GL_MEMO: dict[tuple[int, str | None, str | None, str | None, str | None], GLAccountRef] = {}
_GL_MEMO_MAX = 4096
# money text -> Decimal (bills send amounts as strings: "1", "2150.00" repeat); only finite, non-negative
# values, the ones that raise no problem; bounded as the stamps
_MONEY_MEMO: dict[str, Decimal] = {}
_MONEY_MEMO_MAX = 4096


T = TypeVar("T")


def _maker(cls: type[T]) -> Callable[..., T]:
    """A constructor for one of the slotted, non-frozen record dataclasses that takes every field
    POSITIONALLY, in the order of ``dataclasses.fields(cls)`` (base class fields first), and sets the slots
    without going through ``cls(**fields)``: a class called with 27 keywords costs ~1.1 us (type.__call__
    packs them in a dict, the generated ``__init__`` matches them to its parameters), the positional
    constructor ~0.2 us, and a first pull builds some 120,000 of these objects. No defaults are filled in;
    only for classes without ``__post_init__`` (checked here). Callers pass locals named as the fields,
    so a misplaced argument shows; tests/servicetitan/test_parsing_equivalence.py compares every field."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or params.frozen or "__slots__" not in cls.__dict__ or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: not a slotted, non-frozen dataclass without __post_init__")
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    source = (f"def make_{cls.__name__}({', '.join(names)}, /):\n    o = new(cls)\n"
              + "".join(f"    o.{n} = {n}\n" for n in names) + "    return o\n")
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    exec(source, namespace)  # code built from the dataclass's own field names, as dataclasses does
    return namespace[f"make_{cls.__name__}"]  # type: ignore[no-any-return]


_new_po = _maker(PurchaseOrder)
_new_po_item = _maker(PurchaseOrderItem)
_new_bill = _maker(InventoryBill)
_new_bill_item = _maker(InventoryBillItem)
_new_return = _maker(InventoryReturn)
_new_return_item = _maker(InventoryReturnItem)


def _reset_caches() -> None:
    """For benchmarks and tests: forget the memos."""
    _DT_MEMO.clear()
    _GL_MEMO.clear()
    _MONEY_MEMO.clear()


def _add(probs: list[str], line: Any, message: str) -> None:
    probs.append(message if line is None else f"line {line}: {message}")


def _labelled(label: str, probs: list[str]) -> list[str]:
    return [f"{label}: {m}" for m in probs]


def _money(value: Any, label: str, probs: list[str], line: Any = None) -> Decimal | None:
    """``_Ctx.money`` (negative not allowed) without the context object."""
    t = type(value)
    if t is Decimal:
        if value.is_finite() and value >= 0:
            return value  # type: ignore[no-any-return]
    elif t is int:
        if value >= 0:
            return Decimal(value)
    elif t is str:
        d = _MONEY_MEMO.get(value)
        if d is not None:
            return d
        text = value.strip()
        if text:
            try:
                d = Decimal(text)
            except InvalidOperation:
                pass
            else:
                if d.is_finite() and d >= 0:
                    if len(_MONEY_MEMO) >= _MONEY_MEMO_MAX:
                        _MONEY_MEMO.clear()
                    _MONEY_MEMO[value] = d
                    return d
    elif value is None:
        return None
    try:  # everything else: the general path says what is wrong
        d2 = parse_decimal(value)
    except ValueError as exc:
        _add(probs, line, f"{label} {exc}")
        return None
    if d2 is not None and d2 < 0:
        _add(probs, line, f"{label} {d2} is negative")
    return d2


def _text(value: Any, name: str, limit: int, probs: list[str], line: Any = None) -> str:
    """``_Ctx.text`` past its fast path (callers test ``type(v) is str and len(v) <= limit and
    v.isprintable()`` themselves)."""
    for p in text_problems(name, value, limit):
        _add(probs, line, p)
    return "" if value is None else str(value)


def _dt(value: Any, name: str, probs: list[str]) -> datetime | None:
    """``_Ctx.dt`` with the stamp memo."""
    if value is None:
        return None
    d = None
    if type(value) is str:
        d = _DT_MEMO.get(value)
        if d is not None:
            return d
        if 20 <= len(value) <= 28 and value[-1] == "Z" and value[10] == "T" and value[19] in "Z.":
            # parse_datetime's fast path for the .NET UTC stamps, without its call and strip (a stamp
            # ending in "Z" that fromisoformat reads has no space to strip at either end)
            try:
                d = datetime.fromisoformat(value[:-1] + "+00:00")
            except ValueError:
                d = None
    try:
        if d is None:
            d = parse_datetime(value)
    except ValueError as exc:
        probs.append(f"{name} {exc}")
        return None
    if d is not None and type(value) is str:
        if len(_DT_MEMO) >= _DT_MEMO_MAX:
            _DT_MEMO.clear()
        _DT_MEMO[value] = d
    return d


def _party_checks(probs: list[str], vendor_id: int | None, bu_id: int | None, known: KnownIds | None) -> None:
    """The vendor, then the business unit: missing, 0, or not among the tenant's ids."""
    if vendor_id is None or vendor_id == 0:
        probs.append(f"vendor {vendor_id if vendor_id is not None else '(none)'} does not exist in ServiceTitan")
    elif known is not None and known.vendors and vendor_id not in known.vendors:
        probs.append(f"vendor {vendor_id} does not exist in ServiceTitan")
    if bu_id is None:
        probs.append("has no business unit (territory)")
    elif known is not None and known.business_units and bu_id not in known.business_units:
        probs.append(f"business unit {bu_id} is not a known ServiceTitan business unit")


def _rid(value: Any, probs: list[str]) -> int:
    if type(value) is int:
        return value
    rid = _int(value)
    if rid is None:
        probs.append("has no id")
        return 0
    return rid


# -- purchase orders -----------------------------------------------------------------------------
# the fields each parser reads, fetched in one C call (itemgetter) when the payload has them all, as the
# export feeds' payloads do; a payload without some falls back to dict.get (None for the missing ones)
def _read(payload: Any, take: Callable[[Any], Any], keys: tuple[str, ...]) -> tuple[Any, ...]:
    """``payload``'s values for ``keys`` in one C call (``take`` is ``itemgetter(*keys)``); ``dict.get``'s None
    for a key it lacks. What is not a dict fails on ``.get``, as it always did."""
    if type(payload) is dict and len(payload) >= len(keys):
        try:
            return take(payload)  # type: ignore[no-any-return]
        except KeyError:
            pass
    return tuple(map(payload.get, keys))


_PO_KEYS = ("id", "items", "vendorId", "businessUnitId", "number", "vendorDocumentNumber", "date", "requiredOn",
            "sentOn", "receivedOn", "createdOn", "modifiedOn", "total", "tax", "shipping", "summary", "customFields",
            "status", "typeId", "jobId", "projectId", "technicianId", "inventoryLocationId", "invoiceId", "shipTo")
_PO_FIELDS = itemgetter(*_PO_KEYS)
_PO_ITEM_KEYS = ("id", "skuId", "skuCode", "skuName", "skuType", "description", "vendorPartNumber", "quantity",
                 "quantityReceived", "cost", "total", "status", "chargeable")
_PO_ITEM_FIELDS = itemgetter(*_PO_ITEM_KEYS)


def parse_purchase_order(raw: dict[str, Any], known: KnownIds | None = None) -> PurchaseOrder:
    values = _read(raw, _PO_FIELDS, _PO_KEYS)
    (rid, raw_items, vendor_id, bu_id, number, vendor_document_number, date, required_on, sent_on, received_on,
     created_on, modified_on, total, tax, shipping, summary, custom_fields, status, type_id, job_id, project_id,
     technician_id, inventory_location_id, invoice_id, ship_to) = values
    probs: list[str] = []
    if type(rid) is not int:
        rid = _rid(rid, probs)
    items = []
    item_totals = []
    totals_known = True
    for i, item in enumerate(raw_items or []):
        if not isinstance(item, dict):
            probs.append(f"item {i + 1} is not an object")
            continue
        fields = _read(item, _PO_ITEM_FIELDS, _PO_ITEM_KEYS)
        (item_id, sku_id, sku_code, sku_name, sku_type, description, vendor_part_number, quantity,
         quantity_received, cost, line_total, line_status, chargeable) = fields
        n = i + 1
        if type(item_id) is not int:
            item_id = _int(item_id) or 0
        if type(sku_id) is not int and sku_id is not None:
            sku_id = _int(sku_id)
        if not (type(sku_code) is str and len(sku_code) <= MAX_NAME and sku_code.isprintable()):
            sku_code = _text(sku_code, "skuCode", MAX_NAME, probs, n)
        if not (type(sku_name) is str and len(sku_name) <= MAX_NAME and sku_name.isprintable()):
            sku_name = _text(sku_name, "skuName", MAX_NAME, probs, n)
        if type(sku_type) is not str:
            sku_type = _str(sku_type)
        if not (type(description) is str and len(description) <= MAX_TEXT and description.isprintable()):
            description = _text(description, "description", MAX_TEXT, probs, n)
        if not (type(vendor_part_number) is str and len(vendor_part_number) <= MAX_NAME
                and vendor_part_number.isprintable()):
            vendor_part_number = _text(vendor_part_number, "vendorPartNumber", MAX_NAME, probs, n)
        quantity = (Decimal(quantity) if type(quantity) is int and quantity >= 0
                    else _money(quantity, "quantity", probs, n))
        quantity_received = (Decimal(quantity_received) if type(quantity_received) is int and quantity_received >= 0
                             else _money(quantity_received, "quantityReceived", probs, n))
        if not (type(cost) is Decimal and cost.is_finite() and cost >= _ZERO):
            cost = _money(cost, "cost", probs, n)
        if not (type(line_total) is Decimal and line_total.is_finite() and line_total >= _ZERO):
            line_total = _money(line_total, "total", probs, n)
        if type(line_status) is not str:
            line_status = _str(line_status)
        items.append(_new_po_item(  # PurchaseOrderItem's fields, in order
            item_id, sku_id, sku_code, sku_name, sku_type, description, vendor_part_number, quantity,
            quantity_received, cost, line_total, line_status, bool(chargeable), item))
        if line_total is None:
            totals_known = False
        else:
            item_totals.append(line_total)
    if type(vendor_id) is not int and vendor_id is not None:
        vendor_id = _int(vendor_id)
    if type(bu_id) is not int and bu_id is not None:
        bu_id = _int(bu_id)
    _party_checks(probs, vendor_id, bu_id, known)
    label_number = number  # the record's label: "PO {number or id}"
    if not (type(number) is str and len(number) <= MAX_NAME and number.isprintable()):
        number = _text(number, "number", MAX_NAME, probs)
    if not (type(vendor_document_number) is str and len(vendor_document_number) <= MAX_NAME
            and vendor_document_number.isprintable()):
        vendor_document_number = _text(vendor_document_number, "vendorDocumentNumber", MAX_NAME, probs)
    memo = _DT_MEMO
    date = (type(date) is str and memo.get(date)) or _dt(date, "date", probs)
    required_on = (type(required_on) is str and memo.get(required_on)) or _dt(required_on, "requiredOn", probs)
    sent_on = (type(sent_on) is str and memo.get(sent_on)) or _dt(sent_on, "sentOn", probs)
    received_on = (type(received_on) is str and memo.get(received_on)) or _dt(received_on, "receivedOn", probs)
    created_on = (type(created_on) is str and memo.get(created_on)) or _dt(created_on, "createdOn", probs)
    modified_on = (type(modified_on) is str and memo.get(modified_on)) or _dt(modified_on, "modifiedOn", probs)
    if not (type(total) is Decimal and total.is_finite() and total >= _ZERO):
        total = _money(total, "total", probs)
    if not (type(tax) is Decimal and tax.is_finite() and tax >= _ZERO):
        tax = _money(tax, "tax", probs)
    if not (type(shipping) is Decimal and shipping.is_finite() and shipping >= _ZERO):
        shipping = _money(shipping, "shipping", probs)
    if not (type(summary) is str and len(summary) <= MAX_TEXT and summary.isprintable()):
        summary = _text(summary, "summary", MAX_TEXT, probs)
    custom_fields = list(custom_fields or [])
    if total is not None and tax is not None and shipping is not None and totals_known:
        expected = sum(item_totals, _ZERO) + tax + shipping
        if abs(expected - total) > CENT:
            probs.append(f"total {total} does not match items + tax + shipping ({expected})")
    problems = _labelled(f"PO {label_number or values[0]}", probs) if probs else []
    if type(status) is not str:
        status = _str(status)
    if type(type_id) is not int:
        type_id = _int(type_id)
    if type(job_id) is not int:
        job_id = _int(job_id)
    if type(project_id) is not int:
        project_id = _int(project_id)
    if type(technician_id) is not int:
        technician_id = _int(technician_id)
    if type(inventory_location_id) is not int:
        inventory_location_id = _int(inventory_location_id)
    if type(invoice_id) is not int:
        invoice_id = _int(invoice_id)
    return _new_po(  # PurchaseOrder's fields, in order
        rid, modified_on, raw, problems, number, status, type_id, vendor_id, bu_id, job_id, project_id,
        technician_id, inventory_location_id, invoice_id, vendor_document_number, date, required_on, sent_on,
        received_on, created_on, total, tax, shipping, summary, ship_to, items, custom_fields)


# -- inventory bills -----------------------------------------------------------------------------
def _named(value: Any) -> tuple[int | None, str | None]:
    if isinstance(value, dict):
        return _int(value.get("id")), value.get("name")
    return None, None


_GL_KEYS = ("id", "name", "number", "type", "detailType")
_GL_FIELDS = itemgetter(*_GL_KEYS)


def _gl_ref(value: Any) -> GLAccountRef | None:
    if type(value) is dict:
        try:
            key = _GL_FIELDS(value)
        except KeyError:
            key = None
        # an int id (not True, 1.0 or Decimal(1), which equal 1 but are no id); the memo holds only
        # str/None texts, and a str equals only the same str
        if key is not None and type(key[0]) is int:
            try:
                ref = _GL_MEMO.get(key)
            except TypeError:  # a dict or list among the values
                ref = None
            if ref is not None:
                return ref
    if not isinstance(value, dict):
        return None
    get = value.get
    gid, name, number, typ, detail = get("id"), get("name"), get("number"), get("type"), get("detailType")
    if _int(gid) is None:
        return None
    ref = GLAccountRef(id=_int(value["id"]) or 0, name=name, number=number, type=typ, detail_type=detail)
    if (type(gid) is int and (type(name) is str or name is None) and (type(number) is str or number is None)
            and (type(typ) is str or typ is None) and (type(detail) is str or detail is None)):
        if len(_GL_MEMO) >= _GL_MEMO_MAX:
            _GL_MEMO.clear()
        _GL_MEMO[(gid, name, number, typ, detail)] = ref
    return ref


_BILL_KEYS = ("id", "vendor", "businessUnit", "items", "active", "summary", "billDate", "dueDate", "billAmount",
              "taxAmount", "shippingAmount", "otherAmount", "createdOn", "modifiedOn", "referenceNumber",
              "vendorNumber", "purchaseOrderId", "syncStatus", "jobId", "jobNumber", "termName")
_BILL_FIELDS = itemgetter(*_BILL_KEYS)
_BILL_ITEM_KEYS = ("order", "quantity", "cost", "generalLedgerAccount", "id", "skuId", "skuCode", "skuType", "name",
                   "description", "inventoryLocation", "receiptItemId", "costOfSaleAccount", "assetAccount")
_BILL_ITEM_FIELDS = itemgetter(*_BILL_ITEM_KEYS)


def parse_inventory_bill(raw: dict[str, Any], known: KnownIds | None = None) -> InventoryBill:
    values = _read(raw, _BILL_FIELDS, _BILL_KEYS)
    (rid, vendor, business_unit, raw_items, active, summary, bill_date, due_date, bill_amount, tax_amount,
     shipping_amount, other_amount, created_on, modified_on, reference_number, vendor_number, purchase_order_id,
     sync_status, job_id, job_number, term_name) = values
    probs: list[str] = []
    if type(rid) is not int:
        rid = _rid(rid, probs)
    vendor_id, vendor_name = _named(vendor)
    bu_id, bu_name = _named(business_unit)
    _party_checks(probs, vendor_id, bu_id, known)
    money_memo = _MONEY_MEMO
    items = []
    amounts = []
    amounts_known = True
    for i, item in enumerate(raw_items or []):
        if not isinstance(item, dict):
            probs.append(f"line {i + 1} is not an object")
            continue
        fields = _read(item, _BILL_ITEM_FIELDS, _BILL_ITEM_KEYS)
        (order, qty, cost, gl, item_id, sku_id, sku_code, sku_type, name, description, inventory_location,
         receipt_item_id, cost_of_sale, asset) = fields
        n = order or i + 1
        qty = (type(qty) is str and money_memo.get(qty)) or _money(qty, "quantity", probs, n)
        cost = (type(cost) is str and money_memo.get(cost)) or _money(cost, "cost", probs, n)
        gl = _gl_ref(gl)
        if gl is None:
            _add(probs, n, "has no GL account")
        if type(item_id) is not int:
            item_id = _int(item_id) or 0
        if type(order) is not int and order is not None:
            order = _int(order)
        if type(sku_id) is not int and sku_id is not None:
            sku_id = _int(sku_id)
        if not (type(sku_code) is str and len(sku_code) <= MAX_NAME and sku_code.isprintable()):
            sku_code = _text(sku_code, "skuCode", MAX_NAME, probs, n)
        if type(sku_type) is not str:
            sku_type = _str(sku_type)
        if not (type(name) is str and len(name) <= MAX_NAME and name.isprintable()):
            name = _text(name, "name", MAX_NAME, probs, n)
        if not (type(description) is str and len(description) <= MAX_TEXT and description.isprintable()):
            description = _text(description, "description", MAX_TEXT, probs, n)
        amount = (qty * cost) if qty is not None and cost is not None else None
        if type(receipt_item_id) is not int and receipt_item_id is not None:
            receipt_item_id = _int(receipt_item_id)
        items.append(_new_bill_item(  # InventoryBillItem's fields, in order
            item_id, order, sku_id, sku_code, sku_type, name, description, qty, cost, amount, inventory_location,
            receipt_item_id, gl, _gl_ref(cost_of_sale), _gl_ref(asset), item))
        if amount is None:
            amounts_known = False
        else:
            amounts.append(amount)
    if not (type(summary) is str and len(summary) <= MAX_TEXT and summary.isprintable()):
        summary = _text(summary, "summary", MAX_TEXT, probs)
    memo = _DT_MEMO
    bill_date = (type(bill_date) is str and memo.get(bill_date)) or _dt(bill_date, "billDate", probs)
    due_date = (type(due_date) is str and memo.get(due_date)) or _dt(due_date, "dueDate", probs)
    bill_amount = (type(bill_amount) is str and money_memo.get(bill_amount)) or _money(
        bill_amount, "bill amount", probs)
    tax_amount = (type(tax_amount) is str and money_memo.get(tax_amount)) or _money(tax_amount, "tax amount", probs)
    shipping_amount = (type(shipping_amount) is str and money_memo.get(shipping_amount)) or _money(
        shipping_amount, "shipping amount", probs)
    other_amount = (type(other_amount) is str and money_memo.get(other_amount)) or _money(
        other_amount, "other amount", probs)
    created_on = (type(created_on) is str and memo.get(created_on)) or _dt(created_on, "createdOn", probs)
    modified_on = (type(modified_on) is str and memo.get(modified_on)) or _dt(modified_on, "modifiedOn", probs)
    for field_name, value in (("referenceNumber", reference_number), ("vendorNumber", vendor_number)):
        if not (type(value) is str and len(value) <= MAX_NAME and value.isprintable()):
            probs.extend(text_problems(field_name, value, MAX_NAME))
    label = None
    if bill_amount is None:
        label = f"bill {reference_number or values[0]}"
        if "bill amount" not in " ".join(_labelled(label, probs)):
            probs.append("has no bill amount")
    if bill_amount is not None and items and amounts_known:
        expected = (sum(amounts, _ZERO)
                    + (tax_amount or 0) + (shipping_amount or 0) + (other_amount or 0))
        if abs(expected - bill_amount) > CENT:
            probs.append(f"bill amount {bill_amount} does not match lines + tax + shipping ({expected})")
    if probs and label is None:
        label = f"bill {reference_number or values[0]}"
    problems = _labelled(label, probs) if label is not None and probs else []
    if type(purchase_order_id) is not int:
        purchase_order_id = _int(purchase_order_id)
    if type(job_id) is not int:
        job_id = _int(job_id)
    return _new_bill(  # InventoryBill's fields, in order
        rid, modified_on, raw, problems, purchase_order_id, sync_status, reference_number, vendor_number,
        summary or None, bill_date, due_date, bill_amount, tax_amount, shipping_amount, other_amount, vendor_id,
        vendor_name, bu_id, bu_name, job_id, job_number, term_name, created_on,
        True if active is None else bool(active), items)


# -- inventory returns ---------------------------------------------------------------------------
def parse_inventory_return(raw: dict[str, Any], known: KnownIds | None = None) -> InventoryReturn:
    """Export_Returns (tenant-inventory-v2.json, Inventory.V2.ExportReturnsResponse): ids rather than
    objects, ``status`` an enum (Pending, Returned, CreditReceived, Canceled), money as numbers,
    ``returnAmount`` the total including tax and shipping. Problems, never exceptions."""
    probs: list[str] = []
    get = raw.get
    rid = _rid(get("id"), probs)
    vendor_id = _int(get("vendorId"))
    bu_id = _int(get("businessUnitId"))
    _party_checks(probs, vendor_id, bu_id, known)
    items = []
    for i, item in enumerate(get("items") or []):
        if not isinstance(item, dict):
            probs.append(f"line {i + 1} is not an object")
            continue
        n = i + 1
        iget = item.get
        v = iget("code")
        code = v if type(v) is str and len(v) <= MAX_NAME and v.isprintable() else _text(v, "code", MAX_NAME, probs, n)
        v = iget("name")
        name = v if type(v) is str and len(v) <= MAX_NAME and v.isprintable() else _text(v, "name", MAX_NAME, probs, n)
        item_id = _int(iget("id")) or 0
        sku_id = _int(iget("skuId"))
        quantity = _money(iget("quantity"), "quantity", probs, n)
        cost = _money(iget("cost"), "cost", probs, n)
        items.append(_new_return_item(  # InventoryReturnItem's fields, in order
            item_id, sku_id, code, name, quantity, cost, iget("active") is not False, item))
    status = get("status")
    v = get("number")
    number = v if type(v) is str and len(v) <= MAX_NAME and v.isprintable() else _text(v, "number", MAX_NAME, probs)
    return_amount = _money(get("returnAmount"), "return amount", probs)
    tax_amount = _money(get("taxAmount"), "tax amount", probs)
    shipping_amount = _money(get("shippingAmount"), "shipping amount", probs)
    credit_received_on = _dt(get("creditReceivedOn"), "creditReceivedOn", probs)
    modified_on = _dt(get("modifiedOn"), "modifiedOn", probs)
    v = get("memo")
    if not (type(v) is str and len(v) <= MAX_TEXT and v.isprintable()):
        probs.extend(text_problems("memo", v, MAX_TEXT))
    if return_amount is not None and items and all(it.quantity is not None and it.cost is not None
                                                   for it in items if it.active):
        expected = (sum((it.quantity * it.cost for it in items if it.active), Decimal(0))  # type: ignore[operator]
                    + (tax_amount or 0) + (shipping_amount or 0))
        if abs(expected - return_amount) > CENT:
            probs.append(f"return amount {return_amount} does not match lines + tax + shipping ({expected})")
    problems = _labelled(f"return {get('number') or get('id')}", probs) if probs else []
    return _new_return(  # InventoryReturn's fields, in order
        rid, modified_on, raw, problems, number, status if isinstance(status, str) else "",
        get("active") is not False, vendor_id, _int(get("purchaseOrderId")), bu_id, _int(get("jobId")),
        return_amount, tax_amount, shipping_amount, credit_received_on, items)


# -- reference data ------------------------------------------------------------------------------
def parse_vendor(raw: dict[str, Any]) -> Vendor:
    ctx = _Ctx(f"vendor {raw.get('id')}")
    rid = _record_id(raw, ctx)
    name = ctx.text(raw, "name", MAX_NAME)
    if not name.strip():
        ctx.add("has no name")
    return Vendor(id=rid, name=name, active=bool(raw.get("active", True)), memo=ctx.text(raw, "memo"),
                  default_tax_rate=ctx.money(raw, "defaultTaxRate"), address=raw.get("address"),
                  contact=raw.get("contactInfo"), modified_on=ctx.dt(raw, "modifiedOn"), raw=raw,
                  problems=ctx.problems)


def parse_sku(raw: dict[str, Any], kind: str) -> Sku:
    ctx = _Ctx(f"{kind.lower()} {raw.get('code') or raw.get('id')}")
    rid = _record_id(raw, ctx)
    vendor = pv if isinstance(pv := raw.get("primaryVendor"), dict) else {}
    return Sku(id=rid, kind=kind, code=ctx.text(raw, "code", MAX_NAME), display_name=raw.get("displayName"),
               description=ctx.text(raw, "description"), cost=ctx.money(raw, "cost"),
               active=bool(raw.get("active", True)), unit_of_measure=raw.get("unitOfMeasure"),
               primary_vendor_id=_int(vendor.get("vendorId")), account=raw.get("account"),
               cost_of_sale_account=raw.get("costOfSaleAccount"), asset_account=raw.get("assetAccount"),
               gl_account_id=_int(raw.get("generalLedgerAccountId")), modified_on=ctx.dt(raw, "modifiedOn"),
               raw=raw, problems=ctx.problems)


def parse_business_unit(raw: dict[str, Any]) -> BusinessUnit:
    ctx = _Ctx(f"business unit {raw.get('id')}")
    rid = _record_id(raw, ctx)
    return BusinessUnit(id=rid, name=ctx.text(raw, "name", MAX_NAME), active=bool(raw.get("active", True)),
                        official_name=raw.get("officialName"), account_code=raw.get("accountCode"),
                        quickbooks_class=raw.get("quickbooksClass"), modified_on=ctx.dt(raw, "modifiedOn"),
                        raw=raw, problems=ctx.problems)


def parse_gl_account(raw: dict[str, Any]) -> GLAccount:
    ctx = _Ctx(f"GL account {raw.get('number') or raw.get('id')}")
    rid = _record_id(raw, ctx)
    return GLAccount(id=rid, name=raw.get("name"), number=raw.get("number"), type=raw.get("type"),
                     subtype=raw.get("subtype"), active=bool(raw.get("active", True)),
                     default_account_type=raw.get("defaultAccountType"), modified_on=ctx.dt(raw, "modifiedOn"),
                     raw=raw, problems=ctx.problems)


def parse_job(raw: dict[str, Any]) -> Job:
    ctx = _Ctx(f"job {raw.get('jobNumber') or raw.get('id')}")
    rid = _record_id(raw, ctx)
    return Job(id=rid, job_number=_str(raw.get("jobNumber")), business_unit_id=_int(raw.get("businessUnitId")),
               job_status=_str(raw.get("jobStatus")), customer_id=_int(raw.get("customerId")),
               location_id=_int(raw.get("locationId")), project_id=_int(raw.get("projectId")),
               total=ctx.money(raw, "total", negative_ok=True), modified_on=ctx.dt(raw, "modifiedOn"), raw=raw,
               problems=ctx.problems)


def parse_inventory_location(raw: dict[str, Any], kind: str = "Warehouse") -> InventoryLocation:
    ctx = _Ctx(f"{kind.lower()} {raw.get('id')}")
    rid = _record_id(raw, ctx)
    return InventoryLocation(id=rid, name=ctx.text(raw, "name", MAX_NAME), kind=kind,
                             active=bool(raw.get("active", True)), address=raw.get("address"),
                             modified_on=ctx.dt(raw, "modifiedOn"), raw=raw, problems=ctx.problems)
