from stnav_desktop.store.models import DocStatus, Mapping, StDocument
from stnav_desktop.sync.app import documents, mapping
from stnav_desktop.ui.review_page import COL_NAV_VENDOR, ReviewPage
from tests.sync.conftest import add_nav_refs
from tests.sync.example import BILL_R1, PO


def stage_unmapped(profile):
    add_nav_refs(profile)
    from stnav_desktop.store.models import StReference

    StReference.create(profile=profile, entity="vendors", st_id=2001, name="Ferguson Enterprises")
    StReference.create(profile=profile, entity="businessUnits", st_id=1001, name="HVAC Service - North")
    documents.stage(profile, "purchase_order", PO)
    documents.stage(profile, "inventory_bill", BILL_R1)
    mapping.refresh_readiness(profile)


def test_review_grid_filters_and_maps_with_pickers(qtbot, store):
    from stnav_desktop.store import settings

    profile = settings.get_profile("default")
    stage_unmapped(profile)
    page = ReviewPage(profile)
    qtbot.addWidget(page)
    page.show()
    assert page.model.rowCount() == 2
    status_col = 8
    texts = {page.model.index(r, status_col).data() for r in range(2)}
    assert texts == {"⚠ Needs mapping"}  # symbol and words, not colour alone

    # search narrows in SQL
    page.search.setText("R1")
    page.apply_filter()
    assert page.model.rowCount() == 1 and page.model.index(0, 1).data() == "10452-001-R1"
    page.search.setText("")
    page.apply_filter()

    # select the PO: the detail pane offers the suggested vendor with its score
    row = next(r for r in range(2) if page.model.index(r, 0).data() == "Purchase order")
    page.select_row(row)
    detail = page.detail
    assert "10452-001" in detail.title.text()
    assert "not mapped to a NAV vendor" in detail.problem.text()
    assert detail.vendor_suggestion.isVisible()
    assert "V10000" in detail.vendor_suggestion.text() and "%" in detail.vendor_suggestion.text()
    detail.vendor_suggestion.click()  # one click accepts it
    assert Mapping.get(Mapping.kind == "vendor").target == "V10000"

    # the territory through the picker with completer (typing part of the name works)
    detail.dim_picker.setEditText("north")  # typed, any case
    assert detail.dim_picker.current_key() == "NORTH"
    completer = detail.dim_picker.completer()
    completer.setCompletionPrefix("territ")  # contains-match on the name, case-insensitive
    assert completer.completionCount() == 1 and completer.currentCompletion().startswith("NORTH")
    detail.dim_apply.click()
    mapping.set_mapping(profile, "item", "3001", "1000", target_type="Item")
    mapping.set_mapping(profile, "item", "3002", "1010", target_type="Item")
    mapping.set_mapping(profile, "item", "3008", "6110", target_type="Account")
    mapping.refresh_readiness(profile)
    page.refresh()
    statuses = {d.number: d.status for d in StDocument.select()}
    assert statuses == {"10452-001": DocStatus.READY, "10452-001-R1": DocStatus.READY}
    # the preview shows the exact NAV document
    page.select_row(row)
    assert "Purchase invoice" in detail.preview_title.text()
    assert "ST-PO-10452-001" in detail.preview_header.text()
    assert detail.preview_lines.rowCount() == 5


def test_grid_picker_delegate_commits_a_vendor_mapping(qtbot, store):
    from stnav_desktop.store import settings

    profile = settings.get_profile("default")
    stage_unmapped(profile)
    page = ReviewPage(profile)
    qtbot.addWidget(page)
    delegate = page.table.itemDelegateForColumn(COL_NAV_VENDOR)
    index = page.model.index(0, COL_NAV_VENDOR)
    editor = delegate.createEditor(page.table.viewport(), None, index)
    editor.setEditText("V10000 — Ferguson Enterprises LLC")
    delegate.setModelData(editor, page.model, index)
    assert Mapping.get(Mapping.kind == "vendor").target == "V10000"
    assert page.model.index(0, COL_NAV_VENDOR).data() == "V10000"


def test_main_window_with_all_tabs(qtbot, store, tmp_path):
    from stnav_desktop.store import settings
    from stnav_desktop.ui.main_window import TABS, MainWindow
    from stnav_desktop.ui.qt import QSettings
    from stnav_desktop.ui.tasks import InlineRunner

    profile = settings.get_profile("default")
    stage_unmapped(profile)
    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), profile=profile,
                        runner=InlineRunner())
    qtbot.addWidget(window)
    window.show()
    assert window.tabs.count() == len(TABS)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)  # each tab refreshes without error
    assert window.attention_state.text() == "Needs attention: 0"
    window.notify("3 new documents pulled")
    assert window.banner.isVisible() and "3 new" in window.banner.label.text()


def test_first_run_offers_connect_and_demo_until_configured(qtbot, store, tmp_path):
    from stnav_desktop.store import settings
    from stnav_desktop.ui.main_window import TABS, MainWindow
    from stnav_desktop.ui.qt import QSettings
    from stnav_desktop.ui.tasks import InlineRunner

    profile = settings.get_profile("default")
    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), profile=profile,
                        runner=InlineRunner())
    qtbot.addWidget(window)
    window.show()
    assert window.first_run.isVisible()
    window.first_run.connect_button.click()
    assert window.tabs.currentIndex() == len(TABS) - 1
    settings.set_value(profile, "servicetitan.tenant", "1234567")
    window.refresh_status()
    assert not window.first_run.isVisible()
    assert window.st_state.text().startswith("ServiceTitan: tenant 1234567")


