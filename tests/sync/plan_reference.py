"""A frozen copy of readiness as it was before it was made cheaper (issue #17): the plan functions of
sync/domain/accounting.py, sync/domain/returns.py and sync/domain/dimensions.py and ``mapping.evaluate``,
copied verbatim from commit 6bfca80 (only ``ctx.mapped(kind, key)`` reads the context's mappings here
itself, and calls between the copied modules stay inside this file). tests/sync/test_plan_equivalence.py
checks that today's code gives exactly the verdicts, reasons and plans this copy gives. The plan classes
(what a plan IS) are today's: only how a plan is worked out is frozen here."""

# ruff: noqa
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from stnav_desktop.store.models import DocStatus, MappingKind, SourceKind
from stnav_desktop.sync.domain import lifecycle
from stnav_desktop.sync.domain.accounting import (
    CENT,
    DESC_LEN,
    DOC_NO_LEN,
    EXT_DOC_LEN,
    MODEL_CLEARING,
    MODEL_INVOICE_ONLY,
    MODEL_JOURNAL_ONLY,
    ZERO,
    InvoicePlan,
    JournalLinePlan,
    JournalPlan,
    NotPostable,
    PlanContext,
    PlanError,
    PlanLine,
    money,
)
from stnav_desktop.sync.domain.dimensions import VALUE_LEN
from stnav_desktop.sync.domain.returns import BOOKED_STATUS, ReturnCreditMemoPlan


def _mapped(ctx: PlanContext, kind: str, key: Any) -> tuple[str, str] | None:
    """``PlanContext.mapped`` as it was."""
    if key is None:
        return None
    return ctx.mappings.get(kind, {}).get(str(key))


# --- sync/app/documents.py ---------------------------------------------------------------------

def to_decimal(value: Any) -> Decimal | None:
    """Exact amount from a JSON string or number; None when absent. Raises ValueError when not a number."""
    if type(value) is Decimal:  # what the connector's JSON holds (parse_float=Decimal): already exact
        if value.is_finite():
            return value
        raise ValueError(f"not an amount: {value!r}")
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, float):
        value = repr(value)  # shortest text that round-trips: the number as the JSON had it
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return result


def to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    # ServiceTitan returns UTC; a stamp without an offset is UTC too
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- sync/domain/accounting.py ------------------------------------------------------------------

def _ref(kind: str, raw: dict[str, Any]) -> str:
    if kind == SourceKind.PURCHASE_ORDER:
        return f"PO {raw.get('number') or raw.get('id')}"
    if kind == SourceKind.INVENTORY_RETURN:
        return f"Return {raw.get('number') or raw.get('id')}"
    return f"Bill {raw.get('referenceNumber') or raw.get('id')}"


def _amount(raw: dict[str, Any], key: str, ref: str, problems: list[str], *, required: bool = False,
            allow_negative: bool = False) -> Decimal:
    try:
        value = to_decimal(raw.get(key))
    except ValueError:
        problems.append(f"{ref}: {key} {raw.get(key)!r} is not a number")
        return ZERO
    if value is None:
        if required:
            problems.append(f"{ref}: {key} is missing")
        return ZERO
    if value < 0 and not allow_negative:
        problems.append(f"{ref}: {key} {value} is negative")
    return value


def _date(value: Any) -> date | None:
    dt = to_datetime(value)
    return dt.astimezone(UTC).date() if dt else None


def _clip(text: str, length: int) -> str:
    text = " ".join(str(text).split())  # no control characters or line breaks in NAV text fields
    if not text.isprintable():
        text = "".join(ch for ch in text if ch.isprintable())
    return text if len(text) <= length else text[: length - 1] + "…"


def _posting_date(kind: str, raw: dict[str, Any], ctx: PlanContext, ref: str, problems: list[str]) -> date:
    chosen: date | None
    if ctx.date_rule == "posting_day":
        chosen = ctx.today or datetime.now(UTC).date()
    elif ctx.date_rule == "receipt_date" and kind == SourceKind.PURCHASE_ORDER:
        chosen = _date(raw.get("receivedOn")) or _date(raw.get("date"))
    elif kind == SourceKind.PURCHASE_ORDER:
        chosen = _date(raw.get("date"))
    elif kind == SourceKind.INVENTORY_RETURN:
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
    mapped = _mapped(ctx, MappingKind.BUSINESS_UNIT, bu_id)
    if mapped is None:
        problems.append(f"{ref}: business unit {bu_id} is not mapped to a {ctx.territory_dimension} value")
        return {}
    code = mapped[1] or ctx.territory_dimension
    if ctx.check_dimension and (problem := ctx.check_dimension(code, mapped[0])):
        problems.append(f"{ref}: {problem}")
    return {code: mapped[0]}


