"""FROZEN reference: the ServiceTitan parsers as they were before the parsefast rewrite (commit 6bfca80),
kept verbatim (only this docstring differs) so tests/servicetitan/test_parsing_equivalence.py can check
the fast parsers give equal records, field for field and problem string for problem string, and
benchmarks/bench_st_parsing.py can time old against new in one run. Do not edit: it is the yardstick."""

# ruff: noqa
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


# -- purchase orders -----------------------------------------------------------------------------
def parse_purchase_order(raw: dict[str, Any], known: KnownIds | None = None) -> PurchaseOrder:
    ctx = _Ctx(f"PO {raw.get('number') or raw.get('id')}")
    rid = _record_id(raw, ctx)
    items = []
    for i, item in enumerate(raw.get("items") or []):
        if not isinstance(item, dict):
            ctx.add(f"item {i + 1} is not an object")
            continue
        items.append(_parse_po_item(item, ctx, i + 1))
    vendor_id = _int(raw.get("vendorId"))
    bu_id = _int(raw.get("businessUnitId"))
    _check_vendor(ctx, vendor_id, known)
    _check_bu(ctx, bu_id, known)
    po = PurchaseOrder(
        id=rid, number=ctx.text(raw, "number", MAX_NAME), status=_str(raw.get("status")),
        type_id=_int(raw.get("typeId")), vendor_id=vendor_id, business_unit_id=bu_id,
        job_id=_int(raw.get("jobId")), project_id=_int(raw.get("projectId")),
        technician_id=_int(raw.get("technicianId")), inventory_location_id=_int(raw.get("inventoryLocationId")),
        invoice_id=_int(raw.get("invoiceId")),
        vendor_document_number=ctx.text(raw, "vendorDocumentNumber", MAX_NAME),
        date=ctx.dt(raw, "date"), required_on=ctx.dt(raw, "requiredOn"), sent_on=ctx.dt(raw, "sentOn"),
        received_on=ctx.dt(raw, "receivedOn"), created_on=ctx.dt(raw, "createdOn"),
        modified_on=ctx.dt(raw, "modifiedOn"),
        total=ctx.money(raw, "total"), tax=ctx.money(raw, "tax"), shipping=ctx.money(raw, "shipping"),
        summary=ctx.text(raw, "summary"), ship_to=raw.get("shipTo"), items=items,
        custom_fields=list(raw.get("customFields") or []), raw=raw, problems=ctx.problems)
    if po.total is not None and po.tax is not None and po.shipping is not None and all(
            it.total is not None for it in items):
        expected = sum((it.total for it in items if it.total is not None), Decimal(0)) + po.tax + po.shipping
        if abs(expected - po.total) > CENT:
            ctx.add(f"total {po.total} does not match items + tax + shipping ({expected})")
    return po


def _parse_po_item(raw: dict[str, Any], ctx: _Ctx, n: int) -> PurchaseOrderItem:
    sub = _Ctx(f"line {n}")
    item = PurchaseOrderItem(
        id=_int(raw.get("id")) or 0, sku_id=_int(raw.get("skuId")), sku_code=sub.text(raw, "skuCode", MAX_NAME),
        sku_name=sub.text(raw, "skuName", MAX_NAME), sku_type=_str(raw.get("skuType")),
        description=sub.text(raw, "description"), vendor_part_number=sub.text(raw, "vendorPartNumber", MAX_NAME),
        quantity=sub.money(raw, "quantity"), quantity_received=sub.money(raw, "quantityReceived"),
        cost=sub.money(raw, "cost"), total=sub.money(raw, "total"), status=_str(raw.get("status")),
        chargeable=bool(raw.get("chargeable")), raw=raw)
    for p in sub.problems:
        ctx.add(p)
    return item


# -- inventory bills -----------------------------------------------------------------------------
def _named(value: Any) -> tuple[int | None, str | None]:
    if isinstance(value, dict):
        return _int(value.get("id")), value.get("name")
    return None, None


def _gl_ref(value: Any) -> GLAccountRef | None:
    if not isinstance(value, dict) or _int(value.get("id")) is None:
        return None
    return GLAccountRef(id=_int(value["id"]) or 0, name=value.get("name"), number=value.get("number"),
                        type=value.get("type"), detail_type=value.get("detailType"))


