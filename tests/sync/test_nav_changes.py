"""What a batch of NAV notifications asks for, and the inbox between the receiver and the scheduler."""

from __future__ import annotations

import threading

from stnav_desktop.connectors.nav.subscriptions import NavChange
from stnav_desktop.sync.app import notifications
from stnav_desktop.sync.app.notifications import Inbox, plan


def change(entity, record="abc", kind="updated"):
    return NavChange("sub", entity, None if kind == "collection" else record, kind)


def test_reference_sets_are_read_again_once_and_documents_are_named():
    work = plan([change("vendors", "1"), change("vendors", "2", "deleted"), change("dimensionValues"),
                 change("purchaseInvoices", "ABC-1"), change("purchaseInvoices", "abc-1", "deleted")])
    assert work.entities == {"vendors", "dimensionValues"}
    assert work.nav_ids == {"abc-1"} and not work.all_drafts


def test_a_collection_of_purchase_invoices_follows_up_every_draft_and_other_sets_are_ignored():
    work = plan([change("purchaseInvoices", kind="collection"), change("items"), change("customers")])
    assert work.all_drafts and not work.entities and not work.nav_ids
    assert not plan([change("items")])


def test_the_inbox_wakes_the_scheduler_and_a_flood_becomes_a_collection(monkeypatch):
    monkeypatch.setattr(notifications, "MAX_QUEUED", 3)
    woken = threading.Event()
    inbox = Inbox(woken.set)
    for i in range(5):
        inbox.put(change("vendors", str(i)))
    inbox.put(change("purchaseInvoices", "x"))
    assert woken.is_set() and inbox.received == 6 and len(inbox) == 5  # 3 kept + 2 sets overflowed
    drained = inbox.drain()
    assert [c.record_id for c in drained[:3]] == ["0", "1", "2"]
    assert {(c.entity_set, c.change) for c in drained[3:]} == {("vendors", "collection"),
                                                              ("purchaseInvoices", "collection")}
    assert plan(drained).all_drafts and len(inbox) == 0 and inbox.drain() == []
