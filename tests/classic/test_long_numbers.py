"""A vendor document number of 35 characters fills Vendor Invoice No. / Vendor Cr. Memo No. (Code[35]) and
leaves no room for the "~" that marks a draft being built: the draft is marked in its Posting Description
instead, and is all or nothing and exactly once like any other."""

from __future__ import annotations

import pytest

from stnav_desktop.connectors.http import TransportError
from stnav_desktop.connectors.nav.books import CreditMemoKey, InvoiceKey, NavDocument
from stnav_desktop.connectors.nav.classic.books import BUILDING
from stnav_desktop.connectors.nav.errors import NavError, SpecError
from stnav_desktop.sandbox.navclassic.pages import PAGES

from .test_credit_memos import memo
from .test_invoices import spec

N35 = "VENDOR-REF-2026-11-0000000000000042"
assert len(N35) == 35


def only_header(nav) -> dict:
    [header] = nav.rows("Purchase Header")
    return header


def test_35_characters_go_in_whole_and_the_draft_ends_with_navs_own_description(books, nav):
    [doc] = books.create_invoices([spec(N35)], post=False)
    assert isinstance(doc, NavDocument)
    header = only_header(nav)
    assert header["Vendor_Invoice_No"] == N35 and header["Posting_Description"] == f"Invoice {header['No']}"
    assert len(nav.rows("Purchase Line")) == 3
    # marked while it was built: the PATCH set the marker before the first line went in
    patches = [i for i, (m, p) in enumerate(nav.requests) if m == "PATCH"]
    first_line = next(i for i, (m, p) in enumerate(nav.requests) if m == "POST" and p.endswith("PurchLines"))
    assert len(patches) == 2 and patches[0] < first_line < patches[1]
    assert books.find_documents([InvoiceKey("V10000", N35)]) == [doc]
    # exactly once: a second attempt finds the complete draft and writes nothing
    writes = len([r for r in nav.requests if r[0] in ("POST", "PATCH", "DELETE")])
    [again] = books.create_invoices([spec(N35)], post=False)
    assert again == doc and len([r for r in nav.requests if r[0] in ("POST", "PATCH", "DELETE")]) == writes


class Killed(BaseException):
    """The app's process ends here (no except clause of ours runs, as with a SIGKILL)."""


def test_killed_while_lines_go_in_is_never_taken_for_the_invoice(books, nav, monkeypatch):
    post = books.client.post
    lines_sent = []

    def dying_post(path, body):
        if path.endswith("PurchLines"):
            if lines_sent:
                raise Killed
            lines_sent.append(path)
        return post(path, body)

    monkeypatch.setattr(books.client, "post", dying_post)
    with pytest.raises(Killed):
        books.create_invoice(spec(N35), post=False)
    monkeypatch.setattr(books.client, "post", post)
    half = only_header(nav)
    assert half["Posting_Description"] == BUILDING and half["Vendor_Invoice_No"] == N35
    assert len(nav.rows("Purchase Line")) == 1  # one line of three: a real number, but half-made
    assert books.find_documents([InvoiceKey("V10000", N35)]) == [None]
    [doc] = books.create_invoices([spec(N35)], post=False)
    assert isinstance(doc, NavDocument) and doc.nav_id != half["No"]
    header = only_header(nav)
    assert header["Posting_Description"] == f"Invoice {header['No']}" and len(nav.rows("Purchase Line")) == 3


def test_cut_off_before_the_marker_leaves_a_header_without_lines_that_is_redone(books, nav):
    nav.drop_after("POST", "/PurchaseInvoice")  # header made, answer lost: no marker yet
    [err] = books.create_invoices([spec(N35)], post=False)
    assert isinstance(err, TransportError)
    half = only_header(nav)
    assert half["Posting_Description"] == f"Invoice {half['No']}" and nav.rows("Purchase Line") == []
    assert books.find_documents([InvoiceKey("V10000", N35)]) == [None]
    [doc] = books.create_invoices([spec(N35)], post=False)
    assert isinstance(doc, NavDocument) and doc.nav_id != half["No"] and len(nav.rows("Purchase Header")) == 1


def test_a_refused_line_removes_the_marked_draft(books, nav):
    [err] = books.create_invoices([spec(N35, second_account="9999")], post=False)
    assert isinstance(err, NavError) and "line 3" in str(err)
    assert nav.rows("Purchase Header") == [] and nav.rows("Purchase Line") == []


def test_credit_memo_of_35_characters(books, nav):
    [inv] = books.create_invoices([spec()], post=False)
    posted = nav.post_purchase_invoice(inv.nav_id)
    [draft] = books.create_credit_memos([memo(posted, number=N35)], post=False)
    assert isinstance(draft, NavDocument)
    header = only_header(nav)
    assert header["Vendor_Cr_Memo_No"] == N35 and header["Posting_Description"] == f"Credit Memo {header['No']}"
    assert books.find_documents([CreditMemoKey("V10000", N35)]) == [draft]


def test_posted_by_the_accountant_is_found(books, nav):
    [doc] = books.create_invoices([spec(N35)], post=False)
    posted_no = nav.post_purchase_invoice(doc.nav_id)
    [found] = books.find_documents([InvoiceKey("V10000", N35)])
    assert isinstance(found, NavDocument) and found.posted and found.nav_id == posted_no


def test_page_without_posting_description_refuses_before_writing(books, nav, monkeypatch):
    monkeypatch.delitem(PAGES["purchase_invoice"].fields, "Posting_Description")
    [err] = books.create_invoices([spec(N35)], post=False)
    assert isinstance(err, SpecError) and "\n" not in str(err)
    assert str(err).startswith(f"Purchase invoice {N35} (vendor V10000): the vendor's number has 35 characters")
    assert not [r for r in nav.requests if r[0] in ("POST", "PATCH", "DELETE")]


@pytest.mark.parametrize("number", ["INV-501", "X" * 34])
def test_shorter_numbers_keep_the_tilde_marker(books, nav, number):
    nav.drop_after("POST", "/PurchaseInvoice")
    books.create_invoices([spec(number)], post=False)
    assert only_header(nav)["Vendor_Invoice_No"] == "~" + number
