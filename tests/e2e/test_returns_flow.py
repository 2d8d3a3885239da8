"""Vendor returns through the whole product against both simulators (issue #15): pulled from Export_Returns,
batched, approved and posted by the one posting path; canceled, deleted and not-yet-credited returns never
reach NAV; credited ones are applied to their PO's invoice, carry TERRITORY and JOB, and have their source PDF
attached; a second run sends nothing again."""

from __future__ import annotations

from stnav_desktop.store.models import DocStatus, NavAttachment, SourceKind, StDocument
from stnav_desktop.sync.app import batches


def test_returns_pulled_posted_applied_and_hazards_never_booked(configured):
    sims, profile, service = configured()
    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    service.post(batch)

    bad = sims.st.bad_records["returns"]
    returns = {d.st_id: d for d in StDocument.select().where(StDocument.kind == SourceKind.INVENTORY_RETURN)}
    memos = {m["vendorCreditMemoNumber"]: m for m in sims.nav.purchase_credit_memos()}
    for hazard, st_id in bad.items():
        doc = returns[st_id]
        assert doc.status == DocStatus.SKIPPED, (hazard, doc.status, doc.problem)
        assert f"ST-RET-{doc.number}" not in memos
    credited = [d for d in returns.values() if d.st_id not in bad.values()]
    # a credited return of an unmapped vendor waits for its mapping, with the reason; the rest are posted
    waiting = [d for d in credited if d.status != DocStatus.POSTED]
    assert all(d.status == DocStatus.NEEDS_MAPPING and "not mapped to a NAV vendor" in d.problem for d in waiting)
    credited = [d for d in credited if d.status == DocStatus.POSTED]
    assert len(credited) >= 3
    invoices = {i["number"]: i for i in sims.nav.purchase_invoices()}
    for doc in credited:
        memo = memos[f"ST-RET-{doc.number}"]
        assert memo["invoiceNumber"] in invoices  # applied to its PO's posted invoice
        entries = [e for e in sims.nav.gl_entries() if e["documentNumber"] == memo["number"]]
        payable = sum(e["debitAmount"] for e in entries if e["accountNumber"] == "5410")
        assert payable == doc.total
        for e in entries:
            assert {"TERRITORY", "JOB"} <= {d["code"] for d in e["dimensionSetLines"]}
        assert NavAttachment.get(NavAttachment.document == doc).state == "attached"

    # a second run: nothing sent again
    before = (len(sims.nav.purchase_credit_memos()), len(sims.nav.gl_entries()))
    service.post(None)
    assert (len(sims.nav.purchase_credit_memos()), len(sims.nav.gl_entries())) == before


def test_job_numbers_and_types_come_from_servicetitan_jobs_for_documents_that_carry_only_the_job_id(configured):
    from stnav_desktop.store import settings
    from stnav_desktop.store.models import StReference
    from stnav_desktop.sync.app import mapping
    from stnav_desktop.sync.views import preview
    sims, profile, service = configured()
    service.refresh_refdata()  # after the pull: the jobs of the staged documents are cached
    jobs = {r.st_id: r.data for r in StReference.select().where(StReference.entity == "jobs")}
    assert jobs
    ctx = mapping.plan_context(profile)
    job_id, job = next(iter(jobs.items()))
    assert ctx.job_number(job_id) == job["jobNumber"]
    # a job-type rule the office has no NAV dimension value for: named on the row, not guessed
    settings.set_value(profile, "posting.dimension_rules", ["job_type:JOBTYPE:value:required"])
    mapping.refresh_readiness(profile)
    po = StDocument.get((StDocument.kind == SourceKind.PURCHASE_ORDER) & (StDocument.status == DocStatus.NEEDS_MAPPING)
                        & StDocument.problem.contains("JOBTYPE"))
    assert f"JOBTYPE from job type {job['jobTypeId']}: dimension value {job['jobTypeId']} does not exist for " \
           "dimension JOBTYPE" in po.problem
    assert "Not ready" == preview.preview(po).title
