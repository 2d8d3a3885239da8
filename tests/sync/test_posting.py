import random
from datetime import timedelta

from stnav_desktop.store import audit, settings
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import AttemptState, DocStatus, PostingAttempt, StDocument
from stnav_desktop.sync.app import batches, documents, mapping, posting

from .example import PO
from .fake_nav import FakeNav, busy, refused


def approve_all(profile, actor="approver"):
    batch = batches.create_batch(profile, actor="preparer")
    assert batches.approve(batch, actor=actor) == []
    return batch


def reload(doc):
    return StDocument.get_by_id(doc.id)


def test_batch_posts_each_document_once(staged, profile):
    batch = approve_all(profile)
    nav = FakeNav()
    results = posting.Poster(profile, nav).post_batch(batch)
    assert sorted(r.outcome for r in results) == ["posted", "posted", "posted"]
    assert len(nav.invoices) == 1 and len(nav.journals) == 2
    # bills went first: the clearing account is credited before the invoice debits it
    assert [r.st_ref for r in results][-1] == "PO-10452-001"
    # a second run finds nothing to do
    assert posting.Poster(profile, nav).post_batch(batch) == []
    assert nav.writes == 3
    doc = reload(staged[0])
    assert doc.status == DocStatus.POSTED and doc.nav_number == "PPI00001" and doc.posted_version == 1
    assert audit.verify().ok


def test_dropped_answer_after_write_is_settled_in_the_same_run(staged, profile):
    approve_all(profile)
    nav = FakeNav()
    nav.drop_after_write = 1
    results = posting.Poster(profile, nav, rng=random.Random(1)).post_batch()
    # the lost answer is settled by asking NAV before the run ends: never shown failed, never sent twice
    assert sorted(r.outcome for r in results) == ["already_posted", "posted", "posted"]
    assert all(reload(d).status == DocStatus.POSTED for d in staged)
    assert nav.writes == 3 and len(nav.invoices) + len(nav.journals) == 3
    settled = PostingAttempt.select().where(PostingAttempt.state == AttemptState.SETTLED_FOUND).count()
    assert settled == 1


def test_lost_answer_that_nav_cannot_confirm_is_unconfirmed_then_settled_next_run(staged, profile):
    approve_all(profile)
    nav = FakeNav()
    nav.drop_after_write = 1
    nav.fail_finds = [None, busy()]  # the chunk's look-up answers; the settling look-up does not
    results = posting.Poster(profile, nav, rng=random.Random(1)).post_batch()
    assert sorted(r.outcome for r in results) == ["posted", "posted", "unconfirmed"]
    unsure = next(d for d in map(reload, staged) if d.status == DocStatus.UNCONFIRMED)
    assert unsure.attempts.where(PostingAttempt.state == AttemptState.PENDING).count() == 1
    assert posting.replay(profile) == 0  # never replayed blind
    # the next run (e.g. after a restart) asks NAV first, finds it, and does not write again
    writes = nav.writes
    assert posting.Poster(profile, nav).post_batch() == []
    assert reload(unsure).status == DocStatus.POSTED
    assert nav.writes == writes and len(nav.invoices) + len(nav.journals) == 3


def test_refused_document_needs_attention_and_the_rest_posts(staged, profile):
    approve_all(profile)
    nav = FakeNav()
    nav.fail_next = [refused("Vendor V10000 is blocked")]
    results = posting.Poster(profile, nav).post_batch()
    outcomes = {r.st_ref: r.outcome for r in results}
    assert list(outcomes.values()).count("needs_attention") == 1
    assert list(outcomes.values()).count("posted") == 2
    bad = next(d for d in map(reload, staged) if d.status == DocStatus.NEEDS_ATTENTION)
    assert bad.problem == "Vendor V10000 is blocked"
    # replay puts it back in line and it posts
    assert posting.replay(profile, document_ids=[bad.id]) == 1
    assert [r.outcome for r in posting.Poster(profile, nav).post_batch()] == ["posted"]


