"""What purchase invoices and purchase credit memos have in common: the deep-insert body (header dimensions
and lines), the local checks of the lines, the result's common fields, and the exactly-once pattern (find
before create, read back after a transport error, post a found draft).

``purchase_invoices`` and ``credit_memos`` keep their own public classes and functions; they call these."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.client import NavClient
from stnav_desktop.connectors.nav.errors import SpecError

if TYPE_CHECKING:
    from stnav_desktop.connectors.nav.credit_memos import PurchaseCreditMemoSpec
    from stnav_desktop.connectors.nav.purchase_invoices import InvoiceLineSpec, PurchaseInvoiceSpec

    DocumentSpec = PurchaseInvoiceSpec | PurchaseCreditMemoSpec

LINE_TYPES = ("Item", "Account")


# -- local checks ------------------------------------------------------------------------------
def header_problems(vendor_number: str, document_number: str, label: str) -> list[str]:
    """The vendor and the vendor's own document number (Code[35]); ``label`` names the number."""
    problems = []
    if not vendor_number:
        problems.append("vendor number is empty")
    if not document_number:
        problems.append(f"{label} is empty")
    elif len(document_number) > 35:
        problems.append(f"{label} {document_number!r} is longer than 35 characters")
    return problems


def line_problems(lines: Sequence[InvoiceLineSpec],
                  amount_problem: Callable[[InvoiceLineSpec], str | None]) -> list[str]:
    """Line type, Decimal amounts and description length; ``amount_problem`` checks the (Decimal) quantity
    and unit cost the way the document needs them."""
    problems = []
    for i, ln in enumerate(lines, 1):
        if ln.line_type not in LINE_TYPES:
            problems.append(f"line {i}: line type must be Item or Account, not {ln.line_type!r}")
        if not isinstance(ln.quantity, Decimal) or not isinstance(ln.direct_unit_cost, Decimal):
            problems.append(f"line {i}: quantity and unit cost must be Decimal")
        else:
            problem = amount_problem(ln)
            if problem:
                problems.append(f"line {i}: {problem}")
        if ln.description and len(ln.description) > 100:
            problems.append(f"line {i}: description is longer than 100 characters")
    return problems


def raise_problems(what: str, problems: list[str]) -> None:
    if problems:
        raise SpecError(f"{what}: " + "; ".join(problems) + ".")


# -- request body --------------------------------------------------------------------------------
def dimension_set_lines(dims: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"code": k, "valueCode": v} for k, v in dims.items()]


def line_bodies(lines: Sequence[InvoiceLineSpec]) -> list[dict[str, Any]]:
    bodies = []
    for ln in lines:
        line: dict[str, Any] = {"lineType": ln.line_type, "lineObjectNumber": ln.line_object_number,
                                "quantity": ln.quantity, "unitCost": ln.direct_unit_cost}
        if ln.description:
            line["description"] = ln.description
        if ln.dimensions:
            line["dimensionSetLines"] = dimension_set_lines(ln.dimensions)
        bodies.append(line)
    return bodies


def deep_insert_body(header: dict[str, Any], spec: DocumentSpec, lines_property: str) -> dict[str, Any]:
    """``header`` (the document's own fields), then due date, currency, header dimensions and the lines."""
    body = dict(header)
    if spec.due_date:
        body["dueDate"] = spec.due_date
    if spec.currency_code:
        body["currencyCode"] = spec.currency_code
    if spec.dimensions:
        body["dimensionSetLines"] = dimension_set_lines(spec.dimensions)
    body[lines_property] = line_bodies(spec.lines)
    return body


# -- results -------------------------------------------------------------------------------------
def result_fields(rec: Mapping[str, Any]) -> dict[str, Any]:
    """The result fields both documents read the same way (keyword arguments of the result classes)."""
    return {"id": rec["id"], "number": rec["number"], "status": rec["status"], "vendor_number": rec["vendorNumber"],
            "posting_date": odata.parse_date(rec["postingDate"]),
            "total_amount_excluding_tax": Decimal(rec["totalAmountExcludingTax"]),
            "total_tax_amount": Decimal(rec["totalTaxAmount"]),
            "total_amount_including_tax": Decimal(rec["totalAmountIncludingTax"]),
            "etag": rec.get("@odata.etag", "")}


def prefer_posted(found: list[Any]) -> Any:
    posted = [f for f in found if f.posted]
    return (posted or found)[0]


