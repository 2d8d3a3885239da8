"""NAV simulator fixtures: one simulator per test (fast: no network beyond loopback), clients for both flavours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stnav_desktop.connectors.http import RetryPolicy
from stnav_desktop.connectors.nav.client import NavClient
from stnav_desktop.connectors.nav.config import NavConfig
from stnav_desktop.sandbox.clock import FakeClock
from stnav_desktop.sandbox.nav import NavSandbox

FAST_RETRY = RetryPolicy(total=4, backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0)


@pytest.fixture(scope="session")
def tls_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("nav-tls")


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 11, 2, 14, 0, tzinfo=UTC))


def online_config(sb: NavSandbox) -> NavConfig:
    return NavConfig(deployment="online", tenant=sb.tenant, environment=sb.environment, company_id=sb.company_id,
                     client_id=sb.client_id, authority=sb.authority, api_url=sb.base_url, ca_bundle=str(sb.ca_pem))


def onprem_config(sb: NavSandbox) -> NavConfig:
    return NavConfig(deployment="onprem", api_url=sb.base_url, auth="basic", user=sb.basic_user,
                     company_id=sb.company_id, ca_bundle=str(sb.ca_pem))


@pytest.fixture
def nav_online(tls_dir, clock):
    with NavSandbox(tls_dir, clock=clock, flavour="online", rate_limit=None) as sb:
        yield sb


@pytest.fixture
def nav_onprem(tls_dir, clock):
    with NavSandbox(tls_dir, clock=clock, flavour="onprem") as sb:
        yield sb


@pytest.fixture
def client(nav_onprem):
    return NavClient(onprem_config(nav_onprem), nav_onprem.basic_key, retry=FAST_RETRY)


@pytest.fixture
def online_client(nav_online):
    return NavClient(online_config(nav_online), nav_online.client_secret, retry=FAST_RETRY)
