"""``ClassicBooks``: the ``NavBooks`` contract on classic NAV page web services.

How each operation maps onto the pages (reference §5.2, §5.3):

- Purchase invoice (page 51) / credit memo (page 52): POST the header, then each line to the containment
  ``{Service}PurchLines`` (pages take no deep insert). The header carries the PENDING vendor document number
  (``~`` + number) until every line is in and read back equal to what was sent; then a PATCH (If-Match) gives
  it the real number. A line NAV refuses makes us DELETE the half-made header (If-Match with its fresh ETag;
  deleting a Purchase Header deletes its lines), so the document is all or nothing; a crash half-way leaves
  a ``~`` draft that no look-up takes for the document, and the next attempt deletes it and starts again.
  A vendor document number of 35 characters leaves no room for the ``~`` in the Code[35] field: such a draft
  is marked in its Posting Description instead (``BUILDING``, PATCHed right after the header is made, since
  the table's InitRecord overwrites a Posting Description sent with the insert), and gets NAV's own
  description back (``FORMAT("Document Type") + ' ' + "No."``) when it is complete; a draft of such a number
  without lines (cut off before the marker was set) is half-made too.
  Identity is vendor + vendor document number, on the posted page (138 / 140) first, then the drafts.
- Journal (page 39): the client sends ``Journal_Template_Name``, ``Journal_Batch_Name`` and ``Line_No`` (NAV
  2018's page exits its template selection for ODataV4 clients, §5.2), after checking locally that the
  document balances. A refused line deletes the lines already made; lines that don't balance in NAV are a
  document cut off half-way (we only send balanced ones) and are replaced. Identity is ``Document_No`` in the
  G/L entries (posted) or in the batch (draft). Line numbers taken by another PC meanwhile are retried.
- Dimensions: pages carry only shortcut dimension fields (``Shortcut_Dimension_1_Code``,
  ``ShortcutDimCode_x005B_3_x005D_`` …). Which dimension code is shortcut 1-8 is read from page 118
  "General Ledger Setup" if it is published, else from the IT setting. Page 51's header has only shortcuts
  1 and 2, so header dimensions go on every line too (NAV copies header dimensions to new lines anyway).
- Posting: drafts stay for the accountant to post in NAV, unless IT published a posting codeunit: over SOAP
  on NAV 2016-2018, as an unbound OData action on BC 15+. Draft follow-up reads the posted page
  (``Pre_Assigned_No`` = the draft's number) and the draft itself (gone = deleted in NAV).
- G/L entries (page 20) carry global dimensions 1 and 2 only (NAV 2018 has no shortcut 3-8 on G/L Entry).
- Look-ups for many documents read each page once per ``LOOKUP_CHUNK`` keys (an OR over one field).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.books import (
    CreditMemoKey,
    DocKind,
    DocumentKey,
    DraftSpec,
    Found,
    GLEntry,
    InvoiceKey,
    JournalDocumentSpec,
    JournalKey,
    NavDocument,
    Outcome,
)
from stnav_desktop.connectors.nav.classic.client import ClassicClient, Metadata, record_key
from stnav_desktop.connectors.nav.classic.config import PAGES
from stnav_desktop.connectors.nav.credit_memos import PurchaseCreditMemoSpec
from stnav_desktop.connectors.nav.errors import DimensionCheckError, NavError, SpecError
from stnav_desktop.connectors.nav.purchase_invoices import PurchaseInvoiceSpec

log = logging.getLogger(__name__)

LINE_STEP = 10000
SHORTCUT_FIELDS = {1: "Shortcut_Dimension_1_Code", 2: "Shortcut_Dimension_2_Code",
                   **{n: f"ShortcutDimCode_x005B_{n}_x005D_" for n in range(3, 9)}}
LINE_TYPE = {"Account": "G_L_Account", "Item": "Item"}
BLANK_OPTION = "_x0020_"
PENDING = "~"
BUILDING = "~ being built by ml-connector: do not post"  # Posting Description of a draft with a 35-char number
CENT = Decimal("0.01")
LOOKUP_CHUNK = 20  # keys per look-up read: an OR of 40 terms stays far below HTTP.sys's 16 KB URL limit


def option(value: str) -> str:
    """A NAV option caption as ODataV4 sends it (``G/L Account`` -> ``G_L_Account``)."""
    out = "".join(ch if ch.isalnum() else "_" for ch in value.strip())
    return out or BLANK_OPTION


def code(value: str) -> str:
    """NAV's Code type: stored upper-case (a vendor invoice no. ``inv-7`` is ``INV-7`` in NAV)."""
    return value.strip().upper()


def pending(vendor_invoice_number: str) -> str | None:
    """The vendor invoice number a draft carries while it is being built (None: no room in Code[35])."""
    number = code(vendor_invoice_number)
    return PENDING + number if len(number) < 35 else None


def _option_text(value: Any) -> str:
    return "" if value in (None, BLANK_OPTION) else str(value)


