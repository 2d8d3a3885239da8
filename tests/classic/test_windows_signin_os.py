"""Windows sign-in with the server side done by the operating system (``windows_acceptor="os"``).

On Windows (the ``windows_sspi`` test, run by ``.github/workflows/windows-build.yml``) the sandbox accepts the
handshake through SSPI, which validates the account the runner is logged on as, and the app signs in with
"Windows sign-in, this user" (``nav.user`` empty: SSPI, no password stored anywhere). Elsewhere the same
acceptor code runs on pyspnego's Python NTLM acceptor with its ``NTLM_USER_FILE`` account file.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from decimal import Decimal

import pytest

from stnav_desktop.connectors.nav.books import NavDocument
from stnav_desktop.connectors.nav.classic import (
    SECRET_FIELD,
    ClassicBooks,
    ClassicClient,
    ClassicConfig,
    ClassicRefData,
    build_classic_books,
    classic_config,
    classic_connection_checks,
)
from stnav_desktop.connectors.nav.errors import NavAuthError
from stnav_desktop.connectors.nav.purchase_invoices import InvoiceLineSpec, PurchaseInvoiceSpec
from stnav_desktop.sandbox.navclassic import ClassicNavSandbox

from .conftest import FAST_RETRY


def _invoice(number: str) -> PurchaseInvoiceSpec:
    return PurchaseInvoiceSpec("V10000", number, date(2026, 11, 2), date(2026, 11, 2),
                               [InvoiceLineSpec("Account", "6110", Decimal("3"), Decimal("12.50"))],
                               dimensions={"TERRITORY": "WEST"})


@pytest.fixture
def ntlm_user_file(tmp_path, monkeypatch):
    """pyspnego's Python acceptor reads its accounts from NTLM_USER_FILE (the OS's account store elsewhere)."""
    path = tmp_path / "ntlm-users"
    path.write_text("CONTOSO:svc-stnav:Os-Checked-Pa55\nCONTOSO:mallory:Mallory-Pa55\n", encoding="utf-8")
    monkeypatch.setenv("NTLM_USER_FILE", str(path))
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows the OS acceptor is SSPI (test_sspi_this_windows_user)")
def test_os_acceptor_signs_in_a_nav_user(tls_dir, clock, ntlm_user_file):
    with ClassicNavSandbox(tls_dir, clock=clock, auth="windows", windows_acceptor="os",
                           windows_users={"contoso\\SVC-STNAV"}) as sb:
        cfg = ClassicConfig(odata_url=sb.odata_url, company=sb.company.name, auth="ntlm", user="CONTOSO\\svc-stnav",
                            ca_bundle=str(sb.ca_pem))
        books = ClassicBooks(ClassicClient(cfg, "Os-Checked-Pa55", retry=FAST_RETRY))
        [doc] = books.create_invoices([_invoice("OS-1")], post=False)
        assert isinstance(doc, NavDocument) and doc.amount == Decimal("37.50")
        assert sb.ntlm_log[0] == ["negotiate", "challenge", "authenticate", "signed in CONTOSO\\svc-stnav"]


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows the OS acceptor is SSPI (test_sspi_this_windows_user)")
def test_os_acceptor_refuses_a_wrong_password_and_a_windows_user_not_in_nav(tls_dir, clock, ntlm_user_file):
    with ClassicNavSandbox(tls_dir, clock=clock, auth="windows", windows_acceptor="os",
                           windows_users={"CONTOSO\\svc-stnav"}) as sb:
        def books(user: str, password: str) -> ClassicBooks:
            return ClassicBooks(ClassicClient(ClassicConfig(odata_url=sb.odata_url, company=sb.company.name,
                                                            auth="ntlm", user=user, ca_bundle=str(sb.ca_pem)),
                                              password, retry=FAST_RETRY))
        with pytest.raises(NavAuthError) as wrong:
            books("CONTOSO\\svc-stnav", "not-it").vendors()
        assert wrong.value.status == 401
        with pytest.raises(NavAuthError):  # a good Windows password, but no NAV user for that account
            books("CONTOSO\\mallory", "Mallory-Pa55").vendors()
        assert ["negotiate", "challenge", "authenticate", "refused CONTOSO\\mallory"] in sb.ntlm_log
        assert not sb.rows("Purchase Header")


def this_windows_user() -> str:
    return f"{os.environ.get('USERDOMAIN', '')}\\{os.environ.get('USERNAME', '')}"


@pytest.mark.windows_sspi
@pytest.mark.skipif(sys.platform != "win32", reason="SSPI (signing in as the logged-on Windows user) exists only "
                                                     "on Windows; run by the windows-build workflow")
def test_sspi_this_windows_user(tls_dir, clock, tmp_path):
    """"Windows sign-in, this user": connect test, reference data, one invoice, all as the runner's account,
    the server side validated by SSPI, and no password in the settings or the keychain."""
    from stnav_desktop import credentials
    from stnav_desktop.store import settings
    from stnav_desktop.store.db import close_db, open_db

    me = this_windows_user()
    with ClassicNavSandbox(tls_dir, clock=clock, auth="windows", windows_acceptor="os", windows_users={me}) as sb:
        open_db(tmp_path / "stnav.db")
        try:
            for key, value in {"nav.deployment": "classic", "nav.classic_odata_url": sb.odata_url,
                               "nav.classic_company": sb.company.name, "nav.auth": "windows", "nav.user": "",
                               "nav.ca_bundle": str(sb.ca_pem)}.items():
                settings.set_value("default", key, value)
            values = settings.all_values("default")
            cfg = classic_config(values)
            assert cfg.auth == "sspi" and SECRET_FIELD[cfg.auth] is None
            books = build_classic_books(values, None, retry=FAST_RETRY)

            checks = classic_connection_checks(books.client)
            assert all(c.ok for c in checks), ([c.message for c in checks if not c.ok], sb.ntlm_log)
            profile = settings.get_profile("default")
            from stnav_desktop.sync.app import refdata

            counts = refdata.refresh_nav(profile, ClassicRefData(books))
            assert counts["vendors"] == 6 and counts["accounts"] == 11, counts
            [doc] = books.create_invoices([_invoice("SSPI-1")], post=False)
            assert isinstance(doc, NavDocument) and doc.amount == Decimal("37.50")
            assert len(sb.rows("Purchase Line")) == 1

            signed_in = {entry[-1] for entry in sb.ntlm_log}
            assert signed_in == {f"signed in {me}"} or {s.upper() for s in signed_in} == {f"SIGNED IN {me.upper()}"}, \
                sb.ntlm_log
            for field in ("nav.windows_password", "nav.web_service_key"):  # nothing stored for this sign-in
                with pytest.raises(credentials.CredentialNotFound):
                    credentials.get_secret("default", field)
        finally:
            close_db()


@pytest.mark.windows_sspi
@pytest.mark.skipif(sys.platform != "win32", reason="SSPI exists only on Windows; run by the windows-build workflow")
def test_sspi_user_not_set_up_in_nav_is_refused(tls_dir, clock):
    with ClassicNavSandbox(tls_dir, clock=clock, auth="windows", windows_acceptor="os",
                           windows_users={"CONTOSO\\someone-else"}) as sb:
        books = ClassicBooks(ClassicClient(ClassicConfig(odata_url=sb.odata_url, company=sb.company.name,
                                                         auth="sspi", ca_bundle=str(sb.ca_pem)), None,
                                           retry=FAST_RETRY))
        with pytest.raises(NavAuthError):
            books.vendors()
        assert any(entry and entry[-1].upper() == f"REFUSED {this_windows_user().upper()}" for entry in sb.ntlm_log), \
            sb.ntlm_log
