"""Mapping review: suggestions readable (whole names, why, warnings), several accepted at once, and the
list keeps its place afterwards."""

from __future__ import annotations

from stnav_desktop.store import settings
from stnav_desktop.store.models import Mapping, NavReference, StReference
from stnav_desktop.sync.app import mapping
from stnav_desktop.ui.mappings_page import MappingsPage
from stnav_desktop.ui.qt import Qt
from stnav_desktop.ui.tasks import InlineRunner


def test_accept_selected_suggestions_and_keep_the_place(qtbot, store):
    profile = settings.get_profile("default")
    for i in range(6):
        NavReference.create(profile=profile, entity="vendors", key=f"V{i}0000", name=f"Northwind Supplier {i} LLC")
        StReference.create(profile=profile, entity="vendors", st_id=100 + i, name=f"Northwind Supplier {i}, Inc.")
    page = MappingsPage(profile, runner=InlineRunner())
    qtbot.addWidget(page)
    page.show()
    assert page.suggestions.rowCount() == 6
    name = page.suggestions.item(0, 1).text()
    assert name == "Northwind Supplier 0, Inc.  [100]" and page.suggestions.item(0, 1).toolTip() == name
    assert page.suggestions.item(0, 0).text() == "Vendor"  # words, not the internal kind name
    page.suggestions.selectRow(2)
    page.suggestions.selectionModel().select(page.suggestions.model().index(3, 0),
                                             page.suggestions.selectionModel().SelectionFlag.Select
                                             | page.suggestions.selectionModel().SelectionFlag.Rows)
    qtbot.mouseClick(page.accept_selected_button, Qt.MouseButton.LeftButton)
    assert {m.source_key for m in Mapping.select()} == {"102", "103"}
    assert page.suggestions.rowCount() == 4
    assert page.suggestions.currentRow() == 2  # the next one down, where the accepted ones were
    assert page.suggestions.item(2, 1).text().startswith("Northwind Supplier 4")
    # "select the sure ones" then accept: all same-name suggestions
    qtbot.mouseClick(page.accept_safe_button, Qt.MouseButton.LeftButton)
    assert len(page.selected_suggestions()) == 4
    qtbot.mouseClick(page.accept_selected_button, Qt.MouseButton.LeftButton)
    assert Mapping.select().count() == 6 and page.suggestions.rowCount() == 0
    assert not mapping.suggest(profile)


def test_import_reads_the_file_on_the_task_runner(qtbot, store, tmp_path, monkeypatch):
    """A mappings file grows with the office: it is read, checked and saved off the GUI thread, then the
    list shows it; a file with a refused row imports nothing and names the row and field."""
    import threading

    from stnav_desktop.ui.tasks import TaskRunner

    profile = settings.get_profile("default")
    mapping.set_mapping(profile, "vendor", "2001", "V10000", actor="clerk")
    good, bad = tmp_path / "mappings.csv", tmp_path / "bad.csv"
    good.write_text(mapping.export_csv(profile), encoding="utf-8")
    bad.write_text(mapping.export_csv(profile).replace("2001", "2002").replace("V10000", ""), encoding="utf-8")
    mapping.delete_mapping(profile, "vendor", "2001")
    threads: list[str] = []
    real = mapping.import_csv_bytes
    monkeypatch.setattr(mapping, "import_csv_bytes",
                        lambda *a, **k: (threads.append(threading.current_thread().name), real(*a, **k))[1])
    warnings: list[str] = []
    monkeypatch.setattr("stnav_desktop.ui.mappings_page.QtWidgets.QMessageBox.warning",
                        lambda parent, title, text: warnings.append(text))
    runner = TaskRunner()
    page = MappingsPage(profile, runner=runner)
    qtbot.addWidget(page)
    page._import(str(good))  # what the Import button does once the file is picked
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=5000)
    assert [m.source_key for m in Mapping.select()] == ["2001"] and warnings == []
    assert threads and threads[0] != threading.main_thread().name
    page._import(str(bad))
    qtbot.waitUntil(lambda: bool(warnings), timeout=5000)
    assert "0 mappings imported; 1 rows not imported" in warnings[0] and "vendor 2002" in warnings[0]
    assert [m.source_key for m in Mapping.select()] == ["2001"]
    runner.shutdown()
