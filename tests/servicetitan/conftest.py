"""Fixtures: a started ServiceTitan simulator (with a controllable clock) and clients pointed at it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stnav_desktop.connectors.http import CallCounter, RetryPolicy
from stnav_desktop.connectors.servicetitan import ServiceTitanClient, ServiceTitanConfig
from stnav_desktop.connectors.servicetitan.limits import reset_limiters
from stnav_desktop.sandbox.clock import FakeClock
from stnav_desktop.sandbox.servicetitan import ServiceTitanSandbox

# fast, deterministic retries: no jitter, tiny backoff (Retry-After is still honoured)
FAST_RETRY = RetryPolicy(total=6, backoff_factor=0.001, backoff_max=0.01, backoff_jitter=0.0)


@pytest.fixture(scope="session")
def st_tls_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("st-tls")


@pytest.fixture(autouse=True)
def _fresh_limiters():
    reset_limiters()
    yield
    reset_limiters()


@pytest.fixture
def fake_clock():
    return FakeClock()


@pytest.fixture
def sandbox(st_tls_dir, fake_clock):
    sb = ServiceTitanSandbox(st_tls_dir, clock=fake_clock, purchase_orders=60, export_batch=10, record_bodies=True)
    with sb:
        sb.faults.retry_after = 0
        yield sb


@pytest.fixture
def make_client(sandbox):
    made = []

    def make(*, clock=None, counter=None, secret=None, **overrides):
        config = ServiceTitanConfig(**{**sandbox.config_kwargs(), "retry": FAST_RETRY})
        if overrides:
            config = replace(config, **overrides)
        client = ServiceTitanClient(config, secret if secret is not None else sandbox.client_secret,
                                    counter=counter or CallCounter(), clock=clock)
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(make_client):
    return make_client()


def configure_profile(profile, sb) -> None:
    """Point a store profile at the simulator (settings + the secret in the keychain)."""
    from stnav_desktop import credentials
    from stnav_desktop.store import settings

    for key, value in {
        "servicetitan.environment": "integration", "servicetitan.tenant": str(sb.tenant),
        "servicetitan.client_id": sb.client_id, "servicetitan.app_key": sb.app_key,
        "servicetitan.auth_url": sb.auth_url, "servicetitan.api_url": sb.base_url,
        "servicetitan.ca_bundle": str(sb.ca_pem),
    }.items():
        settings.set_value(profile, key, value)
    credentials.set_secret(profile.name, "servicetitan.client_secret", sb.client_secret)


@pytest.fixture
def st_profile(store, sandbox):
    """The default profile of a fresh store, configured for the simulator."""
    from stnav_desktop.store import settings

    profile = settings.get_profile("default")
    configure_profile(profile, sandbox)
    return profile
