"""Issue #15 against the NAV simulator: vendor returns as purchase credit memos (docs/accounting.md,
*Vendor returns*, worked example to the cent), canceled returns never booked, several dimensions on every
G/L entry, the job number on every job line."""

import copy
from collections import defaultdict
from decimal import Decimal

import pytest

from stnav_desktop.connectors.nav import RefData
from stnav_desktop.connectors.nav.bulk import ApiBooks
from stnav_desktop.store import settings
from stnav_desktop.store.models import DocStatus, SourceKind, StDocument
from stnav_desktop.sync.app import batches, documents, mapping, posting, refdata
from stnav_desktop.sync.views import reconcile
from tests.books.test_books import configure
from tests.sync.example import BILL_R1, BILL_R2, PO

D = Decimal

# docs/accounting.md, "Worked example: a return on PO 10452-001"
RETURN = {
    "id": 9300001, "active": True, "number": "RT-10452-001-1", "referenceNumber": "RMA-77", "status": "CreditReceived",
    "returnTypeId": 2, "vendorId": 2001, "purchaseOrderId": PO["id"], "jobId": None, "projectId": None,
    "budgetCodeId": None, "businessUnitId": 1001, "inventoryLocationId": 5001, "createdById": 5561,
    "memo": "Parts back", "returnAmount": 35.72, "taxAmount": 2.72, "shippingAmount": 0,
    "returnDate": "2026-10-18T00:00:00Z", "returnedOn": "2026-10-18T09:00:00Z",
    "creditReceivedOn": "2026-10-20T00:00:00Z", "createdOn": "2026-10-18T09:00:00Z",
    "modifiedOn": "2026-10-20T10:00:00Z", "batchId": None, "batch": None, "syncStatus": "Pending",
    "canceledById": None, "canceledReason": None, "dateCanceled": None, "customFields": [], "externalData": [],
    "items": [
        {"id": 1, "skuId": 3001, "code": "FLT-16x25", "name": "Air filter", "description": "", "quantity": 2,
         "cost": 8.75, "active": True,
         "costOfSaleAccount": {"name": "Job Materials", "number": "6110", "type": "Expense"}},
        {"id": 2, "skuId": 3008, "code": "MISC-FIT", "name": "Fittings", "description": "", "quantity": 5,
         "cost": 3.10, "active": True,
         "costOfSaleAccount": {"name": "Job Materials", "number": "6110", "type": "Expense"}},
    ],
}


@pytest.fixture
def setup(store, nav):
    return configure(nav)


def post_ready(profile, client):
    mapping.refresh_readiness(profile)
    ready = [d.id for d in StDocument.select().where(StDocument.status == DocStatus.READY)]
    if not ready:
        return []
    batch = batches.create_batch(profile, ready, actor="clerk")
    batches.approve(batch, actor="controller")
    return posting.Poster(profile, ApiBooks(client)).post_batch(batch)


def ledger(nav):
    totals = defaultdict(lambda: D("0.00"))
    for e in nav.gl_entries():
        totals[e["accountNumber"]] += D(str(e["debitAmount"])) - D(str(e["creditAmount"]))
    return dict(totals)


def stage_po_and_bills(profile, po=PO, bills=(BILL_R1, BILL_R2)):
    documents.stage(profile, SourceKind.PURCHASE_ORDER, po)
    for bill in bills:
        documents.stage(profile, SourceKind.INVENTORY_BILL, bill)


