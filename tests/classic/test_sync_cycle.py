"""The whole application cycle on classic NAV: reference data, pull from ServiceTitan, mappings, a batch,
approval, posting as unposted documents, the accountant posting them in NAV, the draft follow-up, and the
reconciliation from the G/L entries, to the cent per territory.

``SyncService`` builds the classic back end from the profile (``nav.deployment = classic``)."""

from __future__ import annotations

from collections import Counter

import pytest

from stnav_desktop import credentials, demo
from stnav_desktop.connectors.nav.classic import ClassicBooks
from stnav_desktop.sandbox.navclassic import ClassicNavSandbox
from stnav_desktop.sandbox.servicetitan import ServiceTitanSandbox
from stnav_desktop.store import settings
from stnav_desktop.store.models import DocStatus, StDocument
from stnav_desktop.sync.app import batches, posting, st_gateway
from stnav_desktop.sync.app.service import SyncService

from .conftest import FAST_RETRY


@pytest.fixture
def classic_app(store, tmp_path):
    st = ServiceTitanSandbox(tmp_path / "tls", purchase_orders=40).start()
    nav = ClassicNavSandbox(tmp_path / "tls").start()
    profile = settings.get_profile("default")
    for key, value in {
        "servicetitan.environment": "integration", "servicetitan.tenant": str(st.tenant),
        "servicetitan.client_id": st.client_id, "servicetitan.app_key": st.app_key,
        "servicetitan.auth_url": st.auth_url, "servicetitan.api_url": st.base_url,
        "servicetitan.ca_bundle": str(st.ca_pem),
        "nav.deployment": "classic", "nav.classic_odata_url": nav.odata_url, "nav.classic_company": nav.company.name,
        "nav.auth": "basic", "nav.user": nav.user, "nav.ca_bundle": str(nav.ca_pem),
        "posting.mode": "draft", "posting.post_journal": False,  # the accountant posts in NAV
    }.items():
        settings.set_value(profile, key, value)
    credentials.set_secret(profile.name, "servicetitan.client_secret", st.client_secret)
    credentials.set_secret(profile.name, "nav.web_service_key", nav.web_service_key)
    service = SyncService(profile, retry=FAST_RETRY)  # nav.deployment = classic: the page web services back end
    books = service.nav_books()
    assert isinstance(books, ClassicBooks)
    yield profile, service, books, nav
    st.stop()
    nav.stop()


def test_cycle_on_classic_nav_posts_unposted_and_reconciles_to_the_cent(classic_app):
    profile, service, books, nav = classic_app
    counts = service.refresh_refdata()
    assert counts["nav.vendors"] == 6 and counts["nav.dimensionValues"] == 10
    service.pull()
    demo.accept_suggestions(profile)
    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    results = service.post(batch)
    outcomes = Counter(r.outcome for r in results)
    assert outcomes.get(posting.Outcome.DRAFT, 0) > 10, outcomes
    drafts = list(StDocument.select().where(StDocument.status == DocStatus.IN_NAV_DRAFT))
    headers = nav.rows("Purchase Header")
    journal_docs = {ln["Document_No"] for ln in nav.rows("Gen. Journal Line")}
    assert len(drafts) == len(headers) + len(journal_docs)
    assert not [h for h in headers if vendor_document_no(h).startswith("~")]

    # posting again sends nothing: every document is found in NAV by its identity
    writes = sum(1 for m, _ in nav.requests if m in ("POST", "PATCH", "DELETE"))
    service.post(None)
    assert sum(1 for m, _ in nav.requests if m in ("POST", "PATCH", "DELETE")) == writes

    # the accountant posts the invoices and the journal in NAV; the app follows its drafts up
    for h in headers:
        post_in_nav(nav, h)
    nav.post_journal()
    poster = posting.Poster(profile, books, write_back=st_gateway.WriteBack(service.st_client))
    followed = poster.follow_up_drafts()
    assert followed["posted"] == len(drafts)
    assert StDocument.select().where(StDocument.status == DocStatus.IN_NAV_DRAFT).count() == 0

    # ServiceTitan totals against NAV's G/L entries, per territory and month
    lines: list[str] = []
    assert demo.territory_totals(profile, service, out=lines.append), "\n".join(lines)
    # one posted invoice per vendor invoice number, one posted credit memo per return
    posted = nav.rows("Purch. Inv. Header")
    memos = nav.rows("Purch. Cr. Memo Hdr.")
    assert len(posted) + len(memos) == len(headers)
    assert max(Counter((p["Buy_from_Vendor_No"], p["Vendor_Invoice_No"]) for p in posted).values()) == 1
    assert not memos or max(Counter((m["Buy_from_Vendor_No"], m["Vendor_Cr_Memo_No"]) for m in memos).values()) == 1


