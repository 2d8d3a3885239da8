from __future__ import annotations

import pytest

from stnav_desktop.store import settings
from stnav_desktop.store.models import NavReference
from stnav_desktop.sync.app import documents, mapping

from .example import BILL_R1, BILL_R2, MAPPINGS, PO


@pytest.fixture
def profile(store):
    prof = settings.get_profile("default")
    settings.set_value(prof, "posting.mode", "post")  # drafts have tests of their own
    settings.set_value(prof, "posting.post_journal", True)
    for kind, entries in MAPPINGS.items():
        for key, (target, target_type) in entries.items():
            mapping.set_mapping(prof, kind, key, target, target_type=target_type, actor="clerk")
    return prof


@pytest.fixture
def staged(profile):
    """The worked example staged and checked: one PO and two bills, all ready."""
    docs = [documents.stage(profile, "purchase_order", PO).document,
            documents.stage(profile, "inventory_bill", BILL_R1).document,
            documents.stage(profile, "inventory_bill", BILL_R2).document]
    mapping.refresh_readiness(profile)
    return docs


def add_nav_refs(profile, **blocked):
    rows = [("vendors", "V10000", "Ferguson Enterprises LLC", {}), ("vendors", "V60000", "W.W. Grainger", {}),
            ("accounts", "2950", "Purchases clearing", {"directPosting": True}),
            ("accounts", "5630", "Purchase sales tax", {"directPosting": True}),
            ("accounts", "6110", "Job materials, consumables", {"directPosting": True}),
            ("accounts", "6120", "Job materials, stock", {"directPosting": True}),
            ("accounts", "6210", "Freight in", {"directPosting": True}),
            ("accounts", "6220", "Other purchase charges", {"directPosting": True}),
            ("accounts", "2130", "Inventory", {"directPosting": False}),
            ("dimensionValues", "TERRITORY:NORTH", "North territory", {}),
            ("items", "1000", "Air filter", {}), ("items", "1010", "Capacitor", {})]
    for entity, key, name, data in rows:
        NavReference.create(profile=profile, entity=entity, key=key, name=name, data=data,
                            blocked=blocked.get(key, False))