def _money(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def _balanced(lines: Sequence[Mapping[str, Any]]) -> bool:
    """We only ever send balanced documents: lines that don't balance are a document cut off half-way."""
    return sum((_money(r.get("Amount")) for r in lines if not r.get("Bal_Account_No")), Decimal(0)) == 0


def _half_made_journal(key: JournalKey, lines: Sequence[Mapping[str, Any]]) -> bool:
    """A journal document in NAV cut off while its lines were added one request each. We only ever send
    balanced documents, so lines that don't balance are half-made; and where the key says what the whole
    document holds, fewer lines or other debits are half-made too (a prefix can balance: a 0.00 line first)."""
    number = key.document_number
    if not _balanced(lines):
        log.warning("journal document %s is half-made in NAV (its lines don't balance)", number)
        return True
    if key.lines is not None and len(lines) != key.lines:
        log.warning("journal document %s is half-made in NAV (%d of its %d lines)", number, len(lines), key.lines)
        return True
    if key.total is not None and _debits(lines) != key.total:
        log.warning("journal document %s is half-made in NAV (debits %s, the document %s)", number,
                    _debits(lines), key.total)
        return True
    return False


def _debits(lines: Sequence[Mapping[str, Any]]) -> Decimal:
    """A journal document's total as posting compares it: the sum of its positive amounts."""
    return sum((a for a in (_money(r.get("Amount")) for r in lines) if a > 0), Decimal(0))


PurchaseSpec = PurchaseInvoiceSpec | PurchaseCreditMemoSpec


@dataclass(frozen=True)
class Purchase:
    """What differs between a purchase invoice and a purchase credit memo on the pages."""

    kind: DocKind
    label: str
    role: str  # the document page (51 / 52)
    posted_role: str  # the posted document page (138 / 140)
    doc_type: str  # Document Type option as ODataV4 sends it
    number_field: str  # the vendor's own document number: the identity with the vendor
    procedure: str  # the posting codeunit's procedure

    def number_of(self, spec: PurchaseSpec) -> str:
        if isinstance(spec, PurchaseCreditMemoSpec):
            return spec.vendor_credit_memo_number
        return spec.vendor_invoice_number

    def key_number(self, key: InvoiceKey | CreditMemoKey) -> str:
        return key.vendor_credit_memo_number if isinstance(key, CreditMemoKey) else key.vendor_invoice_number

    def date_of(self, spec: PurchaseSpec) -> date:
        return spec.credit_memo_date if isinstance(spec, PurchaseCreditMemoSpec) else spec.invoice_date

    def nav_description(self, no: str) -> str:
        """Table 38 InitRecord: ``"Posting Description" := FORMAT("Document Type") + ' ' + "No."``."""
        return f"{self.doc_type.replace('_', ' ')} {no}"


INVOICE = Purchase(DocKind.PURCHASE_INVOICE, "Purchase invoice", "purchase_invoice", "posted_purchase_invoice",
                   "Invoice", "Vendor_Invoice_No", "PostPurchaseInvoice")
CREDIT_MEMO = Purchase(DocKind.PURCHASE_CREDIT_MEMO, "Purchase credit memo", "purchase_credit_memo",
                       "posted_purchase_credit_memo", "Credit_Memo", "Vendor_Cr_Memo_No", "PostPurchaseCreditMemo")


class ClassicBooks:
    """``NavBooks`` over page web services for one company."""

    def __init__(self, client: ClassicClient) -> None:
        self.client = client
        self.config = client.config
        self._setup: dict[str, Any] | None = None
        self._metadata: Metadata | None = None
        self._dim_sets: dict[int, dict[str, str]] = {}  # Dimension Set ID -> {dimension code: value}
        self._dim_sets_missing = False

    # -- dimensions ------------------------------------------------------------------------------
    def general_ledger_setup(self) -> dict[str, Any] | None:
        """Page 118's record, or None when IT did not publish it (read once)."""
        if self._setup is None:
            try:
                recs = self.client.get(self.client.service_path("gl_setup"), params={"$top": "1"})
            except NavError as exc:
                if exc.status != 404:
                    raise
                self._setup = {}
            else:
                values = (recs or {}).get("value") or []
                self._setup = values[0] if values else {}
        return self._setup or None

    def shortcut_numbers(self) -> dict[str, int]:
        """Dimension code -> shortcut number 1-8 (page 118 if published, else the IT setting)."""
        setup = self.general_ledger_setup()
        if setup:
            found = {str(setup.get(f"Shortcut_Dimension_{n}_Code") or "").upper(): n for n in range(1, 9)}
            found.pop("", None)
            for code, n in self.config.shortcut_dimensions.items():
                if found.get(code) not in (None, n):
                    log.warning("General Ledger Setup says %s is shortcut %s, the setting says %s: using NAV's",
                                code, found.get(code), n)
            return found
        return dict(self.config.shortcut_dimensions)

    def global_dimension_codes(self) -> dict[int, str]:
        setup = self.general_ledger_setup()
        if setup:
            return {n: str(setup.get(f"Global_Dimension_{n}_Code") or "") for n in (1, 2)}
        by_number = {n: code for code, n in self.config.shortcut_dimensions.items()}
        return {n: by_number.get(n, "") for n in (1, 2)}  # shortcut 1 and 2 ARE the global dimensions

    def dimension_fields(self, dims: Mapping[str, str], what: str, *, header: bool = False) -> dict[str, str]:
        if not dims:
            return {}
        numbers = self.shortcut_numbers()
        out: dict[str, str] = {}
        for code, value in dims.items():
            n = numbers.get(code.upper())
            if n is None:
                raise SpecError(f"{what}: dimension {code} is not one of NAV's shortcut dimensions 1-8, so a page web "
                                "service cannot set it. Make it a shortcut dimension in General Ledger Setup (and "
                                "publish page 118) or set which shortcut number it is in the connection settings.")
            if header and n > 2:
                continue  # page 51's header has shortcuts 1-2 only: the lines carry it
            out[SHORTCUT_FIELDS[n]] = value
        return out

    # -- purchase documents (invoices: page 51/138, credit memos: page 52/140) -------------------------
    def _what(self, pk: Purchase, spec: PurchaseSpec) -> str:
        return f"{pk.label} {pk.number_of(spec)} (vendor {spec.vendor_number})"

    def _bodies(self, pk: Purchase, spec: PurchaseSpec) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        spec.validate()
        what = self._what(pk, spec)
        header: dict[str, Any] = {"Buy_from_Vendor_No": spec.vendor_number, pk.number_field: code(pk.number_of(spec)),
                                  "Posting_Date": spec.posting_date, "Document_Date": pk.date_of(spec)}
        if spec.due_date:
            header["Due_Date"] = spec.due_date
        if spec.currency_code:
            header["Currency_Code"] = spec.currency_code
        if isinstance(spec, PurchaseCreditMemoSpec) and spec.invoice_number:
            # Applies-to Doc. Type/No.: posting applies the memo to the invoice's open vendor ledger entry
            header.update({"Applies_to_Doc_Type": "Invoice", "Applies_to_Doc_No": code(spec.invoice_number)})
        header.update(self.dimension_fields(spec.dimensions, what, header=True))
        lines = []
        for i, ln in enumerate(spec.lines, 1):
            body: dict[str, Any] = {"Line_No": i * LINE_STEP, "Type": LINE_TYPE[ln.line_type],
                                    "No": ln.line_object_number, "Quantity": ln.quantity,
                                    "Direct_Unit_Cost": ln.direct_unit_cost}
            if ln.description:
                body["Description"] = ln.description
            body.update(self.dimension_fields({**spec.dimensions, **ln.dimensions}, f"{what}, line {i}"))
            lines.append(self._fit(body, self.config.service(pk.role) + self.config.lines_part))
        return header, lines

    # -- field lengths from $metadata (NAV 2018 descriptions are Text[50], BC's Text[100]) ----------------
    def max_lengths(self, entity_type: str) -> dict[str, int]:
        if self._metadata is None:
            try:
                self._metadata = self.client.metadata()
            except ConnectorError as exc:
                log.warning("could not read $metadata for field lengths (%s); descriptions are sent as they are", exc)
                self._metadata = Metadata()
        return self._metadata.max_lengths.get(entity_type, {})

    def _fit(self, body: dict[str, Any], entity_type: str) -> dict[str, Any]:
        """Descriptions longer than the server's field are cut to fit (NAV would refuse the whole record)."""
        limits = self.max_lengths(entity_type)
        for name in ("Description", "Posting_Description"):
            value = body.get(name)
            limit = limits.get(name)
            if isinstance(value, str) and limit and len(value) > limit:
                body[name] = value[:limit]
        return body

    # -- reads -------------------------------------------------------------------------------------------
    def _records(self, role: str, flt: str) -> list[dict[str, Any]]:
        """A filtered read of a role's service; a service that is not published says which page to publish."""
        try:
            return list(self.client.iter(self.client.service_path(role), {"$filter": flt}))
        except NavError as exc:
            if exc.status == 404 and exc.code == "BadRequest_NotFound":
                page = PAGES[role]
                raise NavError(f"NAV publishes no service named {self.config.service(role)}: in NAV open Web "
                               f"Services and publish page {page.page_id} ({page.caption}) under that name.",
                               status=404, code=exc.code) from None
            raise

    def _lines_path(self, pk: Purchase, no: str) -> str:
        service = self.config.service(pk.role)
        return self.client.service_path(pk.role, record_key(Document_Type=pk.doc_type, No=no)) + "/" + service + \
            self.config.lines_part

    def _header_path(self, pk: Purchase, no: str) -> str:
        return self.client.service_path(pk.role, record_key(Document_Type=pk.doc_type, No=no))

    def _by_number(self, pk: Purchase, role: str, vendor: str, numbers: Sequence[str]) -> list[dict[str, Any]]:
        """Records with this vendor and one of these vendor document numbers (Code: upper-case)."""
        numbers = [code(n) for n in numbers]
        either = " or ".join(f"{pk.number_field} eq {odata.literal(n)}" for n in numbers)
        flt = f"{odata.eq_filter(Buy_from_Vendor_No=code(vendor))} and ({either})"
        return [r for r in self._records(role, flt) if code(str(r.get("Buy_from_Vendor_No") or "")) == code(vendor)
                and code(str(r.get(pk.number_field) or "")) in numbers]

    def _posted_doc(self, pk: Purchase, rec: Mapping[str, Any]) -> NavDocument:
        no = str(rec["No"])
        amount = _money(rec["Amount"]) if rec.get("Amount") is not None else None  # not on every version's page
        return NavDocument(pk.kind, no, no, True, self._gl_entries_of(no), amount=amount)

    def _draft_doc(self, pk: Purchase, no: str) -> NavDocument:
        """A draft with its total excluding tax as NAV holds it now (lines' ``Line_Amount``; the document
        pages show no totals), so a draft changed in NAV is noticed."""
        total = sum((_money(r.get("Line_Amount")) for r in self.client.iter(self._lines_path(pk, no))), Decimal(0))
        return NavDocument(pk.kind, no, no, False, amount=total)

    def _complete(self, pk: Purchase, no: str, lines: list[dict[str, Any]]) -> bool:
        """Does the draft hold exactly the lines we meant?"""
        have = list(self.client.iter(self._lines_path(pk, no)))

        def sig(rec: Mapping[str, Any]) -> tuple:
            return (rec.get("Type"), code(str(rec.get("No") or "")), _money(rec.get("Quantity")),
                    _money(rec.get("Direct_Unit_Cost")),
                    tuple(sorted((f, code(str(rec.get(f)))) for f in SHORTCUT_FIELDS.values() if rec.get(f))))
        return Counter(sig(r) for r in have if r.get("Type") not in (None, BLANK_OPTION)) == Counter(sig(b) for b in lines)

    def _delete_draft(self, pk: Purchase, no: str) -> None:
        path = self._header_path(pk, no)
        fresh = self.client.get(path)
        self.client.delete(path, fresh["@odata.etag"])

    # -- writes ------------------------------------------------------------------------------------------
    def create_invoice(self, spec: PurchaseInvoiceSpec, *, post: bool) -> NavDocument:
        return self._create(INVOICE, spec, post=post)

    def create_credit_memo(self, spec: PurchaseCreditMemoSpec, *, post: bool) -> NavDocument:
        return self._create(CREDIT_MEMO, spec, post=post)

    def _create(self, pk: Purchase, spec: PurchaseSpec, *, post: bool) -> NavDocument:
        """One document, exactly once and all or nothing; raises ``ConnectorError``.

        The header is created with the PENDING vendor document number (``~`` + number) and gets its real number
        only after every line is in and checked: a crash half-way leaves a draft that ``find_documents`` does
        not take for the document, and the next attempt deletes it and starts again."""
        what = self._what(pk, spec)
        number = pk.number_of(spec)
        header, lines = self._bodies(pk, spec)
        marker = pending(number)
        if marker is None:
            self._require_description_marker(pk, what)
        numbers = [number] + ([marker] if marker else [])
        posted = self._by_number(pk, pk.posted_role, spec.vendor_number, numbers)
        if posted:
            return self._posted_doc(pk, posted[0])
        drafts = self._by_number(pk, pk.role, spec.vendor_number, numbers)
        complete = [r for r in drafts if code(str(r.get(pk.number_field))) == code(number)
                    and not self._half_made(pk, r, number)]
        if complete:
            no = str(complete[0]["No"])
            if self._complete(pk, no, lines):
                log.info("%s: found complete draft %s, not creating it again", what, no)
                found = self._draft_doc(pk, no)
                return self._post(pk, found) if post else found
            # a draft with the real number but other lines: changed in NAV by someone; never overwrite it
            raise NavError(f"{what}: draft {no} in NAV has this vendor document number but other lines. "
                           "Check it in NAV (delete it there if it is wrong), then post again.", status=409)
        for stale in drafts:  # all half-made now: "~" number, BUILDING description, or no lines (35 chars)
            log.warning("%s: deleting half-made draft %s left by an interrupted attempt", what, stale["No"])
            self._delete_draft(pk, str(stale["No"]))
        if marker:
            header = {**header, pk.number_field: marker}
        try:
            rec = self.client.post(self.client.service_path(pk.role), header)
        except ConnectorError as exc:
            raise _explained(exc, what) from None
        no = str(rec["No"])
        if marker is None:  # no room for "~": mark the draft in its Posting Description before any line
            try:
                rec = self.client.patch(self._header_path(pk, no), {"Posting_Description": BUILDING},
                                        rec["@odata.etag"])
            except TransportError:
                raise  # the next attempt finds a draft without lines (or marked) and redoes it
            except ConnectorError as exc:
                raise self._undo(pk, no, exc, what) from None
        for i, body in enumerate(lines, 1):
            try:
                self.client.post(self._lines_path(pk, no), body)
            except ConnectorError as exc:
                raise self._undo(pk, no, exc, f"{what}, line {i}") from None
        try:
            if not self._complete(pk, no, lines):
                raise NavError(f"{what}: NAV holds different lines than were sent (a line's amount or dimensions "
                               "changed on insert)")
            if marker:
                self.client.patch(self._header_path(pk, no), {pk.number_field: code(number)}, rec["@odata.etag"])
            else:
                self.client.patch(self._header_path(pk, no), {"Posting_Description": pk.nav_description(no)},
                                  rec["@odata.etag"])
        except TransportError:
            raise  # unknown: the next attempt finds the document complete, or the pending draft and redoes it
        except ConnectorError as exc:
            raise self._undo(pk, no, exc, what) from None
        total = sum(((_money(b["Quantity"]) * _money(b["Direct_Unit_Cost"])).quantize(CENT, ROUND_HALF_UP)
                     for b in lines), Decimal(0))
        doc = NavDocument(pk.kind, no, no, False, amount=total)
        return self._post(pk, doc) if post else doc

    def _require_description_marker(self, pk: Purchase, what: str) -> None:
        """A 35-character number is marked in the Posting Description while its draft is built: refuse with one
        line, before anything is written, when the page does not publish that control."""
        service = self.config.service(pk.role)
        self.max_lengths(service)  # reads $metadata once (an empty one if it cannot be read: then we just try)
        md = self._metadata
        if md is not None and service in md.entity_sets and "Posting_Description" not in md.fields_of(service):
            raise SpecError(f"{what}: the vendor's number has 35 characters, the most NAV holds, so the draft cannot "
                            f"carry the '~' that marks it while it is built, and page {service} has no "
                            "Posting_Description control to mark it instead. Publish the standard page "
                            f"{PAGES[pk.role].page_id} ({PAGES[pk.role].caption}), or enter this document in NAV.")

    def _half_made(self, pk: Purchase, rec: Mapping[str, Any], number: str) -> bool:
        """A draft under construction or cut off: ``~`` number, the BUILDING description, or (a number with no
        room for ``~``) no lines at all: cut off between the header and its marker."""
        if code(str(rec.get(pk.number_field) or "")).startswith(PENDING):
            return True
        if str(rec.get("Posting_Description") or "").startswith(BUILDING):
            return True
        if pending(number) is None:
            return not any(r.get("Type") not in (None, BLANK_OPTION)
                           for r in self.client.iter(self._lines_path(pk, str(rec["No"]))))
        return False

    def _set_dimensions_right(self, pk: Purchase, no: str, spec: PurchaseSpec) -> None:
        """Before a draft is posted: each shortcut dimension the spec asks for, on the header (shortcuts 1-2)
        and on every line, is what NAV holds, else it is PATCHed (If-Match). Raises ``DimensionCheckError``
        after deleting the draft when its lines are not the spec's lines or NAV refuses a value;
        ``TransportError`` when the outcome is unknown (the draft stays: checked again before posting)."""
        what = self._what(pk, spec)
        header, lines = self._bodies(pk, spec)
        try:
            have = sorted(self.client.iter(self._lines_path(pk, no)), key=lambda r: int(r.get("Line_No") or 0))
            have = [r for r in have if r.get("Type") not in (None, BLANK_OPTION)]
            if len(have) != len(lines):
                raise self._fail_dimensions(pk, no, what, f"NAV holds {len(have)} lines, {len(lines)} were sent")
            head = self.client.get(self._header_path(pk, no))
            targets = [(self._header_path(pk, no), head, header, "the header")]
            targets += [(self._lines_path(pk, no) + record_key(Document_Type=pk.doc_type, Document_No=no,
                                                               Line_No=int(got["Line_No"])), got, want, f"line {i}")
                        for i, (got, want) in enumerate(zip(have, lines, strict=True), 1)]
            for path, got, want, where in targets:
                fix = {f: v for f, v in want.items() if f in SHORTCUT_FIELDS.values()
                       and code(str(got.get(f) or "")) != code(str(v))}
                if not fix:
                    continue
                log.info("%s: %s carries other dimensions in NAV; setting %s", what, where, fix)
                try:
                    self.client.patch(path, fix, got["@odata.etag"])
                except TransportError:
                    raise
                except ConnectorError as exc:
                    raise self._fail_dimensions(pk, no, what, f"NAV refused {fix} on {where}: {exc}") from None
        except TransportError as exc:
            raise TransportError(f"{what}: its dimensions could not be checked before posting ({exc})") from None

    def _fail_dimensions(self, pk: Purchase, no: str, what: str, problem: str) -> DimensionCheckError:
        """Delete the draft (so nothing finds and posts it) and say which document and what is wrong."""
        try:
            self._delete_draft(pk, no)
            tail = f"the draft {no} was deleted from NAV and nothing was posted"
        except ConnectorError as exc:
            log.warning("%s: could not delete draft %s: %s", what, no, exc)
            tail = f"the draft {no} could NOT be deleted ({exc}); delete it in NAV before retrying"
        return DimensionCheckError(f"{what}: {problem}; {tail}.", status=409)

    def _undo(self, pk: Purchase, no: str, exc: ConnectorError, what: str) -> ConnectorError:
        """Delete the half-made header (its lines go with it); the error to report says whether that worked."""
        try:
            self._delete_draft(pk, no)
        except ConnectorError as undo:
            log.error("%s: could not delete half-made draft %s: %s", what, no, undo)
            if isinstance(exc, TransportError) or isinstance(undo, TransportError):
                return TransportError(f"{what}: the connection failed while adding lines and draft {no} could not be "
                                      "removed; it is completed or removed on the next attempt.")
            return NavError(f"{_explained(exc, what)} Draft {no} is half-made and could not be deleted: delete it in "
                            f"NAV ({undo}).", status=exc.status, code=exc.code)
        log.info("%s: removed half-made draft %s", what, no)
        if isinstance(exc, TransportError):
            return ConnectorError(f"{what}: the connection failed while adding lines; the half-made draft {no} was "
                                  "removed, nothing is left in NAV.", retryable=True)
        return _explained(exc, what)

    def create_invoices(self, specs: Sequence[PurchaseInvoiceSpec], *, post: bool) -> list[Outcome]:
        return self._create_many(INVOICE, specs, post)

    def create_credit_memos(self, specs: Sequence[PurchaseCreditMemoSpec], *, post: bool) -> list[Outcome]:
        return self._create_many(CREDIT_MEMO, specs, post)

    def _create_many(self, pk: Purchase, specs: Sequence[PurchaseSpec], post: bool) -> list[Outcome]:
        out: list[Outcome] = []
        for spec in specs:
            try:
                out.append(self._create(pk, spec, post=post))
            except ConnectorError as exc:
                out.append(exc)
        return out

    def _post(self, pk: Purchase, doc: NavDocument) -> NavDocument:
        if not self.config.posting_codeunit:
            return doc  # the accountant posts it in NAV
        try:
            self._call_codeunit(pk.procedure, {"documentNo": doc.nav_id})
        except TransportError:
            pass  # outcome unknown: read back below
        except ConnectorError as exc:
            raise _explained(exc, f"{pk.label} draft {doc.nav_id}") from None
        return self._follow(pk, doc)

    def _follow(self, pk: Purchase, doc: NavDocument) -> NavDocument:
        """Where the draft is now: still a draft, posted (the posted page's ``Pre_Assigned_No``), or gone."""
        posted = [r for r in self._records(pk.posted_role, odata.eq_filter(Pre_Assigned_No=doc.nav_id))
                  if r.get("Pre_Assigned_No") == doc.nav_id]
        if posted:
            return self._posted_doc(pk, posted[0])
        try:
            self.client.get(self._header_path(pk, doc.nav_id))
        except NavError as exc:
            if exc.status == 404:
                raise NavError(f"{pk.label} draft {doc.nav_id} was deleted in NAV and is not posted.",
                               status=404) from None
            raise
        return self._draft_doc(pk, doc.nav_id)

    # -- journals --------------------------------------------------------------------------------------
    def _journal_lines_path(self, template: str | None = None, batch: str | None = None, line_no: int | None = None
                            ) -> str:
        if line_no is None:
            return self.client.service_path("general_journal")
        return self.client.service_path("general_journal", record_key(
            Journal_Template_Name=template or self.config.journal_template,
            Journal_Batch_Name=batch or self.config.journal_batch, Line_No=line_no))

    def _journal_bodies(self, doc: JournalDocumentSpec) -> list[dict[str, Any]]:
        what = f"Journal document {doc.document_number}"
        if not doc.lines:
            raise SpecError(f"{what}: it has no lines.")
        bad = {ln.document_number for ln in doc.lines} - {doc.document_number}
        if bad:
            raise SpecError(f"{what}: a line carries another document number ({', '.join(sorted(bad))}).")
        difference = sum((ln.amount for ln in doc.lines if not ln.balancing_account_number), Decimal(0))
        for ln in doc.lines:
            ln.body()  # types and lengths (raises SpecError)
        if difference != 0:
            raise SpecError(f"{what} does not balance (difference {difference}); nothing was sent to NAV.")
        out = []
        for i, ln in enumerate(doc.lines, 1):
            body: dict[str, Any] = {
                "Journal_Template_Name": code(self.config.journal_template),
                "Journal_Batch_Name": code(self.config.journal_batch),
                "Posting_Date": ln.posting_date, "Document_No": code(ln.document_number),
                "External_Document_No": ln.external_document_number, "Account_Type": option(ln.account_type),
                "Account_No": ln.account_number, "Description": ln.description, "Amount": ln.amount}
            if ln.balancing_account_number:
                body["Bal_Account_Type"] = "G_L_Account"
                body["Bal_Account_No"] = ln.balancing_account_number
            body.update(self.dimension_fields(ln.dimensions, f"{what}, line {i}"))
            out.append(self._fit(body, self.config.service("general_journal")))
        return out

    def _draft_journal_lines(self, document_no: str) -> list[dict[str, Any]]:
        template, batch, number = code(self.config.journal_template), code(self.config.journal_batch), code(document_no)
        flt = odata.eq_filter(Journal_Template_Name=template, Journal_Batch_Name=batch, Document_No=number)
        return [r for r in self.client.iter(self._journal_lines_path(), {"$filter": flt})
                if code(str(r.get("Document_No") or "")) == number and code(str(r.get("Journal_Batch_Name"))) == batch
                and code(str(r.get("Journal_Template_Name"))) == template]

    def _find_journal(self, key: JournalKey) -> NavDocument | None:
        """Posted (G/L entries with the document number), else a draft whose lines balance. Lines that don't
        balance are a document cut off half-way (we only ever send balanced documents): not found, so the
        next attempt replaces them."""
        number = code(key.document_number)
        entries = self._gl_entries_of(number)
        if entries:
            return NavDocument(DocKind.JOURNAL, number, number, True, entries)
        lines = self._draft_journal_lines(number)
        if not lines:
            return None
        if _half_made_journal(key, lines):
            return None
        return NavDocument(DocKind.JOURNAL, number, number, False, amount=_debits(lines))

    def _last_line_no(self) -> int:
        flt = odata.eq_filter(Journal_Template_Name=code(self.config.journal_template),
                              Journal_Batch_Name=code(self.config.journal_batch))
        page = self.client.get(self._journal_lines_path(), params={"$filter": flt, "$orderby": "Line_No desc",
                                                                   "$top": "1"})
        values = (page or {}).get("value") or []
        return int(values[0]["Line_No"]) if values else 0

    @staticmethod
    def _journal_sig(rec: Mapping[str, Any]) -> tuple:
        return (code(str(rec.get("Account_No") or "")), _money(rec.get("Amount")),
                code(str(rec.get("Bal_Account_No") or "")), str(rec.get("Posting_Date"))[:10],
                tuple(sorted((f, code(str(rec.get(f)))) for f in SHORTCUT_FIELDS.values() if rec.get(f))))

    def _delete_journal_lines(self, recs: Sequence[Mapping[str, Any]]) -> None:
        for rec in recs:
            self.client.delete(self._journal_lines_path(rec["Journal_Template_Name"], rec["Journal_Batch_Name"],
                                                        int(rec["Line_No"])), rec["@odata.etag"])

    def create_journal(self, doc: JournalDocumentSpec, *, post: bool) -> NavDocument:
        what = f"Journal document {doc.document_number}"
        bodies = self._journal_bodies(doc)
        number = code(doc.document_number)
        entries = self._gl_entries_of(number)
        if entries:
            return NavDocument(DocKind.JOURNAL, number, number, True, entries)
        existing = self._draft_journal_lines(number)
        if existing:
            if Counter(self._journal_sig(r) for r in existing) == Counter(self._journal_sig(b) for b in bodies):
                found = NavDocument(DocKind.JOURNAL, number, number, False, amount=_debits(existing))
                return self._post_journal(found) if post else found
            log.warning("%s: its lines in the journal are half-made; deleting and adding them again", what)
            self._delete_journal_lines(existing)
        for attempt in range(3):
            made: list[dict[str, Any]] = []
            start = self._last_line_no()
            try:
                for i, body in enumerate(bodies, 1):
                    made.append(self.client.post(self._journal_lines_path(), {**body, "Line_No": start + i * LINE_STEP}))
            except ConnectorError as exc:
                try:
                    # what NAV holds now, including a line whose answer was lost (outcome unknown)
                    self._delete_journal_lines(self._draft_journal_lines(doc.document_number) if
                                               isinstance(exc, TransportError) else made)
                except ConnectorError as undo:
                    log.error("%s: could not delete the lines already added: %s", what, undo)
                    raise TransportError(f"{what}: NAV refused a line ({exc}) and the lines already added could not "
                                         "be removed; they are completed or removed on the next attempt.") from None
                if getattr(exc, "code", None) == "Internal_EntityWithSameKeyExists" and attempt < 2:
                    log.info("%s: another PC took the same journal line numbers; retrying", what)
                    continue
                if isinstance(exc, TransportError):
                    raise ConnectorError(f"{what}: the connection failed while adding lines; the lines already added "
                                         "were removed.", retryable=True) from None
                raise _explained(exc, what) from None
            break
        draft = NavDocument(DocKind.JOURNAL, number, number, False, amount=_debits(bodies))
        return self._post_journal(draft) if post else draft

    def create_journals(self, docs: Sequence[JournalDocumentSpec], *, post: bool) -> list[Outcome]:
        out: list[Outcome] = []
        for doc in docs:
            try:
                out.append(self.create_journal(doc, post=post))
            except ConnectorError as exc:
                out.append(exc)
        return out

    def _post_journal(self, doc: NavDocument) -> NavDocument:
        if not self.config.posting_codeunit:
            return doc
        try:
            self._call_codeunit("PostJournalDocument", {
                "templateName": self.config.journal_template, "batchName": self.config.journal_batch,
                "documentNo": doc.number})
        except TransportError:
            pass
        except ConnectorError as exc:
            raise _explained(exc, f"Journal document {doc.number}") from None
        found = self._find_journal(JournalKey(doc.number))
        if found is None:
            raise NavError(f"Journal document {doc.number} was deleted from the journal in NAV and is not posted.",
                           status=404)
        return found

    def _call_codeunit(self, procedure: str, params: Mapping[str, Any]) -> None:
        """The posting codeunit IT published: over SOAP (NAV 2016-2018) when a SOAP URL is set, else as an
        unbound OData action (BC 15 and later)."""
        if self.config.posting_soap_url:
            self.client.soap_action(self.config.posting_codeunit, procedure, params)
        else:
            self.client.action(self.config.posting_codeunit, procedure, params)

    # -- the contract ---------------------------------------------------------------------------------
    def find_documents(self, keys: Sequence[DocumentKey]) -> list[Found]:
        """Many look-ups in few requests: each page is asked once per chunk of ``LOOKUP_CHUNK`` keys with an OR
        over one field (NAV accepts OR within a field, not across fields, reference §3.1); vendors, batches and
        exact matches are checked here. A failed read fails only its chunk's keys."""
        out: list[Found] = [None] * len(keys)
        groups: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            kind = ("invoice" if isinstance(key, InvoiceKey) else "memo" if isinstance(key, CreditMemoKey)
                    else "journal" if isinstance(key, JournalKey) else "")
            if not kind:
                out[i] = SpecError(f"Unknown document key {key!r}")
                continue
            groups.setdefault(kind, []).append(i)
        for kind, idx in groups.items():
            for part in (idx[k:k + LOOKUP_CHUNK] for k in range(0, len(idx), LOOKUP_CHUNK)):
                try:
                    if kind == "journal":
                        found = self._find_journals([cast(JournalKey, keys[i]) for i in part])  # grouped by kind above
                    else:
                        pk = INVOICE if kind == "invoice" else CREDIT_MEMO
                        purchases = [cast("InvoiceKey | CreditMemoKey", keys[i]) for i in part]  # grouped by kind
                        found = self._find_purchases(pk, [(k.vendor_number, pk.key_number(k)) for k in purchases])
                except ConnectorError as exc:
                    found = [exc] * len(part)
                for i, f in zip(part, found, strict=True):
                    out[i] = f
        return out

    def _any_of(self, field: str, values: Sequence[str]) -> str:
        return "(" + " or ".join(f"{field} eq {odata.literal(v)}" for v in values) + ")"

    def _find_purchases(self, pk: Purchase, wanted: Sequence[tuple[str, str]]) -> list[Found]:
        """Posted documents (also one the accountant posted while it was still marked pending), else COMPLETE
        drafts: a draft under construction carries the pending number and is never found here. One read of
        the posted page, one of the drafts, one of the G/L entries of what is posted, and the lines of each
        draft found (its total)."""
        numbers = sorted({code(n) for _, n in wanted} | {p for _, n in wanted if (p := pending(n))})
        posted: dict[tuple[str, str], dict[str, Any]] = {}
        for r in self._records(pk.posted_role, self._any_of(pk.number_field, numbers)):
            number = code(str(r.get(pk.number_field) or "")).removeprefix(PENDING)
            posted.setdefault((code(str(r.get("Buy_from_Vendor_No") or "")), number), r)
        left = sorted({code(n) for v, n in wanted if (code(v), code(n)) not in posted})
        drafts: dict[tuple[str, str], dict[str, Any]] = {}
        if left:
            for r in self._records(pk.role, self._any_of(pk.number_field, left)):
                number = code(str(r.get(pk.number_field)))
                if pending(number) is None and self._half_made(pk, r, number):
                    continue  # a 35-character number's draft being built (or cut off): not the document
                drafts.setdefault((code(str(r.get("Buy_from_Vendor_No") or "")), number), r)
        entries = self._gl_entries_of_many([str(r["No"]) for r in posted.values()])
        out: list[Found] = []
        for vendor, number in wanted:
            key = (code(vendor), code(number))
            if key in posted:
                rec = posted[key]
                no = str(rec["No"])
                amount = _money(rec["Amount"]) if rec.get("Amount") is not None else None
                out.append(NavDocument(pk.kind, no, no, True, entries.get(code(no), []), amount=amount))
            elif key in drafts:
                out.append(self._draft_doc(pk, str(drafts[key]["No"])))
            else:
                out.append(None)
        return out

    def _gl_entries_of_many(self, document_numbers: Sequence[str]) -> dict[str, list[GLEntry]]:
        out: dict[str, list[GLEntry]] = {}
        numbers = sorted({code(n) for n in document_numbers})
        for k in range(0, len(numbers), LOOKUP_CHUNK):
            for e in self._gl_entries(self._any_of("Document_No", numbers[k:k + LOOKUP_CHUNK])):
                out.setdefault(code(e.document_number), []).append(e)
        return out

    def _find_journals(self, keys: Sequence[JournalKey]) -> list[Found]:
        numbers = [code(k.document_number) for k in keys]
        entries = self._gl_entries_of_many(numbers)
        left = sorted({n for n in numbers if n not in entries})
        lines: dict[str, list[dict[str, Any]]] = {}
        if left:
            template, batch = code(self.config.journal_template), code(self.config.journal_batch)
            flt = f"{odata.eq_filter(Journal_Template_Name=template, Journal_Batch_Name=batch)} and " \
                  f"{self._any_of('Document_No', left)}"
            for r in self.client.iter(self._journal_lines_path(), {"$filter": flt}):
                if code(str(r.get("Journal_Template_Name"))) == template and code(str(r.get("Journal_Batch_Name"))) == batch:
                    lines.setdefault(code(str(r.get("Document_No") or "")), []).append(r)
        out: list[Found] = []
        for key, number in zip(keys, numbers, strict=True):
            if number in entries:
                out.append(NavDocument(DocKind.JOURNAL, number, number, True, entries[number]))
            elif number in lines and not _half_made_journal(key, lines[number]):
                out.append(NavDocument(DocKind.JOURNAL, number, number, False, amount=_debits(lines[number])))
            else:
                out.append(None)  # absent, or half-made: the next create replaces its lines
        return out

    def post_documents(self, docs: Sequence[NavDocument], specs: Sequence[DraftSpec | None] | None = None
                       ) -> list[Outcome]:
        """Post drafts through the published codeunit; without one, report where each draft is now (the
        accountant posts in NAV): still a draft, posted, or deleted. With ``specs`` (aligned with ``docs``) a
        purchase draft's shortcut dimensions are checked against its spec first and set right where NAV holds
        something else; a draft that cannot be set right is deleted and reported, never posted."""
        out: list[Outcome] = []
        for k, doc in enumerate(docs):
            spec = specs[k] if specs is not None else None
            try:
                if doc.posted:
                    out.append(doc)
                elif doc.kind in (DocKind.PURCHASE_INVOICE, DocKind.PURCHASE_CREDIT_MEMO):
                    pk = INVOICE if doc.kind == DocKind.PURCHASE_INVOICE else CREDIT_MEMO
                    if isinstance(spec, PurchaseInvoiceSpec | PurchaseCreditMemoSpec):
                        self._set_dimensions_right(pk, doc.nav_id, spec)
                    out.append(self._post(pk, doc) if self.config.posting_codeunit else self._follow(pk, doc))
                elif doc.kind == DocKind.JOURNAL:
                    if self.config.posting_codeunit:
                        out.append(self._post_journal(doc))
                    else:
                        found = self._find_journal(JournalKey(doc.number))
                        out.append(found if found is not None else NavError(
                            f"Journal document {doc.number} was deleted from the journal in NAV and is not posted.",
                            status=404))
                else:
                    out.append(SpecError(f"{doc.kind} documents are not built for classic NAV page web services."))
            except ConnectorError as exc:
                out.append(exc)
        return out

    # -- G/L entries -----------------------------------------------------------------------------------
    def _gl_entry(self, rec: Mapping[str, Any], globals_: Mapping[int, str]) -> GLEntry:
        dims = {globals_[n]: str(rec.get(f"Global_Dimension_{n}_Code") or "") for n in (1, 2)
                if globals_.get(n) and rec.get(f"Global_Dimension_{n}_Code")}
        set_id = int(rec.get("Dimension_Set_ID") or 0)
        if set_id and set_id in self._dim_sets:
            dims = {**dims, **self._dim_sets[set_id]}  # every dimension, shortcut 3-8 included
        amount = _money(rec.get("Amount"))
        debit = _money(rec.get("Debit_Amount")) if "Debit_Amount" in rec else max(amount, Decimal(0))
        credit = _money(rec.get("Credit_Amount")) if "Credit_Amount" in rec else max(-amount, Decimal(0))
        return GLEntry(entry_number=int(rec["Entry_No"]), posting_date=odata.parse_date(str(rec["Posting_Date"])),
                       document_number=str(rec.get("Document_No") or ""),
                       document_type=_option_text(rec.get("Document_Type")),
                       account_number=str(rec.get("G_L_Account_No") or ""), description=str(rec.get("Description") or ""),
                       debit=debit, credit=credit, dimensions=dims)

    def _gl_entries(self, flt: str) -> list[GLEntry]:
        globals_ = self.global_dimension_codes()
        recs = list(self.client.iter(self.client.service_path("gl_entries"), {"$filter": flt}))
        self._load_dimension_sets({int(r.get("Dimension_Set_ID") or 0) for r in recs} - {0})
        return sorted((self._gl_entry(r, globals_) for r in recs), key=lambda e: e.entry_number)

    def _load_dimension_sets(self, set_ids: set[int]) -> None:
        """Page 20 shows global dimensions 1 and 2 only; when IT published page 479 "Dimension Set Entries",
        the entries' ``Dimension_Set_ID`` gives every dimension (a territory on shortcut 3-8 too). Sets never
        change in NAV, so each is read once."""
        wanted = sorted(set_ids - set(self._dim_sets))
        if not wanted or self._dim_sets_missing:
            return
        for k in range(0, len(wanted), LOOKUP_CHUNK):
            part = wanted[k:k + LOOKUP_CHUNK]
            flt = "(" + " or ".join(f"Dimension_Set_ID eq {i}" for i in part) + ")"
            try:
                rows = list(self.client.iter(self.client.service_path("dimension_set_entries"), {"$filter": flt}))
            except NavError as exc:
                if exc.status != 404:
                    raise
                self._dim_sets_missing = True  # not published: global dimensions only
                return
            for i in part:
                self._dim_sets.setdefault(i, {})
            for r in rows:
                self._dim_sets.setdefault(int(r["Dimension_Set_ID"]), {})[str(r["Dimension_Code"])] = \
                    str(r.get("Dimension_Value_Code") or "")

    def _gl_entries_of(self, document_no: str) -> list[GLEntry]:
        number = code(document_no)
        return [e for e in self._gl_entries(odata.eq_filter(Document_No=number)) if code(e.document_number) == number]

    def gl_entries_between(self, start: date, end: date) -> list[GLEntry]:
        flt = f"Posting_Date ge {odata.literal(start)} and Posting_Date lt {odata.literal(end)}"
        return [e for e in self._gl_entries(flt) if start <= e.posting_date < end]

    # -- reference data ------------------------------------------------------------------------------
    def vendors(self) -> list[dict[str, Any]]:
        return list(self.client.iter(self.client.service_path("vendors")))

    def accounts(self) -> list[dict[str, Any]]:
        return list(self.client.iter(self.client.service_path("accounts")))

    def dimension_values(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self.client.iter(self.client.service_path("dimension_values")):
            out.setdefault(str(r["Dimension_Code"]), []).append(str(r["Code"]))
        return out


def _explained(exc: ConnectorError, what: str) -> ConnectorError:
    """The same error, its message prefixed with the document (and line) it is about."""
    if isinstance(exc, SpecError) or str(exc).startswith(what):
        return exc
    if isinstance(exc, NavError):
        return type(exc)(f"{what}: {exc}", nav_message=exc.nav_message, status=exc.status, code=exc.code,
                         correlation_id=exc.correlation_id, details=exc.details, retryable=exc.retryable)
    return type(exc)(f"{what}: {exc}", status=exc.status, code=exc.code, correlation_id=exc.correlation_id,
                     details=exc.details, retryable=exc.retryable)
