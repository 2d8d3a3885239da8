"""Adapts the NAV connector to what posting and reconciliation need (``posting.NavGateway``)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any
from urllib.parse import urlencode

from stnav_desktop.connectors.http import ConnectorError, TransportError
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
from stnav_desktop.connectors.nav.client import BatchRequest
from stnav_desktop.connectors.nav.purchase_invoices import InvoiceResult
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

    # -- several documents per $batch (chunked posting) ------------------------------------------
    def _batch_get(self, queries: list[tuple[str, dict[str, Any]]]) -> list[list[dict[str, Any]] | ConnectorError]:
        """Many collection GETs in ``$batch`` calls: per query its records (pages followed) or its error. A
        ``TransportError`` for a whole call is raised."""
        reqs = [BatchRequest("GET", f"{path}?{urlencode(params)}", id=f"q{i}")
                for i, (path, params) in enumerate(queries)]
        out: list[list[dict[str, Any]] | ConnectorError] = [[] for _ in queries]
        for resp in self.client.batch(reqs):
            i = int(str(resp.id)[1:])
            if not resp.ok:
                out[i] = self.client.batch_error(resp)
                continue
            body = resp.body or {}
            records = list(body.get("value", []))
            link = body.get("@odata.nextLink")
            while link:  # rare for these small lookups
                page = self.client.get(link)
                records.extend(page.get("value", []))
                link = page.get("@odata.nextLink")
            out[i] = records
        return out

    def _gl_query(self, document_number: str, posting_date: date | None) -> tuple[str, dict[str, Any]]:
        return (self.client.cpath("generalLedgerEntries"),
                {"$filter": odata.eq_filter(documentNumber=document_number, postingDate=posting_date),
                 "$expand": "dimensionSetLines"})

    def _gl_many(self, wanted: list[tuple[str, date | None]]) -> list[list[dict[str, Any]] | ConnectorError]:
        return self._batch_get([self._gl_query(n, d) for n, d in wanted]) if wanted else []

    def find_many(self, plans: list[accounting.InvoicePlan | accounting.JournalPlan]
                  ) -> list[NavDocument | None | ConnectorError]:
        """``find_invoice`` / ``find_journal`` for many documents in as few requests as possible: one
        ``$batch`` of lookups, then one of G/L entries for what is posted. Per plan: found, None, or error."""
        queries: list[tuple[str, dict[str, Any]]] = []
        slots: list[list[int]] = []
        for plan in plans:
            if isinstance(plan, accounting.InvoicePlan):
                flt = odata.eq_filter(vendorNumber=plan.vendor_number, vendorInvoiceNumber=plan.vendor_invoice_number)
                slots.append([len(queries)])
                queries.append((self.client.cpath("purchaseInvoices"), {"$filter": flt}))
            else:
                jid = self.journals.journal_id()
                slots.append([len(queries), len(queries) + 1])
                queries.append((self.client.cpath(f"journals({jid})/journalLines"),
                                {"$filter": odata.eq_filter(documentNumber=plan.document_number),
                                 "$expand": "dimensionSetLines"}))
                queries.append(self._gl_query(plan.document_number, plan.posting_date))
        answers = self._batch_get(queries)
        out: list[NavDocument | None | ConnectorError] = [None] * len(plans)
        gl_wanted: list[tuple[int, str, date | None]] = []
        for k, plan in enumerate(plans):
            got = [answers[i] for i in slots[k]]
            error = next((g for g in got if isinstance(g, ConnectorError)), None)
            if error is not None:
                out[k] = error
                continue
            if isinstance(plan, accounting.InvoicePlan):
                found = [InvoiceResult.from_api(r) for r in got[0]
                         if r["vendorNumber"] == plan.vendor_number
                         and r.get("vendorInvoiceNumber") == plan.vendor_invoice_number]
                if found:
                    best = next((r for r in found if r.posted), found[0])
                    out[k] = NavDocument(best.id, best.number, "purchase_invoice", best.posted)
                    if best.posted:
                        gl_wanted.append((k, best.number, best.posting_date))
            elif got[0]:
                out[k] = NavDocument(plan.document_number, plan.document_number, "journal", False)
            elif got[1]:
                out[k] = NavDocument(plan.document_number, plan.document_number, "journal", True,
                                     _gl_summary(got[1]))
        for (k, _, _), entries in zip(gl_wanted, self._gl_many([(n, d) for _, n, d in gl_wanted]), strict=True):
            if isinstance(entries, ConnectorError):
                out[k] = entries
            else:
                out[k].gl_entries = _gl_summary(entries)
        return out

    def create_invoices(self, plans: list[accounting.InvoicePlan], *, post: bool
                        ) -> list[NavDocument | ConnectorError]:
        """Many invoices per ``$batch`` (each its own atomicity group), posted in one batch, read back in one,
        G/L entries read in one. A ``TransportError`` for a whole call is raised: every outcome is unknown."""
        outcomes = self.invoices.create_many([invoice_spec(p) for p in plans], post=post)
        out: list[NavDocument | ConnectorError] = []
        gl_wanted: list[tuple[int, str, date | None]] = []
        for k, o in enumerate(outcomes):
            if o.error is not None or o.result is None:
                out.append(o.error or ConnectorError("NAV gave no answer for this invoice"))
                continue
            if post and not o.result.posted:  # no refusal, yet not read back as posted: ask NAV again later
                out.append(TransportError(f"invoice {o.result.number} was not read back as posted"))
                continue
            out.append(NavDocument(o.result.id, o.result.number, "purchase_invoice", o.result.posted))
            if o.result.posted:
                gl_wanted.append((k, o.result.number, o.result.posting_date))
        for (k, _, _), entries in zip(gl_wanted, self._gl_many([(n, d) for _, n, d in gl_wanted]), strict=True):
            if isinstance(entries, ConnectorError):  # posted, but unread: settled later, G/L read then
                out[k] = TransportError(f"invoice {out[k].number} posted; reading its G/L entries failed: {entries}")
            else:
                out[k].gl_entries = _gl_summary(entries)
        return out

    def create_journals(self, plans: list[accounting.JournalPlan], *, post: bool
                        ) -> list[NavDocument | Exception]:
        """Each document's lines one atomicity group, all in ``$batch`` calls, then ONE journal post. If NAV
        refuses that post, the chunk's lines are taken out again and the documents are posted one by one,
        so one bad document never blocks the others. A ``TransportError`` for the whole write is raised."""
        created = self.journals.create_lines_many([journal_specs(p) for p in plans])
        out: list[NavDocument | Exception] = []
        done: list[int] = []
        for k, (plan, lines) in enumerate(zip(plans, created, strict=True)):
            if isinstance(lines, ConnectorError):
                out.append(lines)
            else:
                out.append(NavDocument(plan.document_number, plan.document_number, "journal", False))
                done.append(k)
        if not post or not done:
            return out
        try:
            self.journals.post()
        except TransportError as exc:
            for k in done:  # posted or not: unknown, settled later by reading back
                out[k] = exc
            return out
        except ConnectorError as exc:
            if getattr(exc, "retryable", False):
                for k in done:  # the lines stay; the retry finds them and posts them
                    out[k] = exc
                return out
            log.info("journal post of %s documents refused (%s): posting them one by one", len(done), exc)
            for k in done:
                for line in created[k]:
                    try:
                        self.client.delete(self.client.cpath(f"journalLines({odata.guid_key(line['id'])})"),
                                           line.get("@odata.etag", "*"))
                    except ConnectorError as cleanup:
                        log.warning("could not remove journal line of %s: %s", plans[k].document_number, cleanup)
            for k in done:
                out[k] = self._journal_alone(plans[k])
            return out
        entries_list = self._gl_many([(plans[k].document_number, plans[k].posting_date) for k in done])
        for k, entries in zip(done, entries_list, strict=True):
            if isinstance(entries, ConnectorError):  # posted, but unread: settled later, G/L read then
                out[k] = TransportError(f"journal {plans[k].document_number} posted; reading its G/L entries "
                                        f"failed: {entries}")
                continue
            out[k] = NavDocument(plans[k].document_number, plans[k].document_number, "journal", True,
                                 _gl_summary(entries))
        return out

    def _journal_alone(self, plan: accounting.JournalPlan) -> NavDocument | Exception:
        """One document of a refused chunk, on its own: what is in NAV is looked up first (a line whose
        removal failed, or lines another document's post took along), never written twice."""
        try:
            found = self.find_journal(plan)
            if found is not None and found.posted:
                return found
            if found is not None:
                return self.post_journal(found, plan)
            return self.create_journal(plan, post=True)
        except ConnectorError as exc:
            return exc

    # -- reconciliation --------------------------------------------------------------------------
    def gl_entries_between(self, start: date, end: date) -> list[dict[str, Any]]:
        """G/L entries with postingDate in [start, end) with their dimensions, read back from NAV."""
        flt = f"postingDate ge {start.isoformat()} and postingDate lt {end.isoformat()}"
        return list(self.client.iter(self.client.cpath("generalLedgerEntries"),
                                     {"$filter": flt, "$expand": "dimensionSetLines"}))
