from stnav_desktop.store.models import SchedulerJob


def test_scheduler_token_job_touches_both_providers(configured, monkeypatch):
    sims, profile, service = configured(purchase_orders=5)
    calls = []
    for client in (service.st_client(), service.nav_client()):
        provider = getattr(client, "auth", None) or client.http.auth
        original = provider.token
        monkeypatch.setattr(provider, "token", lambda force=False, o=original, p=provider: calls.append(p) or o(force))
    scheduler = service.scheduler()
    scheduler.jobs = {"tokens": scheduler.jobs["tokens"]}
    assert scheduler.tick() == ["tokens"]
    assert len(calls) == 2  # each provider refreshes only when its token is close to expiry
    assert SchedulerJob.get(SchedulerJob.name == "tokens").last_result == "ServiceTitan token fresh; NAV token fresh"
