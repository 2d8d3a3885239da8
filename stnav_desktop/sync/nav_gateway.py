"""Adapts the NAV connector to what posting and reconciliation need (``posting.NavGateway``)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from stnav_desktop.connectors.http import ConnectorError
from stnav_desktop.connectors.nav import (
    InvoiceLineSpec,
    JournalLineSpec,
    Journals,
    NavClient,
    PurchaseCreditMemos,
    PurchaseCreditMemoSpec,
    PurchaseInvoices,
    PurchaseInvoiceSpec,
    find_gl_entries,
    odata,
)
from stnav_desktop.sync import accounting
from stnav_desktop.sync.posting import NavDocument

log = logging.getLogger(__name__)


def invoice_spec(plan: accounting.InvoicePlan) -> PurchaseInvoiceSpec:
    return PurchaseInvoiceSpec(
        vendor_number=plan.vendor_number, vendor_invoice_number=plan.vendor_invoice_number,
        invoice_date=plan.invoice_date, posting_date=plan.posting_date, dimensions=dict(plan.dimensions),
        lines=[InvoiceLineSpec(line_type=ln.line_type, line_object_number=ln.number, quantity=ln.quantity,
                               direct_unit_cost=ln.unit_cost, description=ln.description,
                               dimensions=dict(ln.dimensions)) for ln in plan.lines])


def journal_specs(plan: accounting.JournalPlan) -> list[JournalLineSpec]:
    return [JournalLineSpec(account_number=ln.account_number, amount=ln.amount, posting_date=plan.posting_date,
                            document_number=plan.document_number,
                            external_document_number=plan.external_document_number, description=ln.description,
                            dimensions=dict(ln.dimensions)) for ln in plan.lines]


def _gl_summary(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"entryNumber": e.get("entryNumber"), "accountNumber": e.get("accountNumber"),
             "debitAmount": str(e.get("debitAmount")), "creditAmount": str(e.get("creditAmount")),
             "dimensions": {d.get("code"): d.get("valueCode") for d in e.get("dimensionSetLines") or []}}
            for e in entries]


class NavGateway:
    def __init__(self, client: NavClient) -> None:
        self.client = client
        self.invoices = PurchaseInvoices(client)
        self.journals = Journals(client)
        self.credit_memos = PurchaseCreditMemos(client)

    # -- purchase invoices ---------------------------------------------------------------------
    def _invoice_doc(self, result) -> NavDocument:
        entries = find_gl_entries(self.client, result.number, result.posting_date) if result.posted else []
        return NavDocument(result.id, result.number, "purchase_invoice", result.posted, _gl_summary(entries))

    def find_invoice(self, plan: accounting.InvoicePlan) -> NavDocument | None:
        found = self.invoices.find(plan.vendor_number, plan.vendor_invoice_number)
        if not found:
            return None
        best = next((r for r in found if r.posted), found[0])
        return self._invoice_doc(best)

    def create_invoice(self, plan: accounting.InvoicePlan, *, post: bool) -> NavDocument:
        return self._invoice_doc(self.invoices.create(invoice_spec(plan), post=post))

    def post_invoice(self, found: NavDocument) -> NavDocument:
        return self._invoice_doc(self.invoices.post(found.nav_id))

    # -- purchase credit memos (corrections) -----------------------------------------------------
    @staticmethod
    def credit_memo_number(plan: accounting.InvoicePlan) -> str:
        return f"CM-{plan.vendor_invoice_number}"[:35]

    def _memo_doc(self, result) -> NavDocument:
        entries = find_gl_entries(self.client, result.number, result.posting_date) if result.posted else []
        return NavDocument(result.id, result.number, "purchase_credit_memo", result.posted, _gl_summary(entries))

    def find_credit_memo(self, plan: accounting.InvoicePlan) -> NavDocument | None:
        found = self.credit_memos.find(plan.vendor_number, self.credit_memo_number(plan))
        if not found:
            return None
        best = next((r for r in found if r.posted), found[0])
        return self._memo_doc(best if best.posted else self.credit_memos.post(best.id))

    def create_credit_memo(self, plan: accounting.InvoicePlan, *, post: bool,
                           invoice_number: str | None = None) -> NavDocument:
        """A credit memo for the lines of a posted invoice, applied to that invoice."""
        spec = PurchaseCreditMemoSpec(
            vendor_number=plan.vendor_number, vendor_credit_memo_number=self.credit_memo_number(plan),
            credit_memo_date=plan.posting_date, posting_date=plan.posting_date, invoice_number=invoice_number,
            dimensions=dict(plan.dimensions),
            lines=[InvoiceLineSpec(line_type=ln.line_type, line_object_number=ln.number, quantity=ln.quantity,
                                   direct_unit_cost=ln.unit_cost, description=ln.description,
                                   dimensions=dict(ln.dimensions)) for ln in plan.lines])
        return self._memo_doc(self.credit_memos.create(spec, post=post))

    # -- journals ------------------------------------------------------------------------------
    def find_journal(self, plan: accounting.JournalPlan) -> NavDocument | None:
        lines = self.journals.find_lines(document_number=plan.document_number)
        if lines:
            return NavDocument(plan.document_number, plan.document_number, "journal", False)
        entries = find_gl_entries(self.client, plan.document_number, plan.posting_date)
        if entries:
            return NavDocument(plan.document_number, plan.document_number, "journal", True, _gl_summary(entries))
        return None

    def create_journal(self, plan: accounting.JournalPlan, *, post: bool) -> NavDocument:
        created = self.journals.create_lines(journal_specs(plan))
        if not post:
            return NavDocument(plan.document_number, plan.document_number, "journal", False)
        return self._post_journal(plan, created)

    def post_journal(self, found: NavDocument, plan: accounting.JournalPlan) -> NavDocument:
        return self._post_journal(plan, self.journals.find_lines(document_number=plan.document_number))

    def _post_journal(self, plan: accounting.JournalPlan, lines: list[dict[str, Any]]) -> NavDocument:
        """Posting a journal batch posts every line in it: if NAV refuses, this document's lines are taken
        out again, so one bad document never blocks the batch for the others."""
        try:
            self.journals.post()
        except ConnectorError as exc:
            if not getattr(exc, "retryable", False):
                for line in lines:
                    try:
                        self.client.delete(self.client.cpath(f"journalLines({odata.guid_key(line['id'])})"),
                                           line.get("@odata.etag", "*"))
                    except ConnectorError as cleanup:
                        log.warning("could not remove journal line of %s: %s", plan.document_number, cleanup)
            raise
        entries = find_gl_entries(self.client, plan.document_number, plan.posting_date)
        return NavDocument(plan.document_number, plan.document_number, "journal", True, _gl_summary(entries))

    # -- reconciliation --------------------------------------------------------------------------
    def gl_entries_between(self, start: date, end: date) -> list[dict[str, Any]]:
        """G/L entries with postingDate in [start, end) with their dimensions, read back from NAV."""
        flt = f"postingDate ge {start.isoformat()} and postingDate lt {end.isoformat()}"
        return list(self.client.iter(self.client.cpath("generalLedgerEntries"),
                                     {"$filter": flt, "$expand": "dimensionSetLines"}))