def test_retries_back_off_then_need_attention(staged, profile):
    settings.set_value(profile, "retry.max_attempts", 3)
    approve_all(profile)
    nav = FakeNav()
    now = [utcnow()]
    poster = posting.Poster(profile, nav, clock=lambda: now[0], rng=random.Random(7))
    target = reload(staged[1])  # first bill posts first
    nav.fail_next = [busy()]
    poster.post_batch()
    target = reload(target)
    assert target.status == DocStatus.FAILED
    first_wait = target.next_retry_at - now[0]
    assert timedelta(seconds=30) <= first_wait <= timedelta(seconds=60)
    # not due yet: nothing happens
    nav.fail_next = [busy()]
    assert poster.post_batch() == []
    now[0] = target.next_retry_at + timedelta(seconds=1)
    poster.post_batch()
    target = reload(target)
    assert target.status == DocStatus.FAILED
    assert target.next_retry_at - now[0] >= timedelta(seconds=60)  # doubled (with jitter)
    now[0] = target.next_retry_at + timedelta(seconds=1)
    nav.fail_next = [busy()]
    poster.post_batch()
    target = reload(target)
    assert target.status == DocStatus.NEEDS_ATTENTION and "gave up after 3 attempts" in target.problem


def test_interrupted_between_commits_posts_again_exactly_once(staged, profile):
    approve_all(profile)
    doc = reload(staged[1])
    # the process died after recording the attempt, before sending
    PostingAttempt.create(document=doc, idempotency_key=posting.idempotency_key(doc), attempt_no=1)
    from stnav_desktop.sync.domain import lifecycle
    lifecycle.transition(doc, DocStatus.POSTING)
    nav = FakeNav()
    posting.Poster(profile, nav).post_batch()
    assert len(nav.journals) == 2 and len(nav.invoices) == 1 and nav.writes == 3
    assert reload(doc).status == DocStatus.POSTED


def test_document_changed_after_posting_is_flagged_not_posted_again(staged, profile):
    approve_all(profile)
    nav = FakeNav()
    posting.Poster(profile, nav).post_batch()
    changed = dict(PO, shipping=15.00, total=254.54, modifiedOn="2026-10-20T08:00:00Z")
    result = documents.stage(profile, "purchase_order", changed)
    assert result.change == "changed_after_posting"
    doc = reload(staged[0])
    assert doc.status == DocStatus.CHANGED_AFTER_POSTING and "shipping" in doc.problem
    assert posting.Poster(profile, nav).post_batch() == []
    assert nav.writes == 3
    events = [e for e in audit.events(st_ref="PO-10452-001") if e.action == "document.changed_after_posting"]
    assert events and '"field":"shipping"' in events[0].detail


def test_two_person_rule(staged, profile):
    settings.set_value(profile, "approval.two_person_rule", True)
    batch = batches.create_batch(profile, actor="alice")
    import pytest

    with pytest.raises(batches.BatchError, match="two-person rule"):
        batches.approve(batch, actor="alice")
    assert batches.approve(batch, actor="bob") == []
    assert batch.approved_by == "bob" and batch.prepared_by == "alice"


def test_mapping_change_after_approval_sends_nothing(staged, profile):
    approve_all(profile)
    mapping.delete_mapping(profile, "vendor", "2001")
    nav = FakeNav()
    results = posting.Poster(profile, nav).post_batch()
    po = next(r for r in results if r.st_ref == "PO-10452-001")
    assert po.outcome == "not_ready" and "not mapped to a NAV vendor" in po.message
    assert reload(staged[0]).status == DocStatus.NEEDS_MAPPING
    assert len(nav.invoices) == 0


def test_change_arriving_while_a_write_is_unsettled_is_not_hidden(staged, profile):
    approve_all(profile)
    nav = FakeNav()
    nav.drop_after_write = 1  # the invoice reaches NAV but the answer is lost
    nav.fail_finds = [None, busy()]  # and NAV cannot be asked before the run ends
    po = reload(staged[0])
    poster = posting.Poster(profile, nav, rng=random.Random(3))
    StDocument.update(status=DocStatus.READY, batch=None).where(StDocument.id != po.id).execute()  # the PO alone
    poster.post_batch()
    po = reload(po)
    assert po.status == DocStatus.UNCONFIRMED
    # meanwhile ServiceTitan changed the PO
    changed = dict(PO, shipping=15.00, total=254.54, modifiedOn="2026-10-20T08:00:00Z")
    documents.stage(profile, "purchase_order", changed)
    po = reload(po)
    # the payload being posted is kept; the new one waits until NAV has answered
    assert documents.to_decimal(po.raw["shipping"]) == 12 and documents.to_decimal(po.pending_raw["shipping"]) == 15
    posting.Poster(profile, nav).settle_unknown()
    po = reload(po)
    # NAV had the old version: it is posted, and the newer one is flagged for a correction, not hidden
    assert po.status == DocStatus.CHANGED_AFTER_POSTING and "shipping" in po.problem
    assert len(nav.invoices) == 1 and po.pending_raw is None


