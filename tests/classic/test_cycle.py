"""The whole cycle at connector level on classic NAV, with lost answers: 15% of the writes are carried out
but their answer never arrives. Every document is settled the way posting settles it (an unknown outcome is
looked up with ``find_documents``; found = done, not found = send again); then the accountant posts in NAV
and the G/L entries read back equal what was sent, to the cent, per territory, with no document twice."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.connectors.nav.books import InvoiceKey, JournalDocumentSpec, JournalKey, NavDocument
from stnav_desktop.connectors.nav.journals import JournalLineSpec
from stnav_desktop.connectors.nav.purchase_invoices import InvoiceLineSpec, PurchaseInvoiceSpec

TERRITORIES = ("NORTH", "SOUTH", "EAST", "WEST")
START = date(2026, 11, 2)


def make_documents(rng: random.Random, n: int) -> tuple[list[PurchaseInvoiceSpec], list[JournalDocumentSpec]]:
    invoices, journals = [], []
    for i in range(n):
        territory = rng.choice(TERRITORIES)
        lines = [InvoiceLineSpec(rng.choice(["Account", "Item"]), "", Decimal(rng.randint(1, 5)),
                                 Decimal(rng.randint(100, 99999)) / 100, f"PO {4000 + i} line {k}")
                 for k in range(rng.randint(1, 4))]
        for ln in lines:
            ln.line_object_number = "6110" if ln.line_type == "Account" else "1000"
        invoices.append(PurchaseInvoiceSpec(rng.choice(["V10000", "V20000", "V30000"]), f"inv-{4000 + i}",
                                            START, START + timedelta(days=i % 3), lines,
                                            dimensions={"TERRITORY": territory}))
        amount = Decimal(rng.randint(100, 500000)) / 100
        number = f"ST-BILL-{7000 + i}"
        day = START + timedelta(days=i % 3)
        journals.append(JournalDocumentSpec(number, [
            JournalLineSpec("6110", amount, day, number, f"BILL {7000 + i}", "Materials", None, {"TERRITORY": territory}),
            JournalLineSpec("2950", -amount, day, number, f"BILL {7000 + i}", "Clearing", None, {"TERRITORY": territory}),
        ]))
    return invoices, journals


def settle(books, create, keys, specs) -> dict[int, NavDocument]:
    """Posting's loop: write what is not known to be in NAV; an unknown outcome is asked, never guessed."""
    done: dict[int, NavDocument] = {}
    for _ in range(30):
        todo = [i for i in range(len(specs)) if i not in done]
        if not todo:
            break
        found = books.find_documents([keys[i] for i in todo])
        to_write = []
        for i, f in zip(todo, found, strict=True):
            if isinstance(f, NavDocument):
                done[i] = f
            elif f is None:
                to_write.append(i)
            else:
                assert isinstance(f, TransportError), f  # only lost answers here
        for i, outcome in zip(to_write, create([specs[i] for i in to_write], post=False), strict=True):
            if isinstance(outcome, NavDocument):
                done[i] = outcome
            else:
                assert isinstance(outcome, ConnectorError) and (outcome.retryable or isinstance(outcome, TransportError)), \
                    outcome
    assert len(done) == len(specs)
    return done


def test_cycle_with_lost_answers_posts_each_document_once_to_the_cent(books, nav):
    rng = random.Random(20261102)
    invoices, journals = make_documents(rng, 24)
    assert {v["No"] for v in books.vendors()} >= {"V10000", "V20000", "V30000"}  # reference data
    assert {a["No"] for a in books.accounts()} >= {"6110", "2950"}
    assert set(books.dimension_values()["TERRITORY"]) >= set(TERRITORIES)

    nav.drop_writes(0.15, seed=11)
    inv_docs = settle(books, books.create_invoices,
                      [InvoiceKey(s.vendor_number, s.vendor_invoice_number) for s in invoices], invoices)
    jnl_docs = settle(books, books.create_journals, [JournalKey(d.document_number) for d in journals], journals)
    assert nav.dropped >= 10  # the run really lost answers
    nav.drop_writes(0.0)

    # NAV holds each document once, complete, and nothing half-made
    headers = nav.rows("Purchase Header")
    assert len(headers) == len(invoices) and not [h for h in headers if h["Vendor_Invoice_No"].startswith("~")]
    assert Counter((h["Buy_from_Vendor_No"], h["Vendor_Invoice_No"]) for h in headers).most_common(1)[0][1] == 1
    assert len(nav.rows("Purchase Line")) == sum(len(s.lines) for s in invoices)
    assert len(nav.rows("Gen. Journal Line")) == 2 * len(journals)
    assert {d.nav_id for d in inv_docs.values()} == {h["No"] for h in headers}

    # the accountant posts everything in NAV; the app follows its drafts up
    for h in headers:
        nav.post_purchase_invoice(h["No"])
    nav.post_journal()
    followed = books.post_documents(list(inv_docs.values()) + list(jnl_docs.values()))
    assert all(isinstance(d, NavDocument) and d.posted for d in followed)

    # reconcile from the G/L entries NAV booked
    entries = books.gl_entries_between(START, START + timedelta(days=3))
    sent_by_territory: Counter[str] = Counter()
    for s in invoices:
        sent_by_territory[s.dimensions["TERRITORY"]] += sum(
            ((ln.quantity * ln.direct_unit_cost).quantize(Decimal("0.01")) for ln in s.lines), Decimal(0))
    for d in journals:
        sent_by_territory[d.lines[0].dimensions["TERRITORY"]] += d.lines[0].amount
    booked: Counter[str] = Counter()
    for e in entries:
        booked[e.dimensions.get("TERRITORY", "")] += e.debit
    assert booked == sent_by_territory
    assert sum(e.debit for e in entries) == sum(e.credit for e in entries)
    # one posted invoice per vendor invoice number; exactly-once look-ups now find them posted
    assert len(nav.rows("Purch. Inv. Header")) == len(invoices)
    again = books.find_documents([InvoiceKey(s.vendor_number, s.vendor_invoice_number) for s in invoices])
    assert all(isinstance(f, NavDocument) and f.posted for f in again)
