"""Classic NAV 2016-2018 / Business Central on-premises through ODataV4 page web services (reference
``businesscentral-api.md`` §5): the ``NavBooks`` back end for servers without API v2.0."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stnav_desktop.connectors.http import CallCounter, RetryPolicy
from stnav_desktop.connectors.nav.classic.books import ClassicBooks
from stnav_desktop.connectors.nav.classic.checks import classic_connection_checks
from stnav_desktop.connectors.nav.classic.client import ClassicClient, Metadata
from stnav_desktop.connectors.nav.classic.config import PAGES, ClassicConfig, parse_shortcut_dimensions
from stnav_desktop.connectors.nav.classic.refdata import ClassicRefData
from stnav_desktop.connectors.nav.classic.vendors import ClassicVendors

# which keychain field holds the secret for each sign-in mode (None: nothing stored, SSPI)
SECRET_FIELD = {"basic": "nav.web_service_key", "ntlm": "nav.windows_password", "sspi": None}


def classic_config(values: Mapping[str, Any]) -> ClassicConfig:
    """A ``ClassicConfig`` from profile setting values (``store.settings.all_values(profile)``)."""
    auth = str(values.get("nav.auth") or "basic")
    if auth not in ("basic", "windows"):
        raise ValueError(f"classic NAV signs in with nav.auth = basic (user + web service access key) or windows, "
                         f"not {auth!r} (Microsoft Entra sign-in is for Business Central's API)")
    if auth == "windows":
        auth = "ntlm" if values.get("nav.user") else "sspi"
    services = {role: str(values.get(f"nav.classic_service_{role}") or "") for role in PAGES}
    return ClassicConfig(
        odata_url=str(values.get("nav.classic_odata_url") or ""),
        company=str(values.get("nav.classic_company") or ""),
        auth=auth, user=str(values.get("nav.user") or ""),
        services={k: v for k, v in services.items() if v},
        posting_codeunit=str(values.get("nav.classic_posting_codeunit") or ""),
        posting_soap_url=str(values.get("nav.classic_posting_soap_url") or ""),
        vendor_posting_group=str(values.get("nav.classic_vendor_posting_group") or ""),
        gen_bus_posting_group=str(values.get("nav.classic_gen_bus_posting_group") or ""),
        journal_template=str(values.get("nav.classic_journal_template") or "GENERAL"),
        journal_batch=str(values.get("posting.journal_batch") or "STNAV"),
        shortcut_dimensions=parse_shortcut_dimensions(str(values.get("nav.classic_shortcut_dimensions") or "")),
        ca_bundle=str(values.get("nav.ca_bundle") or "") or None)


def build_classic_books(values: Mapping[str, Any], secret: str | None, *, counter: CallCounter | None = None,
                        retry: RetryPolicy | None = None) -> ClassicBooks:
    """The ``NavBooks`` for a profile whose ``nav.deployment`` is ``classic``. ``secret`` is the keychain
    value named by ``SECRET_FIELD[classic_config(values).auth]`` (None for SSPI)."""
    return ClassicBooks(ClassicClient(classic_config(values), secret, counter=counter, retry=retry))


__all__ = ["PAGES", "SECRET_FIELD", "ClassicBooks", "ClassicClient", "ClassicConfig", "ClassicRefData", "ClassicVendors",
           "Metadata", "build_classic_books", "classic_config", "classic_connection_checks", "parse_shortcut_dimensions"]