def test_write_back_failure_is_shown_and_retried(staged, profile):
    from stnav_desktop.connectors.http import HttpError

    class FlakyServiceTitan:
        def __init__(self):
            self.calls = []

        def mark_bills_exported(self, ids):
            self.calls.append(list(ids))
            if len(self.calls) == 1:
                raise HttpError("HTTP 503: service unavailable", status=503, retryable=True)
            return {i: None for i in ids}

    approve_all(profile)
    st = FlakyServiceTitan()
    posting.Poster(profile, FakeNav(), write_back=st).post_batch()
    bills = [reload(d) for d in staged[1:]]
    assert all(b.status == DocStatus.POSTED and b.st_exported_at is None for b in bills)
    assert all("marking exported in ServiceTitan failed (will retry)" in b.st_export_error for b in bills)
    posting.Poster(profile, FakeNav(), write_back=st).post_batch()  # the next run retries the write-back
    bills = [reload(d) for d in staged[1:]]
    assert all(b.st_exported_at is not None and b.st_export_error == "" for b in bills)
    assert sorted(st.calls[1]) == sorted(b.st_id for b in bills)


def test_a_failing_lookup_counts_toward_needs_attention(staged, profile):
    settings.set_value(profile, "retry.max_attempts", 2)
    approve_all(profile)
    now = [utcnow()]

    class LookupDown(FakeNav):
        def find_documents(self, keys):
            raise busy()

    nav = LookupDown()
    poster = posting.Poster(profile, nav, clock=lambda: now[0], rng=random.Random(5))
    for _ in range(3):
        poster.post_batch()
        now[0] += timedelta(hours=3)
    docs = [reload(d) for d in staged]
    assert all(d.status == DocStatus.NEEDS_ATTENTION and "gave up after 2 attempts" in d.problem for d in docs)
    assert nav.writes == 0  # nothing is sent without asking NAV first


def test_an_unexpected_error_in_one_document_does_not_stop_the_batch(staged, profile):
    approve_all(profile)

    class BrokenOnce(FakeNav):
        broken = True

        def create_journals(self, docs, *, post):
            out = super().create_journals([d for d in docs if d.document_number != "STB7700001" or not self.broken],
                                          post=post)
            if any(d.document_number == "STB7700001" for d in docs) and self.broken:
                self.broken = False
                out.insert(0, RuntimeError("bug in one document"))
            return out

    nav = BrokenOnce()
    first = posting.Poster(profile, nav).post_batch()
    # the odd answer is not guessed at: NAV is asked (absent), and the bill is sent once more in the same run
    assert {r.st_ref: r.outcome for r in first} == {
        "BILL-10452-001-R1": "posted", "BILL-10452-001-R2": "posted", "PO-10452-001": "posted"}
    assert reload(staged[1]).status == DocStatus.POSTED
    assert sorted(nav.journals) == ["STB7700001", "STB7700002"] and nav.writes == 3


def test_a_draft_found_in_nav_with_another_total_is_said_on_the_row(staged, profile):
    """The first look-up (after a crash or a lost answer) finds the document as a draft in NAV whose total is
    not the plan's: it is in NAV (never sent twice), and the row says so before the accountant posts it."""
    from decimal import Decimal

    settings.set_value(profile, "posting.mode", "draft")
    settings.set_value(profile, "posting.post_journal", False)
    batch = approve_all(profile)
    nav = FakeNav()
    first = posting.Poster(profile, nav).post_batch(batch)
    assert [r.outcome for r in first] == ["in_nav_draft"] * 3
    po = reload(staged[0])
    assert po.status == DocStatus.IN_NAV_DRAFT and not po.problem
    # the app's record of it is lost (as after a crash); NAV holds the draft, with another total
    [key] = list(nav.invoices)
    nav.invoices[key]["total"] -= Decimal("12.34")
    StDocument.update(status=DocStatus.APPROVED, nav_id=None, nav_number=None).where(StDocument.id == po.id).execute()
    writes = nav.writes
    results = {r.st_ref: r for r in posting.Poster(profile, nav).post_batch(batch)}
    assert nav.writes == writes  # found: not sent again
    po = reload(staged[0])
    assert po.status == DocStatus.IN_NAV_DRAFT
    assert "the draft in NAV totals" in po.problem and "check it in NAV before posting it" in po.problem
    assert "check it in NAV" in results["PO-10452-001"].message
    assert [e.action for e in audit.events(st_ref="PO-10452-001")][-1] == "document.draft_changed_in_nav"
