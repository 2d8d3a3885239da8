"""What the app will create in NAV for one document, for the review pane — computed by the same
planner that posts, so the preview cannot differ from what is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stnav_desktop.store.models import SourceKind, StDocument
from stnav_desktop.sync.app import mapping
from stnav_desktop.sync.app.documents import to_decimal
from stnav_desktop.sync.domain import accounting


@dataclass
class Preview:
    title: str
    header: list[tuple[str, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    lines: list[list[str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class SourceLine:
    """A ServiceTitan line with its mapping state, for the line pickers."""

    index: int
    sku_id: Any
    sku_code: str
    description: str
    quantity: Decimal | None  # ordered (POs) / billed (bills); None when ServiceTitan's value is not a number
    cost: Decimal | None
    mapped_to: str
    mapped_type: str
    rule: str = ""
    received: Decimal | None = None  # POs: quantity received
    raw_quantity: str = ""  # what ServiceTitan sent, shown when it is not a number
    raw_cost: str = ""

    @property
    def amount(self) -> Decimal | None:
        if self.quantity is None or self.cost is None:
            return None
        return accounting.money(self.quantity * self.cost)


@dataclass
class SourceTotals:
    """The document's lines, charges and total, so the pane adds up to ServiceTitan's header."""

    lines: Decimal
    charges: list[tuple[str, Decimal]]
    st_total: Decimal | None
    unreadable: list[str] = field(default_factory=list)  # amounts ServiceTitan sent that are not numbers

    @property
    def total(self) -> Decimal:
        return self.lines + sum((v for _k, v in self.charges), Decimal("0.00"))

    @property
    def difference(self) -> Decimal | None:
        return None if self.st_total is None else self.st_total - self.total


def _number(value: Any) -> Decimal | None:
    try:
        return to_decimal(value)
    except ValueError:
        return None


CHARGES: dict[str, tuple[tuple[str, str], ...]] = {
    SourceKind.PURCHASE_ORDER: (("tax", "Tax"), ("shipping", "Freight")),
    SourceKind.INVENTORY_BILL: (("taxAmount", "Tax"), ("shippingAmount", "Freight"), ("otherAmount", "Other"))}
TOTAL_KEY: dict[str, str] = {SourceKind.PURCHASE_ORDER: "total", SourceKind.INVENTORY_BILL: "billAmount"}


def source_totals(doc: StDocument, lines: list[SourceLine] | None = None) -> SourceTotals:
    lines = lines if lines is not None else source_lines(doc)
    unreadable = [f"line {ln.index}" for ln in lines if ln.amount is None]
    subtotal = sum((ln.amount for ln in lines if ln.amount is not None), Decimal("0.00"))
    charges = []
    for key, label in CHARGES.get(doc.kind, ()):
        value = _number(doc.raw.get(key))
        if value is None and doc.raw.get(key) not in (None, ""):
            unreadable.append(f"{label.lower()} {doc.raw.get(key)!r}")
        if value:
            charges.append((label, accounting.money(value)))
    total = _number(doc.raw.get(TOTAL_KEY.get(doc.kind, "total")))
    return SourceTotals(subtotal, charges, accounting.money(total) if total is not None else None, unreadable)


def source_lines(doc: StDocument) -> list[SourceLine]:
    ctx = mapping.plan_context(doc.profile, validate=False)
    out = []
    bu = (doc.raw.get("businessUnit") or {}).get("id") if doc.kind == SourceKind.INVENTORY_BILL else \
        doc.raw.get("businessUnitId")
    for index, item in enumerate(doc.raw.get("items") or [], 1):
        mapped = ctx.mapped("item", item.get("skuId")) or ("", "")
        rule = ""
        if doc.kind == SourceKind.INVENTORY_BILL:
            account, rule = accounting.bill_line_account(item, bu, ctx)
            mapped = (account, "Account") if not mapped[0] or mapped[1] == "Item" else mapped
        elif doc.kind == SourceKind.INVENTORY_RETURN and ctx.model != accounting.MODEL_INVOICE_ONLY:
            from stnav_desktop.sync.domain import returns
            account, rule = returns.original_account(item, doc.raw, ctx)  # the account its cost went to
            mapped = (account, "Account")
        # the PO's total is ordered quantity × cost: the amount column uses it, received is shown beside
        out.append(SourceLine(index, item.get("skuId"), str(item.get("skuCode") or item.get("code") or ""),
                              str(item.get("skuName") or item.get("name") or ""),
                              _number(item.get("quantity")), _number(item.get("cost")), mapped[0], mapped[1], rule,
                              received=_number(item.get("quantityReceived"))
                              if doc.kind == SourceKind.PURCHASE_ORDER else None,
                              raw_quantity=str(item.get("quantity", "")), raw_cost=str(item.get("cost", ""))))
    return out


def preview(doc: StDocument) -> Preview:
    ctx = mapping.plan_context(doc.profile)
    try:
        plan = accounting.plan_document(doc.kind, doc.raw, ctx)
    except accounting.NotPostable as exc:
        return Preview("Nothing will be posted", note=str(exc))
    except accounting.PlanError as exc:
        return Preview("Not ready", problems=exc.problems)
    if isinstance(plan, accounting.CreditMemoPlan):  # a vendor return (sync/domain/returns.py)
        inv = plan.invoice
        applies = plan.applies_to() if hasattr(plan, "applies_to") else plan.applies_to_invoice
        return Preview(
            "Purchase credit memo", header=[
                ("Vendor", inv.vendor_number), ("Vendor credit memo no.", plan.vendor_credit_memo_number),
                ("Credit memo date", inv.invoice_date.isoformat()), ("Posting date", inv.posting_date.isoformat()),
                ("Applies to invoice", applies or "the PO's invoice once it is posted by the app; else none"),
                ("Dimensions", _dims(inv.dimensions)), ("Total credited", f"{plan.total:,.2f}"),
                ("ServiceTitan total", f"{inv.st_total:,.2f}")],
            columns=["Type", "No.", "Description", "Quantity", "Unit cost", "Amount", "Dimensions"],
            lines=[[ln.line_type, ln.number, ln.description, str(ln.quantity), str(ln.unit_cost), f"{ln.amount:,.2f}",
                    _dims(ln.dimensions)] for ln in inv.lines],
            note="NAV credits these accounts and debits the vendor (docs/accounting.md, Vendor returns).")
    if isinstance(plan, accounting.InvoicePlan):
        return Preview(
            "Purchase invoice", header=[
                ("Vendor", plan.vendor_number), ("Vendor invoice no.", plan.vendor_invoice_number),
                ("Invoice date", plan.invoice_date.isoformat()), ("Posting date", plan.posting_date.isoformat()),
                ("Dimensions", _dims(plan.dimensions)), ("Total", f"{plan.total:,.2f}"),
                ("ServiceTitan total", f"{plan.st_total:,.2f}")],
            columns=["Type", "No.", "Description", "Quantity", "Unit cost", "Amount", "Dimensions"],
            lines=[[ln.line_type, ln.number, ln.description, _qty(ln.quantity), f"{ln.unit_cost:,.2f}", f"{ln.amount:,.2f}",
                    _dims(ln.dimensions)] for ln in plan.lines])
    return Preview(
        "General journal lines", header=[
            ("Document no.", plan.document_number), ("External document no.", plan.external_document_number),
            ("Posting date", plan.posting_date.isoformat()), ("Balance", f"{plan.imbalance():,.2f}"),
            ("ServiceTitan total", f"{plan.st_total:,.2f}")],
        columns=["G/L account", "Description", "Debit", "Credit", "Dimensions"],
        lines=[[ln.account_number, ln.description, f"{ln.amount:,.2f}" if ln.amount > 0 else "",
                f"{-ln.amount:,.2f}" if ln.amount < 0 else "", _dims(ln.dimensions)] for ln in plan.lines])


def _qty(value: Decimal) -> str:
    """10, not 1E+1; 2.5, not 2.500."""
    if value == value.to_integral_value():
        return f"{value.to_integral_value():,.0f}"
    return f"{value.normalize():,f}"


def _dims(dims: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in dims.items())
