"""Screenshots for the README, taken from the real window (offscreen) against the bundled simulators:
the review grid, the mapping picker open, the suggestions, a batch before approval, the posting result and
the reconciliation — at 1366×768, the smallest screen the window is made for.

Run: .venv/bin/python docs/make_screenshots.py   (writes resources/screenshots/*.png)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["STNAV_HOME"] = tempfile.mkdtemp(prefix="stnav-shots-")
OUT = Path(__file__).resolve().parents[1] / "resources" / "screenshots"


def main() -> int:
    from stnav_desktop import demo
    from stnav_desktop.store import settings
    from stnav_desktop.store.models import DocStatus, StDocument
    from stnav_desktop.sync.app.service import SyncService
    from stnav_desktop.sync.views import review
    from stnav_desktop.ui.main_window import MainWindow
    from stnav_desktop.ui.qt import QApplication, QSettings, QtGui
    from stnav_desktop.ui.tasks import InlineRunner

    OUT.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    _paths, sims_cm = demo.prepare()
    with sims_cm as sims:
        profile = settings.get_profile("default")
        demo.configure(profile, sims)
        service = SyncService(profile)
        service.refresh_refdata()
        service.pull()
        demo.remember_company(profile, service)
        window = MainWindow(QSettings(str(Path(os.environ["STNAV_HOME"]) / "ui.ini"), QSettings.Format.IniFormat),
                            profile=profile, runner=InlineRunner(), service_fn=lambda: service)
        window.resize(1366, 768)
        window.show()
        app.processEvents()
        page = window.pages["review"]
        page.status_filter.setCurrentIndex(next(i for i, (_, s) in enumerate(
            [("", [])] + [(label, [status]) for status, label in review.STATUS_LABELS.items()])
            if s == [DocStatus.NEEDS_MAPPING]))
        app.processEvents()
        from stnav_desktop.sync.app import mapping
        suggested = {s.source_key for s in mapping.suggest(profile) if s.kind == "vendor"}
        target = next((r for r in range(page.model.rowCount())
                       if str(page.model.row_at(r).vendor_st_id) in suggested
                       and page.model.row_at(r).kind == "purchase_order"), 0)
        page.select_row(target)
        app.processEvents()
        window.grab().save(str(OUT / "review-grid.png"))

        # the vendor picker with its completer popup open (typing part of a name)
        picker = page.detail.vendor_picker
        picker.setFocus()
        picker.lineEdit().setText("")
        picker.completer().setCompletionPrefix("supply")
        picker.completer().complete()
        app.processEvents()
        shot = window.grab()
        popup = picker.completer().popup()
        if popup.isVisible():
            painter = QtGui.QPainter(shot)
            origin = window.mapFromGlobal(popup.mapToGlobal(popup.rect().topLeft()))
            painter.drawPixmap(origin, popup.grab())
            painter.end()
        shot.save(str(OUT / "mapping-picker.png"))
        popup.hide()

        # the suggestions on the Mappings tab
        mappings_page = window.pages["mappings"]
        window.tabs.setCurrentIndex(1)
        mappings_page.refresh()
        mappings_page.select_safe()
        app.processEvents()
        window.grab().save(str(OUT / "mapping-suggestions.png"))

        # accept suggestions, batch (prepared by the clerk), inspect, approve, post: the result list
        demo.accept_suggestions(profile)
        page.refresh()
        page.status_filter.setCurrentIndex(0)
        from stnav_desktop.sync.app import batches
        batches.create_batch(profile, actor="demo-clerk")
        batches_page = window.pages["batches"]
        window.tabs.setCurrentIndex(2)
        batches_page.refresh()
        batches_page.table.selectRow(0)
        app.processEvents()
        window.grab().save(str(OUT / "batch-before-approval.png"))
        batches_page.confirm = lambda title, text: True  # the confirmation shows count and total
        batches_page.approve_button.click()
        # another PC posting part of the batch: who posts what shows on this PC (claims, #19)
        from stnav_desktop.store import claims
        elsewhere = [line.document_id for line in batches_page._view.lines[:3]]  # the first rows shown
        claims.claim(elsewhere, "alice@AP-PC-2#4242", lease_seconds=60)
        batches_page.refresh()
        app.processEvents()
        window.grab().save(str(OUT / "batch-posted-elsewhere.png"))
        claims.release_all("alice@AP-PC-2#4242")
        batches_page.refresh()
        batches_page.table.selectRow(0)
        batches_page.post_button.click()
        app.processEvents()
        window.grab().save(str(OUT / "posting-result.png"))

        # the reconciliation of the month, tied to the G/L read back from NAV
        reports = window.pages["reports"]
        window.tabs.setCurrentIndex(3)
        month = max(d.doc_date for d in StDocument.select().where(StDocument.status == DocStatus.POSTED))
        reports.month.setDate(reports.month.date().fromString(f"{month:%Y-%m}", "yyyy-MM"))
        reports.run_button.click()
        app.processEvents()
        window.grab().save(str(OUT / "reconcile.png"))
        # the Audit tab: newest first, a page at a time, who did it on which PC
        window.tabs.setCurrentIndex(4)
        app.processEvents()
        window.grab().save(str(OUT / "audit.png"))
        posted = StDocument.select().where(StDocument.status == DocStatus.POSTED).count()
        print(f"screenshots written to {OUT} ({posted} documents posted in the run)")
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
