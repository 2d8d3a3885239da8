"""An in-memory NAV gateway for posting tests below the simulator: it can fail, drop the answer after
committing, and counts what it holds, so exactly-once can be checked at every step."""

from __future__ import annotations

from stnav_desktop.connectors.http import HttpError, TransportError
from stnav_desktop.sync.accounting import InvoicePlan, JournalPlan
from stnav_desktop.sync.posting import NavDocument


class FakeNav:
    def __init__(self) -> None:
        self.invoices: dict[str, dict] = {}  # vendor invoice number -> invoice
        self.journals: dict[str, dict] = {}  # document number -> journal
        self.fail_next: list[Exception] = []  # raised before writing
        self.drop_after_write: int = 0  # writes whose answer is lost after committing
        self.writes = 0

    def _maybe_fail(self):
        if self.fail_next:
            raise self.fail_next.pop(0)

    def find_invoice(self, plan: InvoicePlan):
        inv = self.invoices.get(f"{plan.vendor_number}|{plan.vendor_invoice_number}")
        return NavDocument(inv["id"], inv["number"], "purchase_invoice", inv["posted"]) if inv else None

    def create_invoice(self, plan: InvoicePlan, *, post: bool):
        self._maybe_fail()
        self.writes += 1
        number = f"{'PPI' if post else 'PI'}{len(self.invoices) + 1:05d}"
        inv = {"id": f"inv-{len(self.invoices) + 1}", "number": number, "posted": post, "total": plan.total}
        self.invoices[f"{plan.vendor_number}|{plan.vendor_invoice_number}"] = inv
        if self.drop_after_write:
            self.drop_after_write -= 1
            raise TransportError("connection dropped after the write")
        return NavDocument(inv["id"], number, "purchase_invoice", post)

    def post_invoice(self, found: NavDocument):
        for inv in self.invoices.values():
            if inv["id"] == found.nav_id:
                inv["posted"] = True
        return NavDocument(found.nav_id, found.number, found.kind, True)

    def find_journal(self, plan: JournalPlan):
        j = self.journals.get(plan.document_number)
        return NavDocument(j["id"], plan.document_number, "journal", j["posted"]) if j else None

    def create_journal(self, plan: JournalPlan, *, post: bool):
        self._maybe_fail()
        self.writes += 1
        self.journals[plan.document_number] = {"id": f"j-{plan.document_number}", "posted": post,
                                               "lines": list(plan.lines)}
        if self.drop_after_write:
            self.drop_after_write -= 1
            raise TransportError("connection dropped after the write")
        return NavDocument(f"j-{plan.document_number}", plan.document_number, "journal", post)

    def post_journal(self, found: NavDocument, plan: JournalPlan):
        self.journals[plan.document_number]["posted"] = True
        return NavDocument(found.nav_id, found.number, found.kind, True)

    # -- several documents at once (chunked posting): each document on its own, like atomicity groups --
    def find_many(self, plans):
        out = []
        for plan in plans:
            try:
                out.append(self.find_invoice(plan) if isinstance(plan, InvoicePlan) else self.find_journal(plan))
            except Exception as exc:
                out.append(exc)
        return out

    def create_invoices(self, plans, *, post: bool):
        return self._each(plans, lambda plan: self.create_invoice(plan, post=post))

    def create_journals(self, plans, *, post: bool):
        return self._each(plans, lambda plan: self.create_journal(plan, post=post))

    def _each(self, plans, write):
        out = []
        for plan in plans:
            try:
                out.append(write(plan))
            except Exception as exc:
                out.append(exc)
        return out


def refused(message="Vendor V10000 is blocked"):
    return HttpError(message, status=400, code="Application_DialogException", retryable=False)


def busy():
    return HttpError("HTTP 503: service unavailable", status=503, retryable=True)