def _dimensions(kind: str, raw: dict[str, Any], ctx: PlanContext, ref: str, problems: list[str]) -> dict[str, str]:
    """The territory (built-in rule) plus every configured dimension rule (sync/domain/dimensions.py)."""
    bu_id = (raw.get("businessUnit") or {}).get("id") if kind == SourceKind.INVENTORY_BILL else raw.get("businessUnitId")
    dims = _territory(bu_id, ctx, ref, problems)
    if ctx.dimension_rules_error:
        problems.append(f"{ref}: setting posting.dimension_rules: {ctx.dimension_rules_error}")
    if ctx.dimension_rules:
        dims = apply(ctx.dimension_rules, kind, raw, ctx, ref, problems, dims)
    return dims


def _job_prefix(raw: dict[str, Any], ctx: PlanContext) -> str:
    """"Job 10452 " when the document belongs to a ServiceTitan job: first in every G/L line's description,
    so clipping never drops it and a bookkeeper filtering G/L entries in NAV sees the job."""
    number = job_number(raw, ctx)
    return f"Job {number} " if number else ""


def _vendor(vendor_id: Any, ctx: PlanContext, ref: str, problems: list[str]) -> str:
    if not vendor_id:
        problems.append(f"{ref}: vendor {vendor_id or 0} does not exist in ServiceTitan")
        return ""
    mapped = _mapped(ctx, MappingKind.VENDOR, vendor_id)
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
    mapped = _mapped(ctx, MappingKind.ITEM, item.get("skuId"))
    if mapped and mapped[1] == "Account":
        return mapped[0], f"SKU {item.get('skuCode') or item.get('skuId')} mapped to account"
    for key, label in ((f"sku_type:{item.get('skuType')}", "rule for SKU type"),
                       (f"business_unit:{bu_id}", "rule for business unit")):
        rule = _mapped(ctx, MappingKind.GL_RULE, key)
        if rule:
            return rule[0], label
    for field_name in ("costOfSaleAccount", "generalLedgerAccount"):
        st_account = item.get(field_name) or {}
        if st_account.get("id") is not None:
            mapped = _mapped(ctx, MappingKind.ST_GL_ACCOUNT, st_account["id"])
            if mapped:
                return mapped[0], f"ServiceTitan {field_name} {st_account.get('number') or st_account['id']} mapped"
    return ctx.default_expense_account, "default expense account"


def plan_document(kind: str, raw: dict[str, Any], ctx: PlanContext) -> Any:
    if kind == SourceKind.INVENTORY_RETURN:
        return plan_return(raw, ctx)
    if kind == SourceKind.PURCHASE_ORDER:
        if ctx.model == MODEL_JOURNAL_ONLY:
            raise NotPostable("purchase orders are not posted under the journal-only model")
        return plan_purchase_invoice(raw, ctx)
    if ctx.model == MODEL_INVOICE_ONLY:
        raise NotPostable("inventory bills are not posted under the purchase-invoice-only model")
    return plan_bill_journal(raw, ctx)


