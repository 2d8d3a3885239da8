"""What purchase invoices and purchase credit memos have in common: the deep-insert body (header dimensions
and lines), the local checks of the lines, the result's common fields, and the exactly-once pattern (find
before create, read back after a transport error, post a found draft).

``purchase_invoices`` and ``credit_memos`` keep their own public classes and functions; they call these."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlencode

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.client import BatchRequest, NavClient
from stnav_desktop.connectors.nav.errors import DimensionCheckError, SpecError

if TYPE_CHECKING:
    from stnav_desktop.connectors.nav.credit_memos import PurchaseCreditMemoSpec
    from stnav_desktop.connectors.nav.purchase_invoices import InvoiceLineSpec, PurchaseInvoiceSpec

    DocumentSpec: TypeAlias = PurchaseInvoiceSpec | PurchaseCreditMemoSpec

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
# How BC builds a purchase document's dimension sets (what the body must not repeat):
# - the header starts with the vendor's Default Dimensions (Purchase Header CreateDimFromDefaultDim);
# - a line starts with the header's set plus its item's / G/L account's Default Dimensions for dimensions the header
#   does not have (Purchase Line CreateDim -> DimensionManagement.GetDefaultDimID, InheritFromDimSetID = header);
# - inserting a dimensionSetLine whose dimension is already in the parent's set fails with "The dimension set line
#   already exists. ..." (page 30022 APIV2DimensionSetLines.Page.al, LoadLinesFromId -> RecordAlreadyExistErr):
#   a different value is set by PATCHing that existing set line.
# So each dimension is sent once, where it belongs, and what differs from what NAV inherited is PATCHed afterwards.
ALREADY_EXISTS = "The dimension set line already exists."


def dimension_set_lines(dims: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"code": k, "valueCode": v} for k, v in dims.items()]


def wanted_line_dimensions(spec: DocumentSpec, line: InvoiceLineSpec) -> dict[str, str]:
    """What a line must carry in NAV: the document's dimensions, overridden by the line's own."""
    return {**spec.dimensions, **line.dimensions}


def header_dimensions_to_send(spec: DocumentSpec, vendor_defaults: Mapping[str, str]) -> dict[str, str]:
    """Header dimensions the vendor's default dimensions do not already put on the header."""
    return {k: v for k, v in spec.dimensions.items() if k not in vendor_defaults}


def line_dimensions_to_send(spec: DocumentSpec, line: InvoiceLineSpec,
                            vendor_defaults: Mapping[str, str]) -> dict[str, str]:
    """A line's dimensions that it does not inherit from the header as created (vendor defaults + the header
    dimensions sent). An inherited dimension with another value is PATCHed after the create."""
    inherited = {**vendor_defaults, **header_dimensions_to_send(spec, vendor_defaults)}
    return {k: v for k, v in wanted_line_dimensions(spec, line).items() if k not in inherited}


def line_bodies(lines: Sequence[InvoiceLineSpec], spec: DocumentSpec | None = None,
                vendor_defaults: Mapping[str, str] | None = None, *, with_dimensions: bool = True
                ) -> list[dict[str, Any]]:
    bodies = []
    for ln in lines:
        line: dict[str, Any] = {"lineType": ln.line_type, "lineObjectNumber": ln.line_object_number,
                                "quantity": ln.quantity, "unitCost": ln.direct_unit_cost}
        if ln.description:
            line["description"] = ln.description
        dims = line_dimensions_to_send(spec, ln, vendor_defaults or {}) if spec is not None else ln.dimensions
        if dims and with_dimensions:
            line["dimensionSetLines"] = dimension_set_lines(dims)
        bodies.append(line)
    return bodies


def deep_insert_body(header: dict[str, Any], spec: DocumentSpec, lines_property: str,
                     vendor_defaults: Mapping[str, str] | None = None, *, with_dimensions: bool = True
                     ) -> dict[str, Any]:
    """``header`` (the document's own fields), then due date, currency, the header dimensions the vendor's
    defaults do not give, and the lines with the dimensions they do not inherit. ``with_dimensions=False`` leaves
    every dimension out (they are then set after the create: a G/L account's default dimensions cannot be read
    through the API, a vendor's may not have been read, and one repeated dimension fails the whole deep insert)."""
    defaults = vendor_defaults or {}
    body = dict(header)
    if spec.due_date:
        body["dueDate"] = spec.due_date
    if spec.currency_code:
        body["currencyCode"] = spec.currency_code
    header_dims = header_dimensions_to_send(spec, defaults) if with_dimensions else {}
    if header_dims:
        body["dimensionSetLines"] = dimension_set_lines(header_dims)
    body[lines_property] = line_bodies(spec.lines, spec, defaults, with_dimensions=with_dimensions)
    return body


