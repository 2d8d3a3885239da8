"""Windows sign-in (NTLM handshake against the sandbox), company by name, and the $metadata connection check."""

from __future__ import annotations

import sys

import pytest
import requests

from stnav_desktop.connectors.nav.classic import (
    ClassicBooks,
    ClassicClient,
    ClassicConfig,
    build_classic_books,
    classic_config,
    classic_connection_checks,
)
from stnav_desktop.connectors.nav.errors import NavAuthError
from stnav_desktop.sandbox.navclassic import ClassicNavSandbox

from .conftest import FAST_RETRY, basic_config


@pytest.fixture
def windows_nav(tls_dir, clock):
    with ClassicNavSandbox(tls_dir, clock=clock, auth="windows") as sb:
        yield sb


def ntlm_config(sb: ClassicNavSandbox) -> ClassicConfig:
    return ClassicConfig(odata_url=sb.odata_url, company=sb.company.name, auth="ntlm", user=sb.windows_account,
                         ca_bundle=str(sb.ca_pem))


def test_ntlm_challenge_then_handshake(windows_nav):
    bare = requests.get(windows_nav.odata_url + "Company", verify=str(windows_nav.ca_pem), timeout=10)
    assert bare.status_code == 401
    assert "Negotiate" in bare.headers["WWW-Authenticate"] and "NTLM" in bare.headers["WWW-Authenticate"]

    books = ClassicBooks(ClassicClient(ntlm_config(windows_nav), windows_nav.windows_password, retry=FAST_RETRY))
    vendors = books.vendors()
    assert "V10000" in {v["No"] for v in vendors}
    assert windows_nav.ntlm_log and windows_nav.ntlm_log[0] == ["negotiate", "challenge", "authenticate"]


def test_ntlm_wrong_password_is_refused(windows_nav):
    books = ClassicBooks(ClassicClient(ntlm_config(windows_nav), "not-the-password", retry=FAST_RETRY))
    with pytest.raises(NavAuthError) as info:
        books.vendors()
    assert info.value.status == 401 and "not-the-password" not in str(info.value)


def test_ntlm_needs_a_domain_account_and_a_password(windows_nav):
    with pytest.raises(NavAuthError, match="DOMAIN"):
        ClassicClient(ClassicConfig(odata_url=windows_nav.odata_url, company="X", auth="ntlm", user="svc"), "pw")
    with pytest.raises(NavAuthError, match="No password"):
        ClassicClient(ntlm_config(windows_nav), None)


@pytest.mark.skipif(sys.platform == "win32", reason="SSPI is available on Windows (covered by the Windows workflow)")
def test_sspi_off_windows_says_what_to_choose(windows_nav):
    cfg = ClassicConfig(odata_url=windows_nav.odata_url, company="X", auth="sspi")
    with pytest.raises(NavAuthError, match="only on Windows"):
        ClassicClient(cfg, None)


def test_checks_pass_on_a_complete_server(nav):
    checks = classic_connection_checks(ClassicClient(basic_config(nav), nav.web_service_key, retry=FAST_RETRY))
    assert all(c.ok for c in checks), [c.message for c in checks if not c.ok]


def test_check_names_the_page_to_publish_for_a_missing_service(nav):
    nav.unpublish("GeneralLedgerEntries")
    client = ClassicClient(basic_config(nav, services={"purchase_invoice": "PurchInv"}), nav.web_service_key,
                           retry=FAST_RETRY)
    bad = {c.name: c.message for c in classic_connection_checks(client) if not c.ok}
    assert set(bad) == {"service GeneralLedgerEntries", "service PurchInv"}
    assert "Object ID 20 (General Ledger Entries), Service Name GeneralLedgerEntries" in bad["service GeneralLedgerEntries"]
    assert "Object ID 51 (Purchase Invoice), Service Name PurchInv" in bad["service PurchInv"]
    assert "PurchaseInvoice" in bad["service PurchInv"]  # what IS published is listed


def test_company_name_is_case_sensitive(nav):
    client = ClassicClient(ClassicConfig(odata_url=nav.odata_url, company="cronus usa, inc.", user=nav.user,
                                         ca_bundle=str(nav.ca_pem)), nav.web_service_key, retry=FAST_RETRY)
    [*_, company] = classic_connection_checks(client)
    assert not company.ok and "did you mean 'CRONUS USA, Inc.'" in company.message


