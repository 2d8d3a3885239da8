"""A person asks: the ServiceTitan vendor missing in NAV is created there (and mapped), its documents
post to it; a NAV-only vendor is created in ServiceTitan. Both audited, both exactly once."""

from __future__ import annotations

from stnav_desktop.cli import main
from stnav_desktop.connectors.nav import Vendors, VendorSpec
from stnav_desktop.store import audit
from stnav_desktop.store.models import DocStatus, Mapping, StDocument
from stnav_desktop.sync.app import batches


def test_vendor_created_in_nav_on_request_then_its_po_posts(configured, capsys):
    sims, profile, service = configured(purchase_orders=60)
    hajoca = StDocument.select().where((StDocument.vendor_st_id == 2007) & (StDocument.kind == "purchase_order")
                                       & (StDocument.status == DocStatus.NEEDS_MAPPING))
    assert hajoca.count() > 0 and all("not mapped to a NAV vendor" in d.problem for d in hajoca)
    assert main(["vendor", "create-in-nav", "2007", "--tax-id", "23-1346100"]) == 0
    out = capsys.readouterr().out
    assert "NAV vendor V70000 (Hajoca Corporation) created" in out
    assert Mapping.get((Mapping.kind == "vendor") & (Mapping.source_key == "2007")).target == "V70000"
    # asked again: found, not created twice
    assert main(["vendor", "create-in-nav", "2007", "--tax-id", "23-1346100"]) == 0
    assert "already existed" in capsys.readouterr().out
    assert len([v for v in Vendors(service.nav_client()).find_by_name("Hajoca Corporation")]) == 1
    ready = [d.id for d in StDocument.select().where((StDocument.vendor_st_id == 2007)
                                                     & (StDocument.status == DocStatus.READY))]
    assert ready
    batch = batches.create_batch(profile, ready, actor="a")
    batches.approve(batch, actor="b")
    service.post(batch)
    invoices = [i for i in sims.nav.purchase_invoices() if i["vendorNumber"] == "V70000"]
    assert invoices and all(i["status"] != "Draft" for i in invoices)
    events = [e.action for e in audit.events(st_ref="vendor:2007")]
    assert "vendor.created_in_nav" in events and "mapping.set" in events


def test_nav_only_vendor_created_in_servicetitan(configured):
    sims, profile, service = configured(purchase_orders=10)
    made = Vendors(service.nav_client()).create(VendorSpec(display_name="Acme Duct Supply", city="Tulsa",
                                                           country="US"))
    created = service.create_st_vendor(made.number)
    assert created.name == "Acme Duct Supply"
    again = service.create_st_vendor(made.number)
    assert again.id == created.id  # found by the NAV number stamped on it, not created twice
    assert Mapping.get((Mapping.kind == "vendor") & (Mapping.source_key == str(created.id))).target == made.number


def test_create_vendor_button_in_the_review_pane(qtbot, configured):
    from stnav_desktop.ui.review_page import ReviewPage
    from stnav_desktop.ui.tasks import InlineRunner

    sims, profile, service = configured(purchase_orders=30)
    page = ReviewPage(profile, runner=InlineRunner(), service_fn=lambda: service)
    qtbot.addWidget(page)
    page.show()
    row = next(r for r in range(page.model.rowCount()) if page.model.row_at(r).vendor_st_id == 2007)
    page.select_row(row)
    assert page.detail.vendor_create.isVisible()
    page.detail._create_vendor(tax_id="23-1346100")
    assert Mapping.get((Mapping.kind == "vendor") & (Mapping.source_key == "2007")).target == "V70000"
    page.select_row(row)
    assert not page.detail.vendor_create.isVisible()