def plan_purchase_invoice(raw: dict[str, Any], ctx: PlanContext) -> InvoicePlan:
    ref = _ref(SourceKind.PURCHASE_ORDER, raw)
    problems: list[str] = []
    status = str(raw.get("status") or "")
    if status == "Canceled":
        raise NotPostable(f"{ref} is Canceled")
    if status not in ctx.postable_po_statuses:
        raise NotPostable(f"{ref} has status {status or 'none'}; postable: {', '.join(ctx.postable_po_statuses)}")
    vendor = _vendor(raw.get("vendorId"), ctx, ref, problems)
    dims = _dimensions(SourceKind.PURCHASE_ORDER, raw, ctx, ref, problems)
    job = _job_prefix(raw, ctx)
    posting_date = _posting_date(SourceKind.PURCHASE_ORDER, raw, ctx, ref, problems)
    invoice_date = _date(raw.get("date")) or posting_date
    lines: list[PlanLine] = []
    items = raw.get("items") or []
    if not items:
        problems.append(f"{ref}: has no items")
    for index, item in enumerate(items, 1):
        where = f"{ref} line {index}"
        qty_key = "quantityReceived" if ctx.model == MODEL_CLEARING or status != "Pending" else "quantity"
        quantity = _amount(item, qty_key, where, problems, required=True)
        if ctx.model == MODEL_CLEARING and quantity == ZERO:
            continue  # nothing received on this line: nothing to invoice yet
        cost = _amount(item, "cost", where, problems, required=True)
        amount = money(quantity * cost)
        text = job + _clip(f"{item.get('skuCode') or ''} {item.get('skuName') or ''}".strip() or f"line {index}",
                           DESC_LEN - 25 - len(job))
        if ctx.model == MODEL_CLEARING:
            # the cost itself was booked by the bill's journal: the invoice clears it (see docs/md)
            number = _account(ctx.clearing_account, ctx, where, problems, "clearing account")
            lines.append(PlanLine("Account", number, _clip(f"{text} {quantity}×{cost}", DESC_LEN),
                                  Decimal(1), amount, amount, dims))
            continue
        mapped = _mapped(ctx, MappingKind.ITEM, item.get("skuId"))
        if mapped is None:
            problems.append(f"{where}: SKU {item.get('skuCode') or item.get('skuId')} is not mapped to a NAV item "
                            "or G/L account")
            continue
        if mapped[1] == "Item":
            if ctx.check_item and (problem := ctx.check_item(mapped[0])):
                problems.append(f"{where}: {problem}")
            lines.append(PlanLine("Item", mapped[0], _clip(text, DESC_LEN), quantity, cost, amount, dims))
        else:
            number = _account(mapped[0], ctx, where, problems, "SKU account")
            lines.append(PlanLine("Account", number, _clip(text, DESC_LEN), quantity, cost, amount, dims))
    charge_account = ctx.clearing_account if ctx.model == MODEL_CLEARING else None
    for key, account, label in (("tax", ctx.tax_account, "Tax"), ("shipping", ctx.freight_account, "Freight")):
        value = money(_amount(raw, key, ref, problems))
        if value:
            number = _account(charge_account or account, ctx, ref, problems, label.lower())
            lines.append(PlanLine("Account", number, _clip(f"{job}{label} {ref}", DESC_LEN), Decimal(1), value,
                                  value, dims))
    st_total = _amount(raw, "total", ref, problems, required=True)
    plan = InvoicePlan(ref, vendor, _clip(f"ST-{ref.replace(' ', '-')}", EXT_DOC_LEN), invoice_date, posting_date,
                       lines, dims, st_total)
    if ctx.model != MODEL_CLEARING or status == "Received":
        _settle_rounding(plan.lines, plan.total, st_total, ref, problems,
                         lambda diff: PlanLine("Account", ctx.clearing_account if charge_account else ctx.other_account,
                                               _clip(f"{job}Rounding difference {ref}", DESC_LEN), Decimal(1), diff,
                                               diff, dims))
    if problems:
        raise PlanError(problems)
    return plan


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
    ref = _ref(SourceKind.INVENTORY_BILL, raw)
    problems: list[str] = []
    bu = raw.get("businessUnit") or {}
    dims = _dimensions(SourceKind.INVENTORY_BILL, raw, ctx, ref, problems)
    job = _job_prefix(raw, ctx)
    vendor = raw.get("vendor") or {}
    if not vendor.get("id"):
        problems.append(f"{ref}: vendor {vendor.get('id') or 0} does not exist in ServiceTitan")
    posting_date = _posting_date(SourceKind.INVENTORY_BILL, raw, ctx, ref, problems)
    lines: list[JournalLinePlan] = []
    items = raw.get("items") or []
    if not items:
        problems.append(f"{ref}: has no items")
    for index, item in enumerate(items, 1):
        where = f"{ref} line {item.get('order') or index}"
        quantity = _amount(item, "quantity", where, problems, required=True)
        cost = _amount(item, "cost", where, problems, required=True)
        account, _rule = bill_line_account(item, bu.get("id"), ctx)
        _account(account, ctx, where, problems, "line account")
        text = _clip(f"{job}{ref} {item.get('skuCode') or ''} {item.get('name') or ''} {quantity}×{cost}", DESC_LEN)
        lines.append(JournalLinePlan(account, money(quantity * cost), text, dims))
    for key, account, label in (("taxAmount", ctx.tax_account, "Tax"), ("shippingAmount", ctx.freight_account, "Freight"),
                                ("otherAmount", ctx.other_account, "Other charges")):
        value = money(_amount(raw, key, ref, problems))
        if value:
            _account(account, ctx, ref, problems, label.lower())
            lines.append(JournalLinePlan(account, value, _clip(f"{job}{label} {ref}", DESC_LEN), dims))
    st_total = _amount(raw, "billAmount", ref, problems, required=True)
    debits = sum((line.amount for line in lines), ZERO)
    _settle_rounding(lines, debits, st_total, ref, problems,
                     lambda diff: JournalLinePlan(ctx.other_account, diff,
                                                  _clip(f"{job}Rounding difference {ref}", DESC_LEN), dims))
    clearing = _account(ctx.clearing_account, ctx, ref, problems, "clearing account")
    lines.append(JournalLinePlan(clearing, -money(st_total),
                                 _clip(f"{job}{ref} received from {vendor.get('name') or vendor.get('id')}", DESC_LEN),
                                 dims))
    document_number = f"STB{raw.get('id')}"[:DOC_NO_LEN]
    plan = JournalPlan(ref, document_number, _clip(str(raw.get("referenceNumber") or raw.get("id")), EXT_DOC_LEN),
                       posting_date, lines, st_total)
    if problems:
        raise PlanError(problems)
    plan.check_balanced()
    return plan


