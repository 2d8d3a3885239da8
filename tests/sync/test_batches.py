"""The batch rules: an unapproved batch is never posted nor closed; a batch is done only when every
document in it reached a final state; reopen (batch and document) for the cases that need it."""

from __future__ import annotations

import pytest

from stnav_desktop.store.models import Batch, DocStatus, StDocument
from stnav_desktop.sync.app import batches, posting

from .fake_nav import FakeNav

pytestmark = pytest.mark.both_backends  # set-based SQL (issue #17): PostgreSQL too where a server is given

def test_post_of_a_prepared_batch_is_refused_and_changes_nothing(staged, profile):
    batch = batches.create_batch(profile, actor="clerk")
    with pytest.raises(batches.BatchError, match=f"approve batch {batch.id} first"):
        batches.require_postable(batch)
    # even the poster itself (scheduler path, a direct call) never closes an unapproved batch
    posting.Poster(profile, FakeNav()).post_batch(batch)
    assert Batch.get_by_id(batch.id).status == "prepared"
    assert {d.status for d in StDocument.select()} == {DocStatus.READY}
    batches.approve(batch, actor="controller")  # still approvable


def test_batch_is_done_only_when_every_document_is_final(staged, profile):
    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    doc = StDocument.select().where(StDocument.batch == batch).first()
    from stnav_desktop.sync.domain import lifecycle
    lifecycle.transition(doc, DocStatus.POSTING)
    lifecycle.transition(doc, DocStatus.NEEDS_ATTENTION, reason="NAV refused it")
    for other in StDocument.select().where((StDocument.batch == batch) & (StDocument.id != doc.id)):
        lifecycle.transition(other, DocStatus.POSTING)
        lifecycle.transition(other, DocStatus.POSTED)
    assert not batches.close_if_done(batch)
    assert Batch.get_by_id(batch.id).status == "approved"
    with pytest.raises(batches.BatchError, match="nothing left to post.*replay"):
        batches.require_postable(batch)
    posting.replay(profile, batch=batch)
    batches.require_postable(Batch.get_by_id(batch.id))


def test_reopen_batch_and_document(staged, profile):
    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    assert batches.reopen_batch(batch, actor="controller") == len(staged)
    fresh = Batch.get_by_id(batch.id)
    assert fresh.status == "prepared" and fresh.approved_by is None
    doc = StDocument.get_by_id(staged[0].id)
    batches.reopen_document(doc, actor="clerk")
    doc = StDocument.get_by_id(doc.id)
    assert doc.batch_id is None and doc.status == DocStatus.READY  # out of the batch, checked again
    # it can go in a new batch
    assert batches.create_batch(profile, [doc.id], actor="clerk").documents.count() == 1


def test_inspect_shows_documents_count_and_total(staged, profile):
    batch = batches.create_batch(profile, actor="clerk")
    view = batches.inspect(batch)
    assert view.count == len(staged)
    assert view.total == sum(d.total for d in staged)
    assert view.status_label == "waiting for approval"


def test_migration_v4_gives_back_batches_stranded_by_the_old_bug(staged, profile):
    from stnav_desktop.store import migrations
    from stnav_desktop.store.db import db

    batch = batches.create_batch(profile, actor="clerk")
    Batch.update(status="done").where(Batch.id == batch.id).execute()  # what posting a prepared batch did
    migrations._v4_reopen_stranded_batches(db)
    assert Batch.get_by_id(batch.id).status == "prepared"
    batches.approve(Batch.get_by_id(batch.id), actor="controller")


def test_cli_post_of_an_unapproved_batch_exits_non_zero(staged, profile, capsys):
    from stnav_desktop.cli import main

    batch = batches.create_batch(profile, actor="clerk")
    assert main(["post", "--batch", str(batch.id)]) == 1
    err = capsys.readouterr().err
    assert f"approve batch {batch.id} first" in err and "Traceback" not in err
    assert Batch.get_by_id(batch.id).status == "prepared"
    assert main(["batch", "show", str(batch.id)]) == 0
    out = capsys.readouterr().out
    assert f"{len(staged)} documents, total {sum(d.total for d in staged):,.2f}" in out
    assert main(["review", "list"]) == 0
    assert "<10" not in capsys.readouterr().out
    assert main(["review", "reopen", staged[0].number]) == 0
    assert StDocument.get_by_id(staged[0].id).batch_id is None


