"""Parsed ServiceTitan records. Each keeps the raw payload (``raw``: every field as received, unknown
extra fields included) and a list of ``problems`` found while parsing: a bad record is returned with
its problems, never dropped and never an exception. Money is ``Decimal``; datetimes are aware UTC."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar


@dataclass(kw_only=True, slots=True)
class Record:
    id: int
    modified_on: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def key(self) -> tuple[int, datetime | None]:
        """Identity of one version of a record (for de-duplication)."""
        return (self.id, self.modified_on)


@dataclass(kw_only=True, slots=True)
class UnreadableRecord(Record):
    """A feed entry the parser could not read (not a JSON object, or a shape no parser anticipated): the
    page goes on; the entry keeps its payload and the problem, and the caller stores or reports it."""


@dataclass(kw_only=True, slots=True)
class PurchaseOrderItem:
    id: int
    sku_id: int | None
    sku_code: str
    sku_name: str
    sku_type: str
    description: str
    vendor_part_number: str
    quantity: Decimal | None
    quantity_received: Decimal | None
    cost: Decimal | None  # unit cost
    total: Decimal | None
    status: str
    chargeable: bool
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(kw_only=True, slots=True)
class PurchaseOrder(Record):
    number: str
    status: str
    type_id: int | None
    vendor_id: int | None
    business_unit_id: int | None
    job_id: int | None
    project_id: int | None
    technician_id: int | None
    inventory_location_id: int | None
    invoice_id: int | None
    vendor_document_number: str
    date: datetime | None
    required_on: datetime | None
    sent_on: datetime | None
    received_on: datetime | None
    created_on: datetime | None
    total: Decimal | None
    tax: Decimal | None
    shipping: Decimal | None
    summary: str
    ship_to: dict[str, Any] | None
    items: list[PurchaseOrderItem] = field(default_factory=list)
    custom_fields: list[dict[str, Any]] = field(default_factory=list)


@dataclass(kw_only=True, frozen=True, slots=True)
class GLAccountRef:
    """A ServiceTitan GL account as it appears on an inventory-bill line."""

    id: int
    name: str | None = None
    number: str | None = None
    type: str | None = None
    detail_type: str | None = None


@dataclass(kw_only=True, slots=True)
class InventoryBillItem:
    id: int
    order: int | None
    sku_id: int | None
    sku_code: str
    sku_type: str
    name: str
    description: str
    quantity: Decimal | None
    cost: Decimal | None  # unit cost
    amount: Decimal | None  # quantity x cost
    inventory_location: str | None
    receipt_item_id: int | None
    general_ledger_account: GLAccountRef | None
    cost_of_sale_account: GLAccountRef | None
    asset_account: GLAccountRef | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(kw_only=True, slots=True)
class InventoryBill(Record):
    purchase_order_id: int | None
    sync_status: str | None
    reference_number: str | None
    vendor_number: str | None
    summary: str | None
    bill_date: datetime | None
    due_date: datetime | None
    bill_amount: Decimal | None
    tax_amount: Decimal | None
    shipping_amount: Decimal | None
    other_amount: Decimal | None
    vendor_id: int | None
    vendor_name: str | None
    business_unit_id: int | None
    business_unit_name: str | None
    job_id: int | None
    job_number: str | None
    term_name: str | None
    created_on: datetime | None
    active: bool = True
    items: list[InventoryBillItem] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class InventoryReturnItem:
    id: int
    sku_id: int | None
    code: str
    name: str
    quantity: Decimal | None
    cost: Decimal | None  # unit cost
    active: bool = True
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(kw_only=True, slots=True)
class InventoryReturn(Record):
    """An inventory (vendor) return, Export_Returns / Inventory.V2.ExportReturnsResponse."""

    number: str
    status: str  # Pending, Returned, CreditReceived, Canceled
    active: bool
    vendor_id: int | None
    purchase_order_id: int | None
    business_unit_id: int | None
    job_id: int | None
    return_amount: Decimal | None  # total including tax and shipping
    tax_amount: Decimal | None
    shipping_amount: Decimal | None
    credit_received_on: datetime | None
    items: list[InventoryReturnItem] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class Vendor(Record):
    name: str
    active: bool
    memo: str = ""
    default_tax_rate: Decimal | None = None
    address: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None


@dataclass(kw_only=True, slots=True)
class Sku(Record):
    kind: str  # "Material" | "Equipment" | "Service"
    code: str
    display_name: str | None
    description: str
    cost: Decimal | None
    active: bool
    unit_of_measure: str | None = None
    primary_vendor_id: int | None = None
    account: str | None = None
    cost_of_sale_account: str | None = None
    asset_account: str | None = None
    gl_account_id: int | None = None


@dataclass(kw_only=True, slots=True)
class BusinessUnit(Record):
    name: str
    active: bool
    official_name: str | None = None
    account_code: str | None = None
    quickbooks_class: str | None = None


@dataclass(kw_only=True, slots=True)
class GLAccount(Record):
    name: str | None
    number: str | None
    type: str | None
    subtype: str | None
    active: bool
    default_account_type: str | None = None


@dataclass(kw_only=True, slots=True)
class Job(Record):
    job_number: str
    business_unit_id: int | None
    job_status: str
    customer_id: int | None = None
    location_id: int | None = None
    project_id: int | None = None
    total: Decimal | None = None


@dataclass(kw_only=True, slots=True)
class InventoryLocation(Record):
    name: str
    kind: str  # "Warehouse"
    active: bool
    address: dict[str, Any] | None = None


@dataclass(frozen=True)
class MarkExportedResult:
    bill_id: int
    success: bool
    error: str | None = None


T = TypeVar("T", bound=Record)


@dataclass
class Page(Generic[T]):
    """One page of a pull. For export feeds ``continue_from`` is the token to store *after* the rows
    of this page are stored (resume = pass it back); for list endpoints it is ``None`` and ``page``
    holds the page number."""

    records: list[T]
    continue_from: str | None
    has_more: bool
    page: int | None = None
    # every payload of the page came from JSON without a NaN/Infinity literal: it holds only dicts, lists,
    # texts, integers, booleans, null and Decimals (parsing.loads_vouched), so staging need not check its types
    float_free: bool = False

    def __len__(self) -> int:
        return len(self.records)

    @property
    def problems(self) -> list[str]:
        return [p for r in self.records for p in r.problems]


@dataclass(frozen=True)
class KnownIds:
    """Reference ids used to spot dangling references (vendor or business unit that does not exist)."""

    vendors: frozenset[int] = frozenset()
    business_units: frozenset[int] = frozenset()


class Deduper(Generic[T]):
    """Drops records already seen with the same (id, modifiedOn): list pulls re-read the watermark
    boundary on purpose, export feeds with ``includeRecentChanges`` may repeat rows."""

    def __init__(self) -> None:
        self._seen: set[tuple[int, datetime | None]] = set()

    def __call__(self, records: Iterable[T]) -> list[T]:
        out = []
        for r in records:
            if r.key not in self._seen:
                self._seen.add(r.key)
                out.append(r)
        return out


def dedupe(records: Iterable[T]) -> Iterator[T]:
    """Yield each (id, modifiedOn) once, keeping the first."""
    seen: set[tuple[int, datetime | None]] = set()
    for r in records:
        if r.key not in seen:
            seen.add(r.key)
            yield r
