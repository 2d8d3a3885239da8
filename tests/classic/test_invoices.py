"""Purchase invoices on classic NAV page web services: header then lines, all or nothing, exactly once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.connectors.nav.books import DocKind, InvoiceKey, NavDocument
from stnav_desktop.connectors.nav.classic import ClassicBooks, ClassicClient
from stnav_desktop.connectors.nav.errors import NavError, SpecError
from stnav_desktop.connectors.nav.purchase_invoices import InvoiceLineSpec, PurchaseInvoiceSpec
from stnav_desktop.sandbox.navclassic import CODEUNIT, ClassicNavSandbox

from .conftest import FAST_RETRY, basic_config


def spec(number: str = "INV-501", *, vendor: str = "V10000", second_account: str = "6210",
         territory: str = "NORTH") -> PurchaseInvoiceSpec:
    return PurchaseInvoiceSpec(
        vendor_number=vendor, vendor_invoice_number=number, invoice_date=date(2026, 10, 30),
        posting_date=date(2026, 11, 2), dimensions={"TERRITORY": territory},
        lines=[InvoiceLineSpec("Account", "6110", Decimal("3"), Decimal("12.35"), "Fittings"),
               InvoiceLineSpec("Item", "1000", Decimal("2"), Decimal("40.10"), "Copper pipe"),
               InvoiceLineSpec("Account", second_account, Decimal("1"), Decimal("15.00"), "Freight")])


def test_header_then_lines_with_control_names_and_territory(books, nav):
    [doc] = books.create_invoices([spec()], post=False)
    assert isinstance(doc, NavDocument) and not doc.posted and doc.kind == DocKind.PURCHASE_INVOICE
    [header] = nav.rows("Purchase Header")
    assert header["No"] == doc.nav_id and header["Vendor_Invoice_No"] == "INV-501"
    assert header["Buy_from_Vendor_No"] == "V10000" and header["Posting_Date"] == date(2026, 11, 2)
    assert header["Shortcut_Dimension_2_Code"] == "NORTH"  # TERRITORY is global dimension 2 in this company
    lines = nav.rows("Purchase Line")
    assert [(ln["Type"], ln["No"], ln["Line_Amount"]) for ln in lines] == [
        ("G_L_Account", "6110", Decimal("37.05")), ("Item", "1000", Decimal("80.20")),
        ("G_L_Account", "6210", Decimal("15.00"))]
    assert {ln["Shortcut_Dimension_2_Code"] for ln in lines} == {"NORTH"}
    # the lines went to the containment, one request each: no deep insert
    posts = [p for m, p in nav.requests if m == "POST"]
    assert sum(p.endswith("PurchaseInvoicePurchLines") for p in posts) == 3


def test_a_refused_line_deletes_the_half_made_header(books, nav):
    [err] = books.create_invoices([spec(second_account="9999")], post=False)
    assert isinstance(err, NavError)
    assert "INV-501" in str(err) and "line 3" in str(err) and "9999" in str(err)
    assert nav.rows("Purchase Header") == [] and nav.rows("Purchase Line") == []
    assert any(m == "DELETE" for m, _ in nav.requests)


def test_retry_after_a_cut_off_create_finds_and_completes_the_draft(books, nav):
    nav.drop_after("POST", "/PurchaseInvoice")  # header made, answer lost
    [first] = books.create_invoices([spec()], post=False)
    assert isinstance(first, TransportError)
    [half] = nav.rows("Purchase Header")
    assert nav.rows("Purchase Line") == [] and half["Vendor_Invoice_No"] == "~INV-501"  # marked as being built
    # the half-made draft is never taken for the invoice (posting would settle on it and stop)
    assert books.find_documents([InvoiceKey("V10000", "INV-501")]) == [None]
    [second] = books.create_invoices([spec()], post=False)
    assert isinstance(second, NavDocument)
    [header] = nav.rows("Purchase Header")
    assert header["Vendor_Invoice_No"] == "INV-501" and header["No"] != half["No"]
    assert len(nav.rows("Purchase Line")) == 3
    # a third attempt finds the complete draft and sends nothing
    before = len([r for r in nav.requests if r[0] in ("POST", "DELETE")])
    [third] = books.create_invoices([spec()], post=False)
    assert isinstance(third, NavDocument) and third.nav_id == second.nav_id
    assert len([r for r in nav.requests if r[0] in ("POST", "DELETE")]) == before


def test_connection_lost_while_adding_lines_leaves_nothing(books, nav):
    nav.drop_after("POST", "PurchaseInvoicePurchLines")
    [err] = books.create_invoices([spec()], post=False)
    assert isinstance(err, ConnectorError) and err.retryable and "removed" in str(err)
    assert nav.rows("Purchase Header") == [] and nav.rows("Purchase Line") == []


def test_find_documents_sees_drafts_then_what_the_accountant_posted(books, nav):
    [draft] = books.create_invoices([spec()], post=False)
    key = InvoiceKey("V10000", "INV-501")
    [found] = books.find_documents([key, InvoiceKey("V10000", "NOPE")])[:1]
    assert found.nav_id == draft.nav_id and not found.posted
    assert books.find_documents([InvoiceKey("V10000", "NOPE")]) == [None]

    posted_no = nav.post_purchase_invoice(draft.nav_id)  # the accountant posts it in NAV
    [found] = books.find_documents([key])
    assert found.posted and found.number == posted_no
    assert sum(e.debit for e in found.gl_entries) == sum(e.credit for e in found.gl_entries) == Decimal("132.25")
    payables = [e for e in found.gl_entries if e.account_number == "5410"]
    assert payables[0].credit == Decimal("132.25") and payables[0].dimensions == {"TERRITORY": "NORTH"}
    # draft follow-up: the draft we knew is now the posted invoice
    [followed] = books.post_documents([draft])
    assert followed.posted and followed.number == posted_no
    # and a retry of the create finds the posted one: nothing is sent again
    [again] = books.create_invoices([spec()], post=False)
    assert again.posted and again.number == posted_no and nav.rows("Purchase Header") == []


def test_draft_deleted_in_nav_is_reported(books, nav):
    [draft] = books.create_invoices([spec()], post=False)
    nav.company.delete_purchase_invoice(draft.nav_id)
    [gone] = books.post_documents([draft])
    assert isinstance(gone, NavError) and "deleted in NAV" in str(gone)


def test_posting_through_a_published_codeunit(nav):
    nav.publish_posting_codeunit()
    books = ClassicBooks(ClassicClient(basic_config(nav, posting_codeunit=CODEUNIT), nav.web_service_key,
                                       retry=FAST_RETRY))
    [doc] = books.create_invoices([spec()], post=True)
    assert isinstance(doc, NavDocument) and doc.posted and doc.gl_entries
    assert nav.rows("Purchase Header") == [] and len(nav.rows("Purch. Inv. Header")) == 1
    # the same vendor invoice number again: found posted, never a second invoice
    [again] = books.create_invoices([spec()], post=True)
    assert again.number == doc.number and len(nav.rows("Purch. Inv. Header")) == 1


def test_blocked_vendor_is_one_clear_line(books, nav):
    [err] = books.create_invoices([spec(vendor="V60000")], post=False)
    assert isinstance(err, NavError)
    assert str(err) == "Purchase invoice INV-501 (vendor V60000): Vendor V60000 is blocked in NAV (blocked: All); " \
                       "unblock it or choose another vendor."
    assert nav.rows("Purchase Header") == []


def test_territory_as_shortcut_dimension_3(tls_dir, clock):
    with ClassicNavSandbox(tls_dir, clock=clock, territory_shortcut=3) as nav:
        books = ClassicBooks(ClassicClient(basic_config(nav), nav.web_service_key, retry=FAST_RETRY))
        [doc] = books.create_invoices([spec()], post=False)
        assert isinstance(doc, NavDocument)
        assert {ln["ShortcutDimCode_x005B_3_x005D_"] for ln in nav.rows("Purchase Line")} == {"NORTH"}
        assert nav.rows("Purchase Header")[0]["Shortcut_Dimension_2_Code"] == ""  # page 51 has shortcuts 1-2 only

        # page 118 not published: without the IT setting the app cannot know where TERRITORY goes
        nav.unpublish("GeneralLedgerSetup")
        books = ClassicBooks(ClassicClient(basic_config(nav), nav.web_service_key, retry=FAST_RETRY))
        [err] = books.create_invoices([spec("INV-502")], post=False)
        assert isinstance(err, SpecError) and "TERRITORY" in str(err) and "shortcut" in str(err)
        books = ClassicBooks(ClassicClient(basic_config(nav, shortcut_dimensions={"TERRITORY": 3}),
                                           nav.web_service_key, retry=FAST_RETRY))
        [doc] = books.create_invoices([spec("INV-502")], post=False)
        assert isinstance(doc, NavDocument)

        # page 20 shows global dimensions only; page 479 gives the territory on shortcut 3 back
        nav.post_purchase_invoice(doc.nav_id)
        [posted] = books.find_documents([InvoiceKey("V10000", "INV-502")])
        assert {e.dimensions.get("TERRITORY") for e in posted.gl_entries if e.account_number != "5410"} == {"NORTH"}
        nav.unpublish("DimensionSetEntries")
        books = ClassicBooks(ClassicClient(basic_config(nav, shortcut_dimensions={"TERRITORY": 3}),
                                           nav.web_service_key, retry=FAST_RETRY))
        [posted] = books.find_documents([InvoiceKey("V10000", "INV-502")])
        assert {e.dimensions.get("TERRITORY") for e in posted.gl_entries} == {None}  # global dimensions only


def test_unknown_dimension_value_fails_whole_invoice(books, nav):
    [err] = books.create_invoices([spec(territory="MARS")], post=False)
    assert isinstance(err, NavError) and "MARS" in str(err)
    assert nav.rows("Purchase Header") == []


@pytest.mark.parametrize("body_key", ["PurchaseInvoicePurchLines"])
def test_sandbox_refuses_deep_insert(nav, body_key):
    import requests

    resp = requests.post(nav.odata_url + "Company('CRONUS%20USA%2C%20Inc.')/PurchaseInvoice",
                         json={"Buy_from_Vendor_No": "V10000", body_key: [{"Type": "Item", "No": "1000"}]},
                         auth=(nav.user, nav.web_service_key), verify=str(nav.ca_pem), timeout=10)
    assert resp.status_code == 400 and "Deep insert is not supported" in resp.json()["error"]["message"]
    assert nav.rows("Purchase Header") == []


def test_sandbox_keys_are_the_primary_key_and_need_if_match(nav):
    import requests

    auth, verify = (nav.user, nav.web_service_key), str(nav.ca_pem)
    base = nav.odata_url + "Company('CRONUS%20USA%2C%20Inc.')/PurchaseInvoice"
    rec = requests.post(base, json={"Buy_from_Vendor_No": "V10000"}, auth=auth, verify=verify, timeout=10).json()
    one_part = requests.get(f"{base}('{rec['No']}')", auth=auth, verify=verify, timeout=10)
    assert one_part.status_code == 400
    path = f"{base}(Document_Type='Invoice',No='{rec['No']}')"
    assert requests.get(path, auth=auth, verify=verify, timeout=10).status_code == 200
    no_match = requests.patch(path, json={"Vendor_Invoice_No": "X"}, auth=auth, verify=verify, timeout=10)
    assert no_match.status_code == 400 and no_match.json()["error"]["code"] == "BadRequest_InvalidToken"
    nav.touch("Purchase Header", ("Invoice", rec["No"]))
    stale = requests.patch(path, json={"Vendor_Invoice_No": "X"}, headers={"If-Match": rec["@odata.etag"]},
                           auth=auth, verify=verify, timeout=10)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "Request_EntityChanged"


def test_lower_case_numbers_and_long_descriptions_fit_nav_2018(books, nav):
    long = spec("inv-77a")
    long.lines[0].description = "Fittings for job 4411 at 12 Long Street, Springfield, second floor bathroom"
    [doc] = books.create_invoices([long], post=False)
    assert isinstance(doc, NavDocument)
    [header] = nav.rows("Purchase Header")
    assert header["Vendor_Invoice_No"] == "INV-77A"  # NAV's Code type is upper-case
    assert nav.rows("Purchase Line")[0]["Description"] == long.lines[0].description[:50]  # Text[50] on NAV 2018
    [found] = books.find_documents([InvoiceKey("V10000", "inv-77a")])
    assert found.nav_id == doc.nav_id
    [again] = books.create_invoices([spec("inv-77a")], post=False)
    assert again.nav_id == doc.nav_id and len(nav.rows("Purchase Header")) == 1


def test_a_draft_changed_in_nav_is_not_overwritten(books, nav):
    [doc] = books.create_invoices([spec()], post=False)
    nav.company.t("Purchase Line").pop(("Invoice", doc.nav_id, 30000))  # someone removed a line in NAV
    [err] = books.create_invoices([spec()], post=False)
    assert isinstance(err, NavError) and doc.nav_id in str(err) and "other lines" in str(err)
    assert len(nav.rows("Purchase Line")) == 2


def test_sandbox_refuses_too_long_text(nav):
    import requests

    resp = requests.post(nav.odata_url + "Company('CRONUS%20USA%2C%20Inc.')/PurchaseInvoice",
                         json={"Buy_from_Vendor_No": "V10000", "Vendor_Invoice_No": "X" * 36},
                         auth=(nav.user, nav.web_service_key), verify=str(nav.ca_pem), timeout=10)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "Application_StringExceededLength"


def test_a_draft_reports_its_total_so_a_change_in_nav_shows(books, nav):
    [doc] = books.create_invoices([spec()], post=False)
    assert doc.amount == Decimal("132.25")
    line = nav.company.t("Purchase Line")[("Invoice", doc.nav_id, 30000)]
    line["Direct_Unit_Cost"], line["Line_Amount"] = Decimal("20.00"), Decimal("20.00")  # the clerk edits it in NAV
    [found] = books.find_documents([InvoiceKey("V10000", "INV-501")])
    assert found.amount == Decimal("137.25") and not found.posted


def test_quotes_in_vendor_and_invoice_numbers(books, nav):
    odd = spec("O'B-77/2", vendor="V40'00")
    [doc] = books.create_invoices([odd], post=False)
    assert isinstance(doc, NavDocument)
    [found] = books.find_documents([InvoiceKey("V40'00", "O'B-77/2")])
    assert found.nav_id == doc.nav_id
    nav.post_purchase_invoice(doc.nav_id)
    [posted] = books.find_documents([InvoiceKey("V40'00", "O'B-77/2")])
    assert posted.posted and posted.gl_entries


def test_posting_a_draft_sets_its_dimensions_right_first(nav):
    from stnav_desktop.connectors.nav.errors import DimensionCheckError

    nav.publish_posting_codeunit()
    books = ClassicBooks(ClassicClient(basic_config(nav, posting_codeunit=CODEUNIT), nav.web_service_key,
                                       retry=FAST_RETRY))
    [draft] = books.create_invoices([spec()], post=False)
    # someone changed the territory on the header and on a line in NAV
    nav.company.t("Purchase Header")[("Invoice", draft.nav_id)]["Shortcut_Dimension_2_Code"] = "SOUTH"
    nav.company.t("Purchase Line")[("Invoice", draft.nav_id, 20000)]["Shortcut_Dimension_2_Code"] = "EAST"
    [posted] = books.post_documents([draft], [spec()])
    assert isinstance(posted, NavDocument) and posted.posted
    assert {e.dimensions.get("TERRITORY") for e in posted.gl_entries} == {"NORTH"}

    # a draft whose lines are no longer the spec's is deleted, never posted
    [other] = books.create_invoices([spec("INV-600")], post=False)
    nav.company.t("Purchase Line").pop(("Invoice", other.nav_id, 30000))
    [refused] = books.post_documents([other], [spec("INV-600")])
    assert isinstance(refused, DimensionCheckError) and "NAV holds 2 lines, 3 were sent" in str(refused)
    assert nav.rows("Purchase Header") == [] and len(nav.rows("Purch. Inv. Header")) == 1