def has_dimensions(body: Mapping[str, Any], lines_property: str) -> bool:
    return bool(body.get("dimensionSetLines")) or any(ln.get("dimensionSetLines")
                                                      for ln in body.get(lines_property) or [])


def is_already_exists(exc: ConnectorError) -> bool:
    return ALREADY_EXISTS in (getattr(exc, "nav_message", "") or "")


@dataclass
class DimensionFix:
    """One request that brings one dimension of the header or of a line to what was asked."""

    method: str  # "POST" (the dimension is missing) | "PATCH" (it has another value)
    path: str
    body: dict[str, str]
    etag: str | None
    where: str  # "the header" | "line 2"
    code: str
    value: str


def _fixes_for(wanted: Mapping[str, str], have: Sequence[Mapping[str, Any]], parent_path: str,
               where: str) -> list[DimensionFix]:
    by_code = {str(d.get("code", "")).upper(): d for d in have}
    fixes = []
    for code, value in wanted.items():
        cur = by_code.get(code.upper())
        if cur is None:
            fixes.append(DimensionFix("POST", f"{parent_path}/dimensionSetLines", {"code": code, "valueCode": value},
                                      None, where, code, value))
        elif str(cur.get("valueCode", "")).upper() != value.upper():
            fixes.append(DimensionFix("PATCH", f"{parent_path}/dimensionSetLines({odata.guid_key(cur['id'])})",
                                      {"valueCode": value}, cur.get("@odata.etag") or "*", where, code, value))
    return fixes


