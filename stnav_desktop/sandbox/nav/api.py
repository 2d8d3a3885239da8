"""Request dispatch for the API v2.0 surface: entity sets, navigation, bound actions, ``$batch``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from stnav_desktop.sandbox.nav import odata
from stnav_desktop.sandbox.nav.company import CREDIT_MEMO, INVOICE, Company, PurchaseDocType
from stnav_desktop.sandbox.nav.store import ApiError, Txn, etag_for

if TYPE_CHECKING:
    from stnav_desktop.sandbox.nav.sandbox import NavSandbox

# generalLedgerSetup (APIV2GLSetup.Page.al) and accountingPeriods (APIV2AccountingPeriods.Page.al) are
# Editable = false with InsertAllowed / ModifyAllowed / DeleteAllowed = false: writes end in create/patch/delete's
# 405 BadRequest_MethodNotAllowed like the other read-only sets
READ_ONLY_SETS = {"accounts", "dimensions", "dimensionValues", "generalLedgerEntries", "companies", "items",
                  "generalLedgerSetup", "accountingPeriods"}
TOP_SETS = {"vendors", "items", "accounts", "dimensions", "dimensionValues", "journals", "journalLines",
            "purchaseInvoices", "purchaseInvoiceLines", "purchaseCreditMemos", "purchaseCreditMemoLines",
            "generalLedgerEntries", "generalLedgerSetup", "accountingPeriods"}
PARENT_TYPES = {"purchaseInvoices": "Purchase Invoice", "purchaseInvoiceLines": "Purchase Invoice Line",
                "purchaseCreditMemos": "Purchase Credit Memo", "purchaseCreditMemoLines": "Purchase Credit Memo Line",
                "journalLines": "Journal Line", "generalLedgerEntries": "General Ledger Entry"}
CHILDREN = {("dimensions", "dimensionValues"), ("purchaseInvoices", "purchaseInvoiceLines"),
            ("purchaseCreditMemos", "purchaseCreditMemoLines"),
            ("journals", "journalLines"),
            # part defaultDimensions of APIV2Vendors.Page.al / APIV2Items.Page.al (page 30054); the G/L account page
            # (APIV2Accounts.Page.al) has none: an account's default dimensions cannot be read through the API
            ("vendors", "defaultDimensions"), ("items", "defaultDimensions"),
            } | {(p, "dimensionSetLines") for p in PARENT_TYPES}
DOCUMENT_SETS: dict[str, PurchaseDocType] = {"purchaseInvoices": INVOICE, "purchaseCreditMemos": CREDIT_MEMO}
LINE_SETS: dict[str, PurchaseDocType] = {"purchaseInvoiceLines": INVOICE, "purchaseCreditMemoLines": CREDIT_MEMO}
# line sets that cannot be read on their own: (the filter property they need, BC's message without it)
LINES_NEED_PARENT = {
    "purchaseInvoiceLines": ("documentId", "You must specify an Id or a Document Id to get the lines."),
    "purchaseCreditMemoLines": ("documentId", "You must specify an id or a Document Id to get the lines."),
    "journalLines": ("journalId", "You must specify a journal batch ID or a journal ID to get a journal line."),
}


class Result:
    def __init__(self, status: int, payload: Any = None, headers: dict[str, str] | None = None,
                 text: str | None = None) -> None:
        self.status = status
        self.payload = payload
        self.headers = headers or {}
        self.text = text


class Target:
    """What a URL points at: a collection (``records``) or one ``record`` of ``entity``."""

    def __init__(self, entity: str, records: list[dict[str, Any]] | None = None,
                 record: dict[str, Any] | None = None, parent: tuple[str, dict[str, Any]] | None = None) -> None:
        self.entity = entity
        self.records = records
        self.record = record
        self.parent = parent


class Api:
    def __init__(self, sandbox: NavSandbox) -> None:
        self.sb = sandbox

    # -- helpers -------------------------------------------------------------------------------
    def company(self, cid: str | None) -> Company:
        company = self.sb.companies.get((cid or "").lower())
        if company is None:
            raise ApiError(404, "Internal_CompanyNotFound", f"Cannot process the request because the default "
                           f"company cannot be found. You can specify a company in the request URI. ({cid})")
        return company

    def children(self, c: Company, parent_set: str, parent: dict[str, Any], child: str) -> list[dict[str, Any]]:
        if child == "dimensionSetLines":
            return c.dim_lines(parent["id"])
        if child == "dimensionValues":
            return [v for v in c.t("dimensionValues").values() if v["dimensionId"] == parent["id"]]
        if child in LINE_SETS:
            return c.document_lines(LINE_SETS[child], parent["id"])
        if child == "journalLines":
            return c.journal_lines(parent["id"])
        if child == "defaultDimensions":
            return c.default_dimension_records(parent["id"])
        raise AssertionError(child)

    def resolve(self, c: Company, segs: list[tuple[str, str | None]], query: dict[str, str]) -> Target:
        name, key = segs[0]
        if name == "dimensionSetLines":  # APIV2DimensionSetLines.Page.al OnFindRecord / OnInsertRecord without parent
            raise ApiError(400, "Application_DialogException", "You must get to the parent first to create a "
                           "dimension set line." if self._method == "POST" else "You must get to the parent first "
                           "to get to the dimension set line.")
        if name not in TOP_SETS:
            raise ApiError(404, "BadRequest_NotFound", f"No HTTP resource was found that matches the request URI "
                           f"'{name}'.")
        if name in LINES_NEED_PARENT and key is None and len(segs) == 1 and self._method in ("GET",):
            prop, message = LINES_NEED_PARENT[name]
            if prop not in query.get("$filter", ""):
                raise ApiError(400, "Application_DialogException", message)
        records = [c.gl_setup_record()] if name == "generalLedgerSetup" else list(c.t(name).values())
        target = Target(name, records=records)
        for i, (seg, skey) in enumerate(segs):
            if i > 0:
                if target.record is None:
                    raise ApiError(400, "BadRequest_NotFound", f"Resource not found for the segment '{seg}'.")
                if (target.entity, seg) not in CHILDREN:
                    if seg.startswith("Microsoft.NAV.") and i == len(segs) - 1:
                        return Target(seg, record=target.record, parent=(target.entity, target.record))
                    raise ApiError(400, "BadRequest_ResourceNotFound", f"Resource not found for the segment '{seg}'.")
                parent = (target.entity, target.record)
                target = Target(seg, records=self.children(c, target.entity, target.record, seg), parent=parent)
            if skey is not None:
                found = [r for r in target.records or [] if r["id"].lower() == skey.lower()]
                if not found:
                    raise ApiError(404, "Internal_RecordNotFound", f"The {target.entity} record with key {skey} "
                                   "does not exist.")
                target = Target(target.entity, record=found[0], parent=target.parent)
        return target

    def render(self, c: Company, entity: str, rec: dict[str, Any], select: list[str] | None,
               expand: dict[str, dict[str, str]]) -> dict[str, Any]:
        out = odata.public(rec)
        if select is not None:
            out = {k: v for k, v in out.items() if k == "@odata.etag" or k in select}
        for nav, opts in expand.items():
            if (entity, nav) not in CHILDREN:
                raise ApiError(400, "BadRequest", f"Could not find a property named '{nav}' on type "
                               f"'Microsoft.NAV.{entity}'.")
            kids = odata.apply_query(nav, self.children(c, entity, rec, nav), opts)
            sub = odata.parse_expand(opts["$expand"]) if opts.get("$expand") else {}
            sel = odata.check_select(nav, opts.get("$select"))
            out[nav] = [self.render(c, nav, k, sel, sub) for k in kids]
        return out

    # -- entry point ---------------------------------------------------------------------------
    def execute(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any,
                txn: Txn, root_url: str) -> Result:
        self._method = method
        segs = odata.split_segments(path)
        if not segs:
            raise ApiError(404, "BadRequest_NotFound", "No HTTP resource was found that matches the request URI ''.")
        if segs[0][0] == "subscriptions":
            return self.sb.subscriptions_api(method, segs, headers, body, txn)
        cid = query.get("company") or headers.get("companyid") or headers.get("company-id")
        if segs[0][0] == "companies":
            if segs[0][1] is None:
                if method != "GET":
                    raise ApiError(405, "BadRequest_MethodNotAllowed", f"'{method}' requests for 'companies' of "
                                   "EdmType 'Entity' are not allowed within Dynamics 365 Business Central OData "
                                   "web services.")
                recs = [co.company_record() for co in self.sb.companies.values()]
                return self.collection(None, "companies", recs, path, query, headers, root_url)
            cid = segs[0][1]
            segs = segs[1:]
            if not segs:
                co = self.company(cid)
                return Result(200, {"@odata.context": f"{root_url}$metadata#companies/$entity",
                                    **odata.public(co.company_record())})
        c = self.company(cid)
        target = self.resolve(c, segs, query)
        if method == "GET":
            if target.record is not None:
                expand = odata.parse_expand(query["$expand"]) if query.get("$expand") else {}
                payload = {"@odata.context": f"{root_url}$metadata#{target.entity}/$entity",
                           **self.render(c, target.entity, target.record,
                                         odata.check_select(target.entity, query.get("$select")), expand)}
                return Result(200, payload)
            return self.collection(c, target.entity, target.records or [], path, query, headers, root_url)
        if target.entity == "Microsoft.NAV.post" and method == "POST":
            assert target.parent is not None
            pset, prec = target.parent
            posters = {"purchaseInvoices": c.post_invoice, "purchaseCreditMemos": c.post_credit_memo,
                       "journals": c.post_journal}
            if pset not in posters:
                raise ApiError(400, "BadRequest_MethodNotImplemented", "Entity does not support bound actions.")
            posters[pset](txn, prec)
            return Result(204)
        if method == "POST":
            if target.record is not None:
                raise ApiError(405, "BadRequest_MethodNotAllowed", "'POST' requests on a single entity are not allowed.")
            rec = self.create(c, target, body, txn)
            expand = {k: {} for k in ("purchaseInvoiceLines", "purchaseCreditMemoLines", "dimensionSetLines",
                                      "journalLines")
                      if isinstance(body, dict) and k in body}
            return Result(201, {"@odata.context": f"{root_url}$metadata#{target.entity}/$entity",
                                **self.render(c, target.entity, rec, None, expand)})
        if method in ("PATCH", "PUT", "DELETE"):
            if target.record is None:
                raise ApiError(405, "BadRequest_MethodNotAllowed", f"'{method}' requests for '{target.entity}' of "
                               "EdmType 'Entity' are not allowed within Dynamics 365 Business Central OData web services.")
            self.check_if_match(headers, target.record)
            if method == "DELETE":
                self.delete(c, target, txn)
                return Result(204)
            rec = self.patch(c, target, body, txn)
            return Result(200, {"@odata.context": f"{root_url}$metadata#{target.entity}/$entity",
                                **odata.public(rec)})
        raise ApiError(405, "BadRequest_MethodNotAllowed", f"'{method}' requests are not allowed.")

    def check_if_match(self, headers: dict[str, str], rec: dict[str, Any]) -> None:
        tag = headers.get("if-match")
        if not tag:
            raise ApiError(400, "BadRequest_InvalidToken", "Could not validate the client concurrency token required "
                           "by the service. Please provide a valid token in the client request.")
        if tag.strip() != "*" and tag.strip() != etag_for(rec):
            raise ApiError(self.sb.etag_conflict_status, "Request_EntityChanged",
                           "Another user has already changed the record.")

    def collection(self, c: Company | None, entity: str, records: list[dict[str, Any]], path: str,
                   query: dict[str, str], headers: dict[str, str], root_url: str) -> Result:
        records = odata.apply_query(entity, records, query)
        skip = odata.int_option(query, "$skip") or 0
        top = odata.int_option(query, "$top")
        offset = odata.parse_skiptoken(query["$skiptoken"]) if query.get("$skiptoken") else 0
        records = records[skip:]
        if top is not None:
            records = records[:top]
        page = self.sb.max_page_size
        prefer = headers.get("prefer", "")
        for part in prefer.split(","):
            k, _, v = part.strip().partition("=")
            if k.strip().lower() == "odata.maxpagesize" and v.strip().isdigit():
                page = min(page, max(1, int(v)))
        if path.endswith("/$count"):
            return Result(200, text=str(len(records)))
        chunk = records[offset:offset + page]
        select = odata.check_select(entity, query.get("$select"))
        expand = odata.parse_expand(query["$expand"]) if query.get("$expand") else {}
        payload: dict[str, Any] = {"@odata.context": f"{root_url}$metadata#{entity}"}
        payload["value"] = [self.render(c, entity, r, select, expand) if c else
                            odata.public(r) for r in chunk]
        if offset + page < len(records):
            payload["@odata.nextLink"] = odata.next_link(root_url, path, query, offset + page)
        return Result(200, payload)

    def create(self, c: Company, target: Target, body: Any, txn: Txn) -> dict[str, Any]:
        entity = target.entity
        parent = target.parent
        if entity == "purchaseInvoices":
            return c.create_invoice(txn, body)
        if entity == "purchaseCreditMemos":
            return c.create_credit_memo(txn, body)
        if entity in LINE_SETS:
            kind = LINE_SETS[entity]
            doc = parent[1] if parent is not None else c.document(kind, _parent_key(
                body, "documentId", "You must specify a document id to create a line."))
            return c.create_document_line(txn, kind, doc, body)
        if entity == "journalLines":
            journal = parent[1] if parent is not None else c.journal(_parent_key(
                body, "journalId", "You must specify a journal batch ID or a journal ID to create a journal line."))
            return c.create_journal_line(txn, journal, body)
        if entity == "journals":
            return c.create_journal(txn, body)
        if entity == "vendors":
            return c.create_vendor(txn, body)
        if entity == "dimensionSetLines":
            if parent is None:
                raise ApiError(400, "Application_DialogException",
                               "You must get to the parent first to create a dimension set line.")
            pset, prec = parent
            return c.add_dim_line(txn, PARENT_TYPES[pset], prec["id"], body if isinstance(body, dict) else {},
                                  read_only=self._read_only_parent(c, pset, prec))
        raise ApiError(405, "BadRequest_MethodNotAllowed", f"'POST' requests for '{entity}' of EdmType 'Entity' "
                       "are not allowed within Dynamics 365 Business Central OData web services.")

    def _read_only_parent(self, c: Company, pset: str, prec: dict[str, Any]) -> bool:
        """APIV2DimensionSetLines.Page.al SaveDimensions has no case for a General Ledger Entry (its set is read
        only: ParentDoesNotExistOrReadOnlyErr), but it does modify a POSTED purchase invoice's / credit memo's
        header and lines (Purch. Inv. Header / Purch. Inv. Line, Purch. Cr. Memo Hdr. / Line "Dimension Set ID"):
        the document's set changes, its G/L entries keep theirs."""
        return pset == "generalLedgerEntries"

    def patch(self, c: Company, target: Target, body: Any, txn: Txn) -> dict[str, Any]:
        rec = target.record
        assert rec is not None
        patchers = {"purchaseInvoices": c.patch_invoice, "purchaseCreditMemos": c.patch_credit_memo,
                    "journalLines": c.patch_journal_line}
        if target.entity in patchers:
            return patchers[target.entity](txn, rec, body)
        if target.entity in LINE_SETS:
            return c.patch_document_line(txn, LINE_SETS[target.entity], rec, body)
        if target.entity == "dimensionSetLines" and target.parent:
            pset, prec = target.parent
            return c.patch_dim_line(txn, prec["id"], rec["id"], body if isinstance(body, dict) else {},
                                    read_only=self._read_only_parent(c, pset, prec))
        raise ApiError(405, "BadRequest_MethodNotAllowed", f"'PATCH' requests for '{target.entity}' of EdmType "
                       "'Entity' are not allowed within Dynamics 365 Business Central OData web services.")

    def delete(self, c: Company, target: Target, txn: Txn) -> None:
        rec = target.record
        assert rec is not None
        if target.entity in DOCUMENT_SETS:
            return c.delete_document(txn, DOCUMENT_SETS[target.entity], rec)
        if target.entity in LINE_SETS:
            return c.delete_document_line(txn, LINE_SETS[target.entity], rec)
        if target.entity == "journalLines":
            return c.delete_journal_line(txn, rec)
        if target.entity == "dimensionSetLines" and target.parent:
            pset, prec = target.parent
            if self._read_only_parent(c, pset, prec):
                raise ApiError(400, "Application_DialogException", f"Parent with ID {prec['id']} does not exist or "
                               f"dimension set lines are read only for parent type {PARENT_TYPES[pset]}.")
            c.delete_dim_line(txn, prec["id"], rec["id"])
            return None
        raise ApiError(405, "BadRequest_MethodNotAllowed", f"'DELETE' requests for '{target.entity}' of EdmType "
                       "'Entity' are not allowed within Dynamics 365 Business Central OData web services.")


def _parent_key(body: Any, prop: str, message: str) -> str:
    """The parent's id a line body names when the line is created outside its parent's URL."""
    if not isinstance(body, dict) or not body.get(prop):
        raise ApiError(400, "Application_DialogException", message)
    return body[prop]


def split_url(url: str, api_root_path: str) -> tuple[str, dict[str, str]]:
    """A $batch inner URL (relative to the service root, or absolute) -> (path under the root, query)."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if parts.scheme or path.startswith("/"):
        if not path.startswith(api_root_path):
            raise ApiError(400, "BadRequest_NotFound", f"The URL '{url}' is not under the service root.")
        path = path[len(api_root_path):]
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return path, query


RunOne = Callable[[str, str, dict[str, str], dict[str, str], Any, Txn], Result]
