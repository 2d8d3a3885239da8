"""Business Central error bodies -> clerk-readable exceptions that keep BC's code and correlation id.

BC's body is ``{"error": {"code": "Application_DialogException", "message": "...  CorrelationId:  <guid>."}}``.
``str(exc)`` is the plain-language message; ``exc.nav_message`` BC's own text; ``exc.code`` and
``exc.correlation_id`` go to the audit log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import requests

from stnav_desktop.connectors.http import AuthError, ConnectorError, HttpError
from stnav_desktop.redact import redact

_CORR_RE = re.compile(r"\s*CorrelationId:\s*([0-9a-fA-F-]{36})\.?\s*$")


class NavError(HttpError):
    """BC answered with an error. ``nav_message`` is BC's text without the correlation suffix."""

    def __init__(self, message: str, *, nav_message: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.nav_message = redact(nav_message)


class NavAuthError(AuthError):
    """Token or credentials refused (wrong secret, app not registered in BC, expired key)."""


class ConflictError(NavError):
    """Another user changed the record since we read it (stale ETag) and a retry did not settle it."""


class DuplicateDocumentError(NavError):
    """BC refused to post: the vendor invoice (or credit memo) number is already posted for this vendor."""


class DimensionCheckError(NavError):
    """A document's dimensions in NAV are not what was asked and could not be set right; the draft we created was
    deleted (so a retry's find-before-create cannot find and post it) and nothing was posted."""


class SpecError(ConnectorError):
    """The document we were asked to send is invalid before it reaches BC (checked locally)."""


class UnsupportedServerError(ConnectorError):
    """The server does not offer what we need (e.g. NAV 2018 ``api/beta``)."""


# (pattern on BC's message, clerk message template, exception class)
_FRIENDLY: list[tuple[re.Pattern[str], str, type[NavError]]] = [
    (re.compile(r"You cannot (?:create|post) this type of document when Vendor (?P<v>\S+) is blocked with type "
                r"(?P<t>\w+)"), "Vendor {v} is blocked in NAV (blocked: {t}); unblock it or choose another vendor.",
     NavError),
    (re.compile(r"Dimension Value (?P<d>\S+) - (?P<v>\S+) is blocked"),
     "Dimension value {v} of dimension {d} is blocked in NAV.", NavError),
    (re.compile(r"Blocked must be equal to 'No'\s+in G/L Account: No\.=(?P<a>[^.\s]+)"),
     "G/L account {a} is blocked in NAV.", NavError),
    (re.compile(r"Direct Posting must be equal to 'Yes'\s+in G/L Account: No\.=(?P<a>[^.\s]+)"),
     "G/L account {a} does not allow direct posting in NAV; use a posting account.", NavError),
    (re.compile(r"Blocked must be equal to 'No'\s+in Item: No\.=(?P<i>[^.\s]+)"), "Item {i} is blocked in NAV.",
     NavError),
    (re.compile(r"Purchase Invoice (?P<n>.+) already exists for this vendor"),
     "Vendor invoice {n} is already posted for this vendor in NAV.", DuplicateDocumentError),
    (re.compile(r"Purchase Credit Memo (?P<n>.+) already exists for this vendor"),
     "Vendor credit memo {n} is already posted for this vendor in NAV.", DuplicateDocumentError),
    (re.compile(r"Vendor Cr\. Memo No\. must have a value"),
     "NAV requires the vendor's credit memo number before posting (Ext. Doc. No. Mandatory).", NavError),
    (re.compile(r"There is no Vendor Ledger Entry within the filter\..*Document No\.: (?P<n>[^,]+), Document Type: "
                r"Invoice, Vendor No\.: (?P<v>[^,]+)"),
     "Invoice {n} to be corrected is not an open posted invoice of vendor {v} in NAV (already fully credited or "
     "paid, or another vendor's invoice).", NavError),
    (re.compile(r'The "invoiceId" does not match to an Invoice'),
     "The invoice to be corrected is not a posted invoice in NAV.", NavError),
    (re.compile(r"The action can be applied to a draft credit memo only"),
     "This credit memo is already posted in NAV.", NavError),
    (re.compile(r"Posting Date is not within your range of allowed posting dates"),
     "The posting date is outside the posting period NAV allows (General Ledger Setup / User Setup).", NavError),
    (re.compile(r"Document No\. (?P<d>\S+) is out of balance by (?P<a>\S+)"),
     "Journal document {d} does not balance (difference {a}).", NavError),
    (re.compile(r"The (?:buy-from )?vendor cannot be found"), "The vendor does not exist in NAV.", NavError),
    (re.compile(r"The Item does not exist\. Identification fields and values: No\.='(?P<i>[^']*)'"),
     "Item {i} does not exist in NAV.", NavError),
    (re.compile(r"The G/L Account does not exist\. Identification fields and values: No\.='(?P<a>[^']*)'"),
     "G/L account {a} does not exist in NAV.", NavError),
    (re.compile(r'The "(?:balancingA|a)ccount(?:Number|Id)" does not match to an Account'),
     "A G/L account on the journal line does not exist in NAV.", NavError),
    (re.compile(r"Another user has already changed the record"),
     "Someone changed this record in NAV since it was read; it was re-read.", ConflictError),
    (re.compile(r"There is nothing to post"), "There is nothing to post in NAV.", NavError),
    (re.compile(r"Vendor Posting Group must have a value"),
     "The vendor has no Vendor Posting Group in NAV (set it on the vendor card, or give the company a vendor "
     "template for new vendors), so NAV cannot post its documents.", NavError),
]


def split_correlation(message: str) -> tuple[str, str | None]:
    m = _CORR_RE.search(message or "")
    if not m:
        return (message or "").strip(), None
    return message[:m.start()].strip(), m.group(1)


def friendly(nav_message: str, context: Mapping[str, Any] | None = None) -> tuple[str, type[NavError]]:
    for pattern, template, cls in _FRIENDLY:
        m = pattern.search(nav_message)
        if m:
            return template.format(**m.groupdict()), cls
    if context and "does not match to a Dimension" in nav_message:
        unknown = context.get("unknown_dimension_values") or []
        if unknown:
            return "; ".join(f"Dimension value {v} does not exist for dimension {d}" for d, v in unknown) + ".", NavError
    if context and nav_message in ("Item does not exist.", "Account does not exist."):
        key, word = ("unknown_items", "Item") if nav_message.startswith("Item") else ("unknown_accounts", "G/L account")
        unknown = context.get(key) or []
        if unknown:
            return "; ".join(f"{word} {n} does not exist in NAV" for n in unknown) + ".", NavError
    return nav_message, NavError


def error_from_parts(status: int, body: Any, headers: Mapping[str, str] | None,
                     context: Mapping[str, Any] | None = None, what: str | None = None) -> ConnectorError:
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    code = None
    raw = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        raw = str(body["error"].get("message") or "")
    elif isinstance(body, dict) and body.get("error_description"):
        code = str(body.get("error"))
        raw = str(body["error_description"]).split("\r\n")[0]
    elif isinstance(body, str):
        raw = body[:300]
    nav_message, corr = split_correlation(raw)
    corr = headers.get("ms-correlation-x") or headers.get("x-ms-correlation-id") or headers.get("request-id") or corr
    if status == 401 or (code or "").startswith("Authentication_"):
        return NavAuthError(f"NAV refused the credentials (HTTP {status}): {nav_message or 'unauthorized'}. Check the "
                            "client secret / web service access key and that the app is registered in NAV.",
                            status=status, code=code, correlation_id=corr, details=body)
    if status == 403 or (code or "").startswith("Authorization_"):
        return NavAuthError(f"NAV denied permission (HTTP {status}): {nav_message}", status=status, code=code,
                            correlation_id=corr, details=body)
    text, cls = friendly(nav_message, context)
    if status in (409, 412) or code == "Request_EntityChanged":
        cls = ConflictError
    if not text:
        text = f"NAV answered HTTP {status}"
    prefix = f"{what}: " if what else ""
    exc = cls(prefix + text, nav_message=nav_message, status=status, code=code, correlation_id=corr, details=body,
              retryable=status in (429, 500, 502, 503, 504))
    return exc


def parse_error(resp: requests.Response) -> ConnectorError:
    """``HttpClient.error_parser`` for BC."""
    try:
        body: Any = json.loads(resp.content, parse_float=Decimal) if resp.content else None
    except ValueError:
        body = resp.text[:300] if resp.text else resp.reason
    return error_from_parts(resp.status_code, body, resp.headers)