# --- sync/domain/returns.py ---------------------------------------------------------------------

def credit_memo_number(raw: dict[str, Any]) -> str:
    """The vendor credit memo no. naming the return: the exactly-once key with the vendor."""
    return _clip(f"ST-RET-{raw.get('number') or raw.get('id')}", EXT_DOC_LEN)


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
                    account, rule = bill_line_account(line, bill_bu, ctx)
                    return account, f"as bill {bill.get('referenceNumber') or bill.get('id')}: {rule}"
    # return lines carry no SKU type: the PO's line of the same SKU has it
    sku_type = item.get("skuType")
    if sku_type is None and po_id and ctx.purchase_order is not None:
        po_items = (ctx.purchase_order(po_id) or {}).get("items") or []
        sku_type = next((i.get("skuType") for i in po_items if i.get("skuId") == item.get("skuId")), None)
    # return lines name ServiceTitan's G/L accounts by number only (Inventory.V2.GLAccountResponse has no id)
    probe = {"skuId": item.get("skuId"), "skuCode": item.get("code"), "skuType": sku_type}
    account, rule = bill_line_account(probe, bu_id, ctx)
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
        mapped = _mapped(ctx, MappingKind.ST_GL_ACCOUNT, key)
        if mapped:
            return mapped[0]
    return None


