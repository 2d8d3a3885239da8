from __future__ import annotations

import pytest

from stnav_desktop import demo
from stnav_desktop.sandbox.nav import NavSandbox
from stnav_desktop.sandbox.servicetitan import ServiceTitanSandbox
from stnav_desktop.store import settings
from stnav_desktop.sync.app.service import SyncService


@pytest.fixture
def systems(tmp_path):
    def start(purchase_orders=60, **nav_kw):
        st = ServiceTitanSandbox(tmp_path / "tls", purchase_orders=purchase_orders).start()
        nav = NavSandbox(tmp_path / "tls", flavour="online", **nav_kw).start()
        started.extend([st, nav])
        return demo.Simulators(st, nav)

    started: list = []
    yield start
    for sb in started:
        sb.stop()


@pytest.fixture
def configured(store, systems):
    """Both simulators, a profile pointing at them, reference data, a pull and accepted suggestions."""

    def make(purchase_orders=60, **nav_kw):
        sims = systems(purchase_orders, **nav_kw)
        profile = settings.get_profile("default")
        demo.configure(profile, sims)
        service = SyncService(profile)
        service.refresh_refdata()
        service.pull()
        demo.accept_suggestions(profile)
        return sims, profile, service

    return make
