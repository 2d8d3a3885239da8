from datetime import date, timedelta
from decimal import Decimal

import pytest

from stnav_desktop.connectors.nav.errors import NavError
from stnav_desktop.connectors.nav.gl_entries import find_gl_entries
from stnav_desktop.connectors.nav.journals import JournalLineSpec, Journals
from stnav_desktop.connectors.nav.subscriptions import NotificationReceiver, Subscriptions
from stnav_desktop.sandbox.tls import ensure_tls

D = Decimal
DAY = date(2026, 11, 2)


def bill(doc="STB-1", ext="ST-IB-1", amount=D("120.50")):
    return [JournalLineSpec("6120", amount, DAY, doc, ext, "Bill stock", dimensions={"TERRITORY": "WEST"}),
            JournalLineSpec("2950", -amount, DAY, doc, ext, "Bill clearing", dimensions={"TERRITORY": "WEST"})]


def test_journal_lines_create_find_post(client, nav_onprem):
    j = Journals(client)
    status, lines = j.ensure_lines(bill())
    assert status == "created" and len(lines) == 2
    assert j.ensure_lines(bill())[0] == "existing"
    assert len(j.find_lines(external_document_number="ST-IB-1")) == 2
    j.post()
    assert nav_onprem.journal_lines() == []
    entries = find_gl_entries(client, "STB-1", DAY)
    assert {(e["accountNumber"], e["debitAmount"], e["creditAmount"]) for e in entries} == {
        ("6120", D("120.50"), D("0.00")), ("2950", D("0.00"), D("120.50"))}
    assert all(e["dimensionSetLines"][0]["valueCode"] == "WEST" for e in entries)
    assert j.ensure_lines(bill())[0] == "posted"


def test_journal_atomic_and_unbalanced_refused(client, nav_onprem):
    j = Journals(client)
    lines = bill("STB-2", "ST-IB-2")
    lines[1].account_number = "6900"  # blocked: the whole document fails
    with pytest.raises(NavError, match="6900 is blocked"):
        j.create_lines(lines)
    assert nav_onprem.journal_lines() == []
    j.create_lines([JournalLineSpec("6120", D("10"), DAY, "STB-3", "X"), JournalLineSpec("2950", D("-9"), DAY, "STB-3", "X")])
    with pytest.raises(NavError, match="STB-3 does not balance"):
        j.post()
    assert len(nav_onprem.journal_lines()) == 2 and nav_onprem.gl_entries() == []


def test_posting_period_and_balancing_account(client, nav_onprem):
    j = Journals(client)
    j.create_lines([JournalLineSpec("6110", D("5.00"), DAY, "STB-4", "Y", balancing_account_number="2950")])
    nav_onprem.set_allowed_posting_dates(DAY + timedelta(days=1), None)
    with pytest.raises(NavError, match="outside the posting period"):
        j.post()
    nav_onprem.set_allowed_posting_dates(None, None)
    j.post()
    assert {e["accountNumber"] for e in find_gl_entries(client, "STB-4", DAY)} == {"6110", "2950"}


def test_subscription_create_renew_expire(client, nav_onprem, tls_dir):
    tls = ensure_tls(tls_dir)
    got = []
    rx = NotificationReceiver("state-secret-1", got.append, certfile=str(tls.cert_pem), keyfile=str(tls.key_pem)).start()
    try:
        subs = Subscriptions(client)
        sub = subs.create("purchaseInvoices", rx.url, "state-secret-1")
        assert sub.expiration.tzinfo is not None
        assert sub.expiration - nav_onprem.clock.now() == timedelta(days=3)
        nav_onprem.advance(days=2)
        renewed = subs.renew(sub)
        assert renewed.expiration - nav_onprem.clock.now() == timedelta(days=3)
        from stnav_desktop.connectors.nav.purchase_invoices import PurchaseInvoices
        from tests.nav.test_invoices import spec
        PurchaseInvoices(client).create(spec("WH-1"))
        assert nav_onprem.flush_notifications() >= 1
        assert got and got[0]["changeType"] in ("created", "updated") and "purchaseInvoices(" in got[0]["resource"]
        nav_onprem.advance(days=3, seconds=1)
        assert subs.list() == []
        sub2 = subs.create("purchaseInvoices", rx.url, "state-secret-1")
        subs.delete(sub2)
        assert subs.list() == []
        with pytest.raises(NavError):
            subs.create("purchaseInvoices", rx.url.replace("https://127.0.0.1:", "https://127.0.0.1:1"), "s")
    finally:
        rx.stop()
