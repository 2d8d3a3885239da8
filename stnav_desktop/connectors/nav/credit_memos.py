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
from stnav_desktop.connectors.nav.client import NavClient
from stnav_desktop.connectors.nav.errors import SpecError, error_from_parts
from stnav_desktop.connectors.nav.purchase_invoices import LINE_TYPES, InvoiceLineSpec

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
        problems = []
        if not self.vendor_number:
            problems.append("vendor number is empty")
        if not self.vendor_credit_memo_number:
            problems.append("vendor credit memo number is empty")
        elif len(self.vendor_credit_memo_number) > 35:
            problems.append(f"vendor credit memo number {self.vendor_credit_memo_number!r} is longer than 35 characters")
        if self.invoice_number is not None and (not self.invoice_number or len(self.invoice_number) > 20):
            problems.append(f"invoice number {self.invoice_number!r} must be 1 to 20 characters")
        if self.invoice_id is not None:
            try:
                uuid.UUID(str(self.invoice_id))
            except ValueError:
                problems.append(f"invoice id {self.invoice_id!r} is not a GUID")
        if not self.lines:
            problems.append("the credit memo has no lines")
        for i, ln in enumerate(self.lines, 1):
            if ln.line_type not in LINE_TYPES:
                problems.append(f"line {i}: line type must be Item or Account, not {ln.line_type!r}")
            if not isinstance(ln.quantity, Decimal) or not isinstance(ln.direct_unit_cost, Decimal):
                problems.append(f"line {i}: quantity and unit cost must be Decimal")
            elif ln.quantity <= 0:
                problems.append(f"line {i}: quantity must be more than zero (a credit memo credits it back)")
            elif ln.direct_unit_cost < 0:
                problems.append(f"line {i}: unit cost is negative")
            if ln.description and len(ln.description) > 100:
                problems.append(f"line {i}: description is longer than 100 characters")
        if problems:
            raise SpecError(f"Purchase credit memo {self.vendor_credit_memo_number} for vendor {self.vendor_number}: "
                            + "; ".join(problems) + ".")


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
        return cls(id=rec["id"], number=rec["number"], status=rec["status"], vendor_number=rec["vendorNumber"],
                   vendor_credit_memo_number=rec.get("vendorCreditMemoNumber") or "",
                   posting_date=odata.parse_date(rec["postingDate"]),
                   invoice_id=None if inv_id == EMPTY_GUID else inv_id,
                   invoice_number=rec.get("invoiceNumber") or "",
                   total_amount_excluding_tax=Decimal(rec["totalAmountExcludingTax"]),
                   total_tax_amount=Decimal(rec["totalTaxAmount"]),
                   total_amount_including_tax=Decimal(rec["totalAmountIncludingTax"]),
                   etag=rec.get("@odata.etag", ""), created=created)


def _dims(d: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"code": k, "valueCode": v} for k, v in d.items()]


def build_credit_memo_body(spec: PurchaseCreditMemoSpec) -> dict[str, Any]:
    """The deep-insert body with BC's field names."""
    spec.validate()
    body: dict[str, Any] = {"vendorNumber": spec.vendor_number,
                            "vendorCreditMemoNumber": spec.vendor_credit_memo_number,
                            "creditMemoDate": spec.credit_memo_date, "postingDate": spec.posting_date}
    if spec.invoice_id:
        body["invoiceId"] = odata.guid_key(spec.invoice_id)
    if spec.invoice_number:
        body["invoiceNumber"] = spec.invoice_number
    if spec.due_date:
        body["dueDate"] = spec.due_date
    if spec.currency_code:
        body["currencyCode"] = spec.currency_code
    if spec.dimensions:
        body["dimensionSetLines"] = _dims(spec.dimensions)
    lines = []
    for ln in spec.lines:
        line: dict[str, Any] = {"lineType": ln.line_type, "lineObjectNumber": ln.line_object_number,
                                "quantity": ln.quantity, "unitCost": ln.direct_unit_cost}
        if ln.description:
            line["description"] = ln.description
        if ln.dimensions:
            line["dimensionSetLines"] = _dims(ln.dimensions)
        lines.append(line)
    body["purchaseCreditMemoLines"] = lines
    return body


