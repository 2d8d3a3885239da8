"""Month-end reconciliation: ServiceTitan against NAV, where the NAV side is READ BACK from NAV's G/L
entries (not taken from our own records), per territory, vendor and month, with every difference
listed and explained; and the clearing account's balance per purchase order.

Pure over two inputs — the staged documents and a list of G/L entries — so it is tested without I/O.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from stnav_desktop.connectors.nav.books import GLEntry as GlEntry  # G/L entries as NAV booked them
from stnav_desktop.store import settings
from stnav_desktop.store.models import DocStatus, Profile, SourceKind, StDocument
from stnav_desktop.sync import lifecycle
from stnav_desktop.sync.accounting import MODEL_INVOICE_ONLY, MODEL_JOURNAL_ONLY, ZERO

EXPLAIN = {
    DocStatus.NEEDS_MAPPING: "not yet ready (mapping or data problem)",
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
    unmatched_nav: list[GlEntry]

    def totals(self, by: str = "territory") -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
        """(month, key, ServiceTitan, NAV, difference) per territory or vendor."""
        sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for line in self.lines:
            key = (line.month, getattr(line, by) or "(none)")
            sums[key][0] += line.st_amount
            sums[key][1] += line.nav_amount
        return [(m, k, st, nav, st - nav) for (m, k), (st, nav) in sorted(sums.items())]

    @property
    def differences(self) -> list[DocLine]:
        return [line for line in self.lines if line.difference != ZERO]


def month_bounds(month: str) -> tuple[date, date]:
    year, mon = (int(x) for x in month.split("-"))
    start = date(year, mon, 1)
    end = date(year + (mon == 12), mon % 12 + 1, 1)
    return start, end


def reconcile(profile: Profile, month: str, gl: list[GlEntry]) -> Report:
    start, end = month_bounds(month)
    model = settings.get(profile, "posting.model")
    clearing_account = settings.get(profile, "posting.clearing_account")
    territory_dim = settings.get(profile, "posting.territory_dimension")
    by_document: dict[str, list[GlEntry]] = defaultdict(list)
    for entry in gl:
        by_document[entry.document_number].append(entry)
    lo = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    hi = datetime.combine(end, datetime.min.time(), tzinfo=UTC)
    docs = list(StDocument.select().where((StDocument.profile == profile) & (StDocument.doc_date >= lo)
                                         & (StDocument.doc_date < hi)))
    lines: list[DocLine] = []
    for doc in docs:
        # which documents carry a cost or a liability under this model
        if doc.kind == SourceKind.PURCHASE_ORDER and model == MODEL_JOURNAL_ONLY:
            continue
        if doc.kind == SourceKind.INVENTORY_BILL and model == MODEL_INVOICE_ONLY:
            continue
        if doc.kind == SourceKind.PURCHASE_ORDER and doc.st_status == "Canceled":
            continue
        nav_doc = (doc.nav_number or "") if doc.kind == SourceKind.PURCHASE_ORDER else f"STB{doc.st_id}"
        entries = by_document.get(nav_doc, []) if doc.status in (DocStatus.POSTED,
                                                                 DocStatus.CHANGED_AFTER_POSTING) else []
        nav_amount = sum((e.debit for e in entries), ZERO)
        territory = next((e.dimensions.get(territory_dim) for e in entries if e.dimensions.get(territory_dim)),
                         doc.business_unit_name)
        st_amount = doc.total or ZERO
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
                             st_amount, nav_amount, nav_doc if entries else "", explanation))
    clearing = clearing_by_po(profile, gl, clearing_account, docs)
    ours = {line.nav_document for line in lines if line.nav_document}
    unmatched = [e for e in gl if e.document_number.startswith("STB") and e.document_number not in ours]
    return Report(month, model, lines, clearing, unmatched)


def clearing_by_po(profile: Profile, gl: list[GlEntry], clearing_account: str,
                   docs: list[StDocument]) -> list[ClearingLine]:
    on_clearing = [e for e in gl if e.account_number == clearing_account]
    if not on_clearing:
        return []
    po_docs = {d.st_id: d for d in StDocument.select().where((StDocument.profile == profile)
                                                             & (StDocument.kind == SourceKind.PURCHASE_ORDER))}
    bills = list(StDocument.select().where((StDocument.profile == profile)
                                           & (StDocument.kind == SourceKind.INVENTORY_BILL)))
    doc_to_po: dict[str, int] = {f"STB{b.st_id}": b.purchase_order_st_id for b in bills if b.purchase_order_st_id}
    doc_to_po.update({d.nav_number: d.st_id for d in po_docs.values() if d.nav_number})
    credits: dict[int, Decimal] = defaultdict(lambda: ZERO)
    debits: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for e in on_clearing:
        po = doc_to_po.get(e.document_number)
        if po is None:
            continue
        credits[po] += e.credit
        debits[po] += e.debit
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


def write(report: Report, path: Path, fmt: str) -> None:
    sections: list[tuple[str, list[str], list[list[Any]]]] = [
        ("Totals per territory", ["month", "territory", "ServiceTitan", "NAV", "difference"],
         [list(r) for r in report.totals("territory")]),
        ("Totals per vendor", ["month", "vendor", "ServiceTitan", "NAV", "difference"],
         [list(r) for r in report.totals("vendor")]),
        ("Documents", ["ServiceTitan", "kind", "vendor", "territory", "month", "ServiceTitan amount", "NAV amount",
                       "difference", "NAV document", "explanation"],
         [[d.st_ref, d.kind, d.vendor, d.territory, d.month, d.st_amount, d.nav_amount, d.difference,
           d.nav_document, d.explanation] for d in report.lines]),
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
