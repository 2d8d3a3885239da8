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
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.client import BatchRequest, NavClient
from stnav_desktop.connectors.nav.errors import SpecError

log = logging.getLogger(__name__)

LINE_TYPES = ("Item", "Account")


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
        problems = []
        if not self.vendor_number:
            problems.append("vendor number is empty")
        if not self.vendor_invoice_number:
            problems.append("vendor invoice number is empty")
        elif len(self.vendor_invoice_number) > 35:
            problems.append(f"vendor invoice number {self.vendor_invoice_number!r} is longer than 35 characters")
        if not self.lines:
            problems.append("the invoice has no lines")
        for i, ln in enumerate(self.lines, 1):
            if ln.line_type not in LINE_TYPES:
                problems.append(f"line {i}: line type must be Item or Account, not {ln.line_type!r}")
            if not isinstance(ln.quantity, Decimal) or not isinstance(ln.direct_unit_cost, Decimal):
                problems.append(f"line {i}: quantity and unit cost must be Decimal")
            elif ln.quantity == 0:
                problems.append(f"line {i}: quantity is zero")
            if ln.description and len(ln.description) > 100:
                problems.append(f"line {i}: description is longer than 100 characters")
        if problems:
            raise SpecError(f"Purchase invoice {self.vendor_invoice_number} for vendor {self.vendor_number}: "
                            + "; ".join(problems) + ".")


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
        return cls(id=rec["id"], number=rec["number"], status=rec["status"], vendor_number=rec["vendorNumber"],
                   vendor_invoice_number=rec.get("vendorInvoiceNumber") or "",
                   posting_date=odata.parse_date(rec["postingDate"]),
                   total_amount_excluding_tax=Decimal(rec["totalAmountExcludingTax"]),
                   total_tax_amount=Decimal(rec["totalTaxAmount"]),
                   total_amount_including_tax=Decimal(rec["totalAmountIncludingTax"]),
                   etag=rec.get("@odata.etag", ""), created=created)


@dataclass
class InvoiceOutcome:
    spec: PurchaseInvoiceSpec
    result: InvoiceResult | None = None
    error: ConnectorError | None = None


def _dims(d: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"code": k, "valueCode": v} for k, v in d.items()]


def build_invoice_body(spec: PurchaseInvoiceSpec) -> dict[str, Any]:
    """The deep-insert body with BC's field names."""
    spec.validate()
    body: dict[str, Any] = {"vendorNumber": spec.vendor_number, "vendorInvoiceNumber": spec.vendor_invoice_number,
                            "invoiceDate": spec.invoice_date, "postingDate": spec.posting_date}
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
    body["purchaseInvoiceLines"] = lines
    return body


