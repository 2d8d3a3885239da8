"""General journal documents on page 39: template, batch and line numbers sent by the client, balanced first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import requests

from stnav_desktop.connectors.http import ConnectorError
from stnav_desktop.connectors.nav.books import DocKind, JournalDocumentSpec, JournalKey, NavDocument
from stnav_desktop.connectors.nav.classic import ClassicBooks, ClassicClient
from stnav_desktop.connectors.nav.errors import NavError, SpecError
from stnav_desktop.connectors.nav.journals import JournalLineSpec
from stnav_desktop.sandbox.navclassic import CODEUNIT

from .conftest import FAST_RETRY, basic_config

DAY = date(2026, 11, 2)


def doc(number: str = "ST-PO-1001", *, amount: str = "250.40", credit_account: str = "2950",
        territory: str = "SOUTH", balanced: bool = True) -> JournalDocumentSpec:
    credit = Decimal(amount) if balanced else Decimal(amount) - Decimal("0.01")
    return JournalDocumentSpec(number, [
        JournalLineSpec("6110", Decimal(amount), DAY, number, "PO 1001", "Materials PO 1001", None,
                        {"TERRITORY": territory}),
        JournalLineSpec(credit_account, -credit, DAY, number, "PO 1001", "Clearing PO 1001", None,
                        {"TERRITORY": territory}),
    ])


def test_lines_carry_template_batch_and_line_numbers(books, nav):
    [draft] = books.create_journals([doc()], post=False)
    assert isinstance(draft, NavDocument) and draft.kind == DocKind.JOURNAL and not draft.posted
    lines = nav.rows("Gen. Journal Line")
    assert [(ln["Journal_Template_Name"], ln["Journal_Batch_Name"], ln["Line_No"]) for ln in lines] == [
        ("GENERAL", "STNAV", 10000), ("GENERAL", "STNAV", 20000)]
    assert [ln["Amount"] for ln in lines] == [Decimal("250.40"), Decimal("-250.40")]
    assert {ln["Shortcut_Dimension_2_Code"] for ln in lines} == {"SOUTH"}
    [second] = books.create_journals([doc("ST-PO-1002")], post=False)
    assert [ln["Line_No"] for ln in nav.rows("Gen. Journal Line")] == [10000, 20000, 30000, 40000]


def test_unbalanced_document_sends_nothing(books, nav):
    [err] = books.create_journals([doc(balanced=False)], post=False)
    assert isinstance(err, SpecError) and "ST-PO-1001" in str(err) and "0.01" in str(err)
    assert nav.requests == []


def test_refused_line_removes_the_lines_already_added(books, nav):
    [err] = books.create_journals([doc(credit_account="9999")], post=False)
    assert isinstance(err, NavError) and "ST-PO-1001" in str(err) and "9999" in str(err)
    assert nav.rows("Gen. Journal Line") == []


def test_retry_does_not_duplicate_and_posted_is_read_from_gl(books, nav):
    [first] = books.create_journals([doc()], post=False)
    [again] = books.create_journals([doc()], post=False)
    assert again.nav_id == first.nav_id and len(nav.rows("Gen. Journal Line")) == 2
    assert books.find_documents([JournalKey("ST-PO-1001")])[0].posted is False

    nav.post_journal()  # the accountant posts the batch in NAV
    [found] = books.find_documents([JournalKey("ST-PO-1001")])
    assert found.posted and len(found.gl_entries) == 2
    assert sorted(e.amount for e in found.gl_entries) == [Decimal("-250.40"), Decimal("250.40")]
    assert all(e.dimensions == {"TERRITORY": "SOUTH"} for e in found.gl_entries)
    [followed] = books.post_documents([first])
    assert followed.posted
    # a retry after posting finds the G/L entries and adds nothing to the journal
    [third] = books.create_journals([doc()], post=False)
    assert third.posted and nav.rows("Gen. Journal Line") == []

    entries = books.gl_entries_between(DAY, date(2026, 11, 3))
    assert sum(e.debit for e in entries) == sum(e.credit for e in entries) == Decimal("250.40")
    assert books.gl_entries_between(date(2026, 11, 3), date(2026, 11, 4)) == []


def test_half_made_journal_document_is_redone(books, nav):
    nav.drop_after("POST", "/GeneralJournal")  # first line made, answer lost, the client stops there
    [err] = books.create_journals([doc()], post=False)
    assert isinstance(err, ConnectorError) and err.retryable and "removed" in str(err)
    assert nav.rows("Gen. Journal Line") == []  # the line whose answer was lost was found and removed
    [ok] = books.create_journals([doc()], post=False)
    assert isinstance(ok, NavDocument)
    lines = nav.rows("Gen. Journal Line")
    assert sorted(ln["Amount"] for ln in lines) == [Decimal("-250.40"), Decimal("250.40")]


def test_posting_through_the_codeunit(nav):
    nav.publish_posting_codeunit()
    books = ClassicBooks(ClassicClient(basic_config(nav, posting_codeunit=CODEUNIT), nav.web_service_key,
                                       retry=FAST_RETRY))
    [posted] = books.create_journals([doc()], post=True)
    assert isinstance(posted, NavDocument) and posted.posted and len(posted.gl_entries) == 2
    assert nav.rows("Gen. Journal Line") == []


def test_sandbox_page_39_needs_template_and_batch(nav):
    resp = requests.post(nav.odata_url + "Company('CRONUS%20USA%2C%20Inc.')/GeneralJournal",
                         json={"Account_No": "6110", "Amount": 1, "Document_No": "X"},
                         auth=(nav.user, nav.web_service_key), verify=str(nav.ca_pem), timeout=10)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == "Internal_RecordNotFound" and "Gen. Journal Template does not exist" in err["message"]


def test_lines_left_by_a_crash_are_not_taken_for_the_document(books, nav):
    # a crash after the first of two lines: NAV holds one unbalanced line of ST-PO-1001
    requests.post(nav.odata_url + "Company('CRONUS%20USA%2C%20Inc.')/GeneralJournal",
                  json={"Journal_Template_Name": "GENERAL", "Journal_Batch_Name": "STNAV", "Line_No": 10000,
                        "Posting_Date": "2026-11-02", "Document_No": "ST-PO-1001", "Account_No": "6110",
                        "Amount": 250.40, "Shortcut_Dimension_2_Code": "SOUTH"},
                  auth=(nav.user, nav.web_service_key), verify=str(nav.ca_pem), timeout=10).raise_for_status()
    assert books.find_documents([JournalKey("ST-PO-1001")]) == [None]
    [ok] = books.create_journals([doc()], post=False)
    assert isinstance(ok, NavDocument)
    assert sorted(ln["Amount"] for ln in nav.rows("Gen. Journal Line")) == [Decimal("-250.40"), Decimal("250.40")]


def test_line_numbers_taken_by_another_pc_are_retried(books, nav, monkeypatch):
    real = books._last_line_no
    calls = []

    def stale_read():  # the other PC adds its line between our read and our insert
        calls.append(1)
        last = real()
        if len(calls) == 1:
            requests.post(nav.odata_url + "Company('CRONUS%20USA%2C%20Inc.')/GeneralJournal",
                          json={"Journal_Template_Name": "GENERAL", "Journal_Batch_Name": "STNAV",
                                "Line_No": last + 10000, "Document_No": "OTHER", "Account_No": "6110", "Amount": 0},
                          auth=(nav.user, nav.web_service_key), verify=str(nav.ca_pem), timeout=10).raise_for_status()
        return last
    monkeypatch.setattr(books, "_last_line_no", stale_read)
    [ok] = books.create_journals([doc()], post=False)
    assert isinstance(ok, NavDocument) and len(calls) == 2
    assert [ln["Document_No"] for ln in nav.rows("Gen. Journal Line")] == ["OTHER", "ST-PO-1001", "ST-PO-1001"]


def test_posting_codeunit_over_soap_for_nav_2018(nav):
    nav.publish_posting_codeunit()
    cfg = basic_config(nav, posting_codeunit=CODEUNIT, posting_soap_url=nav.soap_url)
    books = ClassicBooks(ClassicClient(cfg, nav.web_service_key, retry=FAST_RETRY))
    [posted] = books.create_journals([doc()], post=True)
    assert isinstance(posted, NavDocument) and posted.posted and len(posted.gl_entries) == 2
    assert any("/WS/" in p and p.endswith(f"/Codeunit/{CODEUNIT}") for m, p in nav.requests if m == "POST")
    # a fault carries NAV's text, made readable
    nav.company.t("G/L Account")[("6110",)]["Blocked"] = True
    [err] = books.create_journals([doc("ST-PO-1002")], post=False)  # refused on insert already
    assert isinstance(err, NavError)
    nav.company.t("G/L Account")[("6110",)]["Blocked"] = False
    [draft] = books.create_journals([doc("ST-PO-1003")], post=False)
    nav.company.t("Gen. Journal Line")[("GENERAL", "STNAV", 20000)]["Amount"] = Decimal("-1.00")  # edited in NAV
    [failed] = books.post_documents([draft])
    assert isinstance(failed, NavError) and "does not balance" in str(failed)
    from stnav_desktop.connectors.nav.classic import classic_connection_checks

    checks = {c.name: c for c in classic_connection_checks(books.client)}
    assert checks["posting codeunit"].ok


def test_a_balanced_prefix_left_by_a_crash_is_not_taken_for_the_document(books, nav):
    """Found by the classic crash run under load: a bill whose first line is 0.00 (a free item) was cut off
    after that line; the one line "balances", so it was taken for the whole draft (total 0.00), marked in NAV
    as a draft, and the accountant's posting left the bill's 158.54 out of the G/L. The key says what the whole
    document holds (lines, debits): fewer lines or other debits are half-made, replaced on the next create."""
    whole = JournalDocumentSpec("STB7700018", [
        JournalLineSpec("6130", Decimal("0.00"), DAY, "STB7700018", "R-18", "Free filter", None, {"TERRITORY": "SOUTH"}),
        JournalLineSpec("6110", Decimal("158.54"), DAY, "STB7700018", "R-18", "Materials", None, {"TERRITORY": "SOUTH"}),
        JournalLineSpec("2950", Decimal("-158.54"), DAY, "STB7700018", "R-18", "Clearing", None, {"TERRITORY": "SOUTH"}),
    ])
    requests.post(nav.odata_url + "Company('CRONUS%20USA%2C%20Inc.')/GeneralJournal",
                  json={"Journal_Template_Name": "GENERAL", "Journal_Batch_Name": "STNAV", "Line_No": 10000,
                        "Posting_Date": "2026-11-02", "Document_No": "STB7700018", "Account_No": "6130",
                        "Amount": 0, "Shortcut_Dimension_2_Code": "SOUTH"},
                  auth=(nav.user, nav.web_service_key), verify=str(nav.ca_pem), timeout=10).raise_for_status()
    key = JournalKey("STB7700018", lines=3, total=Decimal("158.54"))
    assert books.find_documents([key]) == [None]  # the balanced prefix is not the document
    assert books.find_documents([JournalKey("STB7700018")])[0] is not None  # (what a key without them says)
    [ok] = books.create_journals([whole], post=False)
    assert isinstance(ok, NavDocument) and ok.amount == Decimal("158.54")
    assert sorted(ln["Amount"] for ln in nav.rows("Gen. Journal Line")) == [
        Decimal("-158.54"), Decimal("0.00"), Decimal("158.54")]
    [found] = books.find_documents([key])
    assert isinstance(found, NavDocument) and found.amount == Decimal("158.54")
    nav.post_journal()
    assert sum(e.amount for e in books.find_documents([key])[0].gl_entries if e.amount > 0) == Decimal("158.54")


def test_a_bill_plan_keys_its_journal_by_lines_and_debits():
    from stnav_desktop.sync.domain.accounting import JournalLinePlan, JournalPlan

    plan = JournalPlan("BILL-18", "STB7700018", "R-18", DAY, [
        JournalLinePlan("6130", Decimal("0.00"), "Free filter", {}),
        JournalLinePlan("6110", Decimal("158.54"), "Materials", {}),
        JournalLinePlan("2950", Decimal("-158.54"), "Clearing", {})], Decimal("158.54"))
    key = plan.nav_key()
    assert (key.document_number, key.lines, key.total) == ("STB7700018", 3, Decimal("158.54"))
    assert key == JournalKey("STB7700018")  # identity is the document number alone
