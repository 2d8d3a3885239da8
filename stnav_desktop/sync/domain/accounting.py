"""The accounting model (docs/accounting.md): which NAV document each ServiceTitan document becomes,
on which accounts, with which dimensions — each cost booked once, every journal balanced.

Pure functions over the raw ServiceTitan payload, the profile's settings and its mappings; no I/O.
Rounding happens here and only here: ``money()`` (half up, to the cent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from stnav_desktop.connectors.nav.books import (
    CreditMemoKey,
    InvoiceKey,
    JournalDocumentSpec,
    JournalKey,
    NavBooks,
    Outcome,
)
from stnav_desktop.connectors.nav.credit_memos import PurchaseCreditMemoSpec
from stnav_desktop.connectors.nav.journals import JournalLineSpec
from stnav_desktop.connectors.nav.purchase_invoices import InvoiceLineSpec, PurchaseInvoiceSpec
from stnav_desktop.store.models import MappingKind, SourceKind
from stnav_desktop.sync.app.documents import to_datetime, to_decimal
from stnav_desktop.sync.domain import dimensions

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

MODEL_CLEARING = "clearing"
MODEL_INVOICE_ONLY = "invoice_only"
MODEL_JOURNAL_ONLY = "journal_only"

# NAV field lengths (API v2.0): document no. Code[20], external document no. / vendor invoice no.
# Code[35], description Text[100]
DOC_NO_LEN, EXT_DOC_LEN, DESC_LEN = 20, 35, 100


def money(value: Decimal) -> Decimal:
    """The one rounding rule: to the cent, half away from zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class PlanError(Exception):
    """The document cannot be posted as it stands; ``problems`` name the record and the field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class NotPostable(Exception):
    """The profile's accounting model does not post this document (e.g. bills under invoice_only)."""


@dataclass
class PlanLine:
    line_type: str  # "Item" or "Account"
    number: str  # NAV item number or G/L account
    description: str
    quantity: Decimal
    unit_cost: Decimal
    amount: Decimal
    dimensions: dict[str, str] = field(default_factory=dict)


@dataclass
class InvoicePlan:
    st_ref: str
    vendor_number: str
    vendor_invoice_number: str
    invoice_date: date
    posting_date: date
    lines: list[PlanLine]
    dimensions: dict[str, str]
    st_total: Decimal

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    # -- what posting needs of a plan (each plan kind answers for itself) --------------------------
    operation = "purchase_invoice"
    write_order = 1  # after the bills: the clearing account is credited before it is debited

    def nav_key(self) -> InvoiceKey:
        return InvoiceKey(self.vendor_number, self.vendor_invoice_number)

    def nav_lines(self) -> list[InvoiceLineSpec]:
        return [InvoiceLineSpec(line_type=ln.line_type, line_object_number=ln.number, quantity=ln.quantity,
                                direct_unit_cost=ln.unit_cost, description=ln.description,
                                dimensions=dict(ln.dimensions)) for ln in self.lines]

    def nav_spec(self) -> PurchaseInvoiceSpec:
        return PurchaseInvoiceSpec(vendor_number=self.vendor_number, vendor_invoice_number=self.vendor_invoice_number,
                                   invoice_date=self.invoice_date, posting_date=self.posting_date,
                                   dimensions=dict(self.dimensions), lines=self.nav_lines())

    def wants_post(self, post_invoices: bool, post_journal: bool) -> bool:
        return post_invoices

    @staticmethod
    def create_in(books: NavBooks, plans: list[Any], *, post: bool) -> list[Outcome]:
        return books.create_invoices([p.nav_spec() for p in plans], post=post)

    def summary(self) -> dict[str, Any]:
        return {"vendor": self.vendor_number, "vendor_invoice": self.vendor_invoice_number,
                "posting_date": self.posting_date.isoformat(), "lines": len(self.lines), "total": str(self.total)}


