"""The Audit tab for people: local time, actions in words, the detail summarised, the full JSON on
demand; the per-document chain stays. The log is read a page at a time, newest first, filtered in SQL."""

from __future__ import annotations

from stnav_desktop.store import audit
from stnav_desktop.ui.audit_page import PAGE, AuditPage
from stnav_desktop.ui.tasks import TaskRunner


def cells(page, row):
    model = page.model
    return [model.index(row, c).data() for c in range(model.columnCount())]


def test_audit_tab_reads_like_a_ledger_and_shows_the_json_on_demand(qtbot, store):
    audit.append("document.posted", st_ref="PO-10452-001", nav_ref="PPI00001", profile="default", actor="bob",
                 detail={"from": "posting", "to": "posted", "nav_kind": "purchase_invoice", "nav_number": "PPI00001",
                         "gl_entries": [101, 102, 103], "version": 1})
    audit.append("batch.approved", profile="default", actor="carol", nav_ref="batch 3",
                 detail={"batch": 3, "prepared_by": "ana", "dropped": []})
    page = AuditPage()
    qtbot.addWidget(page)
    page.show()
    first = cells(page, 0)
    assert first[3] == "Batch approved" and "batch.approved" not in first
    assert first[2].startswith("carol on ")  # who, and on which PC
    posted = cells(page, 1)
    assert posted[3] == "Posted in NAV" and posted[6] == "NAV purchase invoice PPI00001, 3 G/L entries"
    assert "+00:00" not in posted[1] and "T" not in posted[1]  # local time, as people read it
    page.table.setCurrentIndex(page.model.index(1, 0))
    assert "Posted in NAV" in page.chain.toPlainText() or "document.posted" in page.chain.toPlainText()
    assert page.detail.isHidden()
    page.detail_button.click()
    assert page.detail.isVisible() and '"gl_entries": [' in page.detail.toPlainText()


def test_audit_tab_pages_the_log_as_the_user_scrolls_and_filters_in_sql(qtbot, store):
    events = [dict(action="document.pulled", st_ref=f"PO-{i}", profile="default", detail={"version": 1})
              for i in range(2 * PAGE + 50)]
    events[7]["action"] = "document.posted"  # the one posted event, far down the log
    audit.append_many(events, actor="bob")
    runner = TaskRunner()
    page = AuditPage(runner=runner)
    qtbot.addWidget(page)
    page.resize(900, 600)
    page.show()
    qtbot.waitUntil(lambda: page.model.rowCount() == PAGE)  # the first page, loaded off the GUI thread
    assert cells(page, 0)[4] == f"PO-{2 * PAGE + 49}"  # newest first
    assert "scroll down" in page.state.text()
    for expected in (2 * PAGE, 2 * PAGE + 50):
        page.table.scrollToBottom()  # the view asks for the next page
        qtbot.waitUntil(lambda n=expected: page.model.rowCount() == n)
    assert cells(page, page.model.rowCount() - 1)[4] == "PO-0"
    assert page.model.exhausted and not page.model.canFetchMore()
    seqs = [int(r.seq) for r in page.model.rows]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)  # no gap, no repeat between pages
    page.action_filter.setText("posted in nav")
    qtbot.keyClick(page.action_filter, "\r")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and page.model.exhausted)
    assert cells(page, 0)[4] == "PO-7"
    runner.shutdown()