def test_received_credit_return_is_one_credit_memo_applied_to_the_invoice_gl_per_the_example(setup, nav):
    profile, client = setup
    settings.set_value(profile, "posting.model", "clearing")
    stage_po_and_bills(profile)
    assert [r.outcome for r in post_ready(profile, client)] == ["posted"] * 3
    invoice = nav.purchase_invoices()[0]

    documents.stage(profile, SourceKind.INVENTORY_RETURN, RETURN)
    [result] = post_ready(profile, client)
    assert result.outcome == "posted", result.message

    [memo] = nav.purchase_credit_memos()
    assert memo["vendorNumber"] == "V10000"
    assert memo["vendorCreditMemoNumber"] == "ST-RET-RT-10452-001-1"
    assert memo["invoiceNumber"] == invoice["number"]  # applied to the PO's posted invoice
    assert memo["creditMemoDate"] == "2026-10-20" and memo["postingDate"] == "2026-10-20"
    assert [(ln["lineObjectNumber"], D(str(ln["amountExcludingTax"]))) for ln in memo["purchaseCreditMemoLines"]] \
        == [("6120", D("17.50")), ("6110", D("15.50")), ("5630", D("2.72"))]
    # T-accounts after the two bills, the invoice and the credit memo (docs/accounting.md), to the cent
    assert ledger(nav) == {"6120": D("126.80"), "6110": D("62.00"), "5630": D("15.02"), "6210": D("12.00"),
                           "2950": D("0.00"), "5410": D("-215.82")}
    cm_entries = [e for e in nav.gl_entries() if e["documentNumber"] == memo["number"]]
    assert sorted((e["accountNumber"], D(str(e["debitAmount"])), D(str(e["creditAmount"]))) for e in cm_entries) == [
        ("5410", D("35.72"), D("0.00")), ("5630", D("0.00"), D("2.72")), ("6110", D("0.00"), D("15.50")),
        ("6120", D("0.00"), D("17.50"))]
    for e in cm_entries:
        assert {d["code"]: d["valueCode"] for d in e["dimensionSetLines"]} == {"TERRITORY": "NORTH"}
    # the invoice's vendor ledger entry is reduced by the credit (applied, not left open beside it)
    [inv_entry] = [v for v in nav.company.vendor_ledger if v["documentNumber"] == invoice["number"]]
    assert inv_entry["remainingAmount"] == D("-215.82")
    doc = StDocument.get(StDocument.kind == SourceKind.INVENTORY_RETURN)
    assert doc.status == DocStatus.POSTED and doc.nav_number == memo["number"]

    # reconciled per territory and month like the rest: both sides with the credit's sign, no difference
    start, end = reconcile.month_bounds("2026-10")
    report = reconcile.reconcile(profile, "2026-10", ApiBooks(client).gl_entries_between(start, end))
    [line] = [ln for ln in report.lines if ln.kind == SourceKind.INVENTORY_RETURN]
    assert (line.st_ref, line.territory, line.month, line.st_amount, line.nav_amount, line.nav_document) == \
        ("RET-RT-10452-001-1", "NORTH", "2026-10", D("-35.72"), D("-35.72"), memo["number"])
    assert report.differences == [] and report.unmatched_nav == []
    assert [(c.po_ref, c.balance) for c in report.clearing] == [("PO-10452-001", D("0.00"))]

    # exactly once: the same return again (a re-pull, a replay) never makes a second credit memo
    doc.status = DocStatus.APPROVED
    doc.save()
    [again] = posting.Poster(profile, ApiBooks(client)).post_batch()
    assert again.outcome == "already_posted"
    assert len(nav.purchase_credit_memos()) == 1


def test_return_of_a_po_invoiced_in_the_same_run_is_applied_too(setup, nav):
    profile, client = setup
    stage_po_and_bills(profile)
    documents.stage(profile, SourceKind.INVENTORY_RETURN, RETURN)
    results = post_ready(profile, client)
    assert [r.outcome for r in results] == ["posted"] * 4
    [memo] = nav.purchase_credit_memos()
    assert memo["invoiceNumber"] == nav.purchase_invoices()[0]["number"]


@pytest.mark.parametrize("change, reason", [
    ({"status": "Canceled", "canceledReason": "VendorIssue", "creditReceivedOn": None}, "is Canceled (VendorIssue)"),
    ({"active": False}, "deleted in ServiceTitan (inactive): never booked"),
    ({"status": "Returned", "creditReceivedOn": None}, "waiting for the vendor's credit"),
])
def test_canceled_inactive_or_uncredited_return_is_never_booked(setup, nav, change, reason):
    profile, client = setup
    documents.stage(profile, SourceKind.INVENTORY_RETURN, {**RETURN, **change})
    assert post_ready(profile, client) == []
    doc = StDocument.get()
    assert doc.status == DocStatus.SKIPPED
    assert reason in doc.problem and doc.problem.startswith("Return RT-10452-001-1")
    # even approved by hand, posting refuses it with the reason and sends nothing
    doc.status = DocStatus.APPROVED
    doc.save()
    [result] = posting.Poster(profile, ApiBooks(client)).post_batch()
    assert result.outcome == "skipped" and reason in result.message
    assert nav.purchase_credit_memos() == [] and nav.gl_entries() == []


def test_return_under_journal_only_is_a_balanced_reversing_journal(setup, nav):
    profile, client = setup
    settings.set_value(profile, "posting.model", "journal_only")
    stage_po_and_bills(profile)
    documents.stage(profile, SourceKind.INVENTORY_RETURN, RETURN)
    assert [r.outcome for r in post_ready(profile, client)] == ["posted"] * 3
    assert ledger(nav) == {"6120": D("126.80"), "6110": D("62.00"), "5630": D("15.02"), "6210": D("12.00"),
                           "2950": D("-215.82")}


