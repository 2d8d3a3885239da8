"""An in-memory ``NavBooks`` for posting tests below the simulator: it can fail, drop the answer after
committing, and counts what it holds and every call, so exactly-once and the chunked path can be checked."""

from __future__ import annotations

from decimal import Decimal

from stnav_desktop.connectors.http import HttpError, TransportError
from stnav_desktop.connectors.nav.books import (
    CreditMemoKey,
    DocKind,
    InvoiceKey,
    JournalKey,
    NavDocument,
)


class FakeNav:
    def __init__(self) -> None:
        self.invoices: dict[str, dict] = {}  # vendor|vendor invoice number -> invoice
        self.journals: dict[str, dict] = {}  # document number -> journal
        self.fail_next: list[Exception] = []  # raised before writing (per document)
        self.drop_after_write: int = 0  # writes whose answer is lost after committing
        self.fail_finds: list[Exception | None] = []  # per find_documents call: raised, or None to answer
        self.writes = 0
        self.calls: list[tuple[str, int]] = []  # (operation, documents in the call)

    def _maybe_fail(self):
        if self.fail_next:
            raise self.fail_next.pop(0)

    def _dropped(self):
        if self.drop_after_write:
            self.drop_after_write -= 1
            raise TransportError("connection dropped after the write")

    # -- NavBooks ----------------------------------------------------------------------------------
    def find_documents(self, keys):
        self.calls.append(("find", len(keys)))
        if self.fail_finds:
            failure = self.fail_finds.pop(0)  # None: this call answers
            if failure is not None:
                raise failure
        out = []
        for key in keys:
            if isinstance(key, InvoiceKey):
                inv = self.invoices.get(f"{key.vendor_number}|{key.vendor_invoice_number}")
                out.append(NavDocument(DocKind.PURCHASE_INVOICE, inv["id"], inv["number"], inv["posted"],
                                       amount=inv["total"]) if inv else None)
            elif isinstance(key, CreditMemoKey):
                out.append(None)
            elif isinstance(key, JournalKey):
                j = self.journals.get(key.document_number)
                out.append(NavDocument(DocKind.JOURNAL, j["id"], key.document_number, j["posted"]) if j else None)
        return out

    def _each(self, items, write):
        out = []
        for item in items:
            try:
                out.append(write(item))
            except Exception as exc:
                out.append(exc)
        return out

    def create_invoices(self, specs, *, post):
        self.calls.append(("create_invoices", len(specs)))

        def one(spec):
            self._maybe_fail()
            self.writes += 1
            number = f"{'PPI' if post else 'PI'}{len(self.invoices) + 1:05d}"
            total = sum((ln.quantity * ln.direct_unit_cost for ln in spec.lines), Decimal("0"))
            inv = {"id": f"inv-{len(self.invoices) + 1}", "number": number, "posted": post, "total": total}
            self.invoices[f"{spec.vendor_number}|{spec.vendor_invoice_number}"] = inv
            self._dropped()
            return NavDocument(DocKind.PURCHASE_INVOICE, inv["id"], number, post, amount=total)

        return self._each(specs, one)

    def create_credit_memos(self, specs, *, post):
        raise AssertionError("no credit memos in these tests")

    def create_journals(self, docs, *, post):
        self.calls.append(("create_journals", len(docs)))

        def one(doc):
            self._maybe_fail()
            self.writes += 1
            self.journals[doc.document_number] = {"id": f"j-{doc.document_number}", "posted": post,
                                                  "lines": list(doc.lines)}
            self._dropped()
            return NavDocument(DocKind.JOURNAL, f"j-{doc.document_number}", doc.document_number, post)

        return self._each(docs, one)

    def post_documents(self, docs, specs=None):
        self.calls.append(("post", len(docs)))
        out = []
        for d in docs:
            if d.kind == DocKind.JOURNAL:
                self.journals[d.number]["posted"] = True
            else:
                for inv in self.invoices.values():
                    if inv["id"] == d.nav_id:
                        inv["posted"] = True
            out.append(NavDocument(d.kind, d.nav_id, d.number, True, amount=d.amount))
        return out

    def gl_entries_between(self, start, end):
        return []


def refused(message="Vendor V10000 is blocked"):
    return HttpError(message, status=400, code="Application_DialogException", retryable=False)


def busy():
    return HttpError("HTTP 503: service unavailable", status=503, retryable=True)