def test_controls_two_person_rule_on_for_new_profiles_approvers_and_limits(staged, profile):
    from stnav_desktop.store import settings

    assert settings.get(profile, "approval.two_person_rule") is True  # a new profile: on
    batch = batches.create_batch(profile, actor="ana")
    with pytest.raises(batches.BatchError, match="two-person rule"):
        batches.approve(batch, actor="ANA")  # the same account, whatever the case
    settings.set_value(profile, "approval.approvers", "bob, CONTOSO\\carol")
    with pytest.raises(batches.BatchError, match="may not approve"):
        batches.approve(batch, actor="dave")
    total = sum(d.total for d in staged)
    settings.set_value(profile, "approval.approver_limits", f"bob={total - 1}")
    with pytest.raises(batches.BatchError, match="above bob's approval limit"):
        batches.approve(batch, actor="bob")
    settings.set_value(profile, "approval.batch_limit", "100.00")
    with pytest.raises(batches.BatchError, match="per batch: split it"):
        batches.approve(batch, actor="CONTOSO\\carol")
    settings.set_value(profile, "approval.batch_limit", "")
    assert batches.approve(batch, actor="CONTOSO\\carol") == []
    with pytest.raises(settings.SettingError, match="account=amount"):
        settings.set_value(profile, "approval.approver_limits", "bob")
    with pytest.raises(settings.SettingError, match="not an amount"):
        settings.set_value(profile, "approval.batch_limit", "12,5O")


def test_the_os_account_comes_from_the_system_not_the_environment(monkeypatch):
    import pwd

    monkeypatch.setenv("USER", "someone-else")
    monkeypatch.setenv("LOGNAME", "someone-else")
    monkeypatch.setenv("USERNAME", "someone-else")
    assert batches.os_account() == pwd.getpwuid(__import__("os").getuid()).pw_name != "someone-else"


def test_migration_v4_keeps_existing_profiles_without_two_person_rule(store):
    from stnav_desktop.store import migrations, settings
    from stnav_desktop.store.db import db
    from stnav_desktop.store.models import Profile

    old = Profile.create(name="older")
    migrations._v4_reopen_stranded_batches(db)
    assert settings.get(old, "approval.two_person_rule") is False
    assert settings.get(settings.get_profile("brand-new"), "approval.two_person_rule") is True


def test_scheduled_retries_close_the_batches_they_finish(staged, profile):

    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    nav = FakeNav()
    results = posting.Poster(profile, nav).post_batch(None)  # the scheduler's run: no batch given
    assert Batch.get_by_id(batch.id).status == "approved"
    assert batches.close_finished(results) == 1
    assert Batch.get_by_id(batch.id).status == "done"


def test_posting_a_finished_batch_again_is_harmless_and_closes_it(staged, profile, capsys):
    """A crash between the last document and the batch's closing: the rerun closes it, exit 0."""
    from stnav_desktop.cli import main
    from stnav_desktop.sync.domain import lifecycle
    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    for doc in StDocument.select().where(StDocument.batch == batch):
        lifecycle.transition(doc, DocStatus.POSTING)
        lifecycle.transition(doc, DocStatus.POSTED)
    assert Batch.get_by_id(batch.id).status == "approved"
    assert main(["post", "--batch", str(batch.id)]) == 0
    assert "is done" in capsys.readouterr().out
    assert Batch.get_by_id(batch.id).status == "done"


# --- set-based batch create and approve (issue #17) -------------------------------------------------

def _head_seq() -> int:
    from stnav_desktop.store.db import db

    return db.execute_sql("SELECT seq FROM audit_head WHERE id = 1").fetchone()[0]


def test_bulk_approve_audits_each_document_so_audit_show_traces_it(staged, profile, capsys):
    from stnav_desktop.cli import main
    from stnav_desktop.store import audit

    batch = batches.create_batch(profile, actor="clerk")
    before = _head_seq()
    assert batches.approve(batch, actor="controller") == []
    docs = list(StDocument.select().where(StDocument.batch == batch))
    assert {d.status for d in docs} == {DocStatus.APPROVED} and len(docs) == len(staged)
    assert all(d.problem == "" and d.retry_count == 0 for d in docs)
    # one event per document plus the batch's, each document's naming it
    assert _head_seq() - before == len(staged) + 1
    for doc in docs:
        from stnav_desktop.sync.domain import lifecycle

        [event] = [e for e in audit.events(st_ref=lifecycle.st_ref(doc)) if e.action == "document.approved"]
        assert event.actor == "controller" and f'"batch":{batch.id}' in event.detail
    assert main(["audit", "show", "BILL-10452-001-R2"]) == 0
    out = capsys.readouterr().out
    assert "document.approved" in out and "controller" in out
    assert audit.verify().ok


def test_two_person_rule_refuses_a_whole_batch_and_changes_nothing(staged, profile):
    from stnav_desktop.store import settings

    settings.set_value(profile, "approval.two_person_rule", True)
    batch = batches.create_batch(profile, actor="clerk")
    before = _head_seq()
    with pytest.raises(batches.BatchError, match="two-person rule"):
        batches.approve(batch, actor="CLERK")
    assert {d.status for d in StDocument.select()} == {DocStatus.READY}
    assert Batch.get_by_id(batch.id).status == "prepared" and _head_seq() == before