def _with_job(raw, job_number="10452", job_id=38110052):
    out = copy.deepcopy(raw)
    out["jobId"] = job_id
    if "billAmount" in out:
        out["jobNumber"] = job_number
    return out


def test_po_with_job_and_territory_puts_both_dimensions_and_the_job_number_on_every_gl_entry(setup, nav, tmp_path):
    profile, client = setup
    settings.set_value(profile, "posting.dimension_rules", ["job:JOB:value:required"])
    refdata.refresh_nav(profile, RefData(client))
    stage_po_and_bills(profile, _with_job(PO), [_with_job(BILL_R1), _with_job(BILL_R2)])
    documents.stage(profile, SourceKind.INVENTORY_RETURN, _with_job(RETURN))
    assert [r.outcome for r in post_ready(profile, client)] == ["posted"] * 4
    entries = nav.gl_entries()
    assert entries
    for e in entries:
        dims = {d["code"]: d["valueCode"] for d in e["dimensionSetLines"]}
        assert dims == {"TERRITORY": "NORTH", "JOB": "10452"}, (e["documentNumber"], e["accountNumber"], dims)
    # every line that belongs to the job names it (the payables entry is the vendor's, not a job line)
    for e in entries:
        if e["accountNumber"] != "5410":
            assert e["description"].startswith("Job 10452 "), e["description"]
    assert ledger(nav)["5410"] == D("-215.82")
    # the reconciliation pivots on any dimension NAV booked
    start, end = reconcile.month_bounds("2026-10")
    report = reconcile.reconcile(profile, "2026-10", ApiBooks(client).gl_entries_between(start, end))
    by_job = report.totals("dim:JOB")
    assert [(m, k) for m, k, *_ in by_job] == [("2026-10", "10452")] and by_job[0][4] == D("0.00")
    assert report.dimension_codes() == ["JOB"]
    reconcile.write(report, tmp_path / "r.csv", "csv")
    assert "Totals per JOB" in (tmp_path / "r.csv").read_text(encoding="utf-8")


def test_unknown_dimension_value_is_named_on_the_row_and_nav_refuses_it_too(setup, nav):
    profile, client = setup
    settings.set_value(profile, "posting.dimension_rules", ["job:JOB:value:required"])
    stage_po_and_bills(profile, _with_job(PO, "99999"), [_with_job(BILL_R1, "99999")])
    mapping.refresh_readiness(profile)
    bill = StDocument.get(StDocument.kind == SourceKind.INVENTORY_BILL)
    assert bill.status == DocStatus.NEEDS_MAPPING
    assert "JOB from job 99999: dimension value 99999 does not exist for dimension JOB" in bill.problem
    # a required dimension with nothing to take it from is named too
    settings.set_value(profile, "posting.dimension_rules", ["project:PROJECT:map:required"])
    mapping.refresh_readiness(profile)
    bill = StDocument.get_by_id(bill.id)
    assert "no project gives no value for a PROJECT dimension value (required)" in bill.problem
    # and BC itself refuses the unknown value (APIV2DimensionSetLines.Page.al)
    from stnav_desktop.connectors.http import ConnectorError
    from stnav_desktop.connectors.nav.books import JournalDocumentSpec
    from stnav_desktop.sync.domain import accounting
    ctx = mapping.plan_context(profile, validate=False)
    ctx.dimension_rules = []
    plan = accounting.plan_bill_journal(_with_job(BILL_R1, "99999"), ctx)
    spec = plan.nav_spec()
    for line in spec.lines:
        line.dimensions["JOB"] = "99999"
    [outcome] = ApiBooks(client).create_journals([JournalDocumentSpec(spec.document_number, spec.lines)], post=False)
    assert isinstance(outcome, ConnectorError)
    assert 'The "valueCode" does not match to a Dimension Value.' in str(outcome)