class PurchaseInvoices:
    def __init__(self, client: NavClient) -> None:
        self.client = client
        self._dim_values: dict[str, set[str]] | None = None

    # -- context for clerk-readable errors -----------------------------------------------------
    def _context(self, spec: PurchaseInvoiceSpec) -> dict[str, Any]:
        try:
            if self._dim_values is None:
                dims = self.client.get(self.client.cpath("dimensions"), params={"$expand": "dimensionValues"})
                self._dim_values = {d["code"]: {v["code"] for v in d.get("dimensionValues", [])}
                                    for d in dims.get("value", [])}
        except ConnectorError:
            return {}
        pairs = list(spec.dimensions.items()) + [p for ln in spec.lines for p in ln.dimensions.items()]
        unknown = sorted({(d, v) for d, v in pairs if v not in self._dim_values.get(d, set())})
        return {"unknown_dimension_values": unknown}

    def _what(self, spec: PurchaseInvoiceSpec) -> str:
        return f"Purchase invoice {spec.vendor_invoice_number} (vendor {spec.vendor_number})"

    # -- reads ---------------------------------------------------------------------------------
    def get(self, invoice_id: str) -> InvoiceResult:
        return InvoiceResult.from_api(self.client.get(self.client.cpath(f"purchaseInvoices({odata.guid_key(invoice_id)})")))

    def find(self, vendor_number: str, vendor_invoice_number: str) -> list[InvoiceResult]:
        """Drafts AND posted invoices (the aggregate holds both) with this vendor + vendor invoice number.
        BC only checks duplicates when posting, so a draft duplicate must be caught here."""
        flt = odata.eq_filter(vendorNumber=vendor_number, vendorInvoiceNumber=vendor_invoice_number)
        recs = self.client.iter(self.client.cpath("purchaseInvoices"), {"$filter": flt})
        return [InvoiceResult.from_api(r) for r in recs
                if r["vendorNumber"] == vendor_number and r.get("vendorInvoiceNumber") == vendor_invoice_number]

    # -- writes --------------------------------------------------------------------------------
    def create(self, spec: PurchaseInvoiceSpec, *, post: bool | None = None) -> InvoiceResult:
        """One atomic request (deep insert). Raises ``TransportError`` if the outcome is unknown: use
        ``ensure`` for the exactly-once path."""
        body = build_invoice_body(spec)
        try:
            rec = self.client.post(self.client.cpath("purchaseInvoices"), body)
        except ConnectorError as exc:
            raise self._explain(exc, spec) from None
        result = InvoiceResult.from_api(rec, created=True)
        if self._want_post(post):
            result = self.post(result.id, created=True)
        return result

    def ensure(self, spec: PurchaseInvoiceSpec, *, post: bool | None = None) -> InvoiceResult:
        """Exactly once: find (vendor, vendor invoice no.) first; create only if absent; if the create's
        outcome is unknown (connection dropped after sending), look again before trying once more."""
        spec.validate()
        existing = self.find(spec.vendor_number, spec.vendor_invoice_number)
        if not existing:
            try:
                return self.create(spec, post=post)
            except TransportError:
                log.warning("%s: outcome unknown after a transport error; reading back", self._what(spec))
                existing = self.find(spec.vendor_number, spec.vendor_invoice_number)
                if not existing:
                    return self.create(spec, post=post)
        found = _prefer(existing)
        if self._want_post(post) and not found.posted:
            return self.post(found.id)
        return found

    def post(self, invoice_id: str, *, created: bool = False) -> InvoiceResult:
        path = self.client.cpath(f"purchaseInvoices({odata.guid_key(invoice_id)})")
        try:
            self.client.action(path + "/Microsoft.NAV.post")
        except TransportError:
            current = InvoiceResult.from_api(self.client.get(path))
            if not current.posted:
                raise
        rec = self.client.get(path)
        return InvoiceResult.from_api(rec, created=created)

    def delete_draft(self, invoice_id: str, etag: str) -> None:
        self.client.delete(self.client.cpath(f"purchaseInvoices({odata.guid_key(invoice_id)})"), etag)

    def create_many(self, specs: list[PurchaseInvoiceSpec], *, post: bool | None = None) -> list[InvoiceOutcome]:
        """Many invoices in ``$batch`` calls of up to 100; each invoice is its own atomicity group, so one
        bad invoice fails alone and leaves nothing behind. Posting (if asked) is a second batch of bound
        actions, then a third batch reads the results back. Not exactly-once by itself: call
        ``find``/``ensure`` for anything whose earlier attempt had an unknown outcome."""
        outcomes = [InvoiceOutcome(s) for s in specs]
        reqs = []
        for i, s in enumerate(specs):
            try:
                body = build_invoice_body(s)
            except SpecError as exc:
                outcomes[i].error = exc
                continue
            reqs.append(BatchRequest("POST", self.client.cpath("purchaseInvoices"), body, id=str(i),
                                     atomicity_group=f"inv{i}"))
        for resp in self.client.batch(reqs):
            o = outcomes[int(resp.id or 0)]
            if resp.ok:
                o.result = InvoiceResult.from_api(resp.body, created=True)
            else:
                o.error = self._explain(self.client.batch_error(resp), o.spec)
        if self._want_post(post):
            todo = [(i, o) for i, o in enumerate(outcomes) if o.result]
            posts = [BatchRequest("POST", self.client.cpath(f"purchaseInvoices({o.result.id})/Microsoft.NAV.post"),
                                  id=str(i)) for i, o in todo if o.result]
            failed = set()
            for resp in self.client.batch(posts):
                if not resp.ok:
                    o = outcomes[int(resp.id or 0)]
                    o.error = self._explain(self.client.batch_error(resp), o.spec)
                    failed.add(int(resp.id or 0))
            reads = [BatchRequest("GET", self.client.cpath(f"purchaseInvoices({o.result.id})"), id=str(i))
                     for i, o in todo if o.result]
            for resp in self.client.batch(reads):
                o = outcomes[int(resp.id or 0)]
                if resp.ok:
                    o.result = InvoiceResult.from_api(resp.body, created=True)
        return outcomes

    def _want_post(self, post: bool | None) -> bool:
        return self.client.config.post_mode == "post" if post is None else post

    def _explain(self, exc: ConnectorError, spec: PurchaseInvoiceSpec) -> ConnectorError:
        nav_message = getattr(exc, "nav_message", "")
        if "does not match to a Dimension" in nav_message:
            from stnav_desktop.connectors.nav.errors import error_from_parts

            return error_from_parts(exc.status or 400, exc.details, {"request-id": exc.correlation_id or ""},
                                    context=self._context(spec), what=self._what(spec))
        if isinstance(exc, TransportError) or not nav_message:
            return exc
        new = type(exc)(f"{self._what(spec)}: {exc}", nav_message=nav_message, status=exc.status, code=exc.code,
                        correlation_id=exc.correlation_id, details=exc.details, retryable=exc.retryable)
        return new


def _prefer(found: list[InvoiceResult]) -> InvoiceResult:
    posted = [f for f in found if f.posted]
    return (posted or found)[0]
