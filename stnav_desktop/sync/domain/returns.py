"""Vendor returns (ServiceTitan inventory returns) as NAV purchase credit memos: docs/accounting.md,
*Vendor returns*. Pure planning over the raw ``Export_Returns`` payload, the profile's settings and
mappings, and the look-ups the context carries (the PO's bills, the PO's posted invoice); no I/O.

Booked only when the vendor's credit is received (status *CreditReceived*, ``active``); a canceled or
deleted return is never booked, a pending one waits: both ``NotPostable`` with the reason in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from stnav_desktop.connectors.nav.credit_memos import PurchaseCreditMemoSpec
from stnav_desktop.store.models import MappingKind, SourceKind
from stnav_desktop.sync.domain import accounting
from stnav_desktop.sync.domain.accounting import (
    DESC_LEN,
    EXT_DOC_LEN,
    MODEL_JOURNAL_ONLY,
    ZERO,
    CreditMemoPlan,
    InvoicePlan,
    JournalLinePlan,
    JournalPlan,
    NotPostable,
    PlanContext,
    PlanError,
    PlanLine,
    money,
)

BOOKED_STATUS = "CreditReceived"


def credit_memo_number(raw: dict[str, Any]) -> str:
    """The vendor credit memo no. naming the return: the exactly-once key with the vendor."""
    return accounting._clip(f"ST-RET-{raw.get('number') or raw.get('id')}", EXT_DOC_LEN)


@dataclass
class ReturnCreditMemoPlan(CreditMemoPlan):
    """A purchase credit memo for a vendor return. Written after purchase invoices (``write_order`` 2), so
    that the PO's invoice posted in the same chunk is already known when the credit memo is built: the
    invoice it applies to is looked up when the request is made (``nav_spec``), not when planned."""

    applies_to_lookup: Any = None  # () -> posted invoice number of the return's PO, or None

    write_order = 2

    @property
    def vendor_credit_memo_number(self) -> str:
        return self.invoice.vendor_invoice_number

    def applies_to(self) -> str | None:
        if self.applies_to_invoice:
            return self.applies_to_invoice
        return self.applies_to_lookup() if self.applies_to_lookup else None

    def nav_spec(self) -> PurchaseCreditMemoSpec:
        spec = super().nav_spec()
        spec.credit_memo_date = self.invoice.invoice_date  # the day the vendor's credit was received
        spec.invoice_number = self.applies_to()
        return spec

    def summary(self) -> dict[str, Any]:
        return {**super().summary(), "return": self.st_ref, "applies_to": self.applies_to() or ""}


def _status(raw: dict[str, Any]) -> str:
    status = raw.get("status")
    return status if isinstance(status, str) else ""


def check_bookable(raw: dict[str, Any], ref: str) -> None:
    """The rule: only a return whose vendor credit is received is booked. Raises ``NotPostable`` with why."""
    status = _status(raw)
    if raw.get("active") is False:
        raise NotPostable(f"{ref} was deleted in ServiceTitan (inactive): never booked")
    if status == "Canceled":
        reason = raw.get("canceledReason")
        raise NotPostable(f"{ref} is Canceled{f' ({reason})' if reason else ''}: nothing goes back to the vendor, "
                          "so no credit is booked")
    if status != BOOKED_STATUS:
        raise NotPostable(f"{ref} is {status or 'without a status'}: waiting for the vendor's credit (booked when "
                          "ServiceTitan marks the credit received)")


def original_account(item: dict[str, Any], raw: dict[str, Any], ctx: PlanContext) -> tuple[str, str]:
    """The account the original cost of this SKU was booked to: the bill line of the same SKU on the
    return's PO, through the bills' own rule chain; else the rule chain applied to the return line."""
    bu_id = raw.get("businessUnitId")
    po_id = raw.get("purchaseOrderId")
    if po_id and ctx.bills_of_po is not None:
        for bill in ctx.bills_of_po(po_id) or []:
            bill_bu = (bill.get("businessUnit") or {}).get("id", bu_id)
            for line in bill.get("items") or []:
                if line.get("skuId") is not None and line.get("skuId") == item.get("skuId"):
                    account, rule = accounting.bill_line_account(line, bill_bu, ctx)
                    return account, f"as bill {bill.get('referenceNumber') or bill.get('id')}: {rule}"
    # return lines carry no SKU type: the PO's line of the same SKU has it
    sku_type = item.get("skuType")
    if sku_type is None and po_id and ctx.purchase_order is not None:
        po_items = (ctx.purchase_order(po_id) or {}).get("items") or []
        sku_type = next((i.get("skuType") for i in po_items if i.get("skuId") == item.get("skuId")), None)
    # return lines name ServiceTitan's G/L accounts by number only (Inventory.V2.GLAccountResponse has no id)
    probe = {"skuId": item.get("skuId"), "skuCode": item.get("code"), "skuType": sku_type}
    account, rule = accounting.bill_line_account(probe, bu_id, ctx)
    if rule == "default expense account":
        for field_name in ("costOfSaleAccount", "generalLedgerAccount"):
            number = (item.get(field_name) or {}).get("number")
            mapped = _st_account_by_number(number, ctx)
            if mapped:
                return mapped, f"ServiceTitan {field_name} {number} mapped"
    return account, rule


def _st_account_by_number(number: Any, ctx: PlanContext) -> str | None:
    if not number:
        return None
    # st_gl_account mappings are keyed by ServiceTitan's account id; a key may also be its number
    for key in (str(number), f"number:{number}"):
        mapped = ctx.mapped(MappingKind.ST_GL_ACCOUNT, key)
        if mapped:
            return mapped[0]
    return None


def plan_return(raw: dict[str, Any], ctx: PlanContext) -> ReturnCreditMemoPlan | JournalPlan:
    ref = accounting._ref(SourceKind.INVENTORY_RETURN, raw)
    check_bookable(raw, ref)
    problems: list[str] = []
    dims = accounting._dimensions(SourceKind.INVENTORY_RETURN, raw, ctx, ref, problems)
    job = accounting._job_prefix(raw, ctx)
    posting_date = accounting._posting_date(SourceKind.INVENTORY_RETURN, raw, ctx, ref, problems)
    credit_date = accounting._date(raw.get("creditReceivedOn")) or posting_date
    lines: list[PlanLine] = []
    items = [i for i in raw.get("items") or [] if isinstance(i, dict) and i.get("active") is not False]
    if not items:
        problems.append(f"{ref}: has no items")
    for index, item in enumerate(items, 1):
        where = f"{ref} line {index}"
        quantity = accounting._amount(item, "quantity", where, problems, required=True)
        cost = accounting._amount(item, "cost", where, problems, required=True)
        amount = money(quantity * cost)
        text = accounting._clip(f"{job}{ref} {item.get('code') or ''} {item.get('name') or ''} {quantity}×{cost}",
                                DESC_LEN)
        if ctx.model == accounting.MODEL_INVOICE_ONLY:
            mapped = ctx.mapped(MappingKind.ITEM, item.get("skuId"))
            if mapped is None:
                problems.append(f"{where}: SKU {item.get('code') or item.get('skuId')} is not mapped to a NAV item "
                                "or G/L account")
                continue
            if mapped[1] == "Item":
                if ctx.check_item and (problem := ctx.check_item(mapped[0])):
                    problems.append(f"{where}: {problem}")
                lines.append(PlanLine("Item", mapped[0], text, quantity, cost, amount, dims))
            else:
                number = accounting._account(mapped[0], ctx, where, problems, "SKU account")
                lines.append(PlanLine("Account", number, text, quantity, cost, amount, dims))
            continue
        account, _rule = original_account(item, raw, ctx)
        accounting._account(account, ctx, where, problems, "line account")
        # quantity 1 x the rounded amount (quantity and unit cost in the description): NAV does not round again
        lines.append(PlanLine("Account", account, text, Decimal(1), amount, amount, dims))
    for key, account, label in (("taxAmount", ctx.tax_account, "Tax"), ("shippingAmount", ctx.freight_account,
                                                                       "Freight")):
        value = money(accounting._amount(raw, key, ref, problems))
        if value:
            accounting._account(account, ctx, ref, problems, label.lower())
            lines.append(PlanLine("Account", account, accounting._clip(f"{job}{label} {ref}", DESC_LEN), Decimal(1),
                                  value, value, dims))
    st_total = accounting._amount(raw, "returnAmount", ref, problems, required=True)
    computed = sum((ln.amount for ln in lines), ZERO)
    accounting._settle_rounding(lines, computed, st_total, ref, problems,
                                lambda diff: PlanLine("Account", ctx.other_account,
                                                      accounting._clip(f"{job}Rounding difference {ref}", DESC_LEN),
                                                      Decimal(1), diff, diff, dims))
    if any(ln.amount < 0 for ln in lines):
        problems.append(f"{ref}: a credit memo line would be negative; check the return's amounts in ServiceTitan")
    if ctx.model == MODEL_JOURNAL_ONLY:
        # accrual: no vendor document; accrued purchases (the clearing account) debited, costs credited
        journal_lines = [JournalLinePlan(ln.number, -ln.amount, ln.description, dims) for ln in lines]
        clearing = accounting._account(ctx.clearing_account, ctx, ref, problems, "clearing account")
        journal_lines.append(JournalLinePlan(clearing, money(st_total),
                                             accounting._clip(f"{job}{ref} credited by the vendor", DESC_LEN), dims))
        if problems:
            raise PlanError(problems)
        plan = JournalPlan(ref, f"STR{raw.get('id')}"[:accounting.DOC_NO_LEN],
                           accounting._clip(str(raw.get("number") or raw.get("id")), EXT_DOC_LEN), posting_date,
                           journal_lines, st_total)
        plan.check_balanced()
        return plan
    vendor = accounting._vendor(raw.get("vendorId"), ctx, ref, problems)
    if problems:
        raise PlanError(problems)
    invoice = InvoicePlan(ref, vendor, credit_memo_number(raw), credit_date, posting_date, lines, dims, st_total)
    po_id = raw.get("purchaseOrderId")
    find_invoice = ctx.posted_invoice
    if not po_id or find_invoice is None or not ctx.apply_returns:
        return ReturnCreditMemoPlan(invoice, None, None)

    def applies_to() -> str | None:
        return find_invoice(po_id, vendor)

    return ReturnCreditMemoPlan(invoice, None, applies_to)