def test_unexpected_error_report_is_secret_free(qtbot):
    from stnav_desktop.redact import register_secret
    from stnav_desktop.ui.errors import ErrorDialog, report_text

    register_secret("very-secret-value-123")
    try:
        raise RuntimeError("token request failed: client_secret=very-secret-value-123")
    except RuntimeError as exc:
        text = report_text(type(exc), exc, exc.__traceback__)
    assert "very-secret-value-123" not in text and "RuntimeError" in text
    dialog = ErrorDialog("RuntimeError", text)
    qtbot.addWidget(dialog)
    assert "very-secret" not in dialog.report.toPlainText()


def test_mappings_tab_adds_a_gl_rule_and_names_a_bad_one(qtbot, store, monkeypatch):
    from stnav_desktop.store import settings
    from stnav_desktop.ui.mappings_page import MappingsPage
    from stnav_desktop.ui.qt import QtWidgets

    profile = settings.get_profile("default")
    page = MappingsPage(profile)
    qtbot.addWidget(page)
    page.add_kind.setCurrentIndex(page.add_kind.findData("gl_rule"))
    page.add_key.setText("sku_type:Equipment")
    page.add_target.setText("6130")
    page.add_button.click()
    assert Mapping.get(Mapping.kind == "gl_rule").target == "6130"
    assert page.table.rowCount() == 1
    warnings = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: warnings.append(a[2]))
    page.add_kind.setCurrentIndex(page.add_kind.findData("item"))
    page.add_key.setText("3001")
    page.add_target.setText("1000")
    page.add_type.setCurrentText("")
    page.add_button.click()
    assert warnings == ["item mapping for 3001: target_type must be Item or Account, not ''"]


def test_create_in_nav_button_asks_for_the_tax_id_and_creates_the_vendor(qtbot, store, monkeypatch):
    """The real click: the button's `checked` flag once arrived as the tax id ('bool' has no strip)."""
    from types import SimpleNamespace

    from stnav_desktop.store import settings
    from stnav_desktop.ui.qt import Qt, QtWidgets
    from stnav_desktop.ui.tasks import InlineRunner

    profile = settings.get_profile("default")
    stage_unmapped(profile)
    calls = []

    class Service:
        def create_nav_vendor(self, st_vendor_id, *, tax_id="", number=None):
            calls.append((st_vendor_id, tax_id))
            mapping.set_mapping(profile, "vendor", st_vendor_id, "V70000")
            return SimpleNamespace(number="V70000", display_name="Ferguson Enterprises", created=True)

    monkeypatch.setattr(QtWidgets.QInputDialog, "getText",
                        staticmethod(lambda *a, **k: (" 12-3456789 ", True)))
    page = ReviewPage(profile, runner=InlineRunner(), service_fn=Service)
    qtbot.addWidget(page)
    page.show()
    row = next(r for r in range(page.model.rowCount()) if page.model.index(r, 0).data() == "Purchase order")
    page.select_row(row)
    assert page.detail.vendor_create.isVisible()
    qtbot.mouseClick(page.detail.vendor_create, Qt.MouseButton.LeftButton)
    assert calls == [(2001, "12-3456789")]
    assert "V70000" in page.detail.problem.text() and "created" in page.detail.problem.text()


def test_detail_pane_lines_add_up_to_the_header(qtbot, store):
    """Line amounts, tax, freight and a total equal to ServiceTitan's header; 10 not 1E+1; separators."""
    import copy

    from stnav_desktop.store import settings

    profile = settings.get_profile("default")
    add_nav_refs(profile)
    po = copy.deepcopy(PO)
    po["items"][0]["quantity"] = "1E+1"  # how a Decimal can arrive
    po["items"][0]["cost"] = "875.00"  # 10 × 875 = 8,750.00
    po["total"] = 8750 + 56.80 + 77.50 + 17.74 + 12.00
    documents.stage(profile, "purchase_order", po)
    page = ReviewPage(profile)
    qtbot.addWidget(page)
    page.select_row(0)
    table = page.detail.lines
    rows = {table.item(r, 2).text(): [table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())}
    first = [table.item(0, c).text() for c in range(table.columnCount())]
    assert first[3] == "10" and first[5] == "875.00" and first[6] == "8,750.00"
    assert rows["Tax"][6] == "17.74" and rows["Freight"][6] == "12.00"
    assert rows["Total"][6] == "8,914.04" == f"{po['total']:,.2f}"
    assert "ServiceTitan header total" not in rows  # it adds up: no difference row


def test_detail_pane_says_no_match_instead_of_guessing(qtbot, store):
    from stnav_desktop.store import settings
    from stnav_desktop.store.models import StReference

    profile = settings.get_profile("default")
    add_nav_refs(profile)
    StReference.create(profile=profile, entity="vendors", st_id=2001, name="Zephyr Quantum Widgets")
    documents.stage(profile, "purchase_order", PO)
    page = ReviewPage(profile)
    qtbot.addWidget(page)
    page.show()
    page.select_row(0)
    button = page.detail.vendor_suggestion
    assert button.isVisible() and not button.isEnabled()
    assert button.text().startswith("No close match in NAV")
