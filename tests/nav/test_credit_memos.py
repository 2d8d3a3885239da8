"""Purchase credit memos correcting a posted purchase invoice (connector + strict simulator)."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from stnav_desktop.connectors.http import TransportError
from stnav_desktop.connectors.nav import CreditMemoLineSpec, PurchaseCreditMemos, PurchaseCreditMemoSpec
from stnav_desktop.connectors.nav.errors import DuplicateDocumentError, NavError, SpecError
from stnav_desktop.connectors.nav.gl_entries import find_gl_entries
from stnav_desktop.connectors.nav.purchase_invoices import (
    InvoiceLineSpec,
    PurchaseInvoices,
    PurchaseInvoiceSpec,
)

D = Decimal
DAY = date(2026, 11, 2)
LATER = date(2026, 11, 9)


def lines(third=("Account", "6210")):
    return [
        InvoiceLineSpec("Item", "1000", D("4"), D("8.75"), "Air filters", {"TERRITORY": "NORTH"}),
        InvoiceLineSpec("Item", "1100", D("1"), D("845.00"), "Water heater", {"TERRITORY": "SOUTH"}),
        InvoiceLineSpec(third[0], third[1], D("1"), D("49.99"), "Freight", {"TERRITORY": "NORTH"}),
    ]


@pytest.fixture
def posted_invoice(client):
    return PurchaseInvoices(client).create(PurchaseInvoiceSpec(
        vendor_number="V10000", vendor_invoice_number="ST-PO-1001", invoice_date=DAY, posting_date=DAY,
        dimensions={"TERRITORY": "NORTH"}, lines=lines()), post=True)


def memo(inv=None, vcm="ST-PO-1001-CM1", vendor="V10000", memo_lines=None):
    return PurchaseCreditMemoSpec(
        vendor_number=vendor, vendor_credit_memo_number=vcm, credit_memo_date=LATER, posting_date=LATER,
        invoice_number=inv.number if inv else None, invoice_id=inv.id if inv else None,
        dimensions={"TERRITORY": "NORTH"},
        lines=memo_lines or [CreditMemoLineSpec(ln.line_type, ln.line_object_number, ln.quantity, ln.direct_unit_cost,
                                                ln.description, dict(ln.dimensions)) for ln in lines()])


def test_credit_memo_reverses_posted_invoice_net_gl_zero_with_dimensions(client, nav_onprem, posted_invoice):
    inv = posted_invoice
    cm = PurchaseCreditMemos(client).create(memo(inv), post=True)
    assert cm.created and cm.posted and cm.number.startswith("PPCM")
    assert cm.total_amount_including_tax == D("929.99") == inv.total_amount_including_tax
    assert cm.invoice_number == inv.number and cm.invoice_id == inv.id
    assert cm.status == "Paid"  # fully applied to the invoice's vendor ledger entry
    assert PurchaseInvoices(client).get(inv.id).status == "Paid"  # the invoice's entry is closed too

    cm_entries = find_gl_entries(client, cm.number, LATER)
    assert {e["documentType"] for e in cm_entries} == {"Credit Memo"}
    by_acc = {(e["accountNumber"], e["description"]): e for e in cm_entries}
    assert by_acc[("2130", "Air filters")]["creditAmount"] == D("35.00")  # item -> inventory posting group
    assert by_acc[("2140", "Water heater")]["creditAmount"] == D("845.00")
    assert by_acc[("6210", "Freight")]["creditAmount"] == D("49.99")  # account line -> that account
    payable = [e for e in cm_entries if e["accountNumber"] == "5410"]
    assert len(payable) == 1 and payable[0]["debitAmount"] == D("929.99")

    inv_entries = find_gl_entries(client, inv.number, DAY)
    net: dict[str, Decimal] = defaultdict(Decimal)
    for e in inv_entries + cm_entries:
        assert isinstance(e["debitAmount"], Decimal)
        net[e["accountNumber"]] += e["debitAmount"] - e["creditAmount"]
    assert set(net) == {"2130", "2140", "6210", "5410"} and all(v == 0 for v in net.values())

    def dims(entries):
        return {(e["accountNumber"], e["description"].split(" ")[0]): {d["code"]: d["valueCode"]
                for d in e["dimensionSetLines"]} for e in entries}
    cm_dims = dims(cm_entries)
    # the line's own TERRITORY (PATCHed over the header's) and item 1100's default DEPARTMENT (seeded default)
    assert cm_dims[("2140", "Water")] == {"TERRITORY": "SOUTH", "DEPARTMENT": "INSTALL"}
    assert cm_dims[("2130", "Air")] == cm_dims[("6210", "Freight")] == {"TERRITORY": "NORTH"}
    assert {k: v for k, v in cm_dims.items() if k[0] != "5410"} == {
        k: v for k, v in dims(inv_entries).items() if k[0] != "5410"}
    assert cm_dims[("5410", "Credit")] == {"TERRITORY": "NORTH"}

    [stored] = nav_onprem.purchase_credit_memos()
    assert stored["status"] == "Paid" and stored["vendorCreditMemoNumber"] == "ST-PO-1001-CM1"
    assert [ln["sequence"] for ln in stored["purchaseCreditMemoLines"]] == [10000, 20000, 30000]


def test_partial_correction_leaves_invoice_open(client, posted_invoice):
    """The PO lost the water heater after the invoice was posted: credit just that line."""
    spec = memo(posted_invoice, memo_lines=[
        CreditMemoLineSpec("Item", "1100", D("1"), D("845.00"), "Water heater returned", {"TERRITORY": "SOUTH"})])
    cm = PurchaseCreditMemos(client).create(spec, post=True)
    assert cm.status == "Paid" and cm.total_amount_excluding_tax == D("845.00")
    assert PurchaseInvoices(client).get(posted_invoice.id).status == "Open"  # 84.99 still owed
    entries = find_gl_entries(client, cm.number, LATER)
    assert sorted((e["accountNumber"], e["debitAmount"], e["creditAmount"]) for e in entries) == [
        ("2140", D("0.00"), D("845.00")), ("5410", D("845.00"), D("0.00"))]


def test_bad_line_3_creates_nothing(client, nav_onprem, posted_invoice):
    bad = memo(posted_invoice)
    bad.lines[2] = CreditMemoLineSpec("Item", "9999", D("1"), D("1"), "No such item", {"TERRITORY": "NORTH"})
    with pytest.raises(NavError) as err:
        PurchaseCreditMemos(client).create(bad, post=True)
    assert "Item 9999 does not exist in NAV" in str(err.value)
    assert "Purchase credit memo ST-PO-1001-CM1 (vendor V10000" in str(err.value)
    assert err.value.nav_message == "Item does not exist." and err.value.correlation_id
    assert nav_onprem.purchase_credit_memos() == []
    parents = {d["parentType"] for d in nav_onprem.company.t("dimensionSetLines").values()}
    assert not parents & {"Purchase Credit Memo", "Purchase Credit Memo Line"}  # no orphan dimensions
    ok = PurchaseCreditMemos(client).create(memo(posted_invoice))  # the draft number was rolled back too
    assert ok.number == "PCM01001" and ok.status == "Draft"


def test_dropped_connection_then_ensure_yields_exactly_one_credit_memo(client, nav_onprem, posted_invoice):
    nav_onprem.faults.drop_after_commit(method="POST", path_contains="purchaseCreditMemos")
    cms = PurchaseCreditMemos(client)
    with pytest.raises(TransportError):
        cms.create(memo(posted_invoice))
    assert len(nav_onprem.purchase_credit_memos()) == 1  # the write happened; the answer was lost
    res = cms.ensure(memo(posted_invoice), post=True)
    assert not res.created and res.posted
    again = cms.ensure(memo(posted_invoice), post=True)
    assert again.id == res.id and again.number == res.number
    assert len(nav_onprem.purchase_credit_memos()) == 1
    assert len(cms.find("V10000", "ST-PO-1001-CM1")) == 1


def test_ensure_settles_unknown_outcome_itself(client, nav_onprem, posted_invoice):
    nav_onprem.faults.drop_after_commit(method="POST", path_contains="purchaseCreditMemos")
    res = PurchaseCreditMemos(client).ensure(memo(posted_invoice))
    assert res.status == "Draft" and len(nav_onprem.purchase_credit_memos()) == 1


def test_blocked_vendor_refused_with_clerk_message(client, nav_onprem, posted_invoice):
    nav_onprem.block_vendor("V10000")
    with pytest.raises(NavError) as err:
        PurchaseCreditMemos(client).create(memo(posted_invoice), post=True)
    assert str(err.value) == ("Purchase credit memo ST-PO-1001-CM1 (vendor V10000, correcting invoice "
                              f"{posted_invoice.number}): Vendor V10000 is blocked in NAV (blocked: All); unblock "
                              "it or choose another vendor.")
    assert nav_onprem.purchase_credit_memos() == []


def test_vendor_blocked_between_draft_and_post(client, nav_onprem, posted_invoice):
    cms = PurchaseCreditMemos(client)
    draft = cms.create(memo(posted_invoice), post=False)
    nav_onprem.block_vendor("V10000")
    with pytest.raises(NavError, match="Vendor V10000 is blocked in NAV"):
        cms.post(draft.id, spec=memo(posted_invoice))
    assert cms.get(draft.id).status == "Draft"
    assert find_gl_entries(client, draft.number) == []


def test_duplicate_and_over_application_are_refused_at_posting(client, posted_invoice):
    cms = PurchaseCreditMemos(client)
    cms.create(memo(posted_invoice), post=True)  # fully credits the invoice
    second = cms.create(memo(posted_invoice))  # drafts may duplicate (BC checks at posting only)
    with pytest.raises(DuplicateDocumentError, match="Vendor credit memo ST-PO-1001-CM1 is already posted"):
        cms.post(second.id)
    third = cms.create(memo(posted_invoice, vcm="ST-PO-1001-CM2"))
    with pytest.raises(NavError, match=f"Invoice {posted_invoice.number} to be corrected is not an open posted"):
        cms.post(third.id, spec=memo(posted_invoice, vcm="ST-PO-1001-CM2"))


def test_link_must_be_a_posted_invoice(client):
    draft = PurchaseInvoices(client).create(PurchaseInvoiceSpec(
        vendor_number="V10000", vendor_invoice_number="ST-PO-7", invoice_date=DAY, posting_date=DAY,
        lines=lines()), post=False)
    spec = memo(vcm="CM-7")
    spec.invoice_id = draft.id
    with pytest.raises(NavError, match="not a posted invoice"):
        PurchaseCreditMemos(client).create(spec)


def test_spec_checked_locally():
    with pytest.raises(SpecError, match="quantity must be more than zero"):
        memo(memo_lines=[CreditMemoLineSpec("Item", "1000", D("-1"), D("1"))]).validate()
    with pytest.raises(SpecError, match="not a GUID"):
        PurchaseCreditMemoSpec("V10000", "CM", DAY, DAY, lines(), invoice_id="108001").validate()


def test_simulator_is_strict_about_credit_memo_fields(client, posted_invoice):
    path = client.cpath("purchaseCreditMemos")
    base = {"vendorNumber": "V10000", "vendorCreditMemoNumber": "RAW-1"}
    with pytest.raises(NavError, match="'appliesToInvoiceNumber' does not exist on type "
                                       "'Microsoft.NAV.purchaseCreditMemo'"):
        client.post(path, {**base, "appliesToInvoiceNumber": posted_invoice.number})
    with pytest.raises(NavError, match="'vendorInvoiceNumber' does not exist"):
        client.post(path, {**base, "vendorInvoiceNumber": "X"})
    with pytest.raises(NavError, match="Control 'totalAmountIncludingTax' is read-only"):
        client.post(path, {**base, "totalAmountIncludingTax": D("1")})
    with pytest.raises(NavError, match="Control 'amountExcludingTax' is read-only"):
        client.post(path, {**base, "purchaseCreditMemoLines": [
            {"lineType": "Account", "lineObjectNumber": "6210", "quantity": D("1"), "amountExcludingTax": D("5")}]})
    with pytest.raises(NavError, match='"invoiceId" and "invoiceNumber" do not match'):
        client.post(path, {**base, "invoiceId": posted_invoice.id, "invoiceNumber": "108999"})
    rec = client.post(path, {**base, "invoiceNumber": posted_invoice.number})
    assert rec["invoiceId"] == posted_invoice.id and rec["totalAmountExcludingTax"] == 0
    line = client.post(client.cpath(f"purchaseCreditMemos({rec['id']})/purchaseCreditMemoLines"),
                       {"lineType": "Account", "lineObjectNumber": "6210", "quantity": D("2"), "unitCost": D("12.50")})
    assert line["amountExcludingTax"] == D("25.00")
    assert client.get(client.cpath(f"purchaseCreditMemos({rec['id']})"))["totalAmountIncludingTax"] == D("25.00")
    with pytest.raises(NavError, match="must specify an id or a Document Id"):
        client.get(client.cpath("purchaseCreditMemoLines"))


def test_unknown_dimension_value_is_clerk_readable_and_atomic(client, nav_onprem, posted_invoice):
    bad = memo(posted_invoice)
    bad.lines[1].dimensions = {"TERRITORY": "TERR-X"}
    with pytest.raises(NavError, match="Dimension value TERR-X does not exist for dimension TERRITORY"):
        PurchaseCreditMemos(client).create(bad)
    assert nav_onprem.purchase_credit_memos() == []