def test_company_by_id(nav):
    books = ClassicBooks(ClassicClient(ClassicConfig(odata_url=nav.odata_url, company=nav.company.id, user=nav.user,
                                                     ca_bundle=str(nav.ca_pem)), nav.web_service_key, retry=FAST_RETRY))
    assert books.accounts() and books.client.company_name() == "CRONUS USA, Inc."
    # the company picker gets the same shape as from the API client
    assert books.client.companies() == [{"id": nav.company.id, "name": "CRONUS USA, Inc.",
                                         "displayName": "CRONUS USA, Inc."}]


def test_build_from_profile_settings(windows_nav):
    values = {"nav.deployment": "classic", "nav.classic_odata_url": windows_nav.odata_url,
              "nav.classic_company": windows_nav.company.name, "nav.auth": "windows",
              "nav.user": windows_nav.windows_account, "nav.ca_bundle": str(windows_nav.ca_pem),
              "nav.classic_shortcut_dimensions": "territory=2", "nav.classic_service_vendors": ""}
    assert classic_config(values).auth == "ntlm"
    assert classic_config({**values, "nav.user": ""}).auth == "sspi"
    books = build_classic_books(values, windows_nav.windows_password, retry=FAST_RETRY)
    assert books.config.shortcut_dimensions == {"TERRITORY": 2} and books.vendors()


def test_profile_settings_and_keychain_build_the_books(windows_nav, tmp_path):
    """What the wiring does: settings from the store, the Windows password from the keychain field the
    sign-in mode names, ``build_classic_books``."""
    from stnav_desktop import credentials
    from stnav_desktop.connectors.nav.classic import SECRET_FIELD
    from stnav_desktop.store import settings
    from stnav_desktop.store.db import close_db, open_db

    open_db(tmp_path / "stnav.db")
    try:
        for key, value in {"nav.deployment": "classic", "nav.classic_odata_url": windows_nav.odata_url,
                           "nav.classic_company": windows_nav.company.name, "nav.auth": "windows",
                           "nav.user": windows_nav.windows_account, "nav.ca_bundle": str(windows_nav.ca_pem),
                           "nav.classic_service_gl_entries": "GLEntries"}.items():
            settings.set_value("default", key, value)
        with pytest.raises(settings.SettingError):
            settings.set_value("default", "nav.classic_odata_url", "http://nav:7048/NAV/ODataV4/")
        values = settings.all_values("default")
        field = SECRET_FIELD[classic_config(values).auth]
        assert field == "nav.windows_password"
        credentials.set_secret("default", field, windows_nav.windows_password)
        books = build_classic_books(values, credentials.get_secret("default", field), retry=FAST_RETRY)
        assert books.config.service("gl_entries") == "GLEntries"
        assert books.config.service("purchase_invoice") == "PurchaseInvoice"
        assert books.vendors()
    finally:
        close_db()


def test_invoice_written_over_ntlm(windows_nav):
    """Writes replay their body through the NTLM handshake on the same connection."""
    from datetime import date
    from decimal import Decimal

    from stnav_desktop.connectors.nav.books import NavDocument
    from stnav_desktop.connectors.nav.purchase_invoices import InvoiceLineSpec, PurchaseInvoiceSpec

    books = ClassicBooks(ClassicClient(ntlm_config(windows_nav), windows_nav.windows_password, retry=FAST_RETRY))
    spec = PurchaseInvoiceSpec("V10000", "NTLM-1", date(2026, 11, 2), date(2026, 11, 2),
                               [InvoiceLineSpec("Account", "6110", Decimal("2"), Decimal("9.99"))],
                               dimensions={"TERRITORY": "WEST"})
    [doc] = books.create_invoices([spec], post=False)
    assert isinstance(doc, NavDocument) and doc.amount == Decimal("19.98")
    assert len(windows_nav.rows("Purchase Line")) == 1


def test_oauth_is_not_a_classic_sign_in():
    with pytest.raises(ValueError, match="basic .* or windows"):
        classic_config({"nav.auth": "oauth", "nav.classic_odata_url": "https://x/NAV/ODataV4/",
                        "nav.classic_company": "C"})


def test_negotiate_only_server(tls_dir, clock):
    """A server that offers only Negotiate: the NTLM tokens travel under that scheme."""
    with ClassicNavSandbox(tls_dir, clock=clock, auth="windows", offer=("Negotiate",)) as sb:
        bare = requests.get(sb.odata_url + "Company", verify=str(sb.ca_pem), timeout=10)
        assert bare.headers["WWW-Authenticate"] == "Negotiate"
        books = ClassicBooks(ClassicClient(ntlm_config(sb), sb.windows_password, retry=FAST_RETRY))
        assert books.vendors() and sb.ntlm_log[0] == ["negotiate", "challenge", "authenticate"]
