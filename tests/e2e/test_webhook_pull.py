"""A signed ServiceTitan webhook makes the next pull due now; a tampered one changes nothing."""

from __future__ import annotations

from datetime import timedelta

from stnav_desktop import credentials
from stnav_desktop.store.fields import utcnow


def test_signed_webhook_makes_the_pull_due(configured):
    sims, profile, service = configured(purchase_orders=5)
    credentials.set_secret(profile.name, "servicetitan.webhook_secret", "whsec-test-123456")
    now = [utcnow()]
    service.clock = lambda: now[0]
    scheduler = service.scheduler()
    scheduler.clock = service.clock
    scheduler.jobs = {"pull": scheduler.jobs["pull"]}
    assert scheduler.tick() == ["pull"]
    now[0] += timedelta(minutes=1)
    assert scheduler.tick() == []  # not due for another 14 minutes
    receiver = service.webhook_receiver(scheduler, 0).start()
    try:
        statuses = sims.st.send_webhook(receiver.url, "invoice.updated", {"id": 1}, secret="wrong-key",
                                        retry_delays=(), sleep=lambda s: None)
        assert statuses and statuses[-1] in (401, 403)
        assert scheduler.tick() == []
        statuses = sims.st.send_webhook(receiver.url, "job.created", {"id": 2}, secret="whsec-test-123456",
                                        retry_delays=(), sleep=lambda s: None)
        assert statuses[-1] == 200
        assert scheduler.tick() == ["pull"]
    finally:
        receiver.stop()
