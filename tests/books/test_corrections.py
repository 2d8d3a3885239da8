from decimal import Decimal

import pytest

from stnav_desktop.connectors.nav.bulk import ApiBooks
from stnav_desktop.store.models import DocStatus, StDocument
from stnav_desktop.sync.app import batches, corrections, documents, posting
from tests.books.test_books import ledger, setup, stage_and_post  # noqa: F401 - fixture
from tests.sync.example import BILL_R1

D = Decimal


def test_changed_bill_gets_a_reversal_and_a_corrected_journal_only_when_approved(setup, nav):  # noqa: F811
    profile, client = setup
    stage_and_post(profile, client, "journal_only")
    before = ledger(nav)
    changed = dict(BILL_R1, shippingAmount="15.00", billAmount="159.72", modifiedOn="2026-10-20T09:00:00Z")
    assert documents.stage(profile, "inventory_bill", changed).change == "changed_after_posting"
    doc = StDocument.get(StDocument.st_id == BILL_R1["id"])
    assert doc.status == DocStatus.CHANGED_AFTER_POSTING
    # nothing is posted on its own: a pass of the poster leaves NAV alone
    posting.Poster(profile, ApiBooks(client)).post_batch()
    assert ledger(nav) == before
    proposal = corrections.propose(doc)
    assert proposal.kind == "journal"
    assert proposal.reversal.document_number == "STB7700001-R1"
    assert proposal.corrected.document_number == "STB7700001-C1"
    assert any("shippingAmount" == c["field"] for c in proposal.changes)
    # never on one person's say-so: only from an approved correction batch
    with pytest.raises(corrections.CorrectionError, match="approved correction batch"):
        corrections.approve_and_post(doc, ApiBooks(client), actor="controller")
    batch = batches.create_correction_batch(profile, [doc.id], actor="clerk")
    with pytest.raises(batches.BatchError, match=f"approve batch {batch.id} first"):
        batches.post_correction_batch(batch, ApiBooks(client))
    assert ledger(nav) == before
    batches.approve(batch, actor="controller")
    [result] = batches.post_correction_batch(batch, ApiBooks(client))
    numbers = result.message.removeprefix("corrected: ").split(", ")
    assert result.outcome == "posted" and numbers == ["STB7700001-R1", "STB7700001-C1"]
    assert batches.inspect(batch).lines[0].message == result.message  # the result stays with the batch
    after = ledger(nav)
    assert after["6210"] - before["6210"] == D("3.00")  # freight 12.00 -> 15.00
    assert after["2950"] - before["2950"] == D("-3.00")
    assert sum(after.values()) == 0
    doc = StDocument.get_by_id(doc.id)
    assert doc.status == DocStatus.POSTED and doc.version == 2
    with pytest.raises(corrections.CorrectionError):
        corrections.propose(doc)  # nothing left to correct


def test_changed_po_gets_a_credit_memo_and_a_new_invoice_on_approval(setup, nav):  # noqa: F811
    from tests.sync.example import PO

    profile, client = setup
    stage_and_post(profile, client, "invoice_only")
    before = ledger(nav)
    changed = dict(PO, shipping=15.00, total=254.54, modifiedOn="2026-10-20T09:00:00Z")
    assert documents.stage(profile, "purchase_order", changed).change == "changed_after_posting"
    doc = StDocument.get(StDocument.st_id == PO["id"])
    proposal = corrections.propose(doc)
    assert proposal.kind == "credit_memo"
    assert proposal.corrected.vendor_invoice_number == "ST-PO-10452-001-v2"
    batch = batches.create_correction_batch(profile, [doc.id], actor="clerk")
    batches.approve(batch, actor="controller")
    [result] = batches.post_correction_batch(batch, ApiBooks(client))
    assert result.outcome == "posted" and len(result.message.split(", ")) == 2
    after = ledger(nav)
    # the old invoice is fully reversed and the new one booked: net change = the new freight only
    assert {k: after.get(k, D(0)) - before.get(k, D(0)) for k in set(after) | set(before)
            if after.get(k, D(0)) != before.get(k, D(0))} == {"6210": D("3.00"), "5410": D("-3.00")}
    assert StDocument.get_by_id(doc.id).status == DocStatus.POSTED