def plan_return(raw: dict[str, Any], ctx: PlanContext) -> ReturnCreditMemoPlan | JournalPlan:
    ref = _ref(SourceKind.INVENTORY_RETURN, raw)
    check_bookable(raw, ref)
    problems: list[str] = []
    dims = _dimensions(SourceKind.INVENTORY_RETURN, raw, ctx, ref, problems)
    job = _job_prefix(raw, ctx)
    posting_date = _posting_date(SourceKind.INVENTORY_RETURN, raw, ctx, ref, problems)
    credit_date = _date(raw.get("creditReceivedOn")) or posting_date
    lines: list[PlanLine] = []
    items = [i for i in raw.get("items") or [] if isinstance(i, dict) and i.get("active") is not False]
    if not items:
        problems.append(f"{ref}: has no items")
    for index, item in enumerate(items, 1):
        where = f"{ref} line {index}"
        quantity = _amount(item, "quantity", where, problems, required=True)
        cost = _amount(item, "cost", where, problems, required=True)
        amount = money(quantity * cost)
        text = _clip(f"{job}{ref} {item.get('code') or ''} {item.get('name') or ''} {quantity}×{cost}",
                                DESC_LEN)
        if ctx.model == MODEL_INVOICE_ONLY:
            mapped = _mapped(ctx, MappingKind.ITEM, item.get("skuId"))
            if mapped is None:
                problems.append(f"{where}: SKU {item.get('code') or item.get('skuId')} is not mapped to a NAV item "
                                "or G/L account")
                continue
            if mapped[1] == "Item":
                if ctx.check_item and (problem := ctx.check_item(mapped[0])):
                    problems.append(f"{where}: {problem}")
                lines.append(PlanLine("Item", mapped[0], text, quantity, cost, amount, dims))
            else:
                number = _account(mapped[0], ctx, where, problems, "SKU account")
                lines.append(PlanLine("Account", number, text, quantity, cost, amount, dims))
            continue
        account, _rule = original_account(item, raw, ctx)
        _account(account, ctx, where, problems, "line account")
        # quantity 1 x the rounded amount (quantity and unit cost in the description): NAV does not round again
        lines.append(PlanLine("Account", account, text, Decimal(1), amount, amount, dims))
    for key, account, label in (("taxAmount", ctx.tax_account, "Tax"), ("shippingAmount", ctx.freight_account,
                                                                       "Freight")):
        value = money(_amount(raw, key, ref, problems))
        if value:
            _account(account, ctx, ref, problems, label.lower())
            lines.append(PlanLine("Account", account, _clip(f"{job}{label} {ref}", DESC_LEN), Decimal(1),
                                  value, value, dims))
    st_total = _amount(raw, "returnAmount", ref, problems, required=True)
    computed = sum((ln.amount for ln in lines), ZERO)
    _settle_rounding(lines, computed, st_total, ref, problems,
                                lambda diff: PlanLine("Account", ctx.other_account,
                                                      _clip(f"{job}Rounding difference {ref}", DESC_LEN),
                                                      Decimal(1), diff, diff, dims))
    if any(ln.amount < 0 for ln in lines):
        problems.append(f"{ref}: a credit memo line would be negative; check the return's amounts in ServiceTitan")
    if ctx.model == MODEL_JOURNAL_ONLY:
        # accrual: no vendor document; accrued purchases (the clearing account) debited, costs credited
        journal_lines = [JournalLinePlan(ln.number, -ln.amount, ln.description, dims) for ln in lines]
        clearing = _account(ctx.clearing_account, ctx, ref, problems, "clearing account")
        journal_lines.append(JournalLinePlan(clearing, money(st_total),
                                             _clip(f"{job}{ref} credited by the vendor", DESC_LEN), dims))
        if problems:
            raise PlanError(problems)
        plan = JournalPlan(ref, f"STR{raw.get('id')}"[:DOC_NO_LEN],
                           _clip(str(raw.get("number") or raw.get("id")), EXT_DOC_LEN), posting_date,
                           journal_lines, st_total)
        plan.check_balanced()
        return plan
    vendor = _vendor(raw.get("vendorId"), ctx, ref, problems)
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


# --- sync/domain/dimensions.py ------------------------------------------------------------------

def job_number(raw: dict[str, Any], ctx: Any) -> str:
    """The ServiceTitan job number of a document ("" when it belongs to no job or it is unknown): bills
    carry it (``jobNumber``); purchase orders and returns carry the job id, looked up in what was pulled."""
    number = raw.get("jobNumber")
    if number:
        return str(number).strip()
    job_id = raw.get("jobId")
    lookup = getattr(ctx, "job_number", None)
    if job_id and lookup is not None:
        return str(lookup(job_id) or "")
    return ""


def attribute(kind: str, raw: dict[str, Any], name: str, ctx: Any) -> tuple[str, str]:
    """(ServiceTitan key, value as NAV would take it) of one attribute; ("", "") when the document has none."""
    if name == "business_unit":
        bu = (raw.get("businessUnit") or {}).get("id") if kind == SourceKind.INVENTORY_BILL else raw.get(
            "businessUnitId")
        return ("", "") if bu is None else (str(bu), str(bu))
    if name == "job":
        job_id = raw.get("jobId")
        number = job_number(raw, ctx)
        return (str(job_id) if job_id else "", number)
    if name == "job_type":
        info = getattr(ctx, "job_info", None)
        job_type = raw.get("jobTypeId") or ((info(raw.get("jobId")) or {}).get("jobTypeId")
                                            if info and raw.get("jobId") else None)
        return ("", "") if job_type is None else (str(job_type), str(job_type))
    if name == "inventory_location" and kind == SourceKind.INVENTORY_BILL:
        # bills name the location per line (``inventoryLocation``, text): the first line's
        names = [str(i.get("inventoryLocation")) for i in raw.get("items") or [] if i.get("inventoryLocation")]
        return (names[0], names[0]) if names else ("", "")
    key = {"project": "projectId", "budget_code": "budgetCodeId", "inventory_location": "inventoryLocationId",
           "technician": "technicianId"}[name]
    value = raw.get(key)
    return ("", "") if value in (None, "", 0) else (str(value), str(value))