# -- the shared half of PurchaseInvoices / PurchaseCreditMemos ----------------------------------
class PurchaseDocumentsBase:
    """Reads, exactly-once create and posting of one purchase document entity set. A subclass names the
    entity set, the vendor's document-number property and the result class, and provides ``find``,
    ``create``, ``_explain``, ``_what`` and ``_post_for``."""

    entity_set: str  # "purchaseInvoices"
    vendor_document_property: str  # "vendorInvoiceNumber": the exactly-once key with vendorNumber
    result_class: Any  # InvoiceResult | CreditMemoResult (both have ``from_api`` and ``posted``)
    logger: logging.Logger

    def __init__(self, client: NavClient) -> None:
        self.client = client
        self._dim_values: dict[str, set[str]] | None = None

    def _collection_path(self) -> str:
        return self.client.cpath(self.entity_set)

    def _record_path(self, document_id: str) -> str:
        return self.client.cpath(f"{self.entity_set}({odata.guid_key(document_id)})")

    def _want_post(self, post: bool | None) -> bool:
        return self.client.config.post_mode == "post" if post is None else post

    # -- hooks for the subclasses ------------------------------------------------------------------
    def find(self, vendor_number: str, document_number: str) -> list[Any]:
        raise NotImplementedError

    def create(self, spec: Any, *, post: bool | None = None) -> Any:
        raise NotImplementedError

    def _explain(self, exc: ConnectorError, spec: Any) -> ConnectorError:
        raise NotImplementedError

    def _what(self, spec: Any) -> str:
        raise NotImplementedError

    def _post_for(self, document_id: str, spec: Any, *, created: bool = False) -> Any:
        """Post after ``create`` / ``ensure`` (the subclass decides whether ``spec`` explains errors)."""
        raise NotImplementedError

    # -- shared steps --------------------------------------------------------------------------------
    def _get(self, document_id: str) -> Any:
        return self.result_class.from_api(self.client.get(self._record_path(document_id)))

    def _find(self, vendor_number: str, document_number: str) -> list[Any]:
        """Drafts AND posted documents with this vendor + vendor document number (BC only checks duplicates
        when posting, so a draft duplicate must be caught here)."""
        key = self.vendor_document_property
        flt = odata.eq_filter(**{"vendorNumber": vendor_number, key: document_number})
        recs = self.client.iter(self._collection_path(), {"$filter": flt})
        return [self.result_class.from_api(r) for r in recs
                if r["vendorNumber"] == vendor_number and r.get(key) == document_number]

    def _create(self, spec: Any, body: dict[str, Any], post: bool | None) -> Any:
        try:
            rec = self.client.post(self._collection_path(), body)
        except ConnectorError as exc:
            raise self._explain(exc, spec) from None
        result = self.result_class.from_api(rec, created=True)
        if self._want_post(post):
            result = self._post_for(result.id, spec, created=True)
        return result

    def _ensure(self, spec: Any, document_number: str, post: bool | None) -> Any:
        """Find (vendor, ``document_number``) first; create only if absent; if the create's outcome is
        unknown, look again before trying once more. A found draft is posted when posting is wanted."""
        spec.validate()
        existing = self.find(spec.vendor_number, document_number)
        if not existing:
            try:
                return self.create(spec, post=post)
            except TransportError:
                self.logger.warning("%s: outcome unknown after a transport error; reading back", self._what(spec))
                existing = self.find(spec.vendor_number, document_number)
                if not existing:
                    return self.create(spec, post=post)
        found = prefer_posted(existing)
        if self._want_post(post) and not found.posted:
            return self._post_for(found.id, spec)
        return found

    def _post(self, document_id: str, *, created: bool, spec: Any = None) -> Any:
        """``Microsoft.NAV.post``. If the connection drops, the document is read back: posted = done. Other
        errors are explained with ``spec`` when one is given."""
        path = self._record_path(document_id)
        try:
            self.client.action(path + "/Microsoft.NAV.post")
        except TransportError:
            if not self.result_class.from_api(self.client.get(path)).posted:
                raise
        except ConnectorError as exc:
            if spec is None:
                raise
            raise self._explain(exc, spec) from None
        return self.result_class.from_api(self.client.get(path), created=created)

    def _delete_draft(self, document_id: str, etag: str) -> None:
        self.client.delete(self._record_path(document_id), etag)

    def _unknown_dimension_values(self, spec: DocumentSpec) -> list[tuple[str, str]]:
        """The spec's (dimension, value) pairs NAV does not know; reads the dimensions once (may raise
        ``ConnectorError``)."""
        if self._dim_values is None:
            dims = self.client.get(self.client.cpath("dimensions"), params={"$expand": "dimensionValues"})
            self._dim_values = {d["code"]: {v["code"] for v in d.get("dimensionValues", [])}
                                for d in dims.get("value", [])}
        pairs = list(spec.dimensions.items()) + [p for ln in spec.lines for p in ln.dimensions.items()]
        return sorted({(d, v) for d, v in pairs if v not in self._dim_values.get(d, set())})
