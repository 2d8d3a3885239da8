"""Purchase invoices: atomic create (deep insert: header + purchaseInvoiceLines + dimensionSetLines in ONE
request, so BC creates all of it or nothing), optional posting (``Microsoft.NAV.post``), many invoices per
``$batch`` (each invoice its own atomicity group), and exactly-once helpers (find before create)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.connectors.nav.documents import LINE_TYPES as LINE_TYPES  # re-exported
from stnav_desktop.connectors.nav.documents import (
    PurchaseDocumentsBase,
    deep_insert_body,
    header_problems,
    line_problems,
    raise_problems,
    result_fields,
)
from stnav_desktop.connectors.nav.errors import error_from_parts

log = logging.getLogger(__name__)


@dataclass
class InvoiceLineSpec:
    line_type: str  # BC lineType: "Item" | "Account"
    line_object_number: str  # BC lineObjectNumber: item no. or G/L account no.
    quantity: Decimal
    direct_unit_cost: Decimal  # BC unitCost (= Direct Unit Cost)
    description: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)  # {"TERRITORY": "NORTH"}


@dataclass
class PurchaseInvoiceSpec:
    vendor_number: str  # vendorNumber
    vendor_invoice_number: str  # vendorInvoiceNumber (Code[35]); BC's duplicate check key with the vendor
    invoice_date: date  # invoiceDate (Document Date)
    posting_date: date  # postingDate
    lines: list[InvoiceLineSpec]
    currency_code: str | None = None  # currencyCode; None = local currency
    dimensions: dict[str, str] = field(default_factory=dict)  # header dimension set lines
    due_date: date | None = None

    def validate(self) -> None:
        problems = header_problems(self.vendor_number, self.vendor_invoice_number, "vendor invoice number")
        if not self.lines:
            problems.append("the invoice has no lines")
        problems += line_problems(self.lines, _invoice_amount_problem)
        raise_problems(f"Purchase invoice {self.vendor_invoice_number} for vendor {self.vendor_number}", problems)


def _invoice_amount_problem(ln: InvoiceLineSpec) -> str | None:
    return "quantity is zero" if ln.quantity == 0 else None


@dataclass
class InvoiceResult:
    id: str
    number: str
    status: str  # "Draft" | "Open" | "Paid" | ...
    vendor_number: str
    vendor_invoice_number: str
    posting_date: date
    total_amount_excluding_tax: Decimal
    total_tax_amount: Decimal
    total_amount_including_tax: Decimal
    etag: str
    created: bool = False  # False when an existing invoice was found (exactly-once)

    @property
    def posted(self) -> bool:
        return self.status not in ("Draft", " ", "")

    @classmethod
    def from_api(cls, rec: Mapping[str, Any], *, created: bool = False) -> InvoiceResult:
        return cls(**result_fields(rec), vendor_invoice_number=rec.get("vendorInvoiceNumber") or "", created=created)


@dataclass
class InvoiceOutcome:
    spec: PurchaseInvoiceSpec
    result: InvoiceResult | None = None
    error: ConnectorError | None = None


def build_invoice_body(spec: PurchaseInvoiceSpec, vendor_defaults: Mapping[str, str] | None = None, *,
                       with_dimensions: bool = True) -> dict[str, Any]:
    """The deep-insert body with BC's field names; each dimension once, where BC does not already put it
    (``vendor_defaults``: the vendor's default dimensions, which BC puts on the header)."""
    spec.validate()
    header = {"vendorNumber": spec.vendor_number, "vendorInvoiceNumber": spec.vendor_invoice_number,
              "invoiceDate": spec.invoice_date, "postingDate": spec.posting_date}
    return deep_insert_body(header, spec, "purchaseInvoiceLines", vendor_defaults, with_dimensions=with_dimensions)


class PurchaseInvoices(PurchaseDocumentsBase):
    entity_set = "purchaseInvoices"
    lines_property = "purchaseInvoiceLines"
    vendor_document_property = "vendorInvoiceNumber"
    result_class = InvoiceResult
    outcome_class = InvoiceOutcome
    logger = log

    def _body(self, spec: PurchaseInvoiceSpec, vendor_defaults: Mapping[str, str], *,
              with_dimensions: bool = True) -> dict[str, Any]:
        return build_invoice_body(spec, vendor_defaults, with_dimensions=with_dimensions)

    def _what(self, spec: PurchaseInvoiceSpec) -> str:
        return f"Purchase invoice {spec.vendor_invoice_number} (vendor {spec.vendor_number})"

    # -- reads ---------------------------------------------------------------------------------
    def get(self, invoice_id: str) -> InvoiceResult:
        return self._get(invoice_id)

    def find(self, vendor_number: str, vendor_invoice_number: str) -> list[InvoiceResult]:
        """Drafts AND posted invoices (the aggregate holds both) with this vendor + vendor invoice number.
        BC only checks duplicates when posting, so a draft duplicate must be caught here."""
        return self._find(vendor_number, vendor_invoice_number)

    # -- writes --------------------------------------------------------------------------------
    def create(self, spec: PurchaseInvoiceSpec, *, post: bool | None = None) -> InvoiceResult:
        """One atomic request (deep insert), then the dimension sets read back and set right (else the draft is
        deleted: ``DimensionCheckError``), then posting if wanted. Raises ``TransportError`` if the outcome is
        unknown: use ``ensure`` for the exactly-once path."""
        return self._create(spec, post)

    def ensure(self, spec: PurchaseInvoiceSpec, *, post: bool | None = None) -> InvoiceResult:
        """Exactly once: find (vendor, vendor invoice no.) first; create only if absent; if the create's
        outcome is unknown (connection dropped after sending), look again before trying once more."""
        return self._ensure(spec, spec.vendor_invoice_number, post)

    def post(self, invoice_id: str, *, created: bool = False) -> InvoiceResult:
        return self._post(invoice_id, created=created)

    def _post_for(self, invoice_id: str, spec: PurchaseInvoiceSpec, *, created: bool = False) -> InvoiceResult:
        return self.post(invoice_id, created=created)  # posting errors are not explained with the spec

    def delete_draft(self, invoice_id: str, etag: str) -> None:
        self._delete_draft(invoice_id, etag)

    def create_many(self, specs: list[PurchaseInvoiceSpec], *, post: bool | None = None) -> list[InvoiceOutcome]:
        """Many invoices in ``$batch`` calls; each invoice is its own atomicity group, so one bad invoice fails
        alone and leaves nothing behind; dimensions read back and fixed in one batch each before anything is
        posted (see ``PurchaseDocumentsBase._create_many``). Not exactly-once by itself: call ``find``/``ensure``
        for anything whose earlier attempt had an unknown outcome (and ``verify_dimensions`` on a found draft)."""
        return self._create_many(specs, post)

    def _explain(self, exc: ConnectorError, spec: PurchaseInvoiceSpec) -> ConnectorError:
        nav_message = getattr(exc, "nav_message", "")
        if isinstance(exc, TransportError) or not nav_message:
            return exc
        return error_from_parts(exc.status or 400, exc.details, {"request-id": exc.correlation_id or ""},
                                context=self._error_context(spec, nav_message), what=self._what(spec))
