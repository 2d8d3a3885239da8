from datetime import date
from decimal import Decimal

import pytest

from stnav_desktop.connectors.nav.books import GLEntry
from stnav_desktop.store import settings
from stnav_desktop.sync.app import posting
from stnav_desktop.sync.views import reconcile

from .fake_nav import FakeNav
from .test_posting import approve_all

pytestmark = pytest.mark.both_backends  # set-based SQL (issue #17): PostgreSQL too where a server is given

D = Decimal


def entry(n, document, day, account, debit, credit, dims, kind=""):
    return GLEntry(entry_number=n, posting_date=day, document_number=document, document_type=kind,
                   account_number=account, description="", debit=debit, credit=credit, dimensions=dims)


def gl_from_fake(nav: FakeNav, staged) -> list[GLEntry]:
    """G/L entries as NAV would post the fake's documents (clearing model)."""
    entries, n = [], 0
    for number, journal in nav.journals.items():
        for line in journal["lines"]:
            n += 1
            entries.append(entry(n, number, date(2026, 10, 5), line.account_number,
                                 max(line.amount, D(0)), max(-line.amount, D(0)), dict(line.dimensions)))
    for inv in nav.invoices.values():
        n += 1
        entries.append(entry(n, inv["number"], date(2026, 10, 9), "2950", inv["total"], D(0), {"TERRITORY": "NORTH"},
                             "Invoice"))
        n += 1
        entries.append(entry(n, inv["number"], date(2026, 10, 9), "5410", D(0), inv["total"], {"TERRITORY": "NORTH"},
                             "Invoice"))
    return entries


def test_everything_posted_reconciles_to_the_cent(staged, profile):
    approve_all(profile)
    nav = FakeNav()
    posting.Poster(profile, nav).post_batch()
    report = reconcile.reconcile(profile, "2026-10", gl_from_fake(nav, staged))
    assert report.differences == []
    # ONE row for the territory, by its NAV code with the business unit mapped to it; the bills carry the
    # cost (156.72 + 94.82 on cost accounts), the PO the payable (251.54): never added together
    [north] = report.territories
    assert north.code == "NORTH" and north.business_units
    assert (north.st_cost, north.gl_cost, north.cost_difference) == (D("251.54"), D("251.54"), D("0.00"))
    assert (north.st_payables, north.gl_payables, north.payables_difference) == (D("251.54"), D("251.54"), D("0"))
    assert north.gl_clearing == D("0.00") and report.payables_accounts == ["5410"]
    # each G/L figure is a sum an accountant finds in NAV: the entries of these documents, by account
    gl = gl_from_fake(nav, staged)
    assert north.gl_cost == sum(e.debit - e.credit for e in gl if e.account_number not in ("2950", "5410"))
    assert [(c.po_ref, c.balance, c.explanation) for c in report.clearing] == [("PO-10452-001", D("0.00"), "")]


def test_differences_are_listed_and_explained(staged, profile):
    settings.set_value(profile, "posting.mode", "draft")  # the invoice stays a draft in NAV
    approve_all(profile)
    nav = FakeNav()
    posting.Poster(profile, nav).post_batch()
    gl = [e for e in gl_from_fake(nav, staged) if not e.document_number.startswith("PI")]  # invoice not in G/L
    report = reconcile.reconcile(profile, "2026-10", gl)
    diffs = {d.st_ref: d.explanation for d in report.differences}
    assert diffs == {"PO-10452-001": "in NAV as a draft, not yet posted there"}
    clearing = report.clearing[0]
    assert clearing.balance == D("-251.54")
    assert clearing.explanation == "received not invoiced: bills posted, the purchase invoice is not"


def test_report_files(staged, profile, tmp_path):
    report = reconcile.reconcile(profile, "2026-10", [])
    reconcile.write(report, tmp_path / "r.csv", "csv")
    text = (tmp_path / "r.csv").read_text()
    assert "ready, not yet approved" in text and "251.54" in text
    reconcile.write(report, tmp_path / "r.xlsx", "xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "r.xlsx")
    assert wb.sheetnames == ["Territories (G-L tie-out)", "Totals per vendor", "Documents", "Clearing account per PO"]
    header = [c.value for c in wb["Territories (G-L tie-out)"][1]]
    assert header == reconcile.TERRITORY_HEADER
    assert "business_unit" not in text and "inventory_bill" not in text and "purchase_order" not in text


def test_a_month_reads_only_its_documents_yet_clearing_finds_a_po_of_another_month(staged, profile):
    """Reconcile of November: October's documents are not lines (the query is the month's date range),
    but November's clearing entries still name October's PO and bills by their NAV numbers."""
    from stnav_desktop.store.models import StDocument
    from stnav_desktop.sync.app import documents

    from .example import PO

    approve_all(profile)
    nav = FakeNav()
    posting.Poster(profile, nav).post_batch()
    october = gl_from_fake(nav, staged)
    november_po = documents.stage(profile, "purchase_order", dict(PO, id=PO["id"] + 7, number="10999-001",
                                                                  date="2026-11-03T00:00:00Z")).document
    # the entries as NAV dated them in November (e.g. an invoice posted a month late)
    late = [entry(e.entry_number, e.document_number, date(2026, 11, 2), e.account_number, e.debit, e.credit,
                  e.dimensions, e.document_type) for e in october]
    report = reconcile.reconcile(profile, "2026-11", late)
    assert [line.st_ref for line in report.lines] == ["PO-10999-001"]  # October's three are not November's
    assert report.lines[0].explanation and report.lines[0].nav_document == ""
    assert [(c.po_ref, c.balance) for c in report.clearing] == [("PO-10452-001", D("0.00"))]
    assert StDocument.get_by_id(november_po.id).doc_date.month == 11
    assert reconcile.reconcile(profile, "2026-09", []).lines == []
