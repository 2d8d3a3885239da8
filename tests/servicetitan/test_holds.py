"""Bills that must not be booked (deleted in ServiceTitan, orphaned, duplicate vendor invoice) are held
back with the reason in words, never batched, and released only by a person, audited."""

from __future__ import annotations

import pytest

from stnav_desktop.cli import main
from stnav_desktop.store.db import db
from stnav_desktop.store.migrations import LATEST, current_version, migrate
from stnav_desktop.store.models import AuditEvent, DocStatus, SourceKind, StDocument
from stnav_desktop.sync.app import batches, holds
from stnav_desktop.sync.app.service import SyncService
from stnav_desktop.sync.views import review


@pytest.fixture
def pulled(st_profile):
    SyncService(st_profile).pull()
    return st_profile


def bill(st_id: int) -> StDocument:
    return StDocument.get((StDocument.kind == SourceKind.INVENTORY_BILL) & (StDocument.st_id == st_id))


def test_inactive_bill_is_held_with_the_reason(pulled, sandbox, capsys):
    b = bill(sandbox.bad_records["inventory_bills"]["inactive"])
    assert b.status == DocStatus.HELD and b.st_active is False
    assert "deleted in ServiceTitan (inactive)" in b.problem
    assert main(["review", "list", "--status", "held"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if b.number in x)
    assert "Held back" in line and "deleted in ServiceTitan" in line


def test_bill_of_a_purchase_order_that_does_not_exist_is_held(pulled, sandbox):
    b = bill(sandbox.bad_records["inventory_bills"]["orphan_purchase_order"])
    assert b.status == DocStatus.HELD
    assert b.problem == f"its purchase order {b.purchase_order_st_id} does not exist in ServiceTitan"


def test_second_bill_with_same_vendor_invoice_reference_is_held_naming_the_first(pulled, sandbox):
    second = bill(sandbox.bad_records["inventory_bills"]["duplicate_reference"])
    first = bill(sandbox.bad_records["duplicate_of"][second.st_id])
    assert first.number == second.number and first.vendor_st_id == second.vendor_st_id
    assert second.status == DocStatus.HELD
    assert f"duplicate of bill {first.number} (ServiceTitan id {first.st_id})" in second.problem
    assert "duplicate" not in first.problem and first.status != DocStatus.HELD
    rows = review.fetch(pulled, review.ReviewFilter(statuses=[DocStatus.HELD]), limit=50)
    assert {r.id for r in rows} >= {second.id}
    assert review.STATUS_LABELS[DocStatus.HELD].startswith("Held back")


def test_held_bills_are_never_batched(pulled, sandbox):
    held = [bill(i) for k, i in sandbox.bad_records["inventory_bills"].items()
            if k in ("inactive", "orphan_purchase_order", "duplicate_reference")]
    # make every other document ready, so "all ready" would take anything it could
    StDocument.update(status=DocStatus.READY, problem="").where(StDocument.status != DocStatus.HELD).execute()
    batch = batches.create_batch(pulled, None)
    assert not {d.id for d in held} & {d.id for d in batch.documents}
    with pytest.raises(batches.BatchError):
        batches.create_batch(pulled, [held[0].id])


def test_release_is_explicit_audited_and_survives_the_next_pull(pulled, sandbox, capsys):
    b = bill(sandbox.bad_records["inventory_bills"]["inactive"])
    with pytest.raises(SystemExit):
        main(["review", "release", b.number])  # --reason is required
    capsys.readouterr()
    assert main(["review", "release", b.number, "--reason", "vendor confirmed the delivery"]) == 0
    assert "released" in capsys.readouterr().out
    b = bill(b.st_id)
    assert b.status in (DocStatus.READY, DocStatus.NEEDS_MAPPING) and b.hold_released == b.hold_reason
    event = AuditEvent.get((AuditEvent.st_ref == f"BILL-{b.number}") & (AuditEvent.action == "document.hold_released"))
    assert "vendor confirmed the delivery" in event.detail and event.actor
    # nothing releases by default: the other held bills are still held; and the release is not undone
    SyncService(pulled).pull()
    assert bill(b.st_id).status != DocStatus.HELD
    assert bill(sandbox.bad_records["inventory_bills"]["orphan_purchase_order"]).status == DocStatus.HELD
    with pytest.raises(holds.HoldError):
        holds.release(bill(b.st_id), "again")


def test_release_refuses_without_a_reason_and_a_duplicate_number_needs_the_id(pulled, sandbox, capsys):
    second = bill(sandbox.bad_records["inventory_bills"]["duplicate_reference"])
    with pytest.raises(holds.HoldError, match="reason"):
        holds.release(second, "  ")
    assert main(["review", "release", second.number, "--reason", "two deliveries, one invoice"]) == 0
    assert bill(second.st_id).status != DocStatus.HELD
    assert bill(sandbox.bad_records["duplicate_of"][second.st_id]).status != DocStatus.HELD


def test_hold_lifts_when_the_reason_goes_away_in_servicetitan(pulled, sandbox):
    st_id = sandbox.bad_records["inventory_bills"]["inactive"]
    sandbox.edit_bill(st_id, active=True)  # restored in ServiceTitan
    SyncService(pulled).pull()
    b = bill(st_id)
    assert b.status != DocStatus.HELD and b.hold_reason == ""


def test_a_bill_deleted_after_staging_is_held_on_the_next_pull(pulled, sandbox):
    st_id = next(i for i in sandbox.bill_ids() if bill(i).status in (DocStatus.READY, DocStatus.NEEDS_MAPPING))
    sandbox.edit_bill(st_id, active=False)
    SyncService(pulled).pull()
    assert bill(st_id).status == DocStatus.HELD


def test_migration_v2_adds_the_hold_columns_to_an_older_database(store):
    for column in ("st_active", "hold_reason", "hold_released"):
        db.execute_sql(f"ALTER TABLE st_document DROP COLUMN {column}")
    db.execute_sql("DELETE FROM schema_version WHERE version >= 2")  # a database of release v1
    assert current_version(db) == 1
    assert migrate(db) == LATEST  # every later step runs (each idempotent: v3's columns are there already)
    assert {"st_active", "hold_reason", "hold_released"} <= {c.name for c in db.get_columns("st_document")}
    assert migrate(db) == LATEST  # nothing left to do


def test_a_bill_deleted_while_in_a_prepared_batch_is_held_and_leaves_the_batch(pulled, sandbox):
    st_id = next(i for i in sandbox.bill_ids() if bill(i).status in (DocStatus.READY, DocStatus.NEEDS_MAPPING))
    StDocument.update(status=DocStatus.READY, problem="").where(StDocument.st_id == st_id).execute()
    batch = batches.create_batch(pulled, [bill(st_id).id])
    sandbox.edit_bill(st_id, active=False)
    SyncService(pulled).pull()
    held = bill(st_id)
    assert held.status == DocStatus.HELD and held.batch_id is None
    assert batch.documents.count() == 0
