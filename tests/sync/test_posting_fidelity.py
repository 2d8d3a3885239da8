"""Issue #12, items 4-6, against the NAV simulator: transient errors never leave a document NAV holds
shown as failed; a retry on a later day finds what an earlier day posted; drafts are their own state,
never written back to ServiceTitan, and followed up (posted, changed, deleted in NAV)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from stnav_desktop.connectors.nav import Journals, PurchaseInvoices
from stnav_desktop.connectors.nav.bulk import ApiBooks, ReadRetry
from stnav_desktop.store import settings
from stnav_desktop.store.models import AttemptState, DocStatus, PostingAttempt, StDocument
from stnav_desktop.sync.app import batches, documents, mapping, posting
from tests.books.test_books import setup  # noqa: F401 - fixture: a NAV simulator with the worked example mapped

from .example import BILL_R1, BILL_R2, PO

NO_WAIT = ReadRetry(attempts=4, sleep=lambda s: None)


def approve(profile, bills=(BILL_R1, BILL_R2), po=True):
    if po:
        documents.stage(profile, "purchase_order", PO)
    for raw in bills:
        documents.stage(profile, "inventory_bill", raw)
    mapping.refresh_readiness(profile)
    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    return batch


def journals_in_gl(nav):
    return Counter(e["documentNumber"] for e in nav.gl_entries()
                   if e["documentNumber"].startswith("STB") and e["accountNumber"] == "2950")


def statuses():
    return Counter(d.status for d in StDocument.select())


def test_a_failing_lookup_batch_is_read_again_within_the_run(setup, nav):  # noqa: F811
    profile, client = setup
    batch = approve(profile)
    nav.faults.fail(503, times=2, method="POST", path_contains="$batch")  # the first look-up batch, twice
    results = posting.Poster(profile, ApiBooks(client, read_retry=NO_WAIT)).post_batch(batch)
    assert Counter(r.outcome for r in results) == {"posted": 3}
    assert statuses() == {DocStatus.POSTED: 3}


def test_a_5xx_on_the_write_batch_is_settled_by_asking_nav_and_sent_again_in_the_run(setup, nav):  # noqa: F811
    profile, client = setup
    batch = approve(profile)
    books = ApiBooks(client, read_retry=NO_WAIT)
    real = books.journals.create_lines_many

    def write_fails_once(docs):
        nav.faults.fail(503, times=1, method="POST", path_contains="$batch")
        books.journals.create_lines_many = real
        return real(docs)

    books.journals.create_lines_many = write_fails_once
    results = posting.Poster(profile, books).post_batch(batch)
    assert Counter(r.outcome for r in results) == {"posted": 3}, results
    assert all(n == 1 for n in journals_in_gl(nav).values()) and len(journals_in_gl(nav)) == 2
    attempts = Counter(a.state for a in PostingAttempt.select())
    assert attempts[AttemptState.SETTLED_ABSENT] == 2 and attempts[AttemptState.SUCCEEDED] == 3


def test_post_replay_post_never_shows_failed_for_what_nav_holds(setup, nav):  # noqa: F811
    """The reported run: faults on writes and reads, post → replay → post; nothing NAV holds stays failed."""
    profile, client = setup
    bills = [dict(BILL_R2, id=8_100_000 + i, referenceNumber=f"R-{i}") for i in range(100)]
    batch = approve(profile, bills, po=False)
    books = ApiBooks(client, read_retry=NO_WAIT)
    nav.faults.drop_after_commit(method="POST", path_contains="$batch", times=1)  # the first write's answer lost
    nav.faults.error_rate = 0.15
    poster = posting.Poster(profile, books, rng=random.Random(4), chunk_size=posting.CHUNK_SIZE)
    poster.post_batch(batch)
    posting.replay(profile)
    nav.faults.error_rate = 0.0
    poster.post_batch(batch)
    in_gl = journals_in_gl(nav)
    assert all(n == 1 for n in in_gl.values())
    for doc in StDocument.select():
        if f"STB{doc.st_id}" in in_gl:
            assert doc.status == DocStatus.POSTED, (doc.st_id, doc.status, doc.problem)
        else:
            assert doc.status not in (DocStatus.POSTED, DocStatus.IN_NAV_DRAFT)
    assert statuses()[DocStatus.POSTED] == len(in_gl) > 90


def test_a_retry_on_a_later_day_finds_what_the_earlier_day_posted(setup, nav):  # noqa: F811
    profile, client = setup
    settings.set_value(profile, "posting.date_rule", "posting_day")
    batch = approve(profile, bills=(BILL_R1,), po=False)
    day1 = datetime(2026, 10, 20, 15, 0, tzinfo=UTC)
    books = ApiBooks(client, read_retry=ReadRetry(attempts=1, sleep=lambda s: None))
    nav.faults.drop_after_commit(method="POST", path_contains="Microsoft.NAV.post")  # posted; answer lost
    real_find = books.find_documents
    calls = [0]

    def find(keys):
        calls[0] += 1
        if calls[0] == 1:
            return real_find(keys)  # the look-up before the write answers
        nav.faults.fail(503, times=1, method="POST", path_contains="$batch")  # NAV cannot be asked today
        return real_find(keys)

    books.find_documents = find
    posting.Poster(profile, books, clock=lambda: day1).post_batch(batch)
    doc = StDocument.get()
    assert doc.status == DocStatus.UNCONFIRMED and len(journals_in_gl(nav)) == 1
    nav.faults.clear()
    # the next day: the plan's posting date is the 21st, the journal in NAV is dated the 20th
    day2 = day1 + timedelta(days=1)
    posting.Poster(profile, ApiBooks(client, read_retry=NO_WAIT), clock=lambda: day2).post_batch(batch)
    assert StDocument.get().status == DocStatus.POSTED
    assert journals_in_gl(nav) == {"STB7700001": 1}  # found by its document number, not booked again


class WriteBackSpy:
    def __init__(self):
        self.marked: list[int] = []

    def mark_bills_exported(self, ids):
        self.marked.extend(ids)
        return {i: None for i in ids}


def test_drafts_are_their_own_state_and_are_followed_up(setup, nav):  # noqa: F811
    profile, client = setup
    settings.set_value(profile, "posting.mode", "draft")
    settings.set_value(profile, "posting.post_journal", False)
    batch = approve(profile)
    st = WriteBackSpy()
    results = posting.Poster(profile, ApiBooks(client), write_back=st).post_batch(batch)
    assert Counter(r.outcome for r in results) == {"in_nav_draft": 3}
    assert statuses() == {DocStatus.IN_NAV_DRAFT: 3}
    assert st.marked == []  # nothing written back while NAV holds only unposted documents
    # in NAV, the accountant posts the invoice and deletes one bill's journal lines
    [invoice] = nav.purchase_invoices()
    PurchaseInvoices(client).post(invoice["id"])
    journals = Journals(client)
    for line in journals.find_lines(document_number="STB7700001"):
        client.delete(client.cpath(f"journalLines({line['id']})"), line["@odata.etag"])
    counts = posting.Poster(profile, ApiBooks(client), write_back=st).follow_up_drafts()
    assert counts == {"posted": 1, "deleted": 1, "changed": 0}
    po = StDocument.get(StDocument.kind == "purchase_order")
    assert po.status == DocStatus.POSTED and po.nav_number == nav.purchase_invoices()[0]["number"]
    r1 = StDocument.get(StDocument.st_id == 7700001)
    assert r1.status == DocStatus.NEEDS_ATTENTION and "deleted in NAV" in r1.problem
    r2 = StDocument.get(StDocument.st_id == 7700002)
    assert r2.status == DocStatus.IN_NAV_DRAFT
    # the profile now posts journals: the next run posts the remaining draft, then writes it back
    settings.set_value(profile, "posting.post_journal", True)
    posting.Poster(profile, ApiBooks(client), write_back=st).post_batch()
    assert StDocument.get_by_id(r2.id).status == DocStatus.POSTED
    assert st.marked == [7700002]


def test_a_draft_found_in_nav_is_posted_only_with_the_dimensions_asked_for(setup, nav):  # noqa: F811
    """A draft someone changed in NAV (a line's territory) is set right before the app posts it."""
    profile, client = setup
    settings.set_value(profile, "posting.mode", "draft")
    batch = approve(profile, bills=())
    posting.Poster(profile, ApiBooks(client)).post_batch(batch)
    [invoice] = nav.purchase_invoices()
    lines = client.get(client.cpath(f"purchaseInvoices({invoice['id']})/purchaseInvoiceLines"),
                       params={"$expand": "dimensionSetLines"})["value"]
    dim = next(d for d in lines[0]["dimensionSetLines"] if d["code"] == "TERRITORY")
    client.patch(client.cpath(f"purchaseInvoiceLines({lines[0]['id']})/dimensionSetLines({dim['id']})"),
                 {"valueCode": "SOUTH"}, dim["@odata.etag"])
    settings.set_value(profile, "posting.mode", "post")
    counts = posting.Poster(profile, ApiBooks(client)).follow_up_drafts()
    assert counts["posted"] == 1
    cost = [e for e in nav.gl_entries() if e["documentNumber"] == StDocument.get().nav_number
            and e["accountNumber"] != "5410"]
    assert cost and all({d["code"]: d["valueCode"] for d in e["dimensionSetLines"]}.get("TERRITORY") == "NORTH"
                        for e in cost), cost
