"""Purchase credit memos on page 52 (lines part to the containment), applied to the posted invoice."""

from __future__ import annotations

from decimal import Decimal

from stnav_desktop.connectors.nav.books import CreditMemoKey, DocKind, NavDocument
from stnav_desktop.connectors.nav.classic import ClassicBooks, ClassicClient
from stnav_desktop.connectors.nav.credit_memos import PurchaseCreditMemoSpec
from stnav_desktop.sandbox.navclassic import CODEUNIT

from .conftest import FAST_RETRY, basic_config
from .test_invoices import spec as invoice_spec


def memo(invoice_number: str | None, number: str = "CM-INV-501") -> PurchaseCreditMemoSpec:
    inv = invoice_spec()
    return PurchaseCreditMemoSpec(vendor_number=inv.vendor_number, vendor_credit_memo_number=number,
                                  credit_memo_date=inv.posting_date, posting_date=inv.posting_date,
                                  invoice_number=invoice_number, dimensions=dict(inv.dimensions), lines=inv.lines)


def test_credit_memo_reverses_the_posted_invoice(books, nav):
    [inv] = books.create_invoices([invoice_spec()], post=False)
    posted_invoice = nav.post_purchase_invoice(inv.nav_id)
    [draft] = books.create_credit_memos([memo(posted_invoice)], post=False)
    assert isinstance(draft, NavDocument) and draft.kind == DocKind.PURCHASE_CREDIT_MEMO and not draft.posted
    assert draft.amount == Decimal("132.25")
    [header] = nav.rows("Purchase Header")
    assert header["Document_Type"] == "Credit_Memo" and header["Vendor_Cr_Memo_No"] == "CM-INV-501"
    assert (header["Applies_to_Doc_Type"], header["Applies_to_Doc_No"]) == ("Invoice", posted_invoice)
    assert all(ln["Document_Type"] == "Credit_Memo" for ln in nav.rows("Purchase Line"))

    nav.post_purchase_credit_memo(draft.nav_id)  # the accountant posts it
    [found] = books.find_documents([CreditMemoKey("V10000", "CM-INV-501")])
    assert found.posted and found.kind == DocKind.PURCHASE_CREDIT_MEMO
    assert sum(e.amount for e in found.gl_entries if e.account_number == "5410") == Decimal("132.25")  # payables debited
    [again] = books.create_credit_memos([memo(posted_invoice)], post=False)
    assert again.number == found.number and nav.rows("Purchase Header") == []


def test_credit_memo_through_the_codeunit_and_a_wrong_invoice(nav):
    nav.publish_posting_codeunit()
    books = ClassicBooks(ClassicClient(basic_config(nav, posting_codeunit=CODEUNIT), nav.web_service_key,
                                       retry=FAST_RETRY))
    [inv] = books.create_invoices([invoice_spec()], post=True)
    [bad] = books.create_credit_memos([memo("PPI999999", "CM-X")], post=True)
    assert not isinstance(bad, NavDocument) and "PPI999999" in str(bad) and "not an open posted invoice" in str(bad)
    [cm] = books.create_credit_memos([memo(inv.number)], post=True)
    assert isinstance(cm, NavDocument) and cm.posted and cm.gl_entries


def test_no_credit_memo_page_published_says_which_page(books, nav):
    nav.unpublish("PostedPurchaseCreditMemo")
    [err] = books.find_documents([CreditMemoKey("V10000", "CM-1")])
    assert "page 140 (Posted Purchase Credit Memo)" in str(err)
