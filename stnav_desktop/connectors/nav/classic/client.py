"""``ClassicClient``: JSON over HTTPS to ODataV4 page web services of one NAV company.

URL shapes (reference §1.4, §5.2, ``publish-web-service.md``): ``{odata}/Company('{name}')/{Service}`` (the name
is case-sensitive; quotes doubled, then percent-encoded), ``{odata}/Company(Id={guid})/…``, records by their
table primary key ``{Service}(Document_Type='Invoice',No='…')``, parts as containments
``{Service}({key})/{Service}{Part}``, unbound codeunit actions ``POST {odata}/{Codeunit}_{Procedure}?company=…``
(BC15+). Error bodies, ETags and If-Match are those of the API (§3.3, §3.4), so ``nav.errors.parse_error``
reads them. Everything goes through ``connectors.http.HttpClient`` (timeouts, retries, redaction).

Sign-in (§1.3): Basic with the user name and web service access key (NavUserPassword); NTLM/Negotiate with a
Windows account whose password is in the keychain (requests-ntlm); or the logged-on Windows user through SSPI
(requests-negotiate-sspi, Windows only, nothing stored).
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from stnav_desktop.connectors.http import CallCounter, HttpClient, HttpSettings, RetryPolicy
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.auth import basic_auth
from stnav_desktop.connectors.nav.base import ODataClient
from stnav_desktop.connectors.nav.classic.config import ClassicConfig
from stnav_desktop.connectors.nav.errors import ConflictError, NavAuthError, parse_error
from stnav_desktop.redact import register_secret

log = logging.getLogger(__name__)

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def windows_session_auth(config: ClassicConfig, secret: str | None) -> requests.auth.AuthBase:
    """NTLM with ``DOMAIN\\user`` + password, or SSPI as the logged-on user (no password anywhere)."""
    if config.auth == "sspi":
        try:
            from requests_negotiate_sspi import HttpNegotiateAuth  # type: ignore[import-not-found]
        except ImportError:
            raise NavAuthError("Signing in as the logged-on Windows user works only on Windows. On this PC choose "
                               "a Windows account with its password, or Basic sign-in with a web service access "
                               "key.") from None
        return HttpNegotiateAuth()
    from requests_ntlm import HttpNtlmAuth

    if not config.user or "\\" not in config.user and "@" not in config.user:
        raise NavAuthError(f"Windows sign-in needs the account as DOMAIN\\user (or user@domain), not "
                           f"{config.user or 'an empty name'!r}.")
    if not secret:
        raise NavAuthError(f"No password is stored for the Windows account {config.user}.")
    return HttpNtlmAuth(config.user, secret)


def key_literal(value: Any) -> str:
    """A key value in a URL: strings quoted with quotes doubled, then percent-encoded (a ``/`` or ``#`` in a
    document number can never change the path); integers bare."""
    if isinstance(value, bool):
        raise TypeError("no boolean keys")
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if any(ord(ch) < 32 for ch in text):
        raise ValueError("control characters are not allowed in a key")
    return quote("'" + text.replace("'", "''") + "'", safe="'")


def record_key(**parts: Any) -> str:
    return "(" + ",".join(f"{k}={key_literal(v)}" for k, v in parts.items()) + ")"


@dataclass
class Metadata:
    """What ``$metadata`` says the server publishes."""

    entity_sets: dict[str, str] = field(default_factory=dict)  # set name -> entity type name
    properties: dict[str, set[str]] = field(default_factory=dict)  # entity type -> property names
    containments: dict[str, set[str]] = field(default_factory=dict)  # entity type -> containment names
    actions: set[str] = field(default_factory=set)  # action imports (unbound codeunit procedures)
    max_lengths: dict[str, dict[str, int]] = field(default_factory=dict)  # entity type -> property -> MaxLength

    @classmethod
    def parse(cls, xml: bytes) -> Metadata:
        md = cls()
        root = ET.fromstring(xml)
        for et in root.iter(f"{EDM}EntityType"):
            name = et.get("Name") or ""
            md.properties[name] = {p.get("Name") or "" for p in et.findall(f"{EDM}Property")}
            md.max_lengths[name] = {p.get("Name") or "": int(p.get("MaxLength") or 0)
                                    for p in et.findall(f"{EDM}Property") if (p.get("MaxLength") or "").isdigit()}
            md.containments[name] = {n.get("Name") or "" for n in et.findall(f"{EDM}NavigationProperty")
                                     if n.get("ContainsTarget") == "true"}
        for es in root.iter(f"{EDM}EntitySet"):
            md.entity_sets[es.get("Name") or ""] = (es.get("EntityType") or "").split(".")[-1]
        for ai in root.iter(f"{EDM}ActionImport"):
            md.actions.add(ai.get("Name") or "")
        return md

    def fields_of(self, entity_set: str) -> set[str]:
        return self.properties.get(self.entity_sets.get(entity_set, ""), set())

    def containments_of(self, entity_set: str) -> set[str]:
        return self.containments.get(self.entity_sets.get(entity_set, ""), set())


class ClassicClient(ODataClient):
    def __init__(self, config: ClassicConfig, secret: str | None, *, counter: CallCounter | None = None,
                 retry: RetryPolicy | None = None) -> None:
        self.config = config
        register_secret(secret)
        auth_hook = None
        session_auth = None
        if config.auth == "basic":
            if not secret:
                raise NavAuthError("No web service access key is stored for this NAV connection.")
            auth_hook = basic_auth(config.user, secret)
        else:
            session_auth = windows_session_auth(config, secret)
        settings = HttpSettings(timeout=config.timeout, ca_bundle=config.ca_bundle, retry=retry or RetryPolicy())
        self.http = HttpClient(config.base_url, settings=settings, auth=auth_hook, error_parser=parse_error,
                               counter=counter,
                               default_headers={"Accept": "application/json", "Accept-Language": "en-US"})
        if session_auth is not None:
            self.http.session.auth = session_auth
        self._company_name: str | None = None if config.company_is_id else config.company

    # -- paths ---------------------------------------------------------------------------------
    @property
    def company_path(self) -> str:
        if self.config.company_is_id:
            return f"Company(Id={odata.guid_key(self.config.company)})/"
        return f"Company({key_literal(self.config.company)})/"

    def cpath(self, rest: str) -> str:
        return self.company_path + rest.lstrip("/")

    def service_path(self, role: str, key: str = "") -> str:
        return self.cpath(quote(self.config.service(role), safe="") + key)

    def company_name(self) -> str:
        """The company's name (unbound actions take it as a parameter); read once when set by id."""
        if self._company_name is None:
            rec = self.get(self.company_path.rstrip("/"))
            self._company_name = str(rec["Name"])
        return self._company_name

    # -- verbs (get, iter, delete: ODataClient) ---------------------------------------------------
    def post(self, path: str, body: Any) -> Any:
        return self._send("POST", path, body)

    def patch(self, path: str, changes: Mapping[str, Any], etag: str) -> Any:
        """PATCH with If-Match; a stale ETag (409/412) re-reads and sends the same changes once more."""
        try:
            return self._send("PATCH", path, dict(changes), {"If-Match": etag})
        except ConflictError:
            fresh = self.get(path)
            return self._send("PATCH", path, dict(changes), {"If-Match": fresh["@odata.etag"]})

    def action(self, codeunit: str, procedure: str, params: Mapping[str, Any]) -> Any:
        """An unbound codeunit procedure published as an OData action (BC15+): ``{Codeunit}_{Procedure}``."""
        name = quote(f"{codeunit}_{procedure}", safe="")
        return self._send("POST", name, dict(params), params={"company": self.company_name()})

    def soap_url(self, codeunit: str) -> str:
        """``{ws}/{Company}/Codeunit/{Service}`` (``SOAP-Web-Service-URIs.md``: the company name percent-encoded
        in the path, no quotes)."""
        base = self.config.posting_soap_url.rstrip("/") + "/"
        return f"{base}{quote(self.company_name(), safe='')}/Codeunit/{quote(codeunit, safe='')}"

    def soap_action(self, codeunit: str, procedure: str, params: Mapping[str, Any]) -> str:
        """Call a codeunit procedure published as a SOAP web service (NAV 2016-2018 have no unbound OData
        actions, §5.1); returns its ``return_value`` text. A SOAP fault becomes a ``NavError`` with NAV's text."""
        from xml.sax.saxutils import escape

        ns = f"urn:microsoft-dynamics-schemas/codeunit/{codeunit}"
        args = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in params.items())
        envelope = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/'
                    f'soap/envelope/"><soap:Body><{procedure} xmlns="{ns}">{args}</{procedure}></soap:Body>'
                    "</soap:Envelope>")
        resp = self.http.request("POST", self.soap_url(codeunit), data=envelope.encode("utf-8"),
                                 headers={"Content-Type": "text/xml; charset=utf-8", "Accept": "text/xml",
                                          "SOAPAction": f'"{ns}:{procedure}"'},
                                 expected=(200, 201, 202, 204, 500))
        try:
            root = ET.fromstring(resp.content)
        except ET.ParseError:
            from stnav_desktop.connectors.nav.errors import NavError

            raise NavError(f"The SOAP web service answered HTTP {resp.status_code} without a SOAP envelope; is "
                           f"{self.config.posting_soap_url} the server's SOAP URL (…:7047/INSTANCE/WS/)?",
                           status=resp.status_code) from None
        fault = root.find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
        if fault is not None or resp.status_code == 500:
            from stnav_desktop.connectors.nav.errors import NavError, friendly

            text = (fault.findtext("faultstring") if fault is not None else "") or f"HTTP {resp.status_code}"
            message, cls = friendly(text)
            raise cls(message, nav_message=text, status=resp.status_code, code="SOAP_Fault")
        value = root.find(f".//{{{ns}}}return_value")
        return "" if value is None else (value.text or "")

    # -- discovery -------------------------------------------------------------------------------
    def companies(self) -> list[dict[str, Any]]:
        """The server's companies shaped like ``NavClient.companies()`` (``id``, ``name``, ``displayName``); NAV
        2016/2017 have no ``Id`` on the Company entity (then ``id`` is empty: address the company by name)."""
        return [{"id": str(c.get("Id") or ""), "name": str(c.get("Name") or ""),
                 "displayName": str(c.get("Display_Name") or c.get("Name") or "")} for c in self.iter("Company")]

    def metadata(self) -> Metadata:
        resp = self.http.request("GET", "$metadata", headers={"Accept": "application/xml"})
        try:
            return Metadata.parse(resp.content)
        except ET.ParseError:
            from stnav_desktop.connectors.nav.errors import NavError

            raise NavError("The server's $metadata is not valid XML; is this an ODataV4 URL "
                           "(…:7048/INSTANCE/ODataV4/)?") from None