def test_approve_takes_out_a_document_no_longer_ready_and_approves_the_rest(staged, profile):
    batch = batches.create_batch(profile, actor="clerk")
    po = StDocument.get_by_id(staged[0].id)
    # changed under the batch without a re-check (another PC's pull): now from a vendor nobody mapped
    StDocument.update(raw=dict(po.raw, vendorId=2999), vendor_st_id=2999).where(StDocument.id == po.id).execute()
    dropped = batches.approve(batch, actor="controller")
    assert len(dropped) == 1 and dropped[0].startswith("PO-10452-001: ") and "2999" in dropped[0]
    po = StDocument.get_by_id(po.id)
    assert po.status == DocStatus.NEEDS_MAPPING and po.batch_id is None and "2999" in po.problem
    others = StDocument.select().where(StDocument.id != po.id)
    assert {(d.status, d.batch_id) for d in others} == {(DocStatus.APPROVED, batch.id)}


def test_approve_of_a_batch_someone_else_approved_meanwhile_is_refused(staged, profile):
    batch = batches.create_batch(profile, actor="clerk")
    stale = Batch.get_by_id(batch.id)
    batches.approve(Batch.get_by_id(batch.id), actor="controller")
    before = _head_seq()
    with pytest.raises(batches.BatchError, match="is approved, not waiting"):
        batches.approve(stale, actor="auditor")
    assert Batch.get_by_id(batch.id).approved_by == "controller" and _head_seq() == before


def test_create_batch_with_one_document_not_ready_creates_nothing(staged, profile):
    rejected = batches.reject(StDocument.get_by_id(staged[1].id), "duplicate", actor="clerk")
    with pytest.raises(batches.BatchError, match=r"BILL-10452-001-R1 is rejected"):
        batches.create_batch(profile, [staged[0].id, rejected.id], actor="clerk")
    assert Batch.select().count() == 0
    assert StDocument.select().where(StDocument.batch.is_null(False)).count() == 0
    batch = batches.create_batch(profile, actor="clerk")  # every ready one: the two others
    assert {d.id for d in batch.documents} == {staged[0].id, staged[2].id}
    from stnav_desktop.store import audit

    event = list(audit.events(action="batch.prepared"))[-1]
    assert "PO-10452-001" in event.detail and "BILL-10452-001-R2" in event.detail


def test_reopen_batch_moves_the_unposted_back_at_once_and_audits_each(staged, profile):
    from stnav_desktop.store import audit
    from stnav_desktop.sync.domain import lifecycle

    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    posted = StDocument.get_by_id(staged[0].id)
    lifecycle.transition(posted, DocStatus.POSTING)
    lifecycle.transition(posted, DocStatus.POSTED)
    failed = StDocument.get_by_id(staged[1].id)
    lifecycle.transition(failed, DocStatus.POSTING)
    lifecycle.transition(failed, DocStatus.FAILED, reason="NAV busy", retry_count=2)
    seq = _head_seq()
    assert batches.reopen_batch(batch, actor="controller") == 2
    assert StDocument.get_by_id(posted.id).status == DocStatus.POSTED
    for doc in (failed, staged[2]):
        fresh = StDocument.get_by_id(doc.id)
        assert (fresh.status, fresh.batch_id, fresh.retry_count, fresh.problem) == (DocStatus.READY, batch.id, 0, "")
        [event] = [e for e in audit.events(st_ref=lifecycle.st_ref(fresh)) if e.seq > seq
                   and e.action == "document.ready"]
        assert f"batch {batch.id} reopened" in event.detail and event.actor == "controller"
    assert _head_seq() - seq == 3  # two documents and the batch's reopening; the re-check moved nothing
    assert Batch.get_by_id(batch.id).status == "prepared"
    assert batches.approve(Batch.get_by_id(batch.id), actor="controller") == []


def test_inspect_says_who_posted_each_document_and_on_which_pc(staged, profile, monkeypatch):
    """Two PCs post one batch side by side: the batch view (both windows) names who posted each document."""
    from stnav_desktop.sync.domain import lifecycle

    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    docs = list(StDocument.select().where(StDocument.batch == batch).order_by(StDocument.id))
    for doc, (actor, pc) in zip(docs, [("carol", "AP-PC-2"), ("svc-stnav", "NIGHT-PC")] * len(docs), strict=False):
        monkeypatch.setenv("STNAV_PC_NAME", pc)
        monkeypatch.setenv("LOGNAME", actor)  # getpass.getuser() reads LOGNAME first
        lifecycle.transition(doc, DocStatus.POSTING)
        lifecycle.transition(doc, DocStatus.POSTED)
    lines = {ln.document_id: ln.message for ln in batches.inspect(batch).lines}
    assert lines[docs[0].id] == "posted in NAV by carol on AP-PC-2"
    assert lines[docs[1].id] == "posted in NAV by svc-stnav on NIGHT-PC"

