"""Month-end reconciliation: ServiceTitan against NAV, where the NAV side is READ BACK from NAV's G/L
entries (not taken from our own records), with every difference listed and explained.

Tied to the G/L: ONE row per territory, named by its NAV dimension value code (with the ServiceTitan
business units mapped to it), and each figure a sum an accountant can reproduce in NAV's G/L entries
(filter: the month, the territory dimension value, the documents ml-connector posted):
- cost as booked on cost accounts (every account but the clearing and the payables accounts);
- payables: what our purchase invoices credited to the vendors' payables account;
- clearing: the net movement on the purchases clearing account (bills credit it, invoices debit it).
ServiceTitan's side is split the same way (under the clearing model bills carry the cost and purchase
orders the payable), so a purchase order is never added to its own bills.

Pure over two inputs — the staged documents and a list of typed G/L entries
(``connectors.nav.books.GLEntry``) — so it is tested without I/O.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from stnav_desktop.connectors.nav.books import GLEntry
from stnav_desktop.store import queries, settings
from stnav_desktop.store.models import DocStatus, Mapping, MappingKind, Profile, SourceKind, StDocument
from stnav_desktop.sync.domain import lifecycle
from stnav_desktop.sync.domain.accounting import MODEL_INVOICE_ONLY, MODEL_JOURNAL_ONLY, ZERO

EXPLAIN: dict[str, str] = {  # looked up with the stored status text
    DocStatus.NEEDS_MAPPING: "not yet ready (mapping missing)",
    DocStatus.DATA_PROBLEM: "data problem in ServiceTitan",
    DocStatus.WAITING: "waiting for full receipt",
    DocStatus.READY: "ready, not yet approved",
    DocStatus.APPROVED: "approved, not yet posted",
    DocStatus.POSTING: "posting in progress",
    DocStatus.UNCONFIRMED: "sent; NAV has not confirmed it yet",
    DocStatus.IN_NAV_DRAFT: "in NAV as a draft, not yet posted there",
    DocStatus.FAILED: "failed, retry scheduled",
    DocStatus.NEEDS_ATTENTION: "failed, needs attention",
    DocStatus.REJECTED: "rejected by a reviewer",
    DocStatus.SKIPPED: "not posted under the profile's rules",
    DocStatus.CHANGED_AFTER_POSTING: "changed in ServiceTitan after posting",
}


KIND_WORDS: dict[str, str] = {SourceKind.PURCHASE_ORDER: "purchase order", SourceKind.INVENTORY_BILL: "inventory bill"}
GLEntry = GLEntry  # the NAV contract's typed entry (the old local name, kept for callers)
NO_TERRITORY = "(no territory)"


@dataclass
class TerritoryRow:
    """One territory's figures for the month. ``gl_*`` are read back from NAV's G/L entries."""

    code: str  # the NAV dimension value code
    business_units: list[str]  # the ServiceTitan business units mapped to it
    st_cost: Decimal  # ServiceTitan: the cost-bearing documents that are posted
    gl_cost: Decimal  # G/L: debit - credit on cost accounts
    st_payables: Decimal  # ServiceTitan: the purchase orders that are posted (they create the payable)
    gl_payables: Decimal  # G/L: credit - debit on the payables account(s) our invoices credited
    gl_clearing: Decimal  # G/L: debit - credit on the clearing account (bills -, invoices +)
    not_posted: Decimal  # ServiceTitan cost of the month's documents not (yet) in NAV
    documents: list[str] = field(default_factory=list)  # the NAV document numbers behind the G/L figures

    @property
    def cost_difference(self) -> Decimal:
        return self.st_cost - self.gl_cost

    @property
    def payables_difference(self) -> Decimal:
        return self.st_payables - self.gl_payables

    @property
    def label(self) -> str:
        return self.code + (f" ({', '.join(self.business_units)})" if self.business_units else "")


@dataclass
class DocLine:
    st_ref: str
    kind: str
    vendor: str
    territory: str
    month: str
    st_amount: Decimal
    nav_amount: Decimal
    nav_document: str
    explanation: str
    dimensions: dict[str, str] = field(default_factory=dict)  # every dimension NAV booked it with

    @property
    def difference(self) -> Decimal:
        return self.st_amount - self.nav_amount


@dataclass
class ClearingLine:
    po_ref: str
    credited_by_bills: Decimal
    debited_by_invoice: Decimal
    explanation: str

    @property
    def balance(self) -> Decimal:
        return self.debited_by_invoice - self.credited_by_bills


@dataclass
class Report:
    month: str
    model: str
    lines: list[DocLine]
    clearing: list[ClearingLine]
    unmatched_nav: list[GLEntry]
    territories: list[TerritoryRow] = field(default_factory=list)
    payables_accounts: list[str] = field(default_factory=list)

    def totals(self, by: str = "territory") -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
        """(month, key, ServiceTitan, NAV, difference) per territory or vendor, or per any dimension NAV
        booked (``by="dim:JOB"``)."""
        sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for line in self.lines:
            value = line.dimensions.get(by[4:]) if by.startswith("dim:") else getattr(line, by)
            key = (line.month, value or "(none)")
            sums[key][0] += line.st_amount
            sums[key][1] += line.nav_amount
        return [(m, k, st, nav, st - nav) for (m, k), (st, nav) in sorted(sums.items())]

    def vendor_totals(self) -> list[list[Any]]:
        """Per vendor, purchase orders and bills apart (under the clearing model they are the two sides of
        one purchase, never added together)."""
        sums: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for line in self.lines:
            key = (line.month, line.vendor or "(none)", KIND_WORDS.get(line.kind, line.kind) + "s")
            sums[key][0] += line.st_amount
            sums[key][1] += line.nav_amount
        return [[m, v, k, st, nav, st - nav] for (m, v, k), (st, nav) in sorted(sums.items())]

    def dimension_codes(self, *, besides: tuple[str, ...] = ("TERRITORY",)) -> list[str]:
        """The dimension codes NAV booked on these documents (for a pivot per dimension)."""
        return sorted({code for line in self.lines for code in line.dimensions} - set(besides))

    @property
    def differences(self) -> list[DocLine]:
        return [line for line in self.lines if line.difference != ZERO]


def month_bounds(month: str) -> tuple[date, date]:
    year, mon = (int(x) for x in month.split("-"))
    start = date(year, mon, 1)
    end = date(year + (mon == 12), mon % 12 + 1, 1)
    return start, end


LINE_COLUMNS = (StDocument.id, StDocument.kind, StDocument.st_id, StDocument.number, StDocument.doc_date,
                StDocument.vendor_name, StDocument.vendor_st_id, StDocument.business_unit_st_id, StDocument.total,
                StDocument.status, StDocument.st_status, StDocument.st_active, StDocument.nav_number,
                StDocument.purchase_order_st_id)


def reconcile(profile: Profile, month: str, gl: list[GLEntry]) -> Report:
    start, end = month_bounds(month)
    model = settings.get(profile, "posting.model")
    clearing_account = settings.get(profile, "posting.clearing_account")
    territory_dim = settings.get(profile, "posting.territory_dimension")
    by_document: dict[str, list[GLEntry]] = defaultdict(list)
    for entry in gl:
        by_document[entry.document_number].append(entry)
    territory_of = {m.source_key: m.target for m in Mapping.select().where(
        (Mapping.profile == profile) & (Mapping.kind == MappingKind.BUSINESS_UNIT))}
    lo = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    hi = datetime.combine(end, datetime.min.time(), tzinfo=UTC)
    # the month's documents only (indexed date range), and only the columns a line needs: no JSON payloads
    docs = list(StDocument.select(*LINE_COLUMNS).where((StDocument.profile == profile) & (StDocument.doc_date >= lo)
                                                       & (StDocument.doc_date < hi)).iterator())
    lines: list[DocLine] = []
    for doc in docs:
        # which documents carry a cost or a liability under this model
        if doc.kind == SourceKind.PURCHASE_ORDER and model == MODEL_JOURNAL_ONLY:
            continue
        if doc.kind == SourceKind.INVENTORY_BILL and model == MODEL_INVOICE_ONLY:
            continue
        if doc.kind == SourceKind.PURCHASE_ORDER and doc.st_status == "Canceled":
            continue
        is_return = doc.kind == SourceKind.INVENTORY_RETURN
        if is_return and (doc.st_status != "CreditReceived" or not doc.st_active):
            continue  # canceled, deleted or not yet credited: never booked (docs/accounting.md, Vendor returns)
        if doc.kind == SourceKind.PURCHASE_ORDER or (is_return and model != MODEL_JOURNAL_ONLY):
            nav_doc = doc.nav_number or ""
        else:
            nav_doc = f"{'STR' if is_return else 'STB'}{doc.st_id}"
        entries = by_document.get(nav_doc, []) if doc.status in (DocStatus.POSTED,
                                                                 DocStatus.CHANGED_AFTER_POSTING) else []
        nav_amount = sum((e.debit for e in entries), ZERO)
        territory = next((e.dimensions.get(territory_dim) for e in entries if e.dimensions.get(territory_dim)),
                         None) or territory_of.get(str(doc.business_unit_st_id), NO_TERRITORY)
        st_amount = doc.total or ZERO
        if is_return:  # a vendor credit reduces cost and payables: both sides with the opposite sign
            st_amount, nav_amount = -st_amount, -nav_amount
        if entries and nav_amount == st_amount:
            explanation = "" if doc.status == DocStatus.POSTED else EXPLAIN[doc.status]
        elif entries:
            explanation = EXPLAIN.get(doc.status, "") or "amount in NAV differs from ServiceTitan"
        elif doc.status == DocStatus.POSTED:
            explanation = "posted as a draft in NAV (not yet in the G/L)" if doc.nav_number else \
                "posted, but no G/L entries found in NAV for this month"
        else:
            explanation = EXPLAIN.get(doc.status, doc.status)
        lines.append(DocLine(lifecycle.st_ref(doc), doc.kind, doc.vendor_name or str(doc.vendor_st_id or ""),
                             territory or "", doc.doc_date.strftime("%Y-%m") if doc.doc_date else month,
                             st_amount, nav_amount, nav_doc if entries else "", explanation,
                             {k: v for e in entries for k, v in e.dimensions.items()}))
    clearing = clearing_by_po(profile, gl, clearing_account, docs)
    ours = {line.nav_document for line in lines if line.nav_document}
    unmatched = [e for e in gl if e.document_number.startswith(("STB", "STR")) and e.document_number not in ours]
    rows, payables = territory_rows(profile, model, lines, gl, clearing_account, territory_dim, territory_of)
    return Report(month, model, lines, clearing, unmatched, rows, payables)


def territory_rows(profile: Profile, model: str, lines: list[DocLine], gl: list[GLEntry], clearing_account: str,
                   territory_dim: str, territory_of: dict[str, str]) -> tuple[list[TerritoryRow], list[str]]:
    """One row per NAV territory code: ServiceTitan's posted cost and payables beside the G/L's."""
    po_kind_bears_cost = model == MODEL_INVOICE_ONLY
    invoice_docs = {line.nav_document for line in lines if line.kind == SourceKind.PURCHASE_ORDER and line.nav_document}
    our_docs = {line.nav_document for line in lines if line.nav_document}
    # the payables account(s): where our purchase invoices put their credit (the vendor posting group's)
    payables = sorted({e.account_number for e in gl if e.document_number in invoice_docs
                       and e.account_number != clearing_account and e.credit > ZERO and e.debit == ZERO})
    business_units: dict[str, list[str]] = defaultdict(list)
    mapped_units = [int(k) for k in territory_of if k.strip().lstrip("-").isdigit()]
    names = {str(unit): name for unit, name in queries.rows(StDocument.select(
        StDocument.business_unit_st_id, StDocument.business_unit_name).where(
        (StDocument.profile == profile) & StDocument.business_unit_st_id.in_(mapped_units)
        & (StDocument.business_unit_name != "")).distinct().tuples())} if mapped_units else {}
    for key, code in territory_of.items():
        business_units[code].append(names.get(key) or f"business unit {key}")
    rows: dict[str, TerritoryRow] = {}

    def row(code: str) -> TerritoryRow:
        if code not in rows:
            rows[code] = TerritoryRow(code, sorted(business_units.get(code, [])), ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)
        return rows[code]

    for line in lines:
        # a vendor return (its amount already negative) takes cost back off the accounts the cost went to,
        # and, as a credit memo (every model but journal-only), off the payables too
        is_return = line.kind == SourceKind.INVENTORY_RETURN
        bears_cost = (line.kind == SourceKind.INVENTORY_BILL or po_kind_bears_cost or model == MODEL_JOURNAL_ONLY
                      or is_return)
        target = row(line.territory or NO_TERRITORY)
        if not line.nav_document:
            if bears_cost:
                target.not_posted += line.st_amount
            continue
        if bears_cost:
            target.st_cost += line.st_amount
        if line.kind == SourceKind.PURCHASE_ORDER or (is_return and model != MODEL_JOURNAL_ONLY):
            target.st_payables += line.st_amount
    for e in gl:
        if e.document_number not in our_docs:
            continue
        target = row(e.dimensions.get(territory_dim) or NO_TERRITORY)
        if e.document_number not in target.documents:
            target.documents.append(e.document_number)
        if e.account_number == clearing_account:
            target.gl_clearing += e.debit - e.credit
        elif e.account_number in payables:
            target.gl_payables += e.credit - e.debit
        else:
            target.gl_cost += e.debit - e.credit
    shown = [r for r in rows.values() if r.documents or any(
        (r.st_cost, r.gl_cost, r.st_payables, r.gl_payables, r.gl_clearing, r.not_posted))]
    return sorted(shown, key=lambda r: (r.code == NO_TERRITORY, r.code)), payables


def clearing_by_po(profile: Profile, gl: list[GLEntry], clearing_account: str,
                   docs: list[StDocument]) -> list[ClearingLine]:
    on_clearing = [e for e in gl if e.account_number == clearing_account]
    if not on_clearing:
        return []
    # only the documents the clearing entries name: bills by their journal's document number (STB<id>),
    # purchase orders by their invoice's NAV number; not every PO and bill of the store
    bill_ids = sorted({int(e.document_number[3:]) for e in on_clearing
                       if e.document_number.startswith("STB") and e.document_number[3:].isdigit()})
    numbers = sorted({e.document_number for e in on_clearing})
    doc_to_po: dict[str, int] = {}
    for chunk in _chunks(bill_ids):
        doc_to_po.update({f"STB{st_id}": po for st_id, po in queries.rows(StDocument.select(
            StDocument.st_id, StDocument.purchase_order_st_id).where(
            (StDocument.profile == profile) & (StDocument.kind == SourceKind.INVENTORY_BILL)
            & StDocument.st_id.in_(chunk)).tuples()) if po})
    for chunk in _chunks(numbers):
        doc_to_po.update({nav_number: st_id for st_id, nav_number in queries.rows(StDocument.select(
            StDocument.st_id, StDocument.nav_number).where(
            (StDocument.profile == profile) & (StDocument.kind == SourceKind.PURCHASE_ORDER)
            & StDocument.nav_number.in_(chunk)).tuples())})
    credits: dict[int, Decimal] = defaultdict(lambda: ZERO)
    debits: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for e in on_clearing:
        po = doc_to_po.get(e.document_number)
        if po is None:
            continue
        credits[po] += e.credit
        debits[po] += e.debit
    po_docs: dict[int, StDocument] = {}
    for chunk in _chunks(sorted(set(credits) | set(debits))):
        po_docs.update({d.st_id: d for d in StDocument.select(StDocument.kind, StDocument.st_id, StDocument.number)
                        .where((StDocument.profile == profile) & (StDocument.kind == SourceKind.PURCHASE_ORDER)
                               & StDocument.st_id.in_(chunk))})
    out = []
    for po in sorted(set(credits) | set(debits)):
        balance = debits[po] - credits[po]
        doc = po_docs.get(po)
        ref = lifecycle.st_ref(doc) if doc else f"PO id {po}"
        if balance == ZERO:
            explanation = ""
        elif debits[po] == ZERO:
            explanation = "received not invoiced: bills posted, the purchase invoice is not"
        elif credits[po] == ZERO:
            explanation = "invoiced not received: no bill posted yet"
        elif balance > 0:
            explanation = "invoiced more than received (a bill is missing or differs)"
        else:
            explanation = "received more than invoiced (partial invoice or a price difference)"
        out.append(ClearingLine(ref, credits[po], debits[po], explanation))
    return out


def _chunks(values: list[Any], size: int = 900) -> list[list[Any]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


TERRITORY_HEADER = ["Territory (NAV dimension value)", "Business units", "ServiceTitan cost (posted)",
                    "Cost on cost accounts (G/L)", "Cost difference", "ServiceTitan invoiced (posted POs)",
                    "Payables (G/L)", "Payables difference", "Clearing account, net (G/L)",
                    "ServiceTitan cost not yet in NAV", "NAV documents"]


def territory_values(t: TerritoryRow) -> list[Any]:
    return [t.code, ", ".join(t.business_units), t.st_cost, t.gl_cost, t.cost_difference, t.st_payables,
            t.gl_payables, t.payables_difference, t.gl_clearing, t.not_posted, " ".join(sorted(t.documents))]


def write(report: Report, path: Path, fmt: str) -> None:
    sections: list[tuple[str, list[str], list[list[Any]]]] = [
        ("Territories (G-L tie-out)", TERRITORY_HEADER, [territory_values(t) for t in report.territories]),
        ("Totals per vendor", ["month", "vendor", "documents", "ServiceTitan", "NAV (G/L)", "difference"],
         report.vendor_totals()),
        # every other dimension NAV booked (JOB, DEPARTMENT, ...): one pivot each
        *[(f"Totals per {code}", ["month", code, "ServiceTitan", "NAV", "difference"],
           [list(r) for r in report.totals(f"dim:{code}")]) for code in report.dimension_codes()],
        ("Documents", ["ServiceTitan", "kind", "vendor", "territory", "month", "ServiceTitan amount", "NAV amount",
                       "difference", "NAV document", "explanation"],
         [[d.st_ref, KIND_WORDS.get(d.kind, d.kind), d.vendor, d.territory, d.month, d.st_amount, d.nav_amount,
           d.difference, d.nav_document, d.explanation] for d in report.lines]),
        ("Clearing account per PO", ["purchase order", "credited by bills", "debited by invoice", "balance",
                                     "explanation"],
         [[c.po_ref, c.credited_by_bills, c.debited_by_invoice, c.balance, c.explanation] for c in report.clearing]),
    ]
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            for title, header, rows in sections:
                writer.writerow([title])
                writer.writerow(header)
                writer.writerows([[str(v) for v in row] for row in rows])
                writer.writerow([])
    elif fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        wb.remove(wb.active)
        for title, header, rows in sections:
            ws = wb.create_sheet(title[:31])
            ws.append(header)
            for row in rows:
                # amounts as exact numbers with two decimals (openpyxl writes Decimal as a number)
                ws.append(row)
            for col in ws.iter_cols(min_row=2):
                for cell in col:
                    if isinstance(cell.value, Decimal):
                        cell.number_format = "#,##0.00"
        wb.save(path)
    else:
        raise ValueError(f"unknown format {fmt!r}: csv or xlsx")
