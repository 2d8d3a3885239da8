"""NAV notifications put to work (issue #19 item 6), against the NAV simulator: the service creates the
webhook subscriptions (BC validates the URL), renews them before their 3-day expiry across 6 simulated
days, and on a notification refreshes the vendor list or follows up the draft NAV changed; a wrong
clientState is refused; where BC cannot validate the URL, or no URL is set, or NAV is classic, the profile
polls and says why (`stnav service status`, the Settings page)."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import requests

from stnav_desktop import credentials
from stnav_desktop.cli import main
from stnav_desktop.connectors.nav import Subscriptions
from stnav_desktop.sandbox.clock import FakeClock
from stnav_desktop.sandbox.nav import NavSandbox
from stnav_desktop.sandbox.tls import ensure_tls
from stnav_desktop.store import audit, settings
from stnav_desktop.store.models import DocStatus, NavReference, StDocument, WebhookSubscription
from stnav_desktop.sync.app import batches, documents, mapping, notifications, posting, refdata
from stnav_desktop.sync.app.service import SyncService
from tests.nav.conftest import FAST_RETRY
from tests.sync.example import MAPPINGS, PO

pytestmark = pytest.mark.both_backends  # the service's bookkeeping on SQLite and on a shared PostgreSQL store

WATCHED = {"vendors", "accounts", "dimensionValues", "purchaseInvoices"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def clock():
    # from the real now: the Settings page and `stnav service status` read expiries against the wall clock
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def nav(tmp_path, clock):
    with NavSandbox(tmp_path / "tls", clock=clock, flavour="onprem") as sb:
        yield sb


@pytest.fixture
def profile(store, nav, tmp_path):
    """The default profile on the simulator (BC API on-premises), its notification URL on this PC."""
    tls = ensure_tls(tmp_path / "tls")
    profile = settings.get_profile("default")
    port = free_port()
    for key, value in {"nav.deployment": "onprem", "nav.api_url": nav.base_url, "nav.auth": "basic",
                       "nav.user": nav.basic_user, "nav.company_id": nav.company_id, "nav.ca_bundle": str(nav.ca_pem),
                       "nav.notification_url": f"https://127.0.0.1:{port}/bc-webhook/default",
                       "nav.notification_bind": "127.0.0.1", "nav.notification_cert": str(tls.cert_pem),
                       "nav.notification_key": str(tls.key_pem)}.items():
        settings.set_value(profile, key, value)
    credentials.set_secret(profile.name, "nav.web_service_key", nav.basic_key)
    return profile


@pytest.fixture
def service(profile, clock, nav):
    """What `stnav run` does: the scheduler, the NAV receiver started, subscriptions ensured."""
    svc = SyncService(profile, clock=clock.now, retry=FAST_RETRY)
    refdata.refresh_nav(profile, _refdata(svc))
    scheduler = svc.scheduler(tick_seconds=3600)  # only a wake-up (a notification) makes it tick early
    scheduler.jobs = {name: job for name, job in scheduler.jobs.items() if name == "subscriptions"}
    receiver = svc.nav_receiver(scheduler)
    assert receiver is not None
    receiver.start()
    svc.test_scheduler, svc.test_receiver = scheduler, receiver
    try:
        yield svc
    finally:
        scheduler.stop(timeout=10)
        receiver.stop()


def _refdata(svc):
    from stnav_desktop.connectors.nav import RefData
    return RefData(svc.nav_client())


def wait_for(check, timeout=10.0):
    """A short wait with a timeout (the scheduler thread works on its own)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_the_service_subscribes_and_a_vendor_renamed_in_nav_is_refreshed_within_seconds(service, nav, profile):
    scheduler = service.test_scheduler
    assert scheduler.tick() == ["subscriptions", "nav-changes"]
    # four subscriptions in NAV, each validated by BC against this PC's receiver, all for our URL
    subs = Subscriptions(service.nav_client()).list()
    assert {s.resource.rsplit("/", 1)[-1] for s in subs} == WATCHED
    assert {s.notification_url for s in subs} == {settings.get(profile, "nav.notification_url")}
    assert WebhookSubscription.select().count() == 4
    line = notifications.status_line(profile, nav.clock.now())
    assert line.startswith("NAV changes: notifications (4 subscriptions, next expiry ")
    # the clientState is a keychain secret, sent to BC, never in the store or the audit log
    state = credentials.get_secret(profile.name, "nav.webhook_client_state")
    assert {s.client_state for s in subs} == {state}
    assert all(state not in e.detail for e in audit.events())

    vendor = sorted(nav.company.t("vendors").values(), key=lambda v: v["number"])[0]
    scheduler.start()
    assert wait_for(lambda: scheduler.status()["nav-changes"]["last_run"] is not None)  # the first pass
    nav.rename_vendor(vendor["number"], "Renamed In NAV Supply")
    assert nav.flush_notifications() == 1  # one notification, answered at once (202)
    assert nav.notifications_sent[-1]["status"] == 202
    assert nav.notifications_sent[-1]["value"][0]["changeType"] == "updated"

    def renamed():
        ref = NavReference.get_or_none((NavReference.entity == "vendors") & (NavReference.key == vendor["number"]))
        return ref is not None and ref.name == "Renamed In NAV Supply"
    assert wait_for(renamed, timeout=10)  # the scheduler thread, woken by the receiver, re-read the vendors
    assert wait_for(lambda: "1 NAV change(s): re-read vendors" in scheduler.status()["nav-changes"]["result"])


