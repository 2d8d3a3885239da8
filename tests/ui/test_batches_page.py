"""The Batches tab through its real buttons: posting before approval is refused and leaves the batch
approvable, Approve asks for confirmation showing the total, results stay with the batch, Post is off
when nothing is left, Reopen sends a batch back for approval."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stnav_desktop.store import settings
from stnav_desktop.store.models import Batch, DocStatus, StDocument
from stnav_desktop.sync.app import batches, documents, mapping, posting
from stnav_desktop.ui.batches_page import BatchesPage
from stnav_desktop.ui.qt import QMessageBox, Qt
from stnav_desktop.ui.tasks import InlineRunner
from tests.sync.example import BILL_R1, BILL_R2, MAPPINGS
from tests.sync.fake_nav import FakeNav


class Service:
    """What the page needs of SyncService.post: the batch rule first, then the real Poster."""

    def __init__(self, profile, nav):
        self.profile, self.nav = profile, nav

    def post(self, batch, *, cancel, progress):
        if batch is not None and not batches.require_postable(batch):
            return []
        return posting.Poster(self.profile, self.nav).post_batch(batch, cancel=cancel, progress=progress)


@pytest.fixture
def prepared(store):
    profile = settings.get_profile("default")
    settings.set_value(profile, "posting.post_journal", True)  # posted, not left as drafts in NAV
    for kind, entries in MAPPINGS.items():
        for key, (target, target_type) in entries.items():
            mapping.set_mapping(profile, kind, key, target, target_type=target_type)
    for bill in (BILL_R1, BILL_R2):
        documents.stage(profile, "inventory_bill", bill)
    mapping.refresh_readiness(profile)
    batch = batches.create_batch(profile, actor="clerk")
    return profile, batch


@pytest.fixture
def page(qtbot, prepared):
    profile, _ = prepared
    nav = FakeNav()
    page = BatchesPage(profile, InlineRunner(), lambda: Service(profile, nav))
    page.nav = nav
    qtbot.addWidget(page)
    return page


def _answer(monkeypatch, yes: bool):
    asked = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.Yes if yes else QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return asked


def test_post_before_approve_is_refused_and_the_batch_stays_approvable(qtbot, page, prepared, monkeypatch):
    profile, batch = prepared
    told = []
    monkeypatch.setattr(QMessageBox, "information", staticmethod(lambda parent, title, text: told.append(text)))
    assert not page.post_button.isEnabled()  # nothing approved: Post is not offered
    assert "Approve batch" in page.post_button.toolTip()
    page.post_button.setEnabled(True)  # even forced, the click is refused
    qtbot.mouseClick(page.post_button, Qt.MouseButton.LeftButton)
    assert told and f"approve batch {batch.id} first" in told[0]
    assert Batch.get_by_id(batch.id).status == "prepared"
    assert not page.nav.journals
    assert {d.status for d in StDocument.select()} == {DocStatus.READY}
    # and it can still be approved afterwards, then posted
    asked = _answer(monkeypatch, True)
    monkeypatch.setenv("USERNAME", "controller")
    monkeypatch.setenv("USER", "controller")
    qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    assert asked
    assert Batch.get_by_id(batch.id).status == "approved"
    assert page.post_button.isEnabled()
    qtbot.mouseClick(page.post_button, Qt.MouseButton.LeftButton)
    assert len(page.nav.journals) == 2
    assert Batch.get_by_id(batch.id).status == "done"
    assert not page.post_button.isEnabled()  # nothing left to post
    # the results stay with the batch: both documents shown as posted with their NAV numbers
    rows = [[page.documents.item(r, c).text() for c in range(page.documents.columnCount())]
            for r in range(page.documents.rowCount())]
    assert [r[4] for r in rows] == ["Posted", "Posted"] and all(r[5] for r in rows)


def test_approve_asks_for_confirmation_showing_the_total(qtbot, page, prepared, monkeypatch):
    _, batch = prepared
    total = sum((d.total for d in StDocument.select()), Decimal("0"))
    asked = _answer(monkeypatch, False)
    qtbot.mouseClick(page.approve_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1
    assert f"{total:,.2f}" in asked[0] and "2 documents" in asked[0]
    assert Batch.get_by_id(batch.id).status == "prepared"  # said No: nothing changed
    assert f"{total:,.2f}" in page.summary.text()
    assert page.documents.rowCount() == 2


def test_reopen_sends_an_approved_batch_back_for_approval(qtbot, page, prepared, monkeypatch):
    _, batch = prepared
    batches.approve(batch, actor="controller")
    page.refresh()
    _answer(monkeypatch, True)
    assert page.reopen_button.isEnabled()
    qtbot.mouseClick(page.reopen_button, Qt.MouseButton.LeftButton)
    fresh = Batch.get_by_id(batch.id)
    assert fresh.status == "prepared" and fresh.approved_by is None
    assert {d.status for d in StDocument.select()} == {DocStatus.READY}
    assert page.approve_button.isEnabled() and not page.post_button.isEnabled()


def test_correction_from_the_window_goes_through_an_approved_batch(qtbot, prepared, monkeypatch):
    """Changed after posting → 'Correct in NAV…' → a correction batch; Post stays off until it is approved."""
    from stnav_desktop.sync.domain import lifecycle
    from stnav_desktop.ui.review_page import ReviewPage

    profile, batch = prepared
    batches.approve(batch, actor="controller")
    doc = StDocument.get(StDocument.st_id == BILL_R1["id"])
    lifecycle.transition(doc, DocStatus.POSTING)
    lifecycle.transition(doc, DocStatus.POSTED, nav_number="STB1", posted_hash=doc.content_hash,
                         posted_version=doc.version)
    changed = dict(BILL_R1, shippingAmount="15.00", billAmount="159.72", modifiedOn="2026-10-20T09:00:00Z")
    assert documents.stage(profile, "inventory_bill", changed).change == "changed_after_posting"
    review_page = ReviewPage(profile, runner=InlineRunner())
    qtbot.addWidget(review_page)
    review_page.show()
    row = next(r for r in range(review_page.model.rowCount())
               if review_page.model.row_at(r).status == DocStatus.CHANGED_AFTER_POSTING)
    review_page.select_row(row)
    detail = review_page.detail
    assert detail.correct_button.isVisible()
    asked = _answer(monkeypatch, True)
    qtbot.mouseClick(detail.correct_button, Qt.MouseButton.LeftButton)
    assert "Reverse journal" in asked[0] and "shippingAmount" in asked[0]
    correction = Batch.select().where(Batch.kind == batches.CORRECTIONS).get()
    assert f"Correction batch {correction.id} prepared" in detail.problem.text()
    nav = FakeNav()
    page = BatchesPage(profile, InlineRunner(), lambda: Service(profile, nav))
    qtbot.addWidget(page)
    page.select_batch(correction.id)
    assert "(corrections)" in page.summary.text() and "approve it to post" in page.summary.text()
    assert not page.post_button.isEnabled() and page.approve_button.isEnabled()
    assert "Reverse journal" in page.documents.item(0, 6).text()


def test_the_grid_says_which_batch_a_ready_document_waits_in(qtbot, prepared):
    from stnav_desktop.ui.review_model import ReviewModel, column_index

    profile, batch = prepared
    model = ReviewModel(profile)
    texts = {model.index(r, column_index("status")).data() for r in range(model.rowCount())}
    assert texts == {f"✓ Ready · batch {batch.id}"}
