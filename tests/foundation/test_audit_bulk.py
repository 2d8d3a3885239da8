"""audit.append_many: the same rows, chain and redaction as appending one by one, in one statement."""

from __future__ import annotations

from decimal import Decimal

from stnav_desktop import redact
from stnav_desktop.store import audit
from stnav_desktop.store.db import db
from stnav_desktop.store.models import AuditEvent, DocStatus


def test_append_many_chains_like_append_and_redacts_the_same(store, monkeypatch):
    audit.append("first.event", st_ref="PO-1", detail={"a": 1})
    details = [{"st_id": 1, "total": Decimal("1"), "status": "ready"},
               {"st_id": 2, "total": 1, "status": "ready", "reason": "password=hunter2 in the memo"},
               {"st_id": 3, "flag": True, "problems": ["Bearer abcdefghijklmnopqrstuvwx", "plain"]},
               {"client_secret": "s3cr3t-value", "nested": {"access_token": "t"}}, None,
               # numbers under a secret's name are masked when truthy, like redact_mapping does
               {"password": 123456, "pin": 0, "api_key": None, "st_id": 7, "total": 2.5, "ok": False},
               # a text repeated (redacted once per batch), a known secret inside a text, a status member,
               # an empty secret, a tuple
               {"reason": "password=hunter2 in the memo", "status": DocStatus.READY, "secret": "",
                "memo": "key is registered-secret-42 here", "pair": ("token=abc", 1)}]
    monkeypatch.setattr(redact, "_known", set(redact._known))  # this test's secret, not the next test's
    redact.register_secret("registered-secret-42")
    statements = []
    db.connection().set_trace_callback(statements.append)
    try:
        count = audit.append_many([{"action": "document.pulled", "st_ref": f"PO-{i}", "detail": d}
                                   for i, d in enumerate(details, start=2)], profile="default")
    finally:
        db.connection().set_trace_callback(None)
    assert count == len(details)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1  # one statement for the whole batch
    rows = list(AuditEvent.select().order_by(AuditEvent.seq))
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8]
    for row, detail in zip(rows[1:], details, strict=True):
        assert row.detail == audit.canonical_detail(detail)
        assert row.profile_name == "default" and row.action == "document.pulled"
    assert '"total":"1"' in rows[1].detail and '"total":1' in rows[2].detail  # types kept apart
    assert "hunter2" not in rows[2].detail and "s3cr3t" not in rows[4].detail
    assert "123456" not in rows[6].detail and '"st_id":7' in rows[6].detail
    assert audit.verify().ok
    audit.append("after.bulk")
    assert "registered-secret-42" not in rows[7].detail and "hunter2" not in rows[7].detail
    assert audit.verify().ok and audit.verify().checked == 9