@dataclass
class CreditMemoPlan:
    """A purchase credit memo reversing ``invoice`` (a correction), applied to the posted invoice."""

    invoice: InvoicePlan
    applies_to_invoice: str | None = None

    operation = "purchase_credit_memo"
    write_order = 0

    @property
    def st_ref(self) -> str:
        return self.invoice.st_ref

    @property
    def vendor_credit_memo_number(self) -> str:
        return f"CM-{self.invoice.vendor_invoice_number}"[:EXT_DOC_LEN]

    @property
    def total(self) -> Decimal:
        return self.invoice.total

    def nav_key(self) -> CreditMemoKey:
        return CreditMemoKey(self.invoice.vendor_number, self.vendor_credit_memo_number)

    def nav_spec(self) -> PurchaseCreditMemoSpec:
        inv = self.invoice
        return PurchaseCreditMemoSpec(vendor_number=inv.vendor_number,
                                      vendor_credit_memo_number=self.vendor_credit_memo_number,
                                      credit_memo_date=inv.posting_date, posting_date=inv.posting_date,
                                      invoice_number=self.applies_to_invoice, dimensions=dict(inv.dimensions),
                                      lines=inv.nav_lines())

    def wants_post(self, post_invoices: bool, post_journal: bool) -> bool:
        return post_invoices

    @staticmethod
    def create_in(books: NavBooks, plans: list[Any], *, post: bool) -> list[Outcome]:
        return books.create_credit_memos([p.nav_spec() for p in plans], post=post)

    def summary(self) -> dict[str, Any]:
        return {"vendor": self.invoice.vendor_number, "vendor_credit_memo": self.vendor_credit_memo_number,
                "applies_to": self.applies_to_invoice or "", "total": str(self.total)}


@dataclass
class JournalLinePlan:
    account_number: str
    amount: Decimal  # debit positive, credit negative
    description: str
    dimensions: dict[str, str] = field(default_factory=dict)


@dataclass
class JournalPlan:
    st_ref: str
    document_number: str
    external_document_number: str
    posting_date: date
    lines: list[JournalLinePlan]
    st_total: Decimal

    def imbalance(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    def check_balanced(self) -> None:
        off = self.imbalance()
        if off != ZERO:
            raise PlanError([f"{self.st_ref}: journal document {self.document_number} dated "
                             f"{self.posting_date.isoformat()} is out of balance by {off}"])

    # -- what posting needs of a plan ---------------------------------------------------------------
    operation = "journal_lines"
    write_order = 0  # bills first

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.amount > 0), ZERO)

    def nav_key(self) -> JournalKey:
        return JournalKey(self.document_number, lines=len(self.lines), total=self.total)

    def nav_spec(self) -> JournalDocumentSpec:
        self.check_balanced()  # never a request for an unbalanced journal
        return JournalDocumentSpec(self.document_number, [
            JournalLineSpec(account_number=ln.account_number, amount=ln.amount, posting_date=self.posting_date,
                            document_number=self.document_number,
                            external_document_number=self.external_document_number, description=ln.description,
                            dimensions=dict(ln.dimensions)) for ln in self.lines])

    def wants_post(self, post_invoices: bool, post_journal: bool) -> bool:
        return post_journal

    @staticmethod
    def create_in(books: NavBooks, plans: list[Any], *, post: bool) -> list[Outcome]:
        return books.create_journals([p.nav_spec() for p in plans], post=post)

    def summary(self) -> dict[str, Any]:
        return {"document": self.document_number, "external_document": self.external_document_number,
                "posting_date": self.posting_date.isoformat(), "lines": len(self.lines)}


Plan = InvoicePlan | JournalPlan | CreditMemoPlan


