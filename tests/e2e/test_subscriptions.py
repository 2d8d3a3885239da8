"""The scheduler renews NAV webhook subscriptions well before their 3-day expiry (fake clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stnav_desktop import demo
from stnav_desktop.connectors.nav import NotificationReceiver, Subscriptions
from stnav_desktop.sandbox.clock import FakeClock
from stnav_desktop.sandbox.nav import NavSandbox
from stnav_desktop.sandbox.tls import ensure_tls
from stnav_desktop.store import settings
from stnav_desktop.store.models import SchedulerJob, WebhookSubscription
from stnav_desktop.sync.app.service import SyncService


def test_scheduler_renews_before_expiry(store, tmp_path):
    clock = FakeClock(datetime(2026, 11, 2, 14, 0, tzinfo=UTC))
    tls = ensure_tls(tmp_path / "tls")
    with NavSandbox(tmp_path / "tls", clock=clock, flavour="online") as nav:
        profile = settings.get_profile("default")
        demo.configure(profile, demo.Simulators(st=_FakeSt(), nav=nav))
        service = SyncService(profile, clock=clock.now)
        state = []
        receiver = NotificationReceiver("unused", state.append, certfile=str(tls.cert_pem),
                                        keyfile=str(tls.key_pem)).start()
        try:
            row = service.subscribe("purchaseInvoices", receiver.url)
            assert row.expires_at == clock.now() + timedelta(days=3)
            scheduler = service.scheduler()
            scheduler.jobs = {"subscriptions": scheduler.jobs["subscriptions"]}  # only the renewal job here
            assert scheduler.tick() == ["subscriptions"]
            assert SchedulerJob.get(SchedulerJob.name == "subscriptions").last_result == "no subscription due"
            for _hour in range(24 * 6):  # six days, ticking hourly
                clock.advance(hours=1)
                scheduler.tick(clock.now())
                remote = Subscriptions(service.nav_client()).list()
                assert len(remote) == 1, f"subscription lost at {clock.now()}"
                assert remote[0].expiration - clock.now() > timedelta(hours=23)
            row = WebhookSubscription.get_by_id(row.id)
            assert row.renewed_at is not None and row.expires_at > clock.now() + timedelta(days=1)
        finally:
            receiver.stop()


class _FakeSt:
    """demo.configure needs ServiceTitan settings too; this test only talks to NAV."""

    tenant = 1
    client_id = "cid"
    app_key = "ak"
    auth_url = "https://127.0.0.1:1/connect/token"
    base_url = "https://127.0.0.1:1"
    ca_pem = ""  # no file: settings refuse a CA bundle path that does not exist
    client_secret = "st-secret-not-used"
