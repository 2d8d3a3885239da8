"""The accounting model end to end against the NAV simulator (issue: each cost booked once)."""

from collections import defaultdict
from decimal import Decimal

import pytest

from stnav_desktop.connectors.nav import NavClient, RefData
from stnav_desktop.connectors.nav.bulk import ApiBooks
from stnav_desktop.store import settings
from stnav_desktop.store.models import DocStatus, StDocument
from stnav_desktop.sync.app import batches, documents, mapping, posting, refdata
from stnav_desktop.sync.views import reconcile
from tests.nav.conftest import FAST_RETRY, onprem_config
from tests.sync.example import BILL_R1, BILL_R2, MAPPINGS, PO

D = Decimal


@pytest.fixture
def setup(store, nav):
    return configure(nav)


def configure(nav):
    """The default profile posting to the simulator with the worked example's mappings."""
    profile = settings.get_profile("default")
    settings.set_value(profile, "posting.mode", "post")
    settings.set_value(profile, "posting.post_journal", True)
    client = NavClient(onprem_config(nav), nav.basic_key, retry=FAST_RETRY)
    refdata.refresh_nav(profile, RefData(client))
    for kind, entries in MAPPINGS.items():
        for key, (target, target_type) in entries.items():
            mapping.set_mapping(profile, kind, key, target, target_type=target_type)
    return profile, client


def stage_and_post(profile, client, model):
    settings.set_value(profile, "posting.model", model)
    for kind, raw in (("purchase_order", PO), ("inventory_bill", BILL_R1), ("inventory_bill", BILL_R2)):
        documents.stage(profile, kind, raw)
    mapping.refresh_readiness(profile)
    ready = [d.id for d in StDocument.select().where(StDocument.status == DocStatus.READY)]
    batch = batches.create_batch(profile, ready, actor="clerk")
    batches.approve(batch, actor="controller")
    return posting.Poster(profile, ApiBooks(client)).post_batch(batch)


def ledger(nav):
    totals = defaultdict(lambda: D("0.00"))
    for e in nav.gl_entries():
        totals[e["accountNumber"]] += D(str(e["debitAmount"])) - D(str(e["creditAmount"]))
    return {k: v for k, v in totals.items()}


def test_clearing_model_each_line_once_payables_equal_po_clearing_zero(setup, nav):
    profile, client = setup
    results = stage_and_post(profile, client, "clearing")
    assert sorted(r.outcome for r in results) == ["posted"] * 3
    g = ledger(nav)
    # docs/accounting.md, worked example, clearing model
    assert g == {"6120": D("144.30"), "6110": D("77.50"), "5630": D("17.74"), "6210": D("12.00"),
                 "2950": D("0.00"), "5410": D("-251.54")}
    # every cost line carries the territory dimension
    for e in nav.gl_entries():
        if e["accountNumber"] in ("6120", "6110", "5630", "6210"):
            assert {d["code"]: d["valueCode"] for d in e["dimensionSetLines"]} == {"TERRITORY": "NORTH"}
    # each bill line's cost exactly once: one G/L entry per bill line on its account
    lines = sorted((e["documentNumber"], e["accountNumber"], D(str(e["debitAmount"]))) for e in nav.gl_entries()
                   if e["documentNumber"].startswith("STB") and e["accountNumber"] in ("6120", "6110"))
    assert lines == [("STB7700001", "6110", D("46.50")), ("STB7700001", "6120", D("87.50")),
                     ("STB7700002", "6110", D("31.00")), ("STB7700002", "6120", D("56.80"))]
    # the NAV invoice names its ServiceTitan source
    invoice = nav.purchase_invoices()[0]
    assert invoice["vendorInvoiceNumber"] == "ST-PO-10452-001"
    # the reconciliation (read back from NAV) shows the clearing account at 0.00 for this PO
    gateway = ApiBooks(client)
    start, end = reconcile.month_bounds("2026-10")
    report = reconcile.reconcile(profile, "2026-10", gateway.gl_entries_between(start, end))
    assert [(c.po_ref, c.balance) for c in report.clearing] == [("PO-10452-001", D("0.00"))]
    assert report.differences == []


def test_invoice_only_model(setup, nav):
    profile, client = setup
    results = stage_and_post(profile, client, "invoice_only")
    assert [r.outcome for r in results] == ["posted"]
    assert StDocument.select().where(StDocument.status == DocStatus.SKIPPED).count() == 2
    assert ledger(nav) == {"2130": D("144.30"), "6110": D("77.50"), "5630": D("17.74"), "6210": D("12.00"),
                           "5410": D("-251.54")}


def test_journal_only_model(setup, nav):
    profile, client = setup
    results = stage_and_post(profile, client, "journal_only")
    assert [r.outcome for r in results] == ["posted", "posted"]
    assert ledger(nav) == {"6120": D("144.30"), "6110": D("77.50"), "5630": D("17.74"), "6210": D("12.00"),
                           "2950": D("-251.54")}


def test_unbalanced_journal_refused_before_any_request(setup, nav, monkeypatch):
    profile, client = setup
    from stnav_desktop.sync.domain import accounting
    original = accounting.plan_bill_journal

    def broken(raw, ctx):
        plan = original(raw, ctx)
        plan.lines[0].amount += D("0.01")
        return plan

    monkeypatch.setattr(accounting, "plan_bill_journal", broken)
    settings.set_value(profile, "posting.model", "journal_only")
    documents.stage(profile, "inventory_bill", BILL_R1)
    doc = StDocument.get()
    doc.status = DocStatus.APPROVED
    doc.save()
    [result] = posting.Poster(profile, ApiBooks(client)).post_batch()
    assert result.outcome == "not_ready"
    assert "journal document STB7700001 dated 2026-10-05 is out of balance by 0.01" in result.message
    assert nav.journal_lines() == [] and nav.gl_entries() == []