def apply(rules: list[DimensionRule], kind: str, raw: dict[str, Any], ctx: Any, ref: str,
          problems: list[str], dims: dict[str, str]) -> dict[str, str]:
    """``dims`` (the territory) plus one value per rule; each missing or unknown value named in ``problems``."""
    out = dict(dims)
    for rule in rules:
        if rule.dimension in out:
            continue  # the territory rule already set it (a business_unit rule for the same dimension)
        key, natural = attribute(kind, raw, rule.attribute, ctx)
        value = ""
        if rule.mode == "value":
            value = natural.upper()
            if len(value) > VALUE_LEN:
                problems.append(f"{ref}: {rule.attribute} {natural} is longer than {VALUE_LEN} characters, too long "
                                f"for a {rule.dimension} dimension value")
                continue
        elif key:
            mapped = _mapped(ctx, MappingKind.DIMENSION, f"{rule.attribute}:{key}")
            if mapped and (not mapped[1] or mapped[1].upper() == rule.dimension):
                value = mapped[0]
        what = f"{rule.attribute.replace('_', ' ')} {natural or key}" if key or natural else \
            f"no {rule.attribute.replace('_', ' ')}"
        if not value and rule.default:
            value = rule.default
        if not value:
            if rule.required:
                reason = "is not mapped to" if key and rule.mode == "map" else "gives no value for"
                problems.append(f"{ref}: {what} {reason} a {rule.dimension} dimension value (required)")
            continue
        if ctx.check_dimension and (problem := ctx.check_dimension(rule.dimension, value)):
            problems.append(f"{ref}: {rule.dimension} from {what}: {problem}")
            continue
        out[rule.dimension] = value
    return out


# --- sync/app/mapping.py -----------------------------------------------------------------------

# ServiceTitan PO statuses that mean "not received yet": the PO waits, it is not refused
NOT_YET_RECEIVED = ("Pending", "Sent", "PartiallyReceived")
# what the plan says about the record itself (fixed in ServiceTitan), as opposed to a missing mapping
DATA_MARKERS = ("is not a number", "is missing", "is negative", "has no items", "add up to",
                "does not exist in ServiceTitan", "is not a date", "control character", "NUL")


def evaluate(doc: Any, ctx: PlanContext) -> tuple[str, str]:
    """(status, reason) for a document not yet in a batch: ready; a data problem in the ServiceTitan
    record (fixed there); needs mapping (with why); waiting for full receipt; or not posted by rule."""
    data = list(dict.fromkeys(doc.source_problems or []))
    problems: list[str] = []
    try:
        plan_document(doc.kind, doc.raw, ctx)
    except NotPostable as exc:
        status = doc.st_status or ""
        if doc.kind == SourceKind.PURCHASE_ORDER and status in NOT_YET_RECEIVED \
                and status not in ctx.postable_po_statuses:
            what = "partly received" if status == "PartiallyReceived" else f"{status.lower()}, not received yet"
            return DocStatus.WAITING, (f"waiting for full receipt: {lifecycle.st_ref(doc)} is {what} in "
                                       "ServiceTitan; it is checked again when ServiceTitan says Received")
        return DocStatus.SKIPPED, str(exc)
    except PlanError as exc:
        for problem in exc.problems:
            (data if any(marker in problem for marker in DATA_MARKERS) else problems).append(problem)
    source = getattr(ctx, "period_source", "")
    if source:  # say which source closed the period
        problems = [p.replace("is outside NAV's allowed posting period", "is outside the allowed posting period")
                    + (f" (closed by {source})" if "allowed posting period" in p else "") for p in problems]
    if data:
        rest = [p for p in dict.fromkeys(problems) if p not in data]
        return DocStatus.DATA_PROBLEM, ("data problem in ServiceTitan: " + "; ".join(data)
                                        + ". Correct the record in ServiceTitan; the next pull checks it again."
                                        + (" Also: " + "; ".join(rest) if rest else ""))
    if problems:
        return DocStatus.NEEDS_MAPPING, "; ".join(dict.fromkeys(problems))
    return DocStatus.READY, ""


# --- sync/app/holds.py ---------------------------------------------------------------------------

def safe_evaluate(doc: Any, ctx: Any) -> tuple[str, str]:
    """``mapping.evaluate`` that never raises: a record too broken to plan needs a person, with the cause."""
    try:
        return evaluate(doc, ctx)
    except Exception as exc:  # a malformed record must not stop a pull or a release
        problems = list(getattr(doc, "source_problems", None) or [])
        problems.append(f"cannot be planned: {type(exc).__name__}: {str(exc)[:120]}")
        return DocStatus.NEEDS_MAPPING, "; ".join(dict.fromkeys(problems))
