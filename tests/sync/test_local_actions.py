"""Local actions at scale (issue #17): the review list streams; the big-store builder the benchmarks use
makes a store whose audit log verifies and whose statuses are what the readiness check says."""

from __future__ import annotations

import pytest

from stnav_desktop.store.models import DocStatus, StDocument
from stnav_desktop.sync.views import review

pytestmark = pytest.mark.both_backends


def test_review_list_streams_the_rows_and_counts_them_all(staged, profile, capsys):
    from stnav_desktop.cli import main

    rows = review.iterate(profile, review.ReviewFilter(), sort="date", descending=False)
    assert not isinstance(rows, list)  # a generator over the cursor, not a list built first
    assert [r.number for r in rows] == [r.number for r in review.fetch(profile, review.ReviewFilter(), sort="date",
                                                                        descending=False, limit=10)]
    assert [r.number for r in review.iterate(profile, review.ReviewFilter(), sort="date", descending=False,
                                             offset=1, limit=1)] == ["10452-001-R1"]
    assert main(["review", "list", "--limit", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "2 of 3 documents" and len(out) == 3


def test_the_bench_store_verifies_and_its_statuses_are_the_readiness_check(store):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks.bigstore import build_store
    from stnav_desktop.store import audit
    from stnav_desktop.sync.app import mapping

    info = build_store(documents=300, audit_events=1_500, months=3)
    assert info.documents == StDocument.select().count() == 300 and info.audit_events == 1_500
    assert info.by_status[DocStatus.READY] > info.by_status[DocStatus.NEEDS_MAPPING] > 0
    assert info.by_status[DocStatus.POSTED] > 0 and len(info.months) == 3
    assert audit.verify().ok
    before = audit.verify().checked
    mapping.refresh_readiness(info.profile)  # the product agrees with every status: nothing moves
    assert audit.verify().checked == before
    assert all(d.status == DocStatus.READY for d in StDocument.select().where(
        StDocument.id.in_(info.ready_in(info.months[-1]))))