class PurchaseCreditMemos:
    def __init__(self, client: NavClient) -> None:
        self.client = client
        self._dim_values: dict[str, set[str]] | None = None

    def _path(self, cm_id: str | None = None) -> str:
        return self.client.cpath("purchaseCreditMemos" + (f"({odata.guid_key(cm_id)})" if cm_id else ""))

    # -- reads ---------------------------------------------------------------------------------
    def get(self, credit_memo_id: str) -> CreditMemoResult:
        return CreditMemoResult.from_api(self.client.get(self._path(credit_memo_id)))

    def find(self, vendor_number: str, vendor_credit_memo_number: str) -> list[CreditMemoResult]:
        """Drafts AND posted credit memos (the entity buffer holds both) with this vendor + vendor credit memo
        number. BC only checks duplicates when posting, so a draft duplicate must be caught here."""
        flt = odata.eq_filter(vendorNumber=vendor_number, vendorCreditMemoNumber=vendor_credit_memo_number)
        recs = self.client.iter(self._path(), {"$filter": flt})
        return [CreditMemoResult.from_api(r) for r in recs
                if r["vendorNumber"] == vendor_number and r.get("vendorCreditMemoNumber") == vendor_credit_memo_number]

    # -- writes --------------------------------------------------------------------------------
    def create(self, spec: PurchaseCreditMemoSpec, *, post: bool | None = None) -> CreditMemoResult:
        """One atomic request (deep insert). Raises ``TransportError`` if the outcome is unknown: use
        ``ensure`` for the exactly-once path."""
        body = build_credit_memo_body(spec)
        try:
            rec = self.client.post(self._path(), body)
        except ConnectorError as exc:
            raise self._explain(exc, spec) from None
        result = CreditMemoResult.from_api(rec, created=True)
        if self._want_post(post):
            result = self.post(result.id, created=True, spec=spec)
        return result

    def ensure(self, spec: PurchaseCreditMemoSpec, *, post: bool | None = None) -> CreditMemoResult:
        """Exactly once: find (vendor, vendor credit memo no.) first; create only if absent; if the create's
        outcome is unknown (connection dropped after sending), look again before trying once more."""
        spec.validate()
        existing = self.find(spec.vendor_number, spec.vendor_credit_memo_number)
        if not existing:
            try:
                return self.create(spec, post=post)
            except TransportError:
                log.warning("%s: outcome unknown after a transport error; reading back", self._what(spec))
                existing = self.find(spec.vendor_number, spec.vendor_credit_memo_number)
                if not existing:
                    return self.create(spec, post=post)
        found = _prefer(existing)
        if self._want_post(post) and not found.posted:
            return self.post(found.id, spec=spec)
        return found

    def post(self, credit_memo_id: str, *, created: bool = False,
             spec: PurchaseCreditMemoSpec | None = None) -> CreditMemoResult:
        """``Microsoft.NAV.post`` (204). If the connection drops, the memo is read back: posted = done."""
        path = self._path(credit_memo_id)
        try:
            self.client.action(path + "/Microsoft.NAV.post")
        except TransportError:
            if not CreditMemoResult.from_api(self.client.get(path)).posted:
                raise
        except ConnectorError as exc:
            if spec is None:
                raise
            raise self._explain(exc, spec) from None
        return CreditMemoResult.from_api(self.client.get(path), created=created)

    def delete_draft(self, credit_memo_id: str, etag: str) -> None:
        self.client.delete(self._path(credit_memo_id), etag)

    # -- helpers -------------------------------------------------------------------------------
    def _want_post(self, post: bool | None) -> bool:
        return self.client.config.post_mode == "post" if post is None else post

    def _what(self, spec: PurchaseCreditMemoSpec) -> str:
        text = f"Purchase credit memo {spec.vendor_credit_memo_number} (vendor {spec.vendor_number}"
        return text + (f", correcting invoice {spec.invoice_number})" if spec.invoice_number else ")")

    def _context(self, spec: PurchaseCreditMemoSpec, nav_message: str) -> dict[str, Any]:
        """Which of the spec's dimension values / items / accounts NAV does not know (error path only)."""
        ctx: dict[str, Any] = {}
        try:
            if "does not match to a Dimension" in nav_message:
                if self._dim_values is None:
                    dims = self.client.get(self.client.cpath("dimensions"), params={"$expand": "dimensionValues"})
                    self._dim_values = {d["code"]: {v["code"] for v in d.get("dimensionValues", [])}
                                        for d in dims.get("value", [])}
                pairs = list(spec.dimensions.items()) + [p for ln in spec.lines for p in ln.dimensions.items()]
                ctx["unknown_dimension_values"] = sorted(
                    {(d, v) for d, v in pairs if v not in self._dim_values.get(d, set())})
            for msg, line_type, entity, key in (("Item does not exist.", "Item", "items", "unknown_items"),
                                                ("Account does not exist.", "Account", "accounts", "unknown_accounts")):
                if nav_message == msg:
                    numbers = sorted({ln.line_object_number for ln in spec.lines if ln.line_type == line_type})
                    ctx[key] = [n for n in numbers if not self.client.get(
                        self.client.cpath(entity), params={"$filter": odata.eq_filter(number=n)}).get("value")]
        except ConnectorError:
            return ctx
        return ctx

    def _explain(self, exc: ConnectorError, spec: PurchaseCreditMemoSpec) -> ConnectorError:
        nav_message = getattr(exc, "nav_message", "")
        if isinstance(exc, TransportError) or not nav_message:
            return exc
        return error_from_parts(exc.status or 400, exc.details, {"request-id": exc.correlation_id or ""},
                                context=self._context(spec, nav_message), what=self._what(spec))


def _prefer(found: list[CreditMemoResult]) -> CreditMemoResult:
    posted = [f for f in found if f.posted]
    return (posted or found)[0]
