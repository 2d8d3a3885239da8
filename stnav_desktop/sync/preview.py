"""What the app will create in NAV for one document, for the review pane — computed by the same
planner that posts, so the preview cannot differ from what is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stnav_desktop.store.models import SourceKind, StDocument
from stnav_desktop.sync import accounting, mapping


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
    quantity: str
    cost: str
    mapped_to: str
    mapped_type: str
    rule: str = ""


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
            from stnav_desktop.sync import returns

            account, rule = returns.original_account(item, doc.raw, ctx)  # the account its cost went to
            mapped = (account, "Account")
        out.append(SourceLine(index, item.get("skuId"), str(item.get("skuCode") or item.get("code") or ""),
                              str(item.get("skuName") or item.get("name") or ""),
                              str(item.get("quantityReceived", item.get("quantity", ""))), str(item.get("cost", "")),
                              mapped[0], mapped[1], rule))
    return out


def preview(doc: StDocument) -> Preview:
    ctx = mapping.plan_context(doc.profile)
    try:
        plan = accounting.plan_document(doc.kind, doc.raw, ctx)
    except accounting.NotPostable as exc:
        return Preview("Nothing will be posted", note=str(exc))
    except accounting.PlanError as exc:
        return Preview("Not ready", problems=exc.problems)
    if isinstance(plan, accounting.CreditMemoPlan):  # a vendor return (sync/returns.py)
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
            lines=[[ln.line_type, ln.number, ln.description, str(ln.quantity), str(ln.unit_cost), f"{ln.amount:,.2f}",
                    _dims(ln.dimensions)] for ln in plan.lines])
    return Preview(
        "General journal lines", header=[
            ("Document no.", plan.document_number), ("External document no.", plan.external_document_number),
            ("Posting date", plan.posting_date.isoformat()), ("Balance", f"{plan.imbalance():,.2f}"),
            ("ServiceTitan total", f"{plan.st_total:,.2f}")],
        columns=["G/L account", "Description", "Debit", "Credit", "Dimensions"],
        lines=[[ln.account_number, ln.description, f"{ln.amount:,.2f}" if ln.amount > 0 else "",
                f"{-ln.amount:,.2f}" if ln.amount < 0 else "", _dims(ln.dimensions)] for ln in plan.lines])


def _dims(dims: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in dims.items())