def test_a_second_subscription_for_the_same_set_is_removed(service, nav, profile):
    api = Subscriptions(service.nav_client())
    url = settings.get(profile, "nav.notification_url")
    state = service._client_state()
    api.create("vendors", url, state)
    api.create("vendors", url, state)  # two starts at once: each change would be notified twice
    service.test_scheduler.tick()
    assert sorted(s.resource.rsplit("/", 1)[-1] for s in api.list()) == sorted(WATCHED)


def test_subscriptions_are_renewed_before_expiry_across_six_days(service, nav, clock):
    scheduler = service.test_scheduler
    scheduler.tick()
    first = {s.subscription_id for s in Subscriptions(service.nav_client()).list()}
    assert len(first) == 4
    handshakes = []
    for _hour in range(24 * 6):  # six days on the sandbox's clock and the scheduler's, ticking hourly
        clock.advance(hours=1)
        scheduler.tick(clock.now())
        remote = Subscriptions(service.nav_client()).list()
        assert {s.subscription_id for s in remote} == first, f"a subscription lost or re-made at {clock.now()}"
        assert all(s.expiration - clock.now() > timedelta(hours=23) for s in remote)
        handshakes.append(min(s.expiration for s in remote))
    rows = list(WebhookSubscription.select())
    assert len(rows) == 4 and all(r.renewed_at is not None for r in rows)
    assert all(r.expires_at > clock.now() + timedelta(days=1) for r in rows)


def _draft_in_nav(profile, service):
    """The worked example's purchase order posted to NAV as a draft purchase invoice."""
    for kind, entries in MAPPINGS.items():
        for key, (target, target_type) in entries.items():
            mapping.set_mapping(profile, kind, key, target, target_type=target_type)
    settings.set_value(profile, "posting.mode", "draft")
    documents.stage(profile, "purchase_order", PO)
    mapping.refresh_readiness(profile)
    batch = batches.create_batch(profile, actor="clerk")
    batches.approve(batch, actor="controller")
    [result] = posting.Poster(profile, service.nav_books()).post_batch(batch)
    assert result.outcome == "in_nav_draft"
    return StDocument.get(StDocument.kind == "purchase_order")


def test_a_draft_deleted_in_nav_shows_on_the_document_at_the_next_notification(service, nav, profile):
    scheduler = service.test_scheduler
    scheduler.tick()
    doc = _draft_in_nav(profile, service)
    nav.flush_notifications()  # our own writes notify too: nothing of ours changed, nothing done
    scheduler.tick()
    assert StDocument.get_by_id(doc.id).status == DocStatus.IN_NAV_DRAFT
    nav.delete_draft_invoice(doc.nav_number)  # someone deletes the draft in NAV
    assert nav.flush_notifications() == 1
    assert nav.notifications_sent[-1]["value"][0]["changeType"] == "deleted"
    assert scheduler.tick() == ["nav-changes"]  # queued by the receiver: due now
    doc = StDocument.get_by_id(doc.id)
    assert doc.status == DocStatus.NEEDS_ATTENTION
    assert f"the draft {doc.nav_number} was deleted in NAV" in doc.problem