def test_dimension_rules_map_many_to_one_with_defaults_and_a_bad_rule_is_named_on_every_row(setup, nav):
    profile, client = setup
    from stnav_desktop.sync.views import preview

    # inventory location 5001 and 5002 both -> SERVICE (many to one); DEPARTMENT from the location, default ADMIN
    mapping.set_mapping(profile, "dimension", "inventory_location:5001", "SERVICE", target_type="DEPARTMENT")
    mapping.set_mapping(profile, "dimension", "inventory_location:5002", "SERVICE", target_type="DEPARTMENT")
    settings.set_value(profile, "posting.dimension_rules", ["inventory_location:DEPARTMENT:map:default=ADMIN"])
    documents.stage(profile, SourceKind.PURCHASE_ORDER, PO)  # no bill: the line accounts come from the rule chain
    documents.stage(profile, SourceKind.INVENTORY_RETURN, RETURN)
    documents.stage(profile, SourceKind.INVENTORY_RETURN, {**RETURN, "id": 9300002, "number": "RT-2",
                                                           "inventoryLocationId": 5002})
    documents.stage(profile, SourceKind.INVENTORY_RETURN, {**RETURN, "id": 9300003, "number": "RT-3",
                                                           "inventoryLocationId": None})
    mapping.refresh_readiness(profile)
    shown = {d.number: preview.preview(d) for d in StDocument.select().where(
        StDocument.kind == SourceKind.INVENTORY_RETURN)}
    dims = {n: dict(p.header)["Dimensions"] for n, p in shown.items()}
    assert dims == {"RT-10452-001-1": "TERRITORY=NORTH, DEPARTMENT=SERVICE", "RT-2": "TERRITORY=NORTH, DEPARTMENT=SERVICE",
                    "RT-3": "TERRITORY=NORTH, DEPARTMENT=ADMIN"}
    assert shown["RT-2"].title == "Purchase credit memo"
    assert [ln[1] for ln in shown["RT-2"].lines] == ["6120", "6110", "5630"]  # the accounts the cost went to
    settings.set_value(profile, "posting.dimension_rules", ["colour:COLOUR"])
    mapping.refresh_readiness(profile)
    for doc in StDocument.select().where(StDocument.kind == SourceKind.INVENTORY_RETURN):
        assert doc.status == DocStatus.NEEDS_MAPPING
        assert "setting posting.dimension_rules: dimension rule 'colour:COLOUR': 'colour' is not one of" in doc.problem


def test_dimension_mapping_keys_and_dimension_are_checked(setup):
    profile, _ = setup
    with pytest.raises(mapping.MappingError, match="the key is <attribute>:<ServiceTitan id>"):
        mapping.set_mapping(profile, "dimension", "colour:1", "X", target_type="JOB")
    with pytest.raises(mapping.MappingError, match="target_type must name the NAV dimension"):
        mapping.set_mapping(profile, "dimension", "project:7", "P7")
    row = mapping.set_mapping(profile, "dimension", "project:7", "P7", target_type="project")
    assert row.target_type == "PROJECT"


def test_a_return_on_a_paid_invoice_is_refused_by_nav_with_its_reason_unless_returns_are_not_applied(setup, nav):
    profile, client = setup
    stage_po_and_bills(profile)
    post_ready(profile, client)
    invoice = nav.purchase_invoices()[0]
    # AP paid the invoice in full before the vendor's credit arrived: its vendor ledger entry is closed
    [entry] = [v for v in nav.company.vendor_ledger if v["documentNumber"] == invoice["number"]]
    entry.update(remainingAmount=D("0"), open=False)
    documents.stage(profile, SourceKind.INVENTORY_RETURN, RETURN)
    [result] = post_ready(profile, client)
    assert result.outcome in ("failed", "needs_attention")
    # the connector says it in words (BC: "There is no Vendor Ledger Entry within the filter ...")
    assert f"Invoice {invoice['number']} to be corrected is not an open posted invoice of vendor V10000" in \
        result.message and "already fully credited or paid" in result.message
    [draft] = nav.purchase_credit_memos()  # BC's posting failed: the credit memo stays a draft in NAV
    assert draft["status"] == "Draft" and draft["invoiceNumber"] == invoice["number"]
    assert ledger(nav)["5410"] == D("-251.54")  # nothing credited

    # the office turns application off: AP applies the credit in NAV; the return is booked unapplied
    settings.set_value(profile, "posting.apply_returns", False)
    client.delete(client.cpath(f"purchaseCreditMemos({draft['id']})"), "*")  # the clerk deletes the draft in NAV
    doc = StDocument.get(StDocument.kind == SourceKind.INVENTORY_RETURN)
    posting.replay(profile, document_ids=[doc.id])
    [again] = posting.Poster(profile, ApiBooks(client)).post_batch()
    assert again.outcome == "posted", again.message
    [memo] = nav.purchase_credit_memos()
    assert memo["invoiceNumber"] == "" and memo["status"] == "Open"
