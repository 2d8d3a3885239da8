"""The Audit tab for people: local time, actions in words, the detail summarised, the full JSON on
demand; the per-document chain stays."""

from __future__ import annotations

from stnav_desktop.store import audit
from stnav_desktop.ui.audit_page import AuditPage


def test_audit_tab_reads_like_a_ledger_and_shows_the_json_on_demand(qtbot, store):
    audit.append("document.posted", st_ref="PO-10452-001", nav_ref="PPI00001", profile="default", actor="bob",
                 detail={"from": "posting", "to": "posted", "nav_kind": "purchase_invoice", "nav_number": "PPI00001",
                         "gl_entries": [101, 102, 103], "version": 1})
    audit.append("batch.approved", profile="default", actor="carol", nav_ref="batch 3",
                 detail={"batch": 3, "prepared_by": "ana", "dropped": []})
    page = AuditPage()
    qtbot.addWidget(page)
    page.show()
    first = [page.table.item(0, c).text() for c in range(page.table.columnCount())]
    assert first[3] == "Batch approved" and "batch.approved" not in first
    posted = [page.table.item(1, c).text() for c in range(page.table.columnCount())]
    assert posted[3] == "Posted in NAV" and posted[6] == "NAV purchase invoice PPI00001, 3 G/L entries"
    assert "+00:00" not in posted[1] and "T" not in posted[1]  # local time, as people read it
    page.table.setCurrentCell(1, 0)
    assert "Posted in NAV" in page.chain.toPlainText() or "document.posted" in page.chain.toPlainText()
    assert page.detail.isHidden()
    page.detail_button.click()
    assert page.detail.isVisible() and '"gl_entries": [' in page.detail.toPlainText()
