"""The whole flow through the window against both simulators: configure both connections in the
Settings tab (secrets into the in-memory keychain), test the connection, pull, map a vendor with the
picker, accept a suggestion, create and approve a batch, post, and see the audit chain."""

from __future__ import annotations

from stnav_desktop.store import settings
from stnav_desktop.store.models import DocStatus, Mapping, StDocument
from stnav_desktop.sync.app.service import SyncService
from stnav_desktop.ui.main_window import MainWindow
from stnav_desktop.ui.qt import QSettings, QtWidgets
from stnav_desktop.ui.tasks import InlineRunner


def set_field(page, key, value):
    editor = page.fields[key].editor
    if isinstance(editor, QtWidgets.QCheckBox):
        editor.setChecked(bool(value))
    elif isinstance(editor, QtWidgets.QComboBox):
        editor.setCurrentIndex(editor.findText(value))
    else:
        editor.setText(str(value))


def test_full_flow_through_the_window(qtbot, store, systems, tmp_path, memory_keyring):
    sims = systems(purchase_orders=40)
    st, nav = sims.st, sims.nav
    profile = settings.get_profile("default")
    service: list[SyncService] = []
    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), profile=profile,
                        runner=InlineRunner(),
                        service_fn=lambda: service[0] if service else service.append(SyncService(profile)) or service[0])
    qtbot.addWidget(window)
    window.show()
    assert window.first_run.isVisible()

    # 1. Settings tab: both connections, then save
    page = window.settings_page
    for key, value in {
        "servicetitan.environment": "integration", "servicetitan.tenant": st.tenant,
        "servicetitan.client_id": st.client_id, "servicetitan.app_key": st.app_key,
        "servicetitan.auth_url": st.auth_url, "servicetitan.api_url": st.base_url,
        "servicetitan.ca_bundle": st.ca_pem,
        "nav.deployment": "online", "nav.tenant": nav.tenant, "nav.environment": nav.environment,
        "nav.client_id": nav.client_id, "nav.authority": nav.authority,
        "nav.api_url": nav.base_url, "nav.ca_bundle": nav.ca_pem,
        "posting.mode": "post", "posting.post_journal": True,
        "approval.two_person_rule": False,  # one person prepares and approves in this flow
    }.items():
        set_field(page, key, value)
    page.save_button.click()
    assert not window.first_run.isVisible()

    # 2. secrets go to the keychain only, shown as stored, never echoed back
    panel = window.connections
    panel.fields["servicetitan.client_secret"][0].setText(st.client_secret)
    panel.fields["nav.client_secret"][0].setText(nav.client_secret)
    panel.save_secrets.click()
    assert memory_keyring.store[("ml-connector", "default:nav.client_secret")] == nav.client_secret
    assert panel.fields["nav.client_secret"][1].text() == "stored"
    assert panel.fields["nav.client_secret"][0].text() == ""

    # the company picker, loaded from NAV
    panel.load_companies.click()
    assert panel.company_picker.count() >= 1
    panel.company_picker.setCurrentIndex(panel.company_picker.findData(nav.company_id))
    panel.use_company.click()
    assert settings.get(profile, "nav.company_id") == nav.company_id
    assert page.fields["nav.company_id"].editor.text() == nav.company_id

    # 3. test connection: a clear line per check, all passing
    panel.test_button.click()
    results = panel.results.toPlainText().splitlines()
    assert len(results) >= 10 and all(line.startswith("PASS") for line in results), results

    # 4. reference data and a pull from the Review tab
    review = window.pages["review"]
    review.refdata_button.click()
    review.pull_button.click()
    assert "Pulled:" in review.busy_label.text()
    assert review.model.rowCount() > 40

    # 5. map a vendor with the picker (Watsco's names differ too much for a strong suggestion)
    row = next(r for r in range(review.model.rowCount())
               if review.model.row_at(r).vendor_st_id == 2005 and review.model.row_at(r).kind == "purchase_order")
    review.select_row(row)
    detail = review.detail
    detail.vendor_picker.setEditText("V50000 — Watsco Inc")
    detail.vendor_apply.click()
    assert Mapping.get((Mapping.kind == "vendor") & (Mapping.source_key == "2005")).target == "V50000"

    # 6. accept a suggestion with one click (the territory of that document)
    review.select_row(row)
    assert detail.dim_suggestion.isVisible()
    detail.dim_suggestion.click()
    # and the rest of the suggestions from the Mappings tab
    mappings_page = window.pages["mappings"]
    mappings_page.refresh()
    mappings_page.suggestions.selectAll()
    mappings_page.accept_selected_button.click()
    review.refresh()
    ready = StDocument.select().where(StDocument.status == DocStatus.READY).count()
    assert ready > 20

    # 7. batch, approve (showing who prepared it), post
    review.batch_ready.click()
    batches_page = window.pages["batches"]
    window.tabs.setCurrentIndex(2)
    batches_page.confirm = lambda title, text: "documents, total" in text  # the confirmation shows the total
    batches_page.table.selectRow(0)
    batches_page.approve_button.click()
    batches_page.table.selectRow(0)
    batches_page.post_button.click()
    posted = StDocument.select().where(StDocument.status == DocStatus.POSTED)
    assert posted.count() == ready
    assert batches_page.documents.rowCount() == ready
    assert "Done" in batches_page.progress_label.text()

    # 8. the audit chain of one posted purchase order, and the verified log
    po = next(d for d in posted if d.kind == "purchase_order")
    audit_page = window.pages["audit"]
    window.tabs.setCurrentIndex(4)
    audit_page.st_filter.setText(f"PO-{po.number}")
    audit_page.refresh()
    chain = audit_page.chain.toPlainText()
    for step in ("document.pulled", "document.ready", "document.approved",
                 "document.posting", "document.posted"):
        assert step in chain, (step, chain)
    assert f"NAV purchase_invoice {po.nav_number}" in chain and "G/L entries" in chain
    audit_page.verify_button.click()
    assert audit_page.verify_result.text().startswith("✓ audit log intact")