def test_a_draft_changed_then_posted_in_nav_is_said_then_posted_with_its_gl(service, nav, profile):
    scheduler = service.test_scheduler
    scheduler.tick()
    doc = _draft_in_nav(profile, service)
    nav.flush_notifications()
    nav.change_draft_invoice_line(doc.nav_number, Decimal("9.75"))  # someone edits a line in NAV
    nav.flush_notifications()
    assert scheduler.tick() == ["nav-changes"]
    doc = StDocument.get_by_id(doc.id)
    assert doc.status == DocStatus.IN_NAV_DRAFT and "the draft in NAV totals" in doc.problem
    posted_number = nav.post_draft_invoice(doc.nav_number)  # the accountant posts it in NAV
    nav.flush_notifications()
    assert scheduler.tick() == ["nav-changes"]
    doc = StDocument.get_by_id(doc.id)
    assert doc.status == DocStatus.POSTED and doc.nav_number == posted_number
    [event] = [e for e in audit.events(action="document.posted")]
    assert json.loads(event.detail)["gl_entries"] and json.loads(event.detail)["posted_in_nav"] is True


def test_a_notification_with_a_wrong_client_state_is_refused_and_queues_nothing(service, nav):
    service.test_scheduler.tick()
    receiver = service.test_receiver
    body = {"value": [{"subscriptionId": "x", "clientState": "forged", "expirationDateTime": "2026-11-05T14:00:00Z",
                       "resource": f"/api/v2.0/companies({nav.company_id})/vendors(abc)", "changeType": "updated",
                       "lastModifiedDateTime": "2026-11-02T14:00:01.000Z"}]}
    answer = requests.post(receiver.url, json=body, verify=str(nav.ca_pem), timeout=5)
    assert answer.status_code == 401
    assert len(service.inbox) == 0
    assert service.test_scheduler.tick() == []


def test_bc_cannot_validate_the_url_so_the_profile_polls_and_says_why(profile, clock, nav, capsys):
    settings.set_value(profile, "nav.notification_url", f"https://127.0.0.1:{free_port()}/bc-webhook/default")
    svc = SyncService(profile, clock=clock.now)
    scheduler = svc.scheduler()
    scheduler.jobs = {"subscriptions": scheduler.jobs["subscriptions"]}
    svc.inbox = notifications.Inbox()  # a receiver "runs" in this process, but nothing answers at the URL
    scheduler.tick()
    assert nav.subscriptions == {} and WebhookSubscription.select().count() == 0
    line = notifications.status_line(profile, clock.now())
    assert line.startswith("NAV changes: polling every 360 min (Business Central refused the subscriptions for "
                           "https://127.0.0.1:")
    assert "did not answer the validation request" in line and "firewall" in line
    assert main(["service", "status"]) == 3  # not installed on this machine; the NAV line is printed all the same
    assert "NAV changes: polling every 360 min (Business Central refused the subscriptions" in capsys.readouterr().out


def test_nav_busy_while_renewing_keeps_the_subscriptions_and_asks_again(service, nav, clock, profile):
    scheduler = service.test_scheduler
    scheduler.tick()
    clock.advance(days=2, hours=1)  # due for renewal
    nav.faults.fail(503, times=20, method="GET", path_contains="subscriptions")
    scheduler.tick(clock.now())
    assert "not checked this time" in scheduler.status()["subscriptions"]["result"]
    assert notifications.status_line(profile, clock.now()).startswith("NAV changes: notifications (4 subscriptions")
    nav.faults.clear()
    clock.advance(hours=1)
    scheduler.tick(clock.now())
    assert "4 renewed" in scheduler.status()["subscriptions"]["result"]


@pytest.mark.parametrize("change, reason", [
    ({"nav.notification_url": ""}, "no notification URL is set (nav.notification_url"),
    ({"nav.deployment": "classic"}, "classic NAV has no webhooks (page web services)"),
])
def test_without_a_url_or_on_classic_nav_the_profile_polls(profile, clock, change, reason):
    for key, value in change.items():
        settings.set_value(profile, key, value)
    svc = SyncService(profile, clock=clock.now)
    scheduler = svc.scheduler()
    assert svc.nav_receiver(scheduler) is None
    assert notifications.status_line(profile).startswith(f"NAV changes: polling every 360 min ({reason}")
    assert "nav-changes" not in scheduler.jobs


def test_the_settings_page_says_how_nav_changes_arrive(qtbot, service, profile):
    from stnav_desktop.ui.qt import QLabel, Qt
    from stnav_desktop.ui.settings_page import SettingsPage

    page = SettingsPage(profile)
    qtbot.addWidget(page)
    page.show()
    label = page.findChild(QLabel, "navChanges")
    assert label.text().startswith("polling every 360 min (the service (`stnav run`) has not set up notifications")
    service.test_scheduler.tick()  # the service subscribes
    qtbot.mouseClick(page.revert_button, Qt.MouseButton.LeftButton)  # the page read again
    expiry = (service.clock() + timedelta(days=3)).astimezone().strftime("%Y-%m-%d %H:%M")
    assert label.text().startswith(f"notifications (4 subscriptions, next expiry {expiry}")
    assert sorted(line.split(":")[0] for line in label.toolTip().splitlines()) == sorted(WATCHED)