def fix_problem(fix: DimensionFix, answer: Any) -> str | None:
    """Why an answered fix did not leave the dimension as asked (None = it did)."""
    got = str((answer or {}).get("valueCode", "")).upper() if isinstance(answer, Mapping) else ""
    if got != fix.value.upper():
        return f"dimension {fix.code} of {fix.where} reads {got or 'nothing'} in NAV, {fix.value} was asked"
    return None


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
    entity set, its lines property, the vendor's document-number property, the result and outcome classes, and
    provides ``find``, ``_body``, ``_explain``, ``_what`` and ``_post_for``.

    A document is done only once its dimension sets were read back and match what was asked: what NAV inherited
    with another value is PATCHed, what is missing is added; if that fails the draft is deleted and the error
    names the document and the dimension (``DimensionCheckError``)."""

    entity_set: str  # "purchaseInvoices"
    lines_property: str  # "purchaseInvoiceLines": deep-insert property and navigation of the lines
    vendor_document_property: str  # "vendorInvoiceNumber": the exactly-once key with vendorNumber
    result_class: Any  # InvoiceResult | CreditMemoResult (both have ``from_api`` and ``posted``)
    outcome_class: Any  # InvoiceOutcome | CreditMemoOutcome (spec, result, error)
    logger: logging.Logger
    create: Callable[..., Any]  # the subclass's public create(spec, *, post=None)

    def __init__(self, client: NavClient) -> None:
        self.client = client
        self._dim_values: dict[str, set[str]] | None = None
        self._vendor_defaults: dict[str, dict[str, str]] = {}

    def _collection_path(self) -> str:
        return self.client.cpath(self.entity_set)

    def _record_path(self, document_id: str) -> str:
        return self.client.cpath(f"{self.entity_set}({odata.guid_key(document_id)})")

    def _want_post(self, post: bool | None) -> bool:
        return self.client.config.post_mode == "post" if post is None else post

    # -- hooks for the subclasses ------------------------------------------------------------------
    def find(self, vendor_number: str, document_number: str) -> list[Any]:
        raise NotImplementedError

    def _body(self, spec: Any, vendor_defaults: Mapping[str, str], *, with_dimensions: bool = True
              ) -> dict[str, Any]:
        raise NotImplementedError

    def _explain(self, exc: ConnectorError, spec: Any) -> ConnectorError:
        raise NotImplementedError

    def _what(self, spec: Any) -> str:
        raise NotImplementedError

    def _post_for(self, document_id: str, spec: Any, *, created: bool = False) -> Any:
        """Post after ``create`` / ``ensure`` (the subclass decides whether ``spec`` explains errors)."""
        raise NotImplementedError

    # -- vendor default dimensions (page 30054 under vendors) -----------------------------------------
    @staticmethod
    def _vendor_query(vendor_number: str) -> dict[str, str]:
        return {"$filter": odata.eq_filter(number=vendor_number), "$expand": "defaultDimensions"}

    @staticmethod
    def _defaults_from(payload: Any, vendor_number: str) -> dict[str, str]:
        for v in (payload or {}).get("value", []):
            if v.get("number") == vendor_number:
                return {d["dimensionCode"]: d["dimensionValueCode"] for d in v.get("defaultDimensions") or []
                        if d.get("dimensionValueCode")}
        return {}

    def vendor_default_dimensions(self, vendor_number: str) -> dict[str, str]:
        """The vendor's default dimensions {code: value} (read once per vendor and kept)."""
        if vendor_number not in self._vendor_defaults:
            payload = self.client.get(self.client.cpath("vendors"), params=self._vendor_query(vendor_number))
            self._vendor_defaults[vendor_number] = self._defaults_from(payload, vendor_number)
        return self._vendor_defaults[vendor_number]

    def _load_vendor_defaults(self, vendor_numbers: Sequence[str]) -> None:
        """One ``$batch`` of reads for the vendors not read yet. A vendor that cannot be read is left unknown
        (its documents are then sent without header dimensions the vendor might default: fixed after)."""
        todo = sorted({v for v in vendor_numbers if v and v not in self._vendor_defaults})
        if not todo:
            return
        reqs = [BatchRequest("GET", self.client.cpath("vendors") + "?" + urlencode(self._vendor_query(v),
                                                                                      safe="$(),'="), id=f"v{i}")
                for i, v in enumerate(todo)]
        for vendor, resp in zip(todo, self.client.batch(reqs), strict=True):
            if resp.ok:
                self._vendor_defaults[vendor] = self._defaults_from(resp.body, vendor)

    def _defaults_for(self, vendor_number: str) -> dict[str, str]:
        return self._vendor_defaults.get(vendor_number, {})

    # -- dimension read-back and fixes -------------------------------------------------------------
    def _read_back_query(self) -> dict[str, str]:
        return {"$expand": f"dimensionSetLines,{self.lines_property}($expand=dimensionSetLines)"}

    def _dimension_fixes(self, spec: Any, rec: Mapping[str, Any]) -> list[DimensionFix]:
        """What to send so the document read back as ``rec`` carries what ``spec`` asks (raises
        ``DimensionCheckError`` if its lines are not the spec's lines)."""
        if self.result_class.from_api(rec).posted:  # booked: its G/L entries keep the dimensions they were posted with
            return []
        header_path = self._record_path(rec["id"])
        fixes = _fixes_for(spec.dimensions, rec.get("dimensionSetLines") or [], header_path, "the header")
        lines = sorted(rec.get(self.lines_property) or [], key=lambda r: r.get("sequence") or 0)
        if len(lines) != len(spec.lines):
            raise DimensionCheckError(f"{self._what(spec)}: NAV holds {len(lines)} lines, {len(spec.lines)} were sent")
        for i, (ln, got) in enumerate(zip(spec.lines, lines, strict=True), 1):
            path = f"{header_path}/{self.lines_property}({odata.guid_key(got['id'])})"
            fixes += _fixes_for(wanted_line_dimensions(spec, ln), got.get("dimensionSetLines") or [], path,
                                f"line {i}")
        return fixes

    def _fix_refused(self, spec: Any, fix: DimensionFix, exc: ConnectorError) -> str:
        """NAV's refusal of a dimension fix in the clerk's words, naming the dimension and where it is."""
        text = str(self._explain(exc, spec))
        prefix = f"{self._what(spec)}: "
        text = text[len(prefix):] if text.startswith(prefix) else text
        return f"{text.rstrip('.')} (dimension {fix.code} = {fix.value} on {fix.where})"

    def _fail_dimensions(self, spec: Any, document_id: str, number: str, problem: str,
                         cause: ConnectorError | None = None) -> DimensionCheckError:
        """Delete the draft (so nothing finds and posts it) and say which document and dimension."""
        try:
            self.client.delete(self._record_path(document_id), "*")
            tail = f"the draft {number} was deleted from NAV and nothing was posted"
        except ConnectorError as exc:
            self.logger.warning("%s: could not delete draft %s: %s", self._what(spec), number, exc)
            tail = f"the draft {number} could NOT be deleted ({exc}); delete it in NAV before retrying"
        return DimensionCheckError(f"{self._what(spec)}: {problem}; {tail}.",
                                   nav_message=getattr(cause, "nav_message", "") if cause else "",
                                   status=getattr(cause, "status", None), code=getattr(cause, "code", None),
                                   correlation_id=getattr(cause, "correlation_id", None))

    def verify_dimensions(self, document_id: str, spec: Any) -> int:
        """Read the draft's dimension sets back, set what differs from ``spec`` (PATCH an inherited value, add a
        missing one) and check NAV's answers. Raises ``DimensionCheckError`` after deleting the draft when that
        fails; ``TransportError`` when the outcome is unknown (the draft is left: verify again before posting).
        Returns how many dimension set lines were changed or added."""
        rec = self.client.get(self._record_path(document_id), params=self._read_back_query())
        number = rec.get("number", document_id)
        try:
            fixes = self._dimension_fixes(spec, rec)
        except DimensionCheckError as exc:
            raise self._fail_dimensions(spec, document_id, number, str(exc).split(": ", 1)[-1]) from None
        for fix in fixes:
            try:
                if fix.method == "POST":
                    answer = self.client.post(fix.path, fix.body)
                else:
                    answer = self.client.patch(fix.path, fix.body, fix.etag or "*")
            except TransportError:
                raise
            except ConnectorError as exc:
                if exc.retryable:  # 429 / 5xx after the client's retries: nothing refused, the outcome is open
                    raise TransportError(f"{self._what(spec)}: draft {number} created; setting dimension {fix.code} "
                                         f"of {fix.where} failed for now ({exc})") from None
                raise self._fail_dimensions(spec, document_id, number, self._fix_refused(spec, fix, exc),
                                            exc) from None
            problem = fix_problem(fix, answer)
            if problem:
                raise self._fail_dimensions(spec, document_id, number, problem)
        return len(fixes)

    def verify_dimensions_many(self, items: Sequence[tuple[str, Any]]) -> list[ConnectorError | None]:
        """``verify_dimensions`` for many drafts: one ``$batch`` of reads, one of fixes (each document's fixes one
        atomicity group), one of deletes for the drafts that failed. Per item: None (as asked),
        ``DimensionCheckError`` (draft deleted) or ``TransportError`` (unknown: verify again before posting)."""
        out: list[ConnectorError | None] = [None] * len(items)
        if not items:
            return out
        query = urlencode(self._read_back_query(), safe="$(),=")
        reads = [BatchRequest("GET", f"{self._record_path(doc_id)}?{query}", id=f"r{k}")
                 for k, (doc_id, _) in enumerate(items)]
        try:
            answers = self.client.batch(reads)
        except TransportError as exc:
            return [TransportError(f"{self._what(spec)}: created as a draft; its dimensions could not be read "
                                   f"back ({exc})") for _, spec in items]
        plans: dict[int, list[DimensionFix]] = {}
        numbers: dict[int, str] = {}
        failed: dict[int, str] = {}
        for k, ((_doc_id, spec), resp) in enumerate(zip(items, answers, strict=True)):
            if not resp.ok:
                out[k] = TransportError(f"{self._what(spec)}: created as a draft; reading its dimensions back "
                                        f"failed: {self.client.batch_error(resp)}")
                continue
            numbers[k] = resp.body.get("number", "")
            try:
                fixes = self._dimension_fixes(spec, resp.body)
            except DimensionCheckError as exc:
                failed[k] = str(exc).split(": ", 1)[-1]
                continue
            if fixes:
                plans[k] = fixes
        reqs = [BatchRequest(f.method, f.path, f.body, id=f"f{k}.{j}", atomicity_group=f"dims{k}",
                             headers={"If-Match": f.etag} if f.etag else {})
                for k, fixes in plans.items() for j, f in enumerate(fixes)]
        try:
            answers = self.client.batch(reqs) if reqs else []
        except TransportError as exc:
            for k in plans:
                out[k] = TransportError(f"{self._what(items[k][1])}: created as a draft; setting its dimensions "
                                        f"had no answer ({exc})")
            answers = []
        by_id = {a.id: a for a in answers}
        for k, fixes in plans.items():
            if out[k] is not None:
                continue
            for j, fix in enumerate(fixes):
                reply = by_id.get(f"f{k}.{j}")
                if reply is None:
                    continue
                if not reply.ok and reply.status != 424:  # 424: another request of the group failed
                    err = self.client.batch_error(reply)
                    if err.retryable:  # 429 / 5xx: nothing was refused, the group was rolled back: check again
                        out[k] = TransportError(f"{self._what(items[k][1])}: created as a draft; setting its "
                                                f"dimensions failed for now ({err})")
                    else:
                        failed[k] = self._fix_refused(items[k][1], fix, err)
                    break
                problem = fix_problem(fix, reply.body) if reply.ok else None
                if problem:
                    failed[k] = problem
                    break
        if failed:
            deletes = [BatchRequest("DELETE", self._record_path(items[k][0]), id=f"d{k}", headers={"If-Match": "*"})
                       for k in failed]
            try:
                gone = {a.id: a.ok for a in self.client.batch(deletes)}
            except TransportError:
                gone = {}
            for k, problem in failed.items():
                number = numbers.get(k, items[k][0])
                tail = (f"the draft {number} was deleted from NAV and nothing was posted" if gone.get(f"d{k}") else
                        f"the draft {number} could NOT be deleted; delete it in NAV before retrying")
                out[k] = DimensionCheckError(f"{self._what(items[k][1])}: {problem}; {tail}.")
        return out

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

    def _create(self, spec: Any, post: bool | None) -> Any:
        """Deep insert with each dimension sent once, then the dimension sets read back and set right, then
        (if wanted) posted. A dimension that repeats a default NAV does not show through the API (a G/L account's)
        makes BC refuse the whole body: it is sent once more without dimensions, which are then set after."""
        spec.validate()
        body = self._body(spec, self.vendor_default_dimensions(spec.vendor_number))
        try:
            rec = self.client.post(self._collection_path(), body)
        except TransportError:
            raise
        except ConnectorError as exc:
            if not (is_already_exists(exc) and has_dimensions(body, self.lines_property)):
                raise self._explain(exc, spec) from None
            body = self._body(spec, self._defaults_for(spec.vendor_number), with_dimensions=False)
            try:
                rec = self.client.post(self._collection_path(), body)
            except TransportError:
                raise
            except ConnectorError as again:
                raise self._explain(again, spec) from None
        result = self.result_class.from_api(rec, created=True)
        changed = self.verify_dimensions(result.id, spec)
        if self._want_post(post):
            return self._post_for(result.id, spec, created=True)
        if changed:  # the header's ETag changed with its dimension set
            result = self.result_class.from_api(self.client.get(self._record_path(result.id)), created=True)
        return result

    def _ensure(self, spec: Any, document_number: str, post: bool | None) -> Any:
        """Find (vendor, ``document_number``) first; create only if absent; if the create's outcome is
        unknown, look again before trying once more. A found draft's dimensions are checked (and set) before
        it is posted or returned."""
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
        if found.posted:
            return found
        self.verify_dimensions(found.id, spec)
        if self._want_post(post):
            return self._post_for(found.id, spec)
        return self._get(found.id)

    def _create_many(self, specs: Sequence[Any], post: bool | None) -> list[Any]:
        """Many documents in ``$batch`` calls of up to 100, each its own atomicity group (one bad document fails
        alone and leaves nothing behind): vendors' default dimensions read in one batch, the deep inserts in one,
        (only if BC refused a repeated dimension) those sent again without dimensions in one, the
        dimension sets read back in one and fixed in one (``verify_dimensions_many``), then posting in one and
        the results read in one. Not exactly-once by itself: ``find``/``ensure`` settle earlier unknown outcomes."""
        outcomes = [self.outcome_class(s) for s in specs]
        valid: list[int] = []
        for i, s in enumerate(specs):
            try:
                s.validate()
                valid.append(i)
            except SpecError as exc:
                outcomes[i].error = exc
        self._load_vendor_defaults([specs[i].vendor_number for i in valid])
        bodies = {i: self._body(specs[i], self._defaults_for(specs[i].vendor_number)) for i in valid}
        self._send_creates(outcomes, bodies)
        again = {i: self._body(specs[i], self._defaults_for(specs[i].vendor_number), with_dimensions=False)
                 for i in valid if outcomes[i].error is not None and is_already_exists(outcomes[i].error)
                 and has_dimensions(bodies[i], self.lines_property)}
        if again:
            for i in again:
                outcomes[i].error = None
            self._send_creates(outcomes, again)
        created = [i for i in valid if outcomes[i].result is not None and outcomes[i].error is None]
        checks = self.verify_dimensions_many([(outcomes[i].result.id, specs[i]) for i in created])
        for i, problem in zip(created, checks, strict=True):
            if problem is not None:
                outcomes[i].error = problem
                outcomes[i].result = None
        done = [i for i in created if outcomes[i].error is None]
        if self._want_post(post) and done:
            posts = [BatchRequest("POST", f"{self._record_path(outcomes[i].result.id)}/Microsoft.NAV.post", id=str(i))
                     for i in done]
            for resp in self.client.batch(posts):
                if not resp.ok:
                    o = outcomes[int(resp.id or 0)]
                    o.error = self._explain(self.client.batch_error(resp), o.spec)
        if done:
            reads = [BatchRequest("GET", self._record_path(outcomes[i].result.id), id=str(i)) for i in done]
            for resp in self.client.batch(reads):
                o = outcomes[int(resp.id or 0)]
                if resp.ok:
                    o.result = self.result_class.from_api(resp.body, created=True)
        return outcomes

    def _send_creates(self, outcomes: list[Any], bodies: Mapping[int, dict[str, Any]]) -> None:
        reqs = [BatchRequest("POST", self._collection_path(), body, id=str(i), atomicity_group=f"doc{i}")
                for i, body in bodies.items()]
        for resp in self.client.batch(reqs):
            o = outcomes[int(resp.id or 0)]
            if resp.ok:
                o.result = self.result_class.from_api(resp.body, created=True)
                o.error = None
            else:
                o.error = self._explain(self.client.batch_error(resp), o.spec)

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

    def _error_context(self, spec: Any, nav_message: str) -> dict[str, Any]:
        """Which of the spec's dimension values / items / accounts NAV does not know (error path only)."""
        ctx: dict[str, Any] = {}
        try:
            if "does not match to a Dimension" in nav_message:
                ctx["unknown_dimension_values"] = self._unknown_dimension_values(spec)
            for msg, line_type, entity, key in (("Item does not exist.", "Item", "items", "unknown_items"),
                                                ("Account does not exist.", "Account", "accounts", "unknown_accounts")):
                if nav_message == msg:
                    numbers = sorted({ln.line_object_number for ln in spec.lines if ln.line_type == line_type})
                    ctx[key] = [n for n in numbers if not self.client.get(
                        self.client.cpath(entity), params={"$filter": odata.eq_filter(number=n)}).get("value")]
        except ConnectorError:
            return ctx
        return ctx

    def _unknown_dimension_values(self, spec: DocumentSpec) -> list[tuple[str, str]]:
        """The spec's (dimension, value) pairs NAV does not know; reads the dimensions once (may raise
        ``ConnectorError``)."""
        if self._dim_values is None:
            dims = self.client.get(self.client.cpath("dimensions"), params={"$expand": "dimensionValues"})
            self._dim_values = {d["code"]: {v["code"] for v in d.get("dimensionValues", [])}
                                for d in dims.get("value", [])}
        pairs = list(spec.dimensions.items()) + [p for ln in spec.lines for p in ln.dimensions.items()]
        return sorted({(d, v) for d, v in pairs if v not in self._dim_values.get(d, set())})