@dataclass
class PlanContext:
    """What a plan needs to know besides the document."""

    model: str = MODEL_CLEARING
    clearing_account: str = "2950"
    tax_account: str = "5630"
    freight_account: str = "6210"
    other_account: str = "6220"
    default_expense_account: str = "6110"
    territory_dimension: str = "TERRITORY"
    postable_po_statuses: tuple[str, ...] = ("Received",)
    date_rule: str = "document_date"
    allow_from: date | None = None
    allow_to: date | None = None
    today: date | None = None
    # mappings: kind -> source key -> (target, target_type)
    mappings: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    # optional NAV reference validation: callables return a problem text or None
    check_vendor: Any = None
    check_account: Any = None
    check_item: Any = None
    check_dimension: Any = None
    # every dimension an office uses (sync/domain/dimensions.py): rules after the built-in territory rule
    dimension_rules: list[Any] = field(default_factory=list)
    dimension_rules_error: str = ""  # a rule that cannot be read: named on every row until it is fixed
    # look-ups into what was pulled and posted (None = not available): job id -> job number / job record,
    # PO id -> its posted NAV invoice number, PO id -> its bills' payloads (returns credit their accounts)
    job_number: Any = None
    job_info: Any = None
    posted_invoice: Any = None
    bills_of_po: Any = None
    apply_returns: bool = True  # a return's credit memo applies to its PO's posted invoice
    purchase_order: Any = None  # PO id -> its payload (a return line's SKU type, when no bill carries the SKU)

    def mapped(self, kind: str, key: Any) -> tuple[str, str] | None:
        if key is None:
            return None
        found = self.mappings.get(kind)
        return found.get(str(key)) if found else None


# the kinds as plain text (an enum member costs a look-up and a slower hash on every use in the plans)
_PURCHASE_ORDER, _INVENTORY_BILL, _INVENTORY_RETURN = (SourceKind.PURCHASE_ORDER.value, SourceKind.INVENTORY_BILL.value,
                                                       SourceKind.INVENTORY_RETURN.value)
_VENDOR, _ITEM, _BUSINESS_UNIT, _GL_RULE, _ST_GL_ACCOUNT = (
    MappingKind.VENDOR.value, MappingKind.ITEM.value, MappingKind.BUSINESS_UNIT.value, MappingKind.GL_RULE.value,
    MappingKind.ST_GL_ACCOUNT.value)


def _ref(kind: str, raw: dict[str, Any]) -> str:
    if kind == _PURCHASE_ORDER:
        return f"PO {raw.get('number') or raw.get('id')}"
    if kind == _INVENTORY_RETURN:
        return f"Return {raw.get('number') or raw.get('id')}"
    return f"Bill {raw.get('referenceNumber') or raw.get('id')}"


# Readiness plans every document of a pull (tens of thousands), and the same few texts recur on every
# line (quantities, unit costs, dates): each read once per process, kept up to a bound (then started over)
_CACHE_SIZE = 4096
_DECIMALS: dict[str, Decimal] = {}
_DATES: dict[str, date | None] = {}
# a bill line's (quantity, cost) texts -> quantity, unit cost, amount: only pairs that raise no problem
_LINE_AMOUNTS: dict[tuple[str, str], tuple[Decimal, Decimal, Decimal]] = {}


def _amount(raw: dict[str, Any], key: str, ref: str, problems: list[str], *, required: bool = False,
            allow_negative: bool = False) -> Decimal:
    given: Any = raw.get(key)
    kind = type(given)
    value: Decimal | None
    # ``documents.to_decimal`` (ValueError when not a number), its common cases first, each text converted once
    if kind is Decimal and given.is_finite():  # the connector's JSON numbers (parse_float=Decimal)
        value = given
    elif kind is str:
        value = _DECIMALS.get(given)
        if value is None:
            try:
                value = Decimal(given)  # as to_decimal's Decimal(text.strip()): Decimal strips the same whitespace
            except InvalidOperation:
                value = None  # "" (None), or not a number (ValueError): to_decimal says which
            if value is not None and value.is_finite():
                if len(_DECIMALS) >= _CACHE_SIZE:
                    _DECIMALS.clear()
                _DECIMALS[given] = value
            else:
                try:
                    value = to_decimal(given)
                except ValueError:
                    problems.append(f"{ref}: {key} {given!r} is not a number")
                    return ZERO
    elif kind is int:
        value = Decimal(given)  # as Decimal(str(value)): exact, exponent 0
    elif given is None:
        value = None
    else:
        try:
            value = to_decimal(given)
        except ValueError:
            problems.append(f"{ref}: {key} {given!r} is not a number")
            return ZERO
    if value is None:
        if required:
            problems.append(f"{ref}: {key} is missing")
        return ZERO
    if value < 0 and not allow_negative:
        problems.append(f"{ref}: {key} {value} is negative")
    return value


