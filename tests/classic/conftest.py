"""Classic NAV page web services sandbox fixtures: one server per test, a client signed in with Basic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stnav_desktop.connectors.http import RetryPolicy
from stnav_desktop.connectors.nav.classic import ClassicBooks, ClassicClient, ClassicConfig
from stnav_desktop.sandbox.clock import FakeClock
from stnav_desktop.sandbox.navclassic import ClassicNavSandbox

FAST_RETRY = RetryPolicy(total=2, backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0)


@pytest.fixture(scope="session")
def tls_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("navclassic-tls")


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 11, 2, 14, 0, tzinfo=UTC))


def basic_config(sb: ClassicNavSandbox, **kw) -> ClassicConfig:
    return ClassicConfig(odata_url=sb.odata_url, company=sb.company.name, auth="basic", user=sb.user,
                         ca_bundle=str(sb.ca_pem), **kw)


@pytest.fixture
def nav(tls_dir, clock):
    with ClassicNavSandbox(tls_dir, clock=clock) as sb:
        yield sb


@pytest.fixture
def books(nav) -> ClassicBooks:
    return ClassicBooks(ClassicClient(basic_config(nav), nav.web_service_key, retry=FAST_RETRY))


def pytest_configure(config):
    config.addinivalue_line("markers", "windows_sspi: Windows sign-in through SSPI as the logged-on user (runs only "
                                       "on Windows, in the windows-build workflow)")
