"""The NAV simulator's webhooks behave as Business Central's (codeunits 6153/6154, the Learn page "Working
with webhooks"): the handshake decides, dimensionValues accepted and purchaseOrders refused, "someone in
NAV" notifies, repeats merged, too many changes become one "collection", failed sends retried then the
subscription dropped, any other 4xx drops it at once. And the connector's reading of a notification."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stnav_desktop.connectors.nav.errors import NavError
from stnav_desktop.connectors.nav.subscriptions import (
    NotificationReceiver,
    Subscriptions,
    entity_set_of,
    parse_notification,
)
from stnav_desktop.sandbox.nav import sandbox as nav_sandbox
from stnav_desktop.sandbox.tls import ensure_tls
from stnav_desktop.sync.app.notifications import plan


@pytest.fixture
def rx(tls_dir):
    tls = ensure_tls(tls_dir)
    got: list[dict] = []
    receiver = NotificationReceiver("state-1", got.append, certfile=str(tls.cert_pem), keyfile=str(tls.key_pem),
                                    path="/bc-webhook/acme").start()
    receiver.got = got
    yield receiver
    receiver.stop()


def test_the_handshake_decides_and_only_webhook_entities_are_accepted(client, nav_onprem, rx):
    subs = Subscriptions(client)
    sub = subs.create("dimensionValues", rx.url, "state-1")  # page 30040: a real table keyed by SystemId
    assert subs.entity_of(sub) == "dimensionValues"
    with pytest.raises(NavError) as refused:
        subs.create("purchaseOrders", rx.url, "state-1")  # not in BC's list of webhook-enabled entities
    assert refused.value.status == 400
    with pytest.raises(NavError) as wrong_path:  # the receiver answers 404 on another path: no subscription
        subs.create("vendors", rx.url.replace("/acme", "/other"), "state-1")
    assert wrong_path.value.status == 400 and "validation" in str(wrong_path.value)
    assert [s.subscription_id for s in subs.list()] == [sub.subscription_id]
    with pytest.raises(NavError):  # renewing repeats the handshake: a URL nobody answers is refused
        subs.renew(type(sub)(**{**sub.__dict__, "notification_url": rx.url + "-gone"}))


def test_changes_made_in_nav_notify_once_per_record_with_the_client_state(client, nav_onprem, rx):
    subs = Subscriptions(client)
    subs.create("vendors", rx.url, "state-1")
    subs.create("dimensionValues", rx.url, "state-1")
    vendor = sorted(nav_onprem.company.t("vendors").values(), key=lambda v: v["number"])[0]
    nav_onprem.rename_vendor(vendor["number"], "First")
    nav_onprem.rename_vendor(vendor["number"], "Second")  # the same record twice: one notification
    nav_onprem.rename_dimension_value("TERRITORY", next(v["code"] for v in nav_onprem.company.t("dimensionValues")
                                                        .values()), "Renamed territory")
    assert nav_onprem.flush_notifications() == 2
    assert len(nav_onprem.notifications_sent) == 1  # one POST per notification URL
    items = rx.got
    assert {i["clientState"] for i in items} == {"state-1"}
    assert {entity_set_of(i["resource"])[0] for i in items} == {"vendors", "dimensionValues"}
    vendor_item = next(i for i in items if "/vendors(" in i["resource"])
    assert entity_set_of(vendor_item["resource"])[1] == vendor["id"].lower()
    assert vendor_item["changeType"] == "updated" and vendor_item["lastModifiedDateTime"].endswith("Z")


def test_a_gl_account_blocked_in_nav_notifies_accounts(client, nav_onprem, rx):
    Subscriptions(client).create("accounts", rx.url, "state-1")
    Subscriptions(client).create("vendors", rx.url, "state-1")
    nav_onprem.change_account("6110", blocked=True)
    assert nav_onprem.flush_notifications() == 1
    [item] = rx.got
    assert entity_set_of(item["resource"])[0] == "accounts" and item["changeType"] == "updated"
    assert plan([parse_notification(item)]).entities == {"accounts"}


def test_too_many_changes_become_one_collection_notification(client, nav_onprem, rx, monkeypatch):
    monkeypatch.setattr(nav_sandbox, "MAX_NOTIFICATIONS", 3)
    Subscriptions(client).create("vendors", rx.url, "state-1")
    for vendor in list(nav_onprem.company.t("vendors").values())[:5]:
        nav_onprem.rename_vendor(vendor["number"], vendor["displayName"] + " (renamed)")
    assert nav_onprem.flush_notifications() == 1
    [item] = rx.got
    assert item["changeType"] == "collection"
    assert "/vendors?$filter=lastModifiedDateTime%20gt%20" in item["resource"]
    change = parse_notification(item)
    assert change is not None and change.whole_set and plan([change]).entities == {"vendors"}


def test_failed_sends_are_retried_then_the_subscription_is_dropped(client, nav_onprem, rx):
    subs = Subscriptions(client)
    subs.create("vendors", rx.url, "state-1")
    vendor = next(iter(nav_onprem.company.t("vendors").values()))
    nav_onprem.rename_vendor(vendor["number"], "Retry me")
    rx.stop()  # the receiver is down: no answer
    for attempt in range(nav_sandbox.MAX_SEND_ATTEMPTS):
        assert nav_onprem.flush_notifications() == 0
        assert len(subs.list()) == 1, f"dropped after {attempt + 1} failed sends"
    assert nav_onprem.flush_notifications() == 0
    assert subs.list() == []  # more than 5 failed attempts: deleted


def test_a_refused_notification_drops_the_subscription_at_once(client, nav_onprem, rx):
    subs = Subscriptions(client)
    sub = subs.create("vendors", rx.url, "state-1")
    # the subscriber's clientState changed (a new keychain secret): the receiver answers 401
    subs.renew(type(sub)(**{**sub.__dict__, "client_state": "old-state"}))
    vendor = next(iter(nav_onprem.company.t("vendors").values()))
    nav_onprem.rename_vendor(vendor["number"], "Refused")
    assert nav_onprem.flush_notifications() == 0
    assert nav_onprem.notifications_sent[-1]["status"] == 401
    assert subs.list() == []


def test_drafts_deleted_changed_and_posted_in_nav_notify_the_invoice(client, nav_onprem, rx):
    from stnav_desktop.connectors.nav.purchase_invoices import PurchaseInvoices
    from tests.nav.test_invoices import spec

    Subscriptions(client).create("purchaseInvoices", rx.url, "state-1")
    drafts = PurchaseInvoices(client)
    one, two = drafts.create(spec("WH-1")), drafts.create(spec("WH-2"))
    nav_onprem.flush_notifications()
    rx.got.clear()
    nav_onprem.change_draft_invoice_line(one.number, Decimal("1.25"))  # a line change notifies the header
    posted = nav_onprem.post_draft_invoice(one.number)
    nav_onprem.delete_draft_invoice(two.number)
    assert posted != one.number
    assert nav_onprem.flush_notifications() == 2
    by_id = {entity_set_of(i["resource"])[1]: i["changeType"] for i in rx.got}
    assert by_id == {one.id.lower(): "updated", two.id.lower(): "deleted"}
    assert plan(parse_notification(i) for i in rx.got).nav_ids == {one.id.lower(), two.id.lower()}


@pytest.mark.parametrize("item", [
    {"resource": "/api/v2.0/companies(c)/vendors(abc)", "changeType": "weird"},
    {"changeType": "updated"},
    {"resource": 12, "changeType": "updated"},
])
def test_notifications_that_are_not_ones_are_ignored(item):
    assert parse_notification(item) is None