def _date(value: Any) -> date | None:
    if type(value) is str:
        found = _DATES.get(value, _DATES)
        if found is not _DATES:
            return found  # type: ignore[return-value]
        dt = to_datetime(value)  # a text that is not a date raises, every time (never remembered)
        result = dt.astimezone(UTC).date() if dt else None
        if len(_DATES) >= _CACHE_SIZE:
            _DATES.clear()
        _DATES[value] = result
        return result
    dt = to_datetime(value)
    return dt.astimezone(UTC).date() if dt else None


def _clip(text: str, length: int) -> str:
    if not (type(text) is str and text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "):
        # (a printable text holds no whitespace but the space: one with single inner spaces is clean already)
        text = " ".join(str(text).split())  # no control characters or line breaks in NAV text fields
        if not text.isprintable():
            text = "".join(ch for ch in text if ch.isprintable())
    return text if len(text) <= length else text[: length - 1] + "…"


def _posting_date(kind: str, raw: dict[str, Any], ctx: PlanContext, ref: str, problems: list[str]) -> date:
    chosen: date | None
    if ctx.date_rule == "posting_day":
        chosen = ctx.today or datetime.now(UTC).date()
    elif ctx.date_rule == "receipt_date" and kind == _PURCHASE_ORDER:
        chosen = _date(raw.get("receivedOn")) or _date(raw.get("date"))
    elif kind == _PURCHASE_ORDER:
        chosen = _date(raw.get("date"))
    elif kind == _INVENTORY_RETURN:
        # the vendor's credit is the document: it exists from the day it was received
        chosen = _date(raw.get("creditReceivedOn")) or _date(raw.get("returnedOn")) or _date(raw.get("returnDate"))
    else:
        chosen = _date(raw.get("billDate"))
    if chosen is None:
        problems.append(f"{ref}: no date to post on (date rule {ctx.date_rule})")
        return ctx.today or datetime.now(UTC).date()
    if (ctx.allow_from and chosen < ctx.allow_from) or (ctx.allow_to and chosen > ctx.allow_to):
        period = f"{ctx.allow_from or '…'} to {ctx.allow_to or '…'}"
        problems.append(f"{ref}: posting date {chosen.isoformat()} is outside NAV's allowed posting period {period}")
    return chosen


def _territory(bu_id: Any, ctx: PlanContext, ref: str, problems: list[str]) -> dict[str, str]:
    if bu_id is None:
        problems.append(f"{ref}: no business unit, so no {ctx.territory_dimension} dimension value")
        return {}
    mapped = ctx.mapped(_BUSINESS_UNIT, bu_id)
    if mapped is None:
        problems.append(f"{ref}: business unit {bu_id} is not mapped to a {ctx.territory_dimension} value")
        return {}
    code = mapped[1] or ctx.territory_dimension
    if ctx.check_dimension and (problem := ctx.check_dimension(code, mapped[0])):
        problems.append(f"{ref}: {problem}")
    return {code: mapped[0]}


def _dimensions(kind: str, raw: dict[str, Any], ctx: PlanContext, ref: str, problems: list[str]) -> dict[str, str]:
    """The territory (built-in rule) plus every configured dimension rule (sync/domain/dimensions.py)."""
    bu_id = (raw.get("businessUnit") or {}).get("id") if kind == _INVENTORY_BILL else raw.get("businessUnitId")
    dims = _territory(bu_id, ctx, ref, problems)
    if ctx.dimension_rules_error:
        problems.append(f"{ref}: setting posting.dimension_rules: {ctx.dimension_rules_error}")
    if ctx.dimension_rules:
        dims = dimensions.apply(ctx.dimension_rules, kind, raw, ctx, ref, problems, dims)
    return dims


def _job_prefix(raw: dict[str, Any], ctx: PlanContext) -> str:
    """"Job 10452 " when the document belongs to a ServiceTitan job: first in every G/L line's description,
    so clipping never drops it and a bookkeeper filtering G/L entries in NAV sees the job."""
    number = dimensions.job_number(raw, ctx)
    return f"Job {number} " if number else ""


def _vendor(vendor_id: Any, ctx: PlanContext, ref: str, problems: list[str]) -> str:
    if not vendor_id:
        problems.append(f"{ref}: vendor {vendor_id or 0} does not exist in ServiceTitan")
        return ""
    mapped = ctx.mapped(_VENDOR, vendor_id)
    if mapped is None:
        problems.append(f"{ref}: ServiceTitan vendor {vendor_id} is not mapped to a NAV vendor")
        return ""
    if ctx.check_vendor and (problem := ctx.check_vendor(mapped[0])):
        problems.append(f"{ref}: {problem}")
    return mapped[0]


def _account(number: str, ctx: PlanContext, ref: str, problems: list[str], what: str) -> str:
    if not number:
        problems.append(f"{ref}: no G/L account for {what}")
    elif ctx.check_account and (problem := ctx.check_account(number)):
        problems.append(f"{ref}: {what}: {problem}")
    return number


def bill_line_account(item: dict[str, Any], bu_id: Any, ctx: PlanContext) -> tuple[str, str]:
    """G/L account for an inventory-bill line, and the rule that chose it (shown in the preview).

    Order: the SKU mapped to an account → a rule for the SKU type → a rule for the business unit →
    ServiceTitan's own G/L account on the line, mapped → the profile's default expense account."""
    mappings = ctx.mappings
    sku_id = item.get("skuId")
    if sku_id is not None and (skus := mappings.get(_ITEM)):
        mapped = skus.get(str(sku_id))
        if mapped and mapped[1] == "Account":
            return mapped[0], f"SKU {item.get('skuCode') or sku_id} mapped to account"
    if rules := mappings.get(_GL_RULE):
        rule = rules.get(f"sku_type:{item.get('skuType')}")
        if rule:
            return rule[0], "rule for SKU type"
        rule = rules.get(f"business_unit:{bu_id}")
        if rule:
            return rule[0], "rule for business unit"
    st_accounts = mappings.get(_ST_GL_ACCOUNT)
    st_account = item.get("costOfSaleAccount") or {}
    st_id = st_account.get("id")
    if st_id is not None and st_accounts and (mapped := st_accounts.get(str(st_id))):
        return mapped[0], f"ServiceTitan costOfSaleAccount {st_account.get('number') or st_id} mapped"
    st_account = item.get("generalLedgerAccount") or {}
    st_id = st_account.get("id")
    if st_id is not None and st_accounts and (mapped := st_accounts.get(str(st_id))):
        return mapped[0], f"ServiceTitan generalLedgerAccount {st_account.get('number') or st_id} mapped"
    return ctx.default_expense_account, "default expense account"


def plan_document(kind: str, raw: dict[str, Any], ctx: PlanContext) -> Any:
    if kind == _INVENTORY_RETURN:
        from stnav_desktop.sync.domain import returns
        return returns.plan_return(raw, ctx)
    if kind == _PURCHASE_ORDER:
        if ctx.model == MODEL_JOURNAL_ONLY:
            raise NotPostable("purchase orders are not posted under the journal-only model")
        return plan_purchase_invoice(raw, ctx)
    if ctx.model == MODEL_INVOICE_ONLY:
        raise NotPostable("inventory bills are not posted under the purchase-invoice-only model")
    return plan_bill_journal(raw, ctx)


ONE = Decimal(1)

# How plans are worked out (readiness plans every document of a pull): every problem is found in the order
# it is reported (the first one is the reason a person reads), the amounts and accounts as each line comes;
# the lines' descriptions are written only once the plan is sure to be returned (a plan with a problem is
# never shown, only its problems are).


def plan_purchase_invoice(raw: dict[str, Any], ctx: PlanContext) -> InvoicePlan:
    ref = _ref(_PURCHASE_ORDER, raw)
    problems: list[str] = []
    status = str(raw.get("status") or "")
    if status == "Canceled":
        raise NotPostable(f"{ref} is Canceled")
    if status not in ctx.postable_po_statuses:
        raise NotPostable(f"{ref} has status {status or 'none'}; postable: {', '.join(ctx.postable_po_statuses)}")
    vendor = _vendor(raw.get("vendorId"), ctx, ref, problems)
    dims = _dimensions(_PURCHASE_ORDER, raw, ctx, ref, problems)
    job = _job_prefix(raw, ctx)
    posting_date = _posting_date(_PURCHASE_ORDER, raw, ctx, ref, problems)
    invoice_date = _date(raw.get("date")) or posting_date
    clearing = ctx.model == MODEL_CLEARING
    # (line type, number, quantity, unit cost, amount, its description: the text, or the line to write it of)
    entries: list[tuple[str, str, Decimal, Decimal, Decimal, Any]] = []
    items = raw.get("items") or []
    if not items:
        problems.append(f"{ref}: has no items")
    qty_key = "quantityReceived" if clearing or status != "Pending" else "quantity"
    skus = ctx.mappings.get(_ITEM)
    for index, item in enumerate(items, 1):
        where = f"{ref} line {index}"
        quantity = _amount(item, qty_key, where, problems, required=True)
        if clearing and quantity == ZERO:
            continue  # nothing received on this line: nothing to invoice yet
        cost = _amount(item, "cost", where, problems, required=True)
        amount = money(quantity * cost)
        if clearing:
            # the cost itself was booked by the bill's journal: the invoice clears it (see docs/accounting.md)
            number = _account(ctx.clearing_account, ctx, where, problems, "clearing account")
            entries.append(("Account", number, ONE, amount, amount, (item, index, quantity, cost)))
            continue
        sku_id = item.get("skuId")
        mapped = skus.get(str(sku_id)) if skus and sku_id is not None else None
        if mapped is None:
            problems.append(f"{where}: SKU {item.get('skuCode') or sku_id} is not mapped to a NAV item "
                            "or G/L account")
            continue
        if mapped[1] == "Item":
            if ctx.check_item and (problem := ctx.check_item(mapped[0])):
                problems.append(f"{where}: {problem}")
            entries.append(("Item", mapped[0], quantity, cost, amount, (item, index, None, None)))
        else:
            number = _account(mapped[0], ctx, where, problems, "SKU account")
            entries.append(("Account", number, quantity, cost, amount, (item, index, None, None)))
    charge_account = ctx.clearing_account if clearing else None
    for key, account, label in (("tax", ctx.tax_account, "Tax"), ("shipping", ctx.freight_account, "Freight")):
        value = money(_amount(raw, key, ref, problems))
        if value:
            number = _account(charge_account or account, ctx, ref, problems, label.lower())
            entries.append(("Account", number, ONE, value, value, f"{job}{label} {ref}"))
    st_total = _amount(raw, "total", ref, problems, required=True)
    if not clearing or status == "Received":
        rounding_account = ctx.clearing_account if charge_account else ctx.other_account
        _settle_rounding(entries, sum((entry[4] for entry in entries), ZERO), st_total, ref, problems,
                         lambda diff: ("Account", rounding_account, ONE, diff, diff,
                                       f"{job}Rounding difference {ref}"))
    if problems:
        raise PlanError(problems)
    lines: list[PlanLine] = []
    for line_type, number, quantity, unit_cost, amount, about in entries:
        if type(about) is str:
            text = _clip(about, DESC_LEN)
        else:
            item, index, line_quantity, line_cost = about
            text = job + _clip(f"{item.get('skuCode') or ''} {item.get('skuName') or ''}".strip() or f"line {index}",
                               DESC_LEN - 25 - len(job))
            text = _clip(f"{text} {line_quantity}×{line_cost}" if line_quantity is not None else text, DESC_LEN)
        lines.append(PlanLine(line_type, number, text, quantity, unit_cost, amount, dims))
    return InvoicePlan(ref, vendor, _clip(f"ST-{ref.replace(' ', '-')}", EXT_DOC_LEN), invoice_date, posting_date,
                       lines, dims, st_total)


def _settle_rounding(lines: list, computed: Decimal, expected: Decimal, ref: str, problems: list[str], make) -> None:
    """Lines are rounded one by one; when their sum differs from ServiceTitan's total by no more than
    half a cent per line, the difference is booked on one explicit rounding line. A larger difference is
    a data problem for a person to look at."""
    diff = money(expected) - computed
    if diff == ZERO:
        return
    tolerance = CENT * max(1, len(lines)) / 2
    if abs(diff) <= tolerance:
        lines.append(make(diff))
    else:
        problems.append(f"{ref}: lines and charges add up to {computed}, but ServiceTitan's total is "
                        f"{money(expected)} (difference {diff})")


def plan_bill_journal(raw: dict[str, Any], ctx: PlanContext) -> JournalPlan:
    ref = _ref(_INVENTORY_BILL, raw)
    problems: list[str] = []
    bu = raw.get("businessUnit") or {}
    dims = _dimensions(_INVENTORY_BILL, raw, ctx, ref, problems)
    job = _job_prefix(raw, ctx)
    vendor = raw.get("vendor") or {}
    if not vendor.get("id"):
        problems.append(f"{ref}: vendor {vendor.get('id') or 0} does not exist in ServiceTitan")
    posting_date = _posting_date(_INVENTORY_BILL, raw, ctx, ref, problems)
    # (account, amount, its description: the text, or the line to write it of)
    entries: list[tuple[str, Decimal, Any]] = []
    items = raw.get("items") or []
    if not items:
        problems.append(f"{ref}: has no items")
    bu_id = bu.get("id") if items else None
    check_account = ctx.check_account
    for index, item in enumerate(items, 1):
        given = (item.get("quantity"), item.get("cost"))
        texts = type(given[0]) is str and type(given[1]) is str  # the bill feed's amounts are texts
        known = _LINE_AMOUNTS.get(given) if texts else None
        if known is None:
            where = f"{ref} line {item.get('order') or index}"
            before = len(problems)
            quantity = _amount(item, "quantity", where, problems, required=True)
            cost = _amount(item, "cost", where, problems, required=True)
            clean = len(problems) == before
        else:
            where = ""
            quantity, cost, amount = known
        account, _rule = bill_line_account(item, bu_id, ctx)
        if not account or check_account:
            _account(account, ctx, where or f"{ref} line {item.get('order') or index}", problems, "line account")
        if known is None:
            amount = money(quantity * cost)
            if texts and clean:
                if len(_LINE_AMOUNTS) >= _CACHE_SIZE:
                    _LINE_AMOUNTS.clear()
                _LINE_AMOUNTS[given] = (quantity, cost, amount)
        entries.append((account, amount, (item, quantity, cost)))
    for key, account, label in (("taxAmount", ctx.tax_account, "Tax"), ("shippingAmount", ctx.freight_account, "Freight"),
                                ("otherAmount", ctx.other_account, "Other charges")):
        value = money(_amount(raw, key, ref, problems))
        if value:
            _account(account, ctx, ref, problems, label.lower())
            entries.append((account, value, f"{job}{label} {ref}"))
    st_total = _amount(raw, "billAmount", ref, problems, required=True)
    debits = sum((entry[1] for entry in entries), ZERO)
    _settle_rounding(entries, debits, st_total, ref, problems,
                     lambda diff: (ctx.other_account, diff, f"{job}Rounding difference {ref}"))
    clearing = _account(ctx.clearing_account, ctx, ref, problems, "clearing account")
    if problems:
        raise PlanError(problems)
    lines: list[JournalLinePlan] = []
    for account, amount, about in entries:
        if type(about) is str:
            text = about
        else:
            item, quantity, cost = about
            text = f"{job}{ref} {item.get('skuCode') or ''} {item.get('name') or ''} {quantity}×{cost}"
        lines.append(JournalLinePlan(account, amount, _clip(text, DESC_LEN), dims))
    lines.append(JournalLinePlan(clearing, -money(st_total),
                                 _clip(f"{job}{ref} received from {vendor.get('name') or vendor.get('id')}", DESC_LEN),
                                 dims))
    document_number = f"STB{raw.get('id')}"[:DOC_NO_LEN]
    plan = JournalPlan(ref, document_number, _clip(str(raw.get("referenceNumber") or raw.get("id")), EXT_DOC_LEN),
                       posting_date, lines, st_total)
    plan.check_balanced()
    return plan