def test_lost_answers_during_posting_never_double_a_document(classic_app):
    """10% of NAV's answers to writes are lost (a document of n lines takes n+2 writes on pages, so most
    documents lose an answer at least once); posting runs until nothing is open. Each document is in NAV
    once, complete, and the totals still match after the accountant posts."""
    from datetime import timedelta

    from stnav_desktop.store.fields import utcnow

    profile, service, books, nav = classic_app
    settings.set_value(profile, "retry.max_attempts", 20)  # the run is about doubles, not about giving up
    now = [utcnow()]
    service = SyncService(profile, retry=FAST_RETRY, clock=lambda: now[0])
    books = service.nav_books()
    service.refresh_refdata()
    service.pull()
    demo.accept_suggestions(profile)
    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    approved = [d.id for d in StDocument.select().where(StDocument.batch == batch)]
    nav.drop_writes(0.10, seed=5)
    for _ in range(25):
        service.post(None)
        now[0] += timedelta(hours=2)  # past every scheduled retry
        if not StDocument.select().where(StDocument.id.in_(approved) & StDocument.status.in_(
                [DocStatus.APPROVED, DocStatus.FAILED, DocStatus.POSTING, DocStatus.UNCONFIRMED])).count():
            break
    assert nav.dropped > 5
    nav.drop_writes(0.0)
    statuses = Counter(d.status for d in StDocument.select().where(StDocument.id.in_(approved)))
    assert set(statuses) == {DocStatus.IN_NAV_DRAFT}, [(d.status, d.problem, [a.error for a in d.attempts]) for d in StDocument.select().where(StDocument.id.in_(approved)) if d.status != DocStatus.IN_NAV_DRAFT]
    headers = nav.rows("Purchase Header")
    assert not [h for h in headers if vendor_document_no(h).startswith("~")]
    assert max(Counter((h["Buy_from_Vendor_No"], vendor_document_no(h)) for h in headers).values()) == 1
    journal_lines = nav.rows("Gen. Journal Line")
    per_doc = Counter(ln["Document_No"] for ln in journal_lines)
    assert len(headers) + len(per_doc) == len(approved)
    for h in headers:
        post_in_nav(nav, h)
    nav.post_journal()  # every journal document balances, or NAV would refuse the batch
    posting.Poster(profile, books, write_back=st_gateway.WriteBack(service.st_client)).follow_up_drafts()
    lines: list[str] = []
    assert demo.territory_totals(profile, service, out=lines.append), "\n".join(lines)


def test_connection_test_lists_what_is_missing(classic_app):
    profile, service, books, nav = classic_app
    nav.unpublish("GeneralJournal")
    lines = [(name, ok, message) for system, name, ok, message in service.test_connections() if system == "NAV"]
    failed = [(name, message) for name, ok, message in lines if not ok]
    assert failed == [("service GeneralJournal", failed[0][1])]
    assert "Object ID 39 (General Journal), Service Name GeneralJournal" in failed[0][1]


def test_vendor_created_in_nav_from_servicetitan_and_back(classic_app):
    """The same action as on the API back end: the NAV vendor made through page 26 from a ServiceTitan vendor,
    cached for the pickers, mapped, audited; and a ServiceTitan vendor made from a NAV vendor's card."""
    from stnav_desktop.store.models import MappingKind, NavReference
    from stnav_desktop.sync.app import mapping

    profile, service, books, nav = classic_app
    service.refresh_refdata()
    created = service.create_nav_vendor(2007, tax_id="23-1346100")
    assert created.created and created.number == "V90001"
    row = nav.company.t("Vendor")[("V90001",)]
    assert (row["Name"], row["Address"], row["City"], row["VAT_Registration_No"]) == (
        "Hajoca Corporation", "127 Coulter Ave", "Ardmore", "23-1346100")
    assert NavReference.get_or_none((NavReference.profile == profile) & (NavReference.entity == "vendors")
                                    & (NavReference.key == "V90001")) is not None
    assert mapping.mappings_dict(profile)[MappingKind.VENDOR]["2007"][0] == "V90001"
    again = service.create_nav_vendor(2007, tax_id="23-1346100")
    assert again.number == "V90001" and not again.created and len(nav.rows("Vendor")) == 7
    assert service.refresh_refdata()["nav.vendors"] == 7

    st_vendor = service.create_st_vendor("V90001")
    assert st_vendor.name == "Hajoca Corporation"


def test_missing_odata_url_is_one_clear_line(store):
    profile = settings.get_profile("default")
    settings.set_value(profile, "nav.deployment", "classic")
    settings.set_value(profile, "nav.auth", "basic")
    lines = [line for line in SyncService(profile).test_connections() if line[0] == "NAV"]
    assert lines == [("NAV", "configuration", False, "NAV settings: classic NAV needs the ODataV4 URL, e.g. "
                                                     "https://nav.example.local:7048/NAV/ODataV4/")]


def vendor_document_no(header: dict) -> str:
    """The vendor's number of an invoice or a credit memo (returns are credit memos) header."""
    return header.get("Vendor_Invoice_No") or header.get("Vendor_Cr_Memo_No") or ""


def post_in_nav(nav, header: dict) -> str:
    """The accountant posts an invoice, or a credit memo (a vendor return), in NAV."""
    if header.get("Vendor_Cr_Memo_No"):
        return nav.post_purchase_credit_memo(header["No"])
    return nav.post_purchase_invoice(header["No"])
