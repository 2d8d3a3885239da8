"""A fault run: 10% injected 5xx, 429 bursts and token expiry on both sides. Every document ends posted
or needs attention with a reason; none is lost or doubled."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from stnav_desktop import demo
from stnav_desktop.connectors.http import ConnectorError, RetryPolicy
from stnav_desktop.store import settings
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import DocStatus, SourceKind, StDocument
from stnav_desktop.sync.app import batches, posting
from stnav_desktop.sync.app.service import SyncService


def test_fault_run_ends_posted_or_needs_attention_never_doubled(store, systems):
    sims = systems(purchase_orders=80)
    profile = settings.get_profile("default")
    demo.configure(profile, sims)
    settings.set_value(profile, "retry.max_attempts", 4)
    now = [utcnow()]
    # fast backoff: the same retry logic, without real seconds of waiting in the test
    service = SyncService(profile, clock=lambda: now[0],
                          retry=RetryPolicy(total=6, backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0))
    service.refresh_refdata()
    # faults on both sides from here on
    sims.st.set_faults(error_rate=0.10, burst_429=8, retry_after=0)
    sims.nav.faults.error_rate = 0.10
    sims.nav.faults.fail(429, times=6, retry_after="0")
    pulled = None
    for _ in range(10):  # a pull that fails part-way resumes from its stored token next time
        try:
            pulled = service.pull()
            break
        except ConnectorError:
            sims.st.revoke_tokens()  # token expiry on the ServiceTitan side too
    assert pulled is not None
    demo.accept_suggestions(profile)
    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    approved = [d.id for d in StDocument.select().where(StDocument.batch == batch)]
    assert len(approved) > 40
    for round_ in range(12):
        if round_ % 3 == 1:
            sims.nav.expire_tokens()  # token expiry on the NAV side mid-run
        try:
            service.post(None)
        except ConnectorError:
            pass  # e.g. the write-back failed: retried on the next round
        now[0] += timedelta(hours=2)  # past every scheduled retry
        open_docs = StDocument.select().where(StDocument.id.in_(approved) & StDocument.status.in_(
            [DocStatus.APPROVED, DocStatus.FAILED, DocStatus.POSTING, DocStatus.UNCONFIRMED])).count()
        if not open_docs:
            break
    docs = list(StDocument.select().where(StDocument.id.in_(approved)))
    statuses = Counter(d.status for d in docs)
    assert set(statuses) <= {DocStatus.POSTED, DocStatus.NEEDS_ATTENTION}, statuses
    assert all(d.problem for d in docs if d.status == DocStatus.NEEDS_ATTENTION)
    # none doubled: one NAV invoice per vendor invoice number, one journal per bill
    invoices = Counter(inv["vendorInvoiceNumber"] for inv in sims.nav.purchase_invoices())
    assert invoices and max(invoices.values()) == 1
    posted_pos = {f"ST-PO-{d.number}" for d in docs if d.kind == SourceKind.PURCHASE_ORDER
                  and d.status == DocStatus.POSTED}
    assert posted_pos <= set(invoices)
    journals = Counter(e["documentNumber"] for e in sims.nav.gl_entries()
                       if e["documentNumber"].startswith("STB") and e["accountNumber"] == "2950")
    assert max(journals.values()) == 1
    posted_bills = {f"STB{d.st_id}" for d in docs if d.kind == SourceKind.INVENTORY_BILL and d.status == DocStatus.POSTED}
    assert posted_bills == set(journals)
    # purchase invoices and bill journals each checked on their own: nothing NAV holds is shown as failed
    not_done = {DocStatus.FAILED, DocStatus.NEEDS_ATTENTION, DocStatus.UNCONFIRMED}
    for d in docs:
        if d.status in not_done and d.kind == SourceKind.PURCHASE_ORDER:
            assert f"ST-PO-{d.number}" not in invoices, f"PO {d.number} is in NAV but shown {d.status}"
        if d.status in not_done and d.kind == SourceKind.INVENTORY_BILL:
            assert f"STB{d.st_id}" not in journals, f"bill {d.st_id} is in NAV but shown {d.status}"
    # nothing lost: every approved document is accounted for; and the faults really happened
    assert len(docs) == len(approved)
    # posting in $batch chunks makes few NAV requests, so few of them draw a fault; some must have
    assert sims.nav.faults.injected >= 1
    # replay of what needs attention finishes the job once the faults stop
    sims.nav.faults.clear()
    sims.st.set_faults(error_rate=0.0, burst_429=0)
    posting.replay(profile)
    service.post(None)
    assert all(StDocument.get_by_id(i).status == DocStatus.POSTED for i in approved)
    invoices = Counter(inv["vendorInvoiceNumber"] for inv in sims.nav.purchase_invoices())
    assert max(invoices.values()) == 1