def parse_inventory_bill(raw: dict[str, Any], known: KnownIds | None = None) -> InventoryBill:
    ctx = _Ctx(f"bill {raw.get('referenceNumber') or raw.get('id')}")
    rid = _record_id(raw, ctx)
    vendor_id, vendor_name = _named(raw.get("vendor"))
    bu_id, bu_name = _named(raw.get("businessUnit"))
    _check_vendor(ctx, vendor_id, known)
    _check_bu(ctx, bu_id, known)
    items = []
    for i, item in enumerate(raw.get("items") or []):
        if not isinstance(item, dict):
            ctx.add(f"line {i + 1} is not an object")
            continue
        sub = _Ctx(f"line {item.get('order') or i + 1}")
        qty = sub.money(item, "quantity")
        cost = sub.money(item, "cost")
        gl = _gl_ref(item.get("generalLedgerAccount"))
        if gl is None:
            sub.add("has no GL account")
        items.append(InventoryBillItem(
            id=_int(item.get("id")) or 0, order=_int(item.get("order")), sku_id=_int(item.get("skuId")),
            sku_code=sub.text(item, "skuCode", MAX_NAME), sku_type=_str(item.get("skuType")),
            name=sub.text(item, "name", MAX_NAME), description=sub.text(item, "description"),
            quantity=qty, cost=cost, amount=(qty * cost) if qty is not None and cost is not None else None,
            inventory_location=item.get("inventoryLocation"), receipt_item_id=_int(item.get("receiptItemId")),
            general_ledger_account=gl, cost_of_sale_account=_gl_ref(item.get("costOfSaleAccount")),
            asset_account=_gl_ref(item.get("assetAccount")), raw=item))
        for p in sub.problems:
            ctx.add(p)
    active = raw.get("active")
    bill = InventoryBill(
        id=rid, purchase_order_id=_int(raw.get("purchaseOrderId")), sync_status=raw.get("syncStatus"),
        reference_number=raw.get("referenceNumber"), vendor_number=raw.get("vendorNumber"),
        summary=ctx.text(raw, "summary") or None, bill_date=ctx.dt(raw, "billDate"),
        due_date=ctx.dt(raw, "dueDate"),
        bill_amount=ctx.money(raw, "billAmount", label="bill amount"),
        tax_amount=ctx.money(raw, "taxAmount", label="tax amount"),
        shipping_amount=ctx.money(raw, "shippingAmount", label="shipping amount"),
        other_amount=ctx.money(raw, "otherAmount", label="other amount"),
        vendor_id=vendor_id, vendor_name=vendor_name, business_unit_id=bu_id, business_unit_name=bu_name,
        job_id=_int(raw.get("jobId")), job_number=raw.get("jobNumber"), term_name=raw.get("termName"),
        created_on=ctx.dt(raw, "createdOn"), modified_on=ctx.dt(raw, "modifiedOn"),
        active=True if active is None else bool(active), items=items, raw=raw, problems=ctx.problems)
    for name in ("referenceNumber", "vendorNumber"):
        for p in text_problems(name, raw.get(name), MAX_NAME):
            ctx.add(p)
    if bill.bill_amount is None and "bill amount" not in " ".join(ctx.problems):
        ctx.add("has no bill amount")
    if bill.bill_amount is not None and items and all(it.amount is not None for it in items):
        expected = (sum((it.amount for it in items if it.amount is not None), Decimal(0))
                    + (bill.tax_amount or 0) + (bill.shipping_amount or 0) + (bill.other_amount or 0))
        if abs(expected - bill.bill_amount) > CENT:
            ctx.add(f"bill amount {bill.bill_amount} does not match lines + tax + shipping ({expected})")
    return bill


# -- inventory returns ---------------------------------------------------------------------------
def parse_inventory_return(raw: dict[str, Any], known: KnownIds | None = None) -> InventoryReturn:
    """Export_Returns (tenant-inventory-v2.json, Inventory.V2.ExportReturnsResponse): ids rather than
    objects, ``status`` an enum (Pending, Returned, CreditReceived, Canceled), money as numbers,
    ``returnAmount`` the total including tax and shipping. Problems, never exceptions."""
    ctx = _Ctx(f"return {raw.get('number') or raw.get('id')}")
    rid = _record_id(raw, ctx)
    vendor_id = _int(raw.get("vendorId"))
    bu_id = _int(raw.get("businessUnitId"))
    _check_vendor(ctx, vendor_id, known)
    _check_bu(ctx, bu_id, known)
    items = []
    for i, item in enumerate(raw.get("items") or []):
        if not isinstance(item, dict):
            ctx.add(f"line {i + 1} is not an object")
            continue
        sub = _Ctx(f"line {i + 1}")
        items.append(InventoryReturnItem(
            id=_int(item.get("id")) or 0, sku_id=_int(item.get("skuId")), code=sub.text(item, "code", MAX_NAME),
            name=sub.text(item, "name", MAX_NAME), quantity=sub.money(item, "quantity"), cost=sub.money(item, "cost"),
            active=item.get("active") is not False, raw=item))
        for p in sub.problems:
            ctx.add(p)
    status = raw.get("status")
    ret = InventoryReturn(
        id=rid, number=ctx.text(raw, "number", MAX_NAME), status=status if isinstance(status, str) else "",
        active=raw.get("active") is not False, vendor_id=vendor_id, purchase_order_id=_int(raw.get("purchaseOrderId")),
        business_unit_id=bu_id, job_id=_int(raw.get("jobId")),
        return_amount=ctx.money(raw, "returnAmount", label="return amount"),
        tax_amount=ctx.money(raw, "taxAmount", label="tax amount"),
        shipping_amount=ctx.money(raw, "shippingAmount", label="shipping amount"),
        credit_received_on=ctx.dt(raw, "creditReceivedOn"), modified_on=ctx.dt(raw, "modifiedOn"),
        items=items, raw=raw, problems=ctx.problems)
    ctx.text(raw, "memo")
    if ret.return_amount is not None and items and all(it.quantity is not None and it.cost is not None
                                                       for it in items if it.active):
        expected = (sum((it.quantity * it.cost for it in items if it.active), Decimal(0))  # type: ignore[operator]
                    + (ret.tax_amount or 0) + (ret.shipping_amount or 0))
        if abs(expected - ret.return_amount) > CENT:
            ctx.add(f"return amount {ret.return_amount} does not match lines + tax + shipping ({expected})")
    return ret


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