def test_stnav_service_status_says_when_each_subscription_expires(service, capsys):
    service.test_scheduler.tick()
    assert main(["service", "status"]) == 3  # the unit is not installed here; the NAV lines are printed anyway
    out = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(out) if line.startswith("NAV changes: notifications (4 subscriptions"))
    expiry = (service.clock() + timedelta(days=3)).astimezone().strftime("%Y-%m-%d %H:%M")
    each = {line.strip().split(":")[0]: line for line in out[at + 1:at + 5]}
    assert set(each) == WATCHED
    assert all(line.startswith(f"  {name}: expires {expiry}") for name, line in each.items())


def test_stnav_run_subscribes_hears_nav_and_says_so(profile, nav, capsys):
    """`stnav run` itself (what the service runs): receiver up, four subscriptions made, a vendor renamed in
    NAV refreshed from the notification, and on stop the profile is said to poll until it runs again."""
    import os
    import signal
    import threading

    vendor = sorted(nav.company.t("vendors").values(), key=lambda v: v["number"])[0]
    seen: dict[str, object] = {}

    def someone_in_nav():
        try:
            seen["subscribed"] = wait_for(lambda: len(nav.subscriptions) == 4, timeout=20)
            nav.rename_vendor(vendor["number"], "Renamed While Running")
            seen["sent"] = nav.flush_notifications()
            seen["refreshed"] = wait_for(lambda: NavReference.get_or_none(
                (NavReference.entity == "vendors") & (NavReference.key == vendor["number"])
                & (NavReference.name == "Renamed While Running")) is not None, timeout=20)
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl+C: `stnav run` stops its scheduler and receiver

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    helper = threading.Thread(target=someone_in_nav)
    try:
        helper.start()
        assert main(["run"]) == 0
    finally:
        helper.join(30)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert seen == {"subscribed": True, "sent": 1, "refreshed": True}
    out = capsys.readouterr().out
    url = settings.get(profile, "nav.notification_url")
    assert f"receiving NAV notifications on port {urlsplit(url).port} for {url}" in out
    assert "subscriptions: 4 NAV subscription(s): 4 created, 0 renewed" in out
    assert notifications.status_line(profile).startswith(
        "NAV changes: polling every 360 min (the service (`stnav run`) is stopped; it subscribes again when it starts)")


def test_nav_unreachable_while_handling_a_notification_keeps_it_for_a_minute_later(service, nav, clock):
    scheduler = service.test_scheduler
    scheduler.tick()
    vendor = sorted(nav.company.t("vendors").values(), key=lambda v: v["number"])[0]
    nav.rename_vendor(vendor["number"], "Renamed During An Outage")
    nav.flush_notifications()
    nav.faults.fail(503, times=100, method="GET", path_contains="vendors")
    assert scheduler.tick(clock.now()) == ["nav-changes"]
    assert scheduler.status()["nav-changes"]["result"].startswith("failed:")
    assert scheduler.tick(clock.now()) == []  # not hammered: held for a minute
    nav.faults.clear()
    clock.advance(minutes=1)
    assert scheduler.tick(clock.now()) == ["nav-changes"]
    ref = NavReference.get((NavReference.entity == "vendors") & (NavReference.key == vendor["number"]))
    assert ref.name == "Renamed During An Outage"


def test_a_set_this_bc_refuses_is_polled_and_the_others_notify(service, nav, profile, monkeypatch):
    from stnav_desktop.sandbox.nav import sandbox as nav_sandbox

    # a BC whose webhook list lacks dimensionValues (the documented list does not name it)
    monkeypatch.setattr(nav_sandbox, "WEBHOOK_SETS", nav_sandbox.WEBHOOK_SETS - {"dimensionValues"})
    service.test_scheduler.tick()
    subs = Subscriptions(service.nav_client()).list()
    assert {s.resource.rsplit("/", 1)[-1] for s in subs} == WATCHED - {"dimensionValues"}
    line = notifications.status_line(profile, nav.clock.now())
    assert line.startswith("NAV changes: notifications (3 subscriptions, next expiry ")
    assert ("dimensionValues polled: BC refused its subscription (The entity set 'dimensionValues' does not "
            "support webhook subscriptions." in line)
