"""Reference data from the classic pages fills the same cache the API back end fills."""

from __future__ import annotations

import pytest

from stnav_desktop.connectors.nav.classic import ClassicRefData
from stnav_desktop.store import settings
from stnav_desktop.store.db import close_db, open_db
from stnav_desktop.sync.app import refdata


@pytest.fixture
def store(tmp_path):
    open_db(tmp_path / "stnav.db")
    yield
    close_db()


def test_refresh_fills_the_cache_from_pages(store, books, nav):
    profile = settings.get_profile("default")
    counts = refdata.refresh_nav(profile, ClassicRefData(books))
    assert counts == {"vendors": 6, "items": 7, "accounts": 11, "dimensionValues": 10, "journals": 1}
    vendors = {c.key: c for c in refdata.choices(profile, "vendors")}
    assert not vendors["V10000"].blocked and vendors["V60000"].blocked  # Blocked "All"; " " is _x0020_ on the wire
    accounts = {c.key for c in refdata.choices(profile, "accounts")}
    assert "6110" in accounts and "5410" not in accounts and "2130" not in accounts  # no direct posting: not offered
    assert {c.key for c in refdata.choices(profile, "dimensionValues", prefix="TERRITORY")} == {
        "CLOSED", "EAST", "NORTH", "SOUTH", "WEST"}


def test_items_page_not_published_means_no_items(store, books, nav):
    nav.unpublish("Items")
    assert ClassicRefData(books).items() == []
