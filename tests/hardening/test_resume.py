"""A pull killed after a page was stored leaves no document of that page unevaluated (issue 16 item 11)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from stnav_desktop.store import settings
from stnav_desktop.store.models import DocStatus, StDocument, StReference
from stnav_desktop.sync.app import mapping, pull
from tests.sync.example import BILL_R1, PO


@dataclass
class _Record:
    raw: dict
    problems: list = field(default_factory=list)


@dataclass
class _Page:
    records: list
    continue_from: str | None
    has_more: bool


class Killed(BaseException):
    """The process dying right after a page's transaction committed."""


class _Source:
    def iter_export_purchase_orders(self, continue_from=None):
        yield _Page([_Record(dict(PO)), _Record(dict(PO, id=40123378, number="10452-002", vendorId=2999))],
                    "t1", True)
        raise Killed

    def iter_export_inventory_bills(self, continue_from=None):
        yield _Page([_Record(dict(BILL_R1))], "b1", False)


def test_documents_of_a_stored_page_are_evaluated_even_if_the_pull_dies_next(store):
    profile = settings.get_profile("default")
    StReference.create(profile=profile, entity="vendors", st_id=2001, name="Ferguson Enterprises")
    with pytest.raises(Killed):
        pull.pull(profile, _Source())
    docs = list(StDocument.select().order_by(StDocument.st_id))
    assert len(docs) == 2
    ctx = mapping.plan_context(profile)
    for doc in docs:  # each one as a refresh would leave it: status and reason in words
        assert (doc.status, doc.problem) == mapping.evaluate(doc, ctx)
        assert doc.status != DocStatus.READY or doc.problem == ""
    unmapped = next(d for d in docs if d.number == "10452-002")
    assert unmapped.status == DocStatus.NEEDS_MAPPING and "2999" in unmapped.problem
    assert next(d for d in docs if d.number == "10452-001").vendor_name == "Ferguson Enterprises"
