"""Purchase credit memos: correct a posted purchase invoice whose ServiceTitan purchase order changed after
posting. Atomic create (deep insert: header + purchaseCreditMemoLines + dimensionSetLines in ONE request),
optional posting (``Microsoft.NAV.post``) and exactly-once helpers (find before create).

Field names are those of API v2.0 page 30083 "APIV2 - Purchase Credit Memos" / 30084 "APIV2 - Purch. Cr.
Memo Lines" (AL source; not yet in ``shared/specs/businesscentral/apiv2-entity-catalog.json``). The memo is
linked to the invoice it corrects through ``invoiceId`` (the posted invoice's id, the same id the invoice
had as a draft) and/or ``invoiceNumber`` (the posted invoice No.): BC stores them as Applies-to Doc. Type
Invoice + Applies-to Doc. No., and posting applies the credit memo to that invoice's open vendor ledger
entry. There is no ``appliesToInvoice*`` field on credit memos (those are on vendor/customer payments).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.documents import (
    PurchaseDocumentsBase,
    deep_insert_body,
    header_problems,
    line_problems,
    raise_problems,
    result_fields,
)
from stnav_desktop.connectors.nav.errors import error_from_parts
from stnav_desktop.connectors.nav.purchase_invoices import InvoiceLineSpec

log = logging.getLogger(__name__)

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"

# Lines are the same shape as invoice lines (lineType, lineObjectNumber, quantity, unitCost, description,
# dimensions). Quantities are positive: BC reverses the sign when it posts a credit memo.
CreditMemoLineSpec = InvoiceLineSpec


@dataclass
class PurchaseCreditMemoSpec:
    vendor_number: str  # vendorNumber
    vendor_credit_memo_number: str  # vendorCreditMemoNumber (Code[35]); exactly-once key with the vendor
    credit_memo_date: date  # creditMemoDate (Document Date)
    posting_date: date  # postingDate
    lines: list[InvoiceLineSpec]
    invoice_number: str | None = None  # invoiceNumber: the POSTED invoice No. it corrects (Applies-to Doc. No.)
    invoice_id: str | None = None  # invoiceId: the corrected invoice's id (same id as when it was a draft)
    currency_code: str | None = None  # currencyCode; None = local currency
    dimensions: dict[str, str] = field(default_factory=dict)  # header dimension set lines
    due_date: date | None = None

    def validate(self) -> None:
        problems = header_problems(self.vendor_number, self.vendor_credit_memo_number, "vendor credit memo number")
        if self.invoice_number is not None and (not self.invoice_number or len(self.invoice_number) > 20):
            problems.append(f"invoice number {self.invoice_number!r} must be 1 to 20 characters")
        if self.invoice_id is not None:
            try:
                uuid.UUID(str(self.invoice_id))
            except ValueError:
                problems.append(f"invoice id {self.invoice_id!r} is not a GUID")
        if not self.lines:
            problems.append("the credit memo has no lines")
        problems += line_problems(self.lines, _credit_memo_amount_problem)
        raise_problems(f"Purchase credit memo {self.vendor_credit_memo_number} for vendor {self.vendor_number}",
                       problems)


def _credit_memo_amount_problem(ln: InvoiceLineSpec) -> str | None:
    if ln.quantity <= 0:
        return "quantity must be more than zero (a credit memo credits it back)"
    if ln.direct_unit_cost < 0:
        return "unit cost is negative"
    return None


@dataclass
class CreditMemoResult:
    id: str
    number: str
    status: str  # "Draft" | "Open" | "Paid" | "Canceled" | "Corrective" | ...
    vendor_number: str
    vendor_credit_memo_number: str
    posting_date: date
    invoice_id: str | None  # the corrected invoice (None when not linked)
    invoice_number: str
    total_amount_excluding_tax: Decimal
    total_tax_amount: Decimal
    total_amount_including_tax: Decimal
    etag: str
    created: bool = False  # False when an existing credit memo was found (exactly-once)

    @property
    def posted(self) -> bool:
        return self.status not in ("Draft", "In Review", " ", "")

    @classmethod
    def from_api(cls, rec: Mapping[str, Any], *, created: bool = False) -> CreditMemoResult:
        inv_id = rec.get("invoiceId") or None
        return cls(**result_fields(rec), vendor_credit_memo_number=rec.get("vendorCreditMemoNumber") or "",
                   invoice_id=None if inv_id == EMPTY_GUID else inv_id, invoice_number=rec.get("invoiceNumber") or "",
                   created=created)


@dataclass
class CreditMemoOutcome:
    spec: PurchaseCreditMemoSpec
    result: CreditMemoResult | None = None
    error: ConnectorError | None = None


def build_credit_memo_body(spec: PurchaseCreditMemoSpec, vendor_defaults: Mapping[str, str] | None = None, *,
                           with_dimensions: bool = True) -> dict[str, Any]:
    """The deep-insert body with BC's field names; each dimension once, where BC does not already put it
    (``vendor_defaults``: the vendor's default dimensions, which BC puts on the header)."""
    spec.validate()
    header: dict[str, Any] = {"vendorNumber": spec.vendor_number,
                              "vendorCreditMemoNumber": spec.vendor_credit_memo_number,
                              "creditMemoDate": spec.credit_memo_date, "postingDate": spec.posting_date}
    if spec.invoice_id:
        header["invoiceId"] = odata.guid_key(spec.invoice_id)
    if spec.invoice_number:
        header["invoiceNumber"] = spec.invoice_number
    return deep_insert_body(header, spec, "purchaseCreditMemoLines", vendor_defaults,
                            with_dimensions=with_dimensions)


class PurchaseCreditMemos(PurchaseDocumentsBase):
    entity_set = "purchaseCreditMemos"
    lines_property = "purchaseCreditMemoLines"
    vendor_document_property = "vendorCreditMemoNumber"
    result_class = CreditMemoResult
    outcome_class = CreditMemoOutcome
    logger = log

    def _body(self, spec: PurchaseCreditMemoSpec, vendor_defaults: Mapping[str, str], *,
              with_dimensions: bool = True) -> dict[str, Any]:
        return build_credit_memo_body(spec, vendor_defaults, with_dimensions=with_dimensions)

    # -- reads ---------------------------------------------------------------------------------
    def get(self, credit_memo_id: str) -> CreditMemoResult:
        return self._get(credit_memo_id)

    def find(self, vendor_number: str, vendor_credit_memo_number: str) -> list[CreditMemoResult]:
        """Drafts AND posted credit memos (the entity buffer holds both) with this vendor + vendor credit memo
        number. BC only checks duplicates when posting, so a draft duplicate must be caught here."""
        return self._find(vendor_number, vendor_credit_memo_number)

    # -- writes --------------------------------------------------------------------------------
    def create(self, spec: PurchaseCreditMemoSpec, *, post: bool | None = None) -> CreditMemoResult:
        """One atomic request (deep insert), then the dimension sets read back and set right (else the draft is
        deleted: ``DimensionCheckError``), then posting if wanted. Raises ``TransportError`` if the outcome is
        unknown: use ``ensure`` for the exactly-once path."""
        return self._create(spec, post)

    def create_many(self, specs: list[PurchaseCreditMemoSpec], *, post: bool | None = None
                    ) -> list[CreditMemoOutcome]:
        """Many credit memos in ``$batch`` calls, like ``PurchaseInvoices.create_many``."""
        return self._create_many(specs, post)

    def ensure(self, spec: PurchaseCreditMemoSpec, *, post: bool | None = None) -> CreditMemoResult:
        """Exactly once: find (vendor, vendor credit memo no.) first; create only if absent; if the create's
        outcome is unknown (connection dropped after sending), look again before trying once more."""
        return self._ensure(spec, spec.vendor_credit_memo_number, post)

    def post(self, credit_memo_id: str, *, created: bool = False,
             spec: PurchaseCreditMemoSpec | None = None) -> CreditMemoResult:
        """``Microsoft.NAV.post`` (204). If the connection drops, the memo is read back: posted = done."""
        return self._post(credit_memo_id, created=created, spec=spec)

    def _post_for(self, credit_memo_id: str, spec: PurchaseCreditMemoSpec, *,
                  created: bool = False) -> CreditMemoResult:
        return self.post(credit_memo_id, created=created, spec=spec)

    def delete_draft(self, credit_memo_id: str, etag: str) -> None:
        self._delete_draft(credit_memo_id, etag)

    # -- helpers -------------------------------------------------------------------------------
    def _what(self, spec: PurchaseCreditMemoSpec) -> str:
        text = f"Purchase credit memo {spec.vendor_credit_memo_number} (vendor {spec.vendor_number}"
        return text + (f", correcting invoice {spec.invoice_number})" if spec.invoice_number else ")")

    def _explain(self, exc: ConnectorError, spec: PurchaseCreditMemoSpec) -> ConnectorError:
        nav_message = getattr(exc, "nav_message", "")
        if isinstance(exc, TransportError) or not nav_message:
            return exc
        return error_from_parts(exc.status or 400, exc.details, {"request-id": exc.correlation_id or ""},
                                context=self._error_context(spec, nav_message), what=self._what(spec))
