"""The Reports tab through its real button: one row per territory (NAV code), each G/L figure equal to
the sum of the G/L entries read back from NAV."""

from __future__ import annotations

from decimal import Decimal

from stnav_desktop.store import settings
from stnav_desktop.sync.app import batches, documents, mapping, posting
from stnav_desktop.sync.views import reconcile
from stnav_desktop.ui.qt import Qt
from stnav_desktop.ui.reports_page import ReportsPage
from stnav_desktop.ui.tasks import InlineRunner
from tests.sync.example import BILL_R1, BILL_R2, MAPPINGS, PO
from tests.sync.fake_nav import FakeNav
from tests.sync.test_reconcile import gl_from_fake


def test_reconcile_button_shows_one_row_per_territory_equal_to_the_gl(qtbot, store):
    profile = settings.get_profile("default")
    settings.set_value(profile, "posting.mode", "post")  # posted, not left as drafts in NAV
    settings.set_value(profile, "posting.post_journal", True)
    for kind, entries in MAPPINGS.items():
        for key, (target, target_type) in entries.items():
            mapping.set_mapping(profile, kind, key, target, target_type=target_type)
    staged = [documents.stage(profile, "purchase_order", PO).document,
              documents.stage(profile, "inventory_bill", BILL_R1).document,
              documents.stage(profile, "inventory_bill", BILL_R2).document]
    mapping.refresh_readiness(profile)
    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    nav = FakeNav()
    posting.Poster(profile, nav).post_batch(batch)
    gl = gl_from_fake(nav, staged)

    class Service:
        def reconcile(self, month):
            return reconcile.reconcile(profile, month, gl)

    page = ReportsPage(profile, InlineRunner(), Service)
    qtbot.addWidget(page)
    page.show()
    page.month.setDate(page.month.date().fromString("2026-10", "yyyy-MM"))
    qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert page.totals.rowCount() == 1  # one row for NORTH, not one per business unit name and one per code
    cells = [page.totals.item(0, c).text() for c in range(page.totals.columnCount())]
    assert cells[0].startswith("NORTH (")  # the NAV code with the business units mapped to it
    cost = sum((e.debit - e.credit for e in gl if e.account_number not in ("2950", "5410")), Decimal(0))
    payables = sum((e.credit - e.debit for e in gl if e.account_number == "5410"), Decimal(0))
    assert cells[2] == f"{cost:,.2f}" == cells[1]  # G/L cost = ServiceTitan cost
    assert cells[5] == f"{payables:,.2f}" == cells[4]
    assert cells[3] == cells[6] == "0.00"
    assert page.details.rowCount() == 3
