"""``ClassicNavSandbox``: a strict local NAV 2016-2018 / BC on-prem server instance publishing UI pages as
ODataV4 web services, with Basic (user + web service access key) or Windows (NTLM/Negotiate) sign-in.

What it enforces, with sources (reference ``businesscentral-api.md`` §5, §3.3, §3.4):

- URLs ``/{instance}/ODataV4/Company('{name}')/{Service}`` (name case-sensitive), ``Company(Id=<guid>)``,
  ``{Service}?company='{name}'`` and ``/ODataV4/$metadata`` (``publish-web-service.md``); a service that is not
  published -> ``404 BadRequest_NotFound`` "No HTTP resource was found that matches the request URI"; an
  unknown company -> ``Internal_CompanyNotFound``.
- Keys are the table's primary key, every part named (``PurchaseInvoice(Document_Type='Invoice',No='…')``).
- Parts are containments ``<Service><Part>``; the subpage's link fields come from the parent (SubPageLink).
- No deep insert on UI pages (``odata-known-limitations.md``: deep insert is for API pages only, confirmed in
  MicrosoftDocs/dynamics365smb-devitpro-pb#2353): a body with a nested collection is refused with 400. The
  exact text a server gives is not documented (L); ours names the navigation property.
- A property the page does not have -> 400 (OData: "The property '…' does not exist on type '…'").
- PATCH and DELETE need ``If-Match`` (missing -> ``400 BadRequest_InvalidToken``; stale -> ``409
  Request_EntityChanged`` "Another user has already changed the record.").
- Page 39: the client must send ``Journal_Template_Name``/``Journal_Batch_Name`` (NAV 2018's OnOpenPage exits
  for ODataV4, so nothing fills them) and ``Line_No`` (a missing one is 0: the second such insert collides).
- Posting codeunit published as an unbound action ``POST /ODataV4/{Service}_{Procedure}?company=…`` (BC15+,
  §5.1); the sandbox's codeunit ``STNAVPosting`` has ``PostPurchaseInvoice(documentNo)`` and
  ``PostJournalDocument(templateName, batchName, documentNo)``, an example of what IT would publish.
- Windows sign-in: ``401`` with ``WWW-Authenticate: Negotiate`` and ``WWW-Authenticate: NTLM``, then a real
  NTLM handshake on the connection (see ``ntlm.py``); with ``windows_acceptor="os"`` the operating system
  accepts it (SSPI on Windows, as HTTP.sys does for the NAV server) and only the NAV users get in; the
  acceptor's last token, if any, comes back on the successful answer (RFC 4559 section 5).

Test hooks play "the accountant posts in NAV" (``post_purchase_invoice``, ``post_journal``), unpublish a page
(``unpublish``), drop the connection after a request was carried out (``drop_after``), or change a record
behind the client's back (``touch``).
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import threading
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from stnav_desktop.sandbox import jsonutil
from stnav_desktop.sandbox.clock import Clock
from stnav_desktop.sandbox.nav.filters import FilterError, compile_filter
from stnav_desktop.sandbox.navclassic.books import ClassicCompany, NavError, dialog
from stnav_desktop.sandbox.navclassic.ntlm import (
    NtlmAcceptor,
    NtlmConnectionState,
    OsAcceptor,
    parse_authorization,
)
from stnav_desktop.sandbox.navclassic.pages import (
    CODE_LEN,
    DEFAULT_SERVICES,
    PAGES,
    TEXT_LEN,
    TEXT_LEN_BC,
    Page,
)
from stnav_desktop.sandbox.server import JsonHandler, SandboxHTTPServer, make_server

log = logging.getLogger(__name__)

JSON_CT = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
CODEUNIT = "STNAVPosting"
CODEUNIT_PROCEDURES = ("PostPurchaseInvoice", "PostPurchaseCreditMemo", "PostJournalDocument")
_SEG = re.compile(r"^(?P<name>[A-Za-z_$][A-Za-z0-9_]*)(?:\((?P<key>.*)\))?$")
_KEYPART = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?(?P<value>'(?:[^']|'')*'|[^,]+)\s*(?:,|$)")


class ClassicNavSandbox:
    """A NAV server instance. ``auth``: ``"basic"`` (NavUserPassword + web service access key) or
    ``"windows"`` (NTLM/Negotiate). ``territory_shortcut``: 2 = TERRITORY is global dimension 2; 3-8 = a
    shortcut dimension only (then G/L entries don't show it, as on NAV 2018's page 20)."""

    def __init__(self, tls_dir: Path, *, auth: str = "basic", clock: Clock | None = None, instance: str = "NAV",
                 company_name: str = "CRONUS USA, Inc.", territory_shortcut: int = 2, max_page_size: int = 1000,
                 version: str = "nav2018", latency: float = 0.0, offer: tuple[str, ...] = ("Negotiate", "NTLM"),
                 port: int = 0, windows_acceptor: str = "password", windows_users: set[str] | None = None) -> None:
        if auth not in ("basic", "windows"):
            raise ValueError("auth must be 'basic' or 'windows'")
        self.auth = auth
        self.offer = offer  # the schemes the first 401 offers (a server may offer Negotiate only)
        self.clock = clock or Clock()
        self.instance = instance
        self.max_page_size = max_page_size
        self.latency = latency  # seconds added to every answer (a server across the office network)
        if version not in ("nav2018", "bc"):
            raise ValueError("version must be 'nav2018' or 'bc'")
        self.text_len = TEXT_LEN if version == "nav2018" else TEXT_LEN_BC
        self.company = ClassicCompany(company_name, lambda: self.clock.now().date(),
                                      territory_shortcut=territory_shortcut)
        self.companies = {company_name: self.company}
        self.services: dict[str, str] = {name: key for key, name in DEFAULT_SERVICES.items()}
        self.codeunits: dict[str, tuple[str, ...]] = {}
        self.user = "STNAV"
        self.web_service_key = base64.b64encode(secrets.token_bytes(33)).decode()  # 44 chars, like NAV's
        self.windows_account = "CONTOSO\\svc-stnav"
        self.windows_password = "Pa$$w0rd-" + secrets.token_hex(4)
        # "password": our own NTLM acceptor checks the proof against the one account's password above;
        # "os": the operating system checks it (SSPI on Windows: the logged-on user, no password anywhere),
        # and only ``windows_users`` (the NAV users with a Windows login) get in
        if windows_acceptor not in ("password", "os"):
            raise ValueError("windows_acceptor must be 'password' or 'os'")
        self.windows_acceptor = windows_acceptor
        self.ntlm: NtlmAcceptor | OsAcceptor = (
            NtlmAcceptor({self.windows_account: self.windows_password}) if windows_acceptor == "password"
            else OsAcceptor(windows_users if windows_users is not None else {self.windows_account}))
        self.ntlm_log: list[list[str]] = []  # per connection: the NTLM messages seen
        self.requests: list[tuple[str, str]] = []
        self._drops: list[tuple[str, str]] = []
        self._drop_rate = 0.0
        self._drop_rng: Any = None
        self.dropped = 0
        self._lock = threading.Lock()
        self.server: SandboxHTTPServer = make_server(_Handler, self, Path(tls_dir), port=port)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> ClassicNavSandbox:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> ClassicNavSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def odata_url(self) -> str:
        return f"https://127.0.0.1:{self.server.port}/{self.instance}/ODataV4/"

    @property
    def ca_pem(self) -> Path:
        assert self.server.tls is not None
        return self.server.tls.ca_pem

    # -- what IT does on the Web Services page ---------------------------------------------------------
    def publish(self, page_key: str, service_name: str) -> None:
        with self._lock:
            self.services = {n: k for n, k in self.services.items() if k != page_key}
            self.services[service_name] = page_key

    def unpublish(self, service_name: str) -> None:
        with self._lock:
            self.services.pop(service_name, None)

    def publish_posting_codeunit(self, service_name: str = CODEUNIT) -> None:
        self.codeunits[service_name] = CODEUNIT_PROCEDURES

    # -- test hooks ----------------------------------------------------------------------------
    def post_purchase_invoice(self, no: str) -> str:
        """The accountant opens the invoice in NAV and posts it; returns the posted invoice number."""
        return self.company.post_purchase_invoice(no)

    def post_purchase_credit_memo(self, no: str) -> str:
        return self.company.post_purchase_credit_memo(no)

    def post_journal(self, template: str = "GENERAL", batch: str = "STNAV", document_no: str | None = None) -> list[str]:
        return self.company.post_journal(template, batch, document_no)

    def drop_after(self, method: str, path_end: str) -> None:
        """The next ``method`` request whose path ends with ``path_end`` is carried out, then the connection is
        closed without an answer (the client cannot know whether it happened)."""
        self._drops.append((method.upper(), path_end))

    def drop_writes(self, rate: float, seed: int = 1) -> None:
        """From now on each write (POST/PATCH/DELETE) is carried out and then, with probability ``rate``, its
        answer is lost (the connection closes). Seeded: the same run drops the same requests."""
        import random

        self._drop_rate, self._drop_rng = rate, random.Random(seed)
        self.dropped = 0

    def touch(self, table: str, key: tuple) -> None:
        with self.company.lock:
            self.company.t(table)[key]["_ver"] += 1

    def rows(self, table: str) -> list[dict[str, Any]]:
        with self.company.lock:
            return [public(r) for _, r in sorted(self.company.t(table).items())]

    def gl_entries(self) -> list[dict[str, Any]]:
        """G/L entries with every dimension of their dimension set (what NAV's Dimension Set Entries show)."""
        with self.company.lock:
            return [{**public(r), "dimensions": dict(self.company.dim_sets[r["Dimension_Set_ID"]])}
                    for _, r in sorted(self.company.t("G/L Entry").items())]

    def _take_drop(self, method: str, path: str) -> bool:
        with self._lock:
            if method in ("POST", "PATCH", "DELETE") and self._drop_rate and self._drop_rng.random() < self._drop_rate:
                self.dropped += 1
                return True
            for i, (m, part) in enumerate(self._drops):
                if m == method and unquote(path).endswith(part):
                    del self._drops[i]
                    return True
        return False

    # -- request handling (called from the handler thread) ---------------------------------------------
    def handle(self, method: str, raw_path: str, query: dict[str, str], body: Any, headers: dict[str, str]
               ) -> tuple[int, Any, dict[str, str]]:
        prefix = f"/{self.instance}/ODataV4"
        if not raw_path.startswith(prefix):
            raise NavError(404, "BadRequest_NotFound", f"No HTTP resource was found that matches the request URI "
                                                       f"'{raw_path}'.")
        segments = [unquote(s) for s in raw_path[len(prefix):].split("/") if s]
        if segments == ["$metadata"]:
            return 200, self.metadata(), {"Content-Type": "application/xml; charset=utf-8"}
        if not segments:
            return 200, {"value": [{"name": n, "kind": "EntitySet", "url": n} for n in sorted(self.services)]}, {}
        company = None
        name, key = _segment(segments[0], raw_path)
        if name == "Company":
            if key is None:
                return 200, {"value": [{"Name": c.name, "Display_Name": c.name, "Id": c.id}
                                       for c in self.companies.values()]}, {}
            company = self._company(key)
            segments = segments[1:]
            if not segments:
                return 200, {"Name": company.name, "Id": company.id}, {}
        elif "company" in query:
            company = self._company({"": query["company"].strip("'")})
        if company is None:
            raise NavError(400, "Internal_CompanyNotFound", "The company is not specified: use Company('…') in the "
                                                            "URL or the company parameter.")
        with company.lock:
            return self._route(company, method, segments, query, body, headers, raw_path)

    def _company(self, key: dict[str, Any]) -> ClassicCompany:
        if "Id" in key:
            for c in self.companies.values():
                if c.id == str(key["Id"]).lower():
                    return c
        elif "" in key and key[""] in self.companies:  # case-sensitive, as NAV's company names in URLs
            return self.companies[key[""]]
        raise NavError(400, "Internal_CompanyNotFound", f"Cannot process the request because the default company "
                                                        f"or the company '{key.get('') or key.get('Id')}' cannot be found.")

    def _route(self, company: ClassicCompany, method: str, segments: list[str], query: dict[str, str], body: Any,
               headers: dict[str, str], raw_path: str) -> tuple[int, Any, dict[str, str]]:
        name, key = _segment(segments[0], raw_path)
        if len(segments) == 1 and key is None and "_" in name and name.split("_", 1)[0] in self.codeunits:
            return self._codeunit(company, method, name, body, raw_path)
        page_key = self.services.get(name)
        if page_key is None:
            raise NavError(404, "BadRequest_NotFound", f"No HTTP resource was found that matches the request URI "
                                                       f"'{raw_path}'.")
        page = PAGES[page_key]
        parent: dict[str, Any] | None = None
        if key is not None:
            rec = self._get(company, page, key)
            if len(segments) == 1:
                return self._record(company, page, rec, method, body, headers, name)
            if len(segments) > 3:
                raise NavError(404, "BadRequest_NotFound", f"No HTTP resource was found that matches the request "
                                                           f"URI '{raw_path}'.")
            part_name, part_key = _segment(segments[1], raw_path)
            parts = {name + p: k for p, k in page.parts.items()}
            if part_name not in parts:
                raise NavError(404, "BadRequest_ResourceNotFound", f"Resource not found for the segment "
                                                                   f"'{part_name}'.")
            parent, page, name = rec, PAGES[parts[part_name]], part_name
            if part_key is not None:
                sub = self._get(company, page, part_key, parent=parent)
                return self._record(company, page, sub, method, body, headers, name)
        elif len(segments) > 1:
            raise NavError(400, "BadRequest", "A key is needed before a navigation property.")
        if method == "GET":
            return 200, self._collection(company, page, query, parent, raw_path), {}
        if method == "POST":
            rec = self._insert(company, page, name, body, parent)
            return 201, self._out(page, rec), {}
        raise NavError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not allowed on a collection.")

    # -- records -----------------------------------------------------------------------------------
    def _table_key(self, page: Page, key: dict[str, Any], raw: str) -> tuple:
        if set(key) != set(page.key):
            raise NavError(400, "BadRequest", f"The number of keys specified in the URI does not match number of key "
                                              f"properties for the resource '{page.caption}'.")
        return tuple(key[k] for k in page.key)

    def _get(self, company: ClassicCompany, page: Page, key: dict[str, Any], parent: dict | None = None
             ) -> dict[str, Any]:
        tkey = self._table_key(page, key, "")
        rec = company.t(page.table).get(tkey)
        if rec is None or not _in_view(page, rec) or (parent is not None and not _linked(page, rec, parent)):
            raise NavError(404, "Internal_RecordNotFound", f"The {page.table} does not exist. Identification fields "
                           "and values: " + ",".join(f"{k}='{v}'" for k, v in key.items()))
        return rec

    def _record(self, company: ClassicCompany, page: Page, rec: dict[str, Any], method: str, body: Any,
                headers: dict[str, str], name: str) -> tuple[int, Any, dict[str, str]]:
        if method == "GET":
            return 200, self._out(page, rec), {}
        if method not in ("PATCH", "PUT", "DELETE"):
            raise NavError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not allowed on '{name}'.")
        if method == "DELETE" and not page.delete or method != "DELETE" and not page.modify:
            raise NavError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not allowed on '{name}'.")
        match = headers.get("if-match")
        if not match:
            raise NavError(400, "BadRequest_InvalidToken", "Could not validate the client concurrency token required "
                                                           "by the service. Please provide a valid token in the client request.")
        if match != "*" and match != etag(rec):
            raise NavError(409, "Request_EntityChanged", "Another user has already changed the record.")
        if method == "DELETE":
            tkey = tuple(rec[k] for k in page.key)
            if page.table == "Purchase Header":
                company.delete_purchase_document(rec["Document_Type"], rec["No"])
            else:
                del company.t(page.table)[tkey]
            return 204, None, {}
        changes = self._fields(page, name, body)
        for k in page.key:
            if k in changes and changes[k] != rec[k]:
                raise NavError(400, "BadRequest_InvalidOperation", f"Control '{k}' is read-only.")
        candidate = {**rec, **changes}
        self._validate(company, page, candidate, None)
        rec.update(candidate)
        rec["_ver"] += 1
        return 200, self._out(page, rec), {}

    def _fields(self, page: Page, name: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise NavError(400, "BadRequest", "Invalid Request Body")
        out: dict[str, Any] = {}
        for k, v in body.items():
            if k.startswith("@odata"):
                continue
            if isinstance(v, list | dict):
                # no deep insert on UI pages (odata-known-limitations.md)
                raise NavError(400, "BadRequest", f"Deep insert is not supported on page web services: the body "
                                                  f"of '{name}' holds the navigation property '{k}'. Insert the parent, "
                                                  "then post each part record to its containment.")
            if k not in page.fields:
                raise NavError(400, "BadRequest", f"The property '{k}' does not exist on type 'NAV.{name}'. Make sure "
                                                  "to only use property names that are defined by the type.")
            if k in page.read_only:
                raise NavError(400, "BadRequest_InvalidOperation", f"Control '{k}' is read-only.")
            out[k] = _convert(page.fields[k], k, v)
            if isinstance(out[k], str):
                out[k] = self._fit(k, out[k])
        return out

    def _fit(self, name: str, value: str) -> str:
        """NAV's Code type is upper-case; Code and Text have a maximum length."""
        limit = CODE_LEN.get(name) or self.text_len.get(name)
        if name in CODE_LEN and not name.endswith("_Type"):
            value = value.upper()
        if limit is not None and len(value) > limit:
            raise NavError(400, "Application_StringExceededLength", f"The length of the string is {len(value)}, but "
                           f"it must be less than or equal to {limit} characters. Value: {value}")
        return value

    def _insert(self, company: ClassicCompany, page: Page, name: str, body: Any, parent: dict | None
                ) -> dict[str, Any]:
        if not page.insert:
            raise NavError(405, "BadRequest_MethodNotAllowed", f"'POST' is not allowed on '{name}'.")
        fields = self._fields(page, name, body)
        rec: dict[str, Any] = {f: _blank(t) for f, t in page.fields.items()}
        rec.update(page.defaults)
        for f, v in page.view.items():
            if f in fields and fields[f] != v:
                raise dialog(f"The {f} must be {v} on page {page.caption}.")
            rec[f] = v
        if parent is not None:
            for f, pf in page.link.items():
                rec[f] = parent[pf]
        rec.update({k: v for k, v in fields.items() if k not in page.link})
        if page.table == "Purchase Header":
            rec["No"] = rec["No"] or company.next_no("PCM-" if rec["Document_Type"] == "Credit_Memo" else "PI")
            rec["Posting_Date"] = rec["Posting_Date"] or company.today()
            rec["Document_Date"] = rec["Document_Date"] or rec["Posting_Date"]
            rec["Status"] = "Open"
            # table 38 OnInsert -> InitInsert -> InitRecord: "Posting Description" := FORMAT("Document Type") + ' '
            # + "No." (NAVW111 C/AL and BC AL alike), over whatever the insert carried
            rec["Posting_Description"] = f"{rec['Document_Type'].replace('_', ' ')} {rec['No']}"
        elif page.table == "Vendor":
            company.validate_vendor_card(rec)  # the fields' OnValidate run before the table's OnInsert numbers it
            company.number_vendor(rec, given=bool(fields.get("No")))
        elif page.table == "Purchase Line" and not fields.get("Line_No"):
            # AutoSplitKey on page 55: the server numbers the line after the last one
            nos = [k[2] for k in company.t(page.table) if k[:2] == (rec["Document_Type"], rec["Document_No"])]
            rec["Line_No"] = max(nos, default=0) + 10000
        self._validate(company, page, rec, parent)
        tkey = tuple(rec[k] for k in page.key)
        if tkey in company.t(page.table) and page.table == "Vendor":
            # NavCSideDuplicateKeyException, text as in dynamics-error-codes.md (table caption, field caption)
            raise NavError(400, "Internal_EntityWithSameKeyExists", f"The Vendor already exists. Identification "
                                                                    f"fields and values: No.='{rec['No']}'")
        if tkey in company.t(page.table):
            raise NavError(400, "Internal_EntityWithSameKeyExists", f"The record in table {page.table} already exists. "
                           "Identification fields and values: " + ",".join(f"{k}='{rec[k]}'" for k in page.key))
        return company.put(page.table, tkey, rec)

    def _validate(self, company: ClassicCompany, page: Page, rec: dict[str, Any], parent: dict | None) -> None:
        if page.table == "Purchase Header":
            company.validate_header(rec)
        elif page.table == "Purchase Line":
            header = parent or company.t("Purchase Header")[(rec["Document_Type"], rec["Document_No"])]
            company.validate_purchase_line(header, rec)
        elif page.table == "Gen. Journal Line":
            company.validate_journal_line(rec)
        elif page.table == "Vendor":
            company.validate_vendor_card(rec)

    def _collection(self, company: ClassicCompany, page: Page, query: dict[str, str], parent: dict | None,
                    raw_path: str) -> dict[str, Any]:
        recs = [r for _, r in sorted(company.t(page.table).items()) if _in_view(page, r)
                and (parent is None or _linked(page, r, parent))]
        if query.get("$filter"):
            try:
                pred = compile_filter(query["$filter"], set(page.fields))
            except FilterError as exc:
                raise NavError(400, "BadRequest_NotFound", str(exc)) from None
            # the shared filter compares date literals as ISO text
            recs = [r for r in recs if pred({k: v.isoformat() if isinstance(v, date) else v for k, v in r.items()})]
        if query.get("$orderby"):
            fld, _, direction = query["$orderby"].strip().partition(" ")
            if fld not in page.fields:
                raise NavError(400, "BadRequest", f"Could not find a property named '{fld}'.")
            recs.sort(key=lambda r: (r[fld] is None, r[fld]), reverse=direction.strip().lower() == "desc")
        skip = int(query.get("$skiptoken") or 0)
        if query.get("$top"):
            recs = recs[:int(query["$top"])]
        page_size = min(self.max_page_size, int(query.get("_maxpagesize") or self.max_page_size))
        chunk = recs[skip:skip + page_size]
        out: dict[str, Any] = {"value": [self._out(page, r) for r in chunk]}
        if skip + page_size < len(recs):
            q = {k: v for k, v in query.items() if not k.startswith("_") and k != "$skiptoken"}
            q["$skiptoken"] = str(skip + page_size)
            from urllib.parse import urlencode

            out["@odata.nextLink"] = f"https://127.0.0.1:{self.server.port}{raw_path}?{urlencode(q)}"
        return out

    def _out(self, page: Page, rec: dict[str, Any]) -> dict[str, Any]:
        return {"@odata.etag": etag(rec), **{f: rec.get(f, _blank(t)) for f, t in page.fields.items()}}

    # -- codeunit actions --------------------------------------------------------------------------
    def _codeunit(self, company: ClassicCompany, method: str, name: str, body: Any, raw_path: str
                  ) -> tuple[int, Any, dict[str, str]]:
        service, _, procedure = name.partition("_")
        if method != "POST" or procedure not in self.codeunits[service]:
            raise NavError(404, "BadRequest_NotFound", f"No HTTP resource was found that matches the request URI "
                                                       f"'{raw_path}'.")
        body = body if isinstance(body, dict) else {}
        if procedure == "PostPurchaseInvoice":
            return 200, {"value": company.post_purchase_invoice(str(body.get("documentNo") or ""))}, {}
        if procedure == "PostPurchaseCreditMemo":
            return 200, {"value": company.post_purchase_credit_memo(str(body.get("documentNo") or ""))}, {}
        posted = company.post_journal(str(body.get("templateName") or ""), str(body.get("batchName") or ""),
                                      str(body.get("documentNo") or ""))
        return 200, {"value": ",".join(posted)}, {}

    # -- SOAP codeunit web services (NAV 2016-2018 publish codeunits over SOAP only) ----------------------
    def soap(self, method: str, raw_path: str, body: bytes, action: str) -> tuple[int, str]:
        """``/{instance}/WS/{Company}/Codeunit/{Service}`` (``SOAP-Web-Service-URIs.md``): GET is the WSDL,
        POST one operation named by ``SOAPAction: "urn:microsoft-dynamics-schemas/codeunit/{Service}:{Op}"``.
        Errors are SOAP faults with HTTP 500 and NAV's text in ``faultstring``."""
        import xml.etree.ElementTree as ET

        parts = [unquote(p) for p in raw_path[len(f"/{self.instance}/WS/"):].split("/")]
        if len(parts) != 3 or parts[1] != "Codeunit" or parts[2] not in self.codeunits:
            return 404, "<html><body>Not found</body></html>"
        company_name, _, service = parts
        ns = f"urn:microsoft-dynamics-schemas/codeunit/{service}"
        if method == "GET":
            ops = "".join(f'<operation name="{p}"/>' for p in self.codeunits[service])
            return 200, (f'<?xml version="1.0" encoding="utf-8"?><definitions targetNamespace="{ns}" '
                         f'xmlns="http://schemas.xmlsoap.org/wsdl/"><portType name="{service}_Port">{ops}'
                         "</portType></definitions>")
        company = self.companies.get(company_name)
        try:
            if company is None:
                raise dialog(f"Cannot open the company {company_name}.")
            op = action.strip('"').rpartition(":")[2]
            root = ET.fromstring(body)
            call = root.find(f".//{{{ns}}}{op}")
            if op not in self.codeunits[service] or call is None:
                raise dialog(f"The operation {op} is not defined on {service}.")
            args = {el.tag.split("}")[-1]: el.text or "" for el in call}
            if op == "PostPurchaseInvoice":
                result = company.post_purchase_invoice(args.get("documentNo", ""))
            elif op == "PostPurchaseCreditMemo":
                result = company.post_purchase_credit_memo(args.get("documentNo", ""))
            else:
                result = ",".join(company.post_journal(args.get("templateName", ""), args.get("batchName", ""),
                                                       args.get("documentNo", "")))
        except (NavError, ET.ParseError) as exc:
            text = exc.message if isinstance(exc, NavError) else "The request body is not a SOAP envelope."
            return 500, ('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
                         '<faultcode xmlns:a="urn:microsoft-dynamics-schemas/error">a:Microsoft.Dynamics.Nav.Types.'
                         f'Exceptions.NavNCLDialogException</faultcode><faultstring xml:lang="en-US">{escape(text)}'
                         "</faultstring></s:Fault></s:Body></s:Envelope>")
        return 200, ('<Soap:Envelope xmlns:Soap="http://schemas.xmlsoap.org/soap/envelope/"><Soap:Body>'
                     f'<{op}_Result xmlns="{ns}"><return_value>{escape(result)}</return_value></{op}_Result>'
                     "</Soap:Body></Soap:Envelope>")

    @property
    def soap_url(self) -> str:
        return f"https://127.0.0.1:{self.server.port}/{self.instance}/WS/"

    # -- $metadata -----------------------------------------------------------------------------------
    def metadata(self) -> str:
        types, sets = [], ['<EntitySet Name="Company" EntityType="NAV.Company"/>']
        types.append('<EntityType Name="Company"><Key><PropertyRef Name="Name"/></Key>'
                     '<Property Name="Name" Type="Edm.String" Nullable="false"/>'
                     '<Property Name="Id" Type="Edm.Guid"/></EntityType>')

        def entity(name: str, page: Page, nav: str = "") -> str:
            keys = "".join(f'<PropertyRef Name="{k}"/>' for k in page.key)
            def prop(f: str, t: str) -> str:
                limit = CODE_LEN.get(f) or self.text_len.get(f)
                return (f'<Property Name="{f}" Type="{t}"' + (' Nullable="false"' if f in page.key else "")
                        + (f' MaxLength="{limit}"' if limit and t == "Edm.String" else "") + "/>")
            props = "".join(prop(f, t) for f, t in page.fields.items())
            return f'<EntityType Name="{name}"><Key>{keys}</Key>{props}{nav}</EntityType>'

        for service, page_key in sorted(self.services.items()):
            page = PAGES[page_key]
            nav = ""
            for part, sub_key in page.parts.items():
                cname = service + part
                nav += f'<NavigationProperty Name="{cname}" Type="Collection(NAV.{cname})" ContainsTarget="true"/>'
                types.append(entity(cname, PAGES[sub_key]))
            types.append(entity(service, page, nav))
            sets.append(f'<EntitySet Name="{escape(service)}" EntityType="NAV.{escape(service)}"/>')
        params = {"PostPurchaseInvoice": ["documentNo"], "PostPurchaseCreditMemo": ["documentNo"],
                  "PostJournalDocument": ["templateName", "batchName", "documentNo"]}
        for service, procs in sorted(self.codeunits.items()):
            for proc in procs:
                ps = "".join(f'<Parameter Name="{p}" Type="Edm.String"/>' for p in params[proc])
                types.append(f'<Action Name="{service}_{proc}">{ps}<ReturnType Type="Edm.String"/></Action>')
                sets.append(f'<ActionImport Name="{service}_{proc}" Action="NAV.{service}_{proc}"/>')
        return ('<?xml version="1.0" encoding="utf-8"?>'
                '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>'
                '<Schema Namespace="NAV" xmlns="http://docs.oasis-open.org/odata/ns/edm">' + "".join(types)
                + '<EntityContainer Name="NAV">' + "".join(sets) + "</EntityContainer></Schema>"
                "</edmx:DataServices></edmx:Edmx>")


# -- helpers ---------------------------------------------------------------------------------------
def public(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if not k.startswith("_")}


def etag(rec: dict[str, Any]) -> str:
    # NAV's page ETags are W/"<base64 of '<n>;<timestamp>;'>" (reference §3.3)
    raw = f"'{rec['_ver']};{id(rec) % 100000};'".encode()
    return 'W/"' + base64.b64encode(raw).decode() + '"'


def _segment(seg: str, raw_path: str) -> tuple[str, dict[str, Any] | None]:
    m = _SEG.match(seg)
    if not m:
        raise NavError(404, "BadRequest_NotFound", f"No HTTP resource was found that matches the request URI "
                                                   f"'{raw_path}'.")
    if m.group("key") is None:
        return m.group("name"), None
    return m.group("name"), _parse_key(m.group("key"))


def _parse_key(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pos = 0
    while pos < len(text):
        m = _KEYPART.match(text, pos)
        if not m or m.end() == pos:
            raise NavError(400, "BadRequest", f"Bad key syntax '{text}'.")
        value = m.group("value").strip()
        if value.startswith("'"):
            parsed: Any = value[1:-1].replace("''", "'")
        elif re.fullmatch(r"-?\d+", value):
            parsed = int(value)
        else:
            parsed = value.lower()  # GUIDs
        out[m.group("name") or ""] = parsed
        pos = m.end()
    return out


def _in_view(page: Page, rec: dict[str, Any]) -> bool:
    return all(rec.get(f) == v for f, v in page.view.items())


def _linked(page: Page, rec: dict[str, Any], parent: dict[str, Any]) -> bool:
    return all(rec.get(f) == parent.get(pf) for f, pf in page.link.items())


def _blank(edm: str) -> Any:
    return {"Edm.Decimal": Decimal("0"), "Edm.Int32": 0, "Edm.Boolean": False, "Edm.Date": None}.get(edm, "")


def _convert(edm: str, name: str, value: Any) -> Any:
    try:
        if edm == "Edm.Decimal":
            if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
                raise ValueError
            return Decimal(str(value))
        if edm == "Edm.Int32":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError
            return value
        if edm == "Edm.Date":
            return None if value in (None, "", "0001-01-01") else date.fromisoformat(str(value))
        if edm == "Edm.Boolean":
            if not isinstance(value, bool):
                raise ValueError
            return value
        return "" if value is None else str(value)
    except (ValueError, InvalidOperation):
        raise NavError(400, "BadRequest", f"Cannot convert the literal '{value}' to the expected type '{edm}' "
                                          f"of property '{name}'.") from None


def _correlated(message: str) -> str:
    return f"{message}  CorrelationId:  {uuid.uuid4()}."


class _Handler(JsonHandler):
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        self.ntlm_state = NtlmConnectionState()
        self._final_token: str | None = None  # RFC 4559: the acceptor's last token, on the successful answer

    def end_headers(self) -> None:
        if self._final_token is not None:
            self.send_header("WWW-Authenticate", self._final_token)
            self._final_token = None
        super().end_headers()

    @property
    def sandbox(self) -> ClassicNavSandbox:
        return self.server.state

    def handle_request(self) -> None:
        sb = self.sandbox
        self.body_bytes()  # always read the body: keep-alive NTLM retries send it again on this connection
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        prefer = self.headers.get("Prefer") or ""
        m = re.search(r"odata\.maxpagesize=(\d+)", prefer)
        if m:
            query["_maxpagesize"] = m.group(1)
        if sb.latency:
            import time

            time.sleep(sb.latency)
        if not self._authenticated():
            return
        with sb._lock:
            sb.requests.append((self.command, parts.path))
        if parts.path.startswith(f"/{sb.instance}/WS/"):
            status, xml = sb.soap(self.command, parts.path, self.body_bytes(), self.headers.get("SOAPAction") or "")
            if sb._take_drop(self.command, parts.path):
                self.drop_connection()
                return
            self.send_text(status, xml, content_type="text/xml; charset=utf-8")
            return
        try:
            body = jsonutil.loads(self.body_bytes()) if self.body_bytes() else None
        except ValueError:
            self.send_json(400, {"error": {"code": "BadRequest", "message": _correlated("Invalid Request Body")}})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, payload, extra = sb.handle(self.command, parts.path, query, body, headers)
        except NavError as exc:
            if sb._take_drop(self.command, parts.path):
                self.drop_connection()
                return
            self.send_json(exc.status, {"error": {"code": exc.code, "message": _correlated(exc.message)}},
                           content_type=JSON_CT)
            return
        if sb._take_drop(self.command, parts.path):
            self.drop_connection()
            return
        if isinstance(payload, str):
            self.send_text(status, payload, content_type=extra.get("Content-Type", "text/plain"))
        elif payload is None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_json(status, payload, content_type=JSON_CT)

    # -- sign-in -----------------------------------------------------------------------------------
    def _authenticated(self) -> bool:
        sb = self.sandbox
        header = self.headers.get("Authorization")
        if sb.auth == "basic":
            scheme, _, value = (header or "").partition(" ")
            try:
                user, _, key = base64.b64decode(value).decode().partition(":") if scheme == "Basic" else ("", "", "")
            except ValueError:
                user, key = "", ""
            if user == sb.user and secrets.compare_digest(key, sb.web_service_key):
                return True
            self._unauthorized({"WWW-Authenticate": 'Basic realm=""'})
            return False
        if self.ntlm_state.user and not header:
            return True  # connection-based authentication (HTTP.sys default)
        token = parse_authorization(header)
        if token is None:
            self._unauthorized(None, offer=True)
            return False
        scheme, raw = token
        try:
            answer, done = sb.ntlm.step(self.ntlm_state, raw)
        except ValueError as exc:
            log.info("NTLM refused: %s", exc)
            self._log_ntlm()
            self.ntlm_state = NtlmConnectionState()
            self._unauthorized(None, offer=True)
            return False
        if done:
            self._log_ntlm()
            if answer:
                self._final_token = f"{scheme} {base64.b64encode(answer).decode()}"
            return True
        assert answer is not None
        self._unauthorized({"WWW-Authenticate": f"{scheme} {base64.b64encode(answer).decode()}"})
        return False

    def _log_ntlm(self) -> None:
        with self.sandbox._lock:
            self.sandbox.ntlm_log.append(list(self.ntlm_state.messages))

    def _unauthorized(self, headers: dict[str, str] | None, *, offer: bool = False) -> None:
        body = jsonutil.dumps({"error": {"code": "Authentication_InvalidCredentials",
                                         "message": _correlated("The server has rejected the client credentials.")}}
                              ).encode()
        self.send_response(401)
        self.send_header("Content-Type", JSON_CT)
        self.send_header("Content-Length", str(len(body)))
        if offer:
            for scheme in self.sandbox.offer:
                self.send_header("WWW-Authenticate", scheme)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
