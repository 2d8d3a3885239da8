"""Payload -> record parsing. Never raises on a bad record: every oddity becomes a problem string
on the record ("PO 10452: vendor 0 does not exist in ServiceTitan"). Exact money (Decimal), aware UTC
datetimes, ServiceTitan's quirks tolerated (offset-less datetimes, 7 fractional digits, money as
strings on bills, ``landedCostMethod: 0``, unknown extra fields)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

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
# bidi embeddings/overrides/isolates: can make "10.00" display as "00.01" (Trojan Source)
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BIDI_RE = re.compile("[" + "".join(sorted(_BIDI)) + "]")
_DT_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?$")


def loads(content: bytes | str) -> Any:
    """JSON with exact decimals (never float)."""
    return json.loads(content, parse_float=Decimal)


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


def _check_vendor(ctx: _Ctx, vendor_id: int | None, known: KnownIds | None) -> None:
    if vendor_id is None or vendor_id == 0:
        ctx.add(f"vendor {vendor_id if vendor_id is not None else '(none)'} does not exist in ServiceTitan")
    elif known is not None and known.vendors and vendor_id not in known.vendors:
        ctx.add(f"vendor {vendor_id} does not exist in ServiceTitan")


def _check_bu(ctx: _Ctx, bu_id: int | None, known: KnownIds | None) -> None:
    if bu_id is None:
        ctx.add("has no business unit (territory)")
    elif known is not None and known.business_units and bu_id not in known.business_units:
        ctx.add(f"business unit {bu_id} is not a known ServiceTitan business unit")


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
# a pure function of the text, so sharing the (immutable) datetimes is safe; bounded, cleared when full
_DT_MEMO: dict[str, datetime] = {}
_DT_MEMO_MAX = 1 << 16
# (id, name, number, type, detailType) -> GLAccountRef (frozen): a tenant has few GL accounts and every
# bill line names two or three of them
_GL_MEMO: dict[tuple[int, str | None, str | None, str | None, str | None], GLAccountRef] = {}
_GL_MEMO_MAX = 4096


def _reset_caches() -> None:
    """For benchmarks and tests: forget the memos."""
    _DT_MEMO.clear()
    _GL_MEMO.clear()


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
        text = value.strip()
        if text:
            try:
                d = Decimal(text)
            except InvalidOperation:
                pass
            else:
                if d.is_finite() and d >= 0:
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
    if type(value) is str:
        d = _DT_MEMO.get(value)
        if d is not None:
            return d
    try:
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
    """``_check_vendor`` then ``_check_bu``."""
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
def parse_purchase_order(raw: dict[str, Any], known: KnownIds | None = None) -> PurchaseOrder:
    probs: list[str] = []
    get = raw.get
    rid = _rid(get("id"), probs)
    items = []
    item_totals = []
    totals_known = True
    for i, item in enumerate(get("items") or []):
        if not isinstance(item, dict):
            probs.append(f"item {i + 1} is not an object")
            continue
        n = i + 1
        iget = item.get
        v = iget("id")
        item_id = (v if type(v) is int else _int(v)) or 0
        v = iget("skuId")
        sku_id = v if type(v) is int or v is None else _int(v)
        v = iget("skuCode")
        sku_code = v if type(v) is str and len(v) <= MAX_NAME and v.isprintable() else _text(
            v, "skuCode", MAX_NAME, probs, n)
        v = iget("skuName")
        sku_name = v if type(v) is str and len(v) <= MAX_NAME and v.isprintable() else _text(
            v, "skuName", MAX_NAME, probs, n)
        v = iget("skuType")
        sku_type = v if type(v) is str else _str(v)
        v = iget("description")
        description = v if type(v) is str and len(v) <= MAX_TEXT and v.isprintable() else _text(
            v, "description", MAX_TEXT, probs, n)
        v = iget("vendorPartNumber")
        vendor_part_number = v if type(v) is str and len(v) <= MAX_NAME and v.isprintable() else _text(
            v, "vendorPartNumber", MAX_NAME, probs, n)
        v = iget("quantity")
        quantity = Decimal(v) if type(v) is int and v >= 0 else _money(v, "quantity", probs, n)
        v = iget("quantityReceived")
        quantity_received = Decimal(v) if type(v) is int and v >= 0 else _money(v, "quantityReceived", probs, n)
        v = iget("cost")
        cost = v if type(v) is Decimal and v.is_finite() and v >= 0 else _money(v, "cost", probs, n)
        v = iget("total")
        total = v if type(v) is Decimal and v.is_finite() and v >= 0 else _money(v, "total", probs, n)
        v = iget("status")
        items.append(PurchaseOrderItem(
            id=item_id, sku_id=sku_id, sku_code=sku_code, sku_name=sku_name, sku_type=sku_type,
            description=description, vendor_part_number=vendor_part_number, quantity=quantity,
            quantity_received=quantity_received, cost=cost, total=total, status=v if type(v) is str else _str(v),
            chargeable=bool(iget("chargeable")), raw=item))
        if total is None:
            totals_known = False
        else:
            item_totals.append(total)
    v = get("vendorId")
    vendor_id = v if type(v) is int or v is None else _int(v)
    v = get("businessUnitId")
    bu_id = v if type(v) is int or v is None else _int(v)
    _party_checks(probs, vendor_id, bu_id, known)
    v = get("number")
    number = v if type(v) is str and len(v) <= MAX_NAME and v.isprintable() else _text(v, "number", MAX_NAME, probs)
    v = get("vendorDocumentNumber")
    vendor_document_number = v if type(v) is str and len(v) <= MAX_NAME and v.isprintable() else _text(
        v, "vendorDocumentNumber", MAX_NAME, probs)
    date = _dt(get("date"), "date", probs)
    required_on = _dt(get("requiredOn"), "requiredOn", probs)
    sent_on = _dt(get("sentOn"), "sentOn", probs)
    received_on = _dt(get("receivedOn"), "receivedOn", probs)
    created_on = _dt(get("createdOn"), "createdOn", probs)
    modified_on = _dt(get("modifiedOn"), "modifiedOn", probs)
    total = _money(get("total"), "total", probs)
    tax = _money(get("tax"), "tax", probs)
    shipping = _money(get("shipping"), "shipping", probs)
    v = get("summary")
    summary = v if type(v) is str and len(v) <= MAX_TEXT and v.isprintable() else _text(v, "summary", MAX_TEXT, probs)
    custom_fields = list(get("customFields") or [])
    if total is not None and tax is not None and shipping is not None and totals_known:
        expected = sum(item_totals, Decimal(0)) + tax + shipping
        if abs(expected - total) > CENT:
            probs.append(f"total {total} does not match items + tax + shipping ({expected})")
    v = get("status")
    return PurchaseOrder(
        id=rid, number=number, status=v if type(v) is str else _str(v), type_id=_int(get("typeId")),
        vendor_id=vendor_id, business_unit_id=bu_id, job_id=_int(get("jobId")), project_id=_int(get("projectId")),
        technician_id=_int(get("technicianId")), inventory_location_id=_int(get("inventoryLocationId")),
        invoice_id=_int(get("invoiceId")), vendor_document_number=vendor_document_number, date=date,
        required_on=required_on, sent_on=sent_on, received_on=received_on, created_on=created_on,
        modified_on=modified_on, total=total, tax=tax, shipping=shipping, summary=summary, ship_to=get("shipTo"),
        items=items, custom_fields=custom_fields, raw=raw,
        problems=_labelled(f"PO {get('number') or get('id')}", probs) if probs else [])


# -- inventory bills -----------------------------------------------------------------------------
def _named(value: Any) -> tuple[int | None, str | None]:
    if isinstance(value, dict):
        return _int(value.get("id")), value.get("name")
    return None, None


def _gl_ref(value: Any) -> GLAccountRef | None:
    if not isinstance(value, dict):
        return None
    gid = value.get("id")
    if type(gid) is int:
        get = value.get
        name, number, typ, detail = get("name"), get("number"), get("type"), get("detailType")
        if ((type(name) is str or name is None) and (type(number) is str or number is None)
                and (type(typ) is str or typ is None) and (type(detail) is str or detail is None)):
            key = (gid, name, number, typ, detail)
            ref = _GL_MEMO.get(key)
            if ref is None:
                ref = GLAccountRef(id=gid or 0, name=name, number=number, type=typ, detail_type=detail)
                if len(_GL_MEMO) >= _GL_MEMO_MAX:
                    _GL_MEMO.clear()
                _GL_MEMO[key] = ref
            return ref
    if _int(gid) is None:
        return None
    return GLAccountRef(id=_int(value["id"]) or 0, name=value.get("name"), number=value.get("number"),
                        type=value.get("type"), detail_type=value.get("detailType"))


def parse_inventory_bill(raw: dict[str, Any], known: KnownIds | None = None) -> InventoryBill:
    probs: list[str] = []
    get = raw.get
    rid = _rid(get("id"), probs)
    vendor_id, vendor_name = _named(get("vendor"))
    bu_id, bu_name = _named(get("businessUnit"))
    _party_checks(probs, vendor_id, bu_id, known)
    items = []
    amounts = []
    amounts_known = True
    for i, item in enumerate(get("items") or []):
        if not isinstance(item, dict):
            probs.append(f"line {i + 1} is not an object")
            continue
        iget = item.get
        order = iget("order")
        n = order or i + 1
        qty = _money(iget("quantity"), "quantity", probs, n)
        cost = _money(iget("cost"), "cost", probs, n)
        gl = _gl_ref(iget("generalLedgerAccount"))
        if gl is None:
            _add(probs, n, "has no GL account")
        v = iget("id")
        item_id = (v if type(v) is int else _int(v)) or 0
        order = order if type(order) is int or order is None else _int(order)
        v = iget("skuId")
        sku_id = v if type(v) is int or v is None else _int(v)
        v = iget("skuCode")
        sku_code = v if type(v) is str and len(v) <= MAX_NAME and v.isprintable() else _text(
            v, "skuCode", MAX_NAME, probs, n)
        v = iget("skuType")
        sku_type = v if type(v) is str else _str(v)
        v = iget("name")
        name = v if type(v) is str and len(v) <= MAX_NAME and v.isprintable() else _text(v, "name", MAX_NAME, probs, n)
        v = iget("description")
        description = v if type(v) is str and len(v) <= MAX_TEXT and v.isprintable() else _text(
            v, "description", MAX_TEXT, probs, n)
        amount = (qty * cost) if qty is not None and cost is not None else None
        v = iget("receiptItemId")
        items.append(InventoryBillItem(
            id=item_id, order=order, sku_id=sku_id, sku_code=sku_code, sku_type=sku_type, name=name,
            description=description, quantity=qty, cost=cost, amount=amount,
            inventory_location=iget("inventoryLocation"),
            receipt_item_id=v if type(v) is int or v is None else _int(v), general_ledger_account=gl,
            cost_of_sale_account=_gl_ref(iget("costOfSaleAccount")), asset_account=_gl_ref(iget("assetAccount")),
            raw=item))
        if amount is None:
            amounts_known = False
        else:
            amounts.append(amount)
    active = get("active")
    v = get("summary")
    summary = v if type(v) is str and len(v) <= MAX_TEXT and v.isprintable() else _text(v, "summary", MAX_TEXT, probs)
    bill_date = _dt(get("billDate"), "billDate", probs)
    due_date = _dt(get("dueDate"), "dueDate", probs)
    bill_amount = _money(get("billAmount"), "bill amount", probs)
    tax_amount = _money(get("taxAmount"), "tax amount", probs)
    shipping_amount = _money(get("shippingAmount"), "shipping amount", probs)
    other_amount = _money(get("otherAmount"), "other amount", probs)
    created_on = _dt(get("createdOn"), "createdOn", probs)
    modified_on = _dt(get("modifiedOn"), "modifiedOn", probs)
    reference_number = get("referenceNumber")
    vendor_number = get("vendorNumber")
    for field_name, value in (("referenceNumber", reference_number), ("vendorNumber", vendor_number)):
        if not (type(value) is str and len(value) <= MAX_NAME and value.isprintable()):
            probs.extend(text_problems(field_name, value, MAX_NAME))
    label = None
    if bill_amount is None:
        label = f"bill {reference_number or get('id')}"
        if "bill amount" not in " ".join(_labelled(label, probs)):
            probs.append("has no bill amount")
    if bill_amount is not None and items and amounts_known:
        expected = (sum(amounts, Decimal(0))
                    + (tax_amount or 0) + (shipping_amount or 0) + (other_amount or 0))
        if abs(expected - bill_amount) > CENT:
            probs.append(f"bill amount {bill_amount} does not match lines + tax + shipping ({expected})")
    if probs and label is None:
        label = f"bill {reference_number or get('id')}"
    return InventoryBill(
        id=rid, purchase_order_id=_int(get("purchaseOrderId")), sync_status=get("syncStatus"),
        reference_number=reference_number, vendor_number=vendor_number, summary=summary or None,
        bill_date=bill_date, due_date=due_date, bill_amount=bill_amount, tax_amount=tax_amount,
        shipping_amount=shipping_amount, other_amount=other_amount, vendor_id=vendor_id, vendor_name=vendor_name,
        business_unit_id=bu_id, business_unit_name=bu_name, job_id=_int(get("jobId")), job_number=get("jobNumber"),
        term_name=get("termName"), created_on=created_on, modified_on=modified_on,
        active=True if active is None else bool(active), items=items, raw=raw,
        problems=_labelled(label, probs) if label is not None and probs else [])


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
        items.append(InventoryReturnItem(
            id=_int(iget("id")) or 0, sku_id=_int(iget("skuId")), code=code, name=name,
            quantity=_money(iget("quantity"), "quantity", probs, n), cost=_money(iget("cost"), "cost", probs, n),
            active=iget("active") is not False, raw=item))
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
    return InventoryReturn(
        id=rid, number=number, status=status if isinstance(status, str) else "", active=get("active") is not False,
        vendor_id=vendor_id, purchase_order_id=_int(get("purchaseOrderId")), business_unit_id=bu_id,
        job_id=_int(get("jobId")), return_amount=return_amount, tax_amount=tax_amount,
        shipping_amount=shipping_amount, credit_received_on=credit_received_on, modified_on=modified_on,
        items=items, raw=raw, problems=_labelled(f"return {get('number') or get('id')}", probs) if probs else [])


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
