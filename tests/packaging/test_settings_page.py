import pytest

from stnav_desktop.cli import main
from stnav_desktop.store import audit, settings
from stnav_desktop.ui.settings_page import GROUPS, SettingsPage, lock_note

DEPLOY = """
[servicetitan]
tenant = "1234567"

[schedule]
interval_minutes = 30

[locked]
keys = ["servicetitan.tenant"]
"""


@pytest.fixture
def page(qtbot, store):
    def make():
        widget = SettingsPage(settings.get_profile("default"))
        qtbot.addWidget(widget)
        widget.show()
        return widget
    return make


def test_every_setting_rendered_by_kind_in_its_group(page):
    from stnav_desktop.ui.pickers import NavPicker
    from stnav_desktop.ui.qt import QComboBox, QLineEdit, QtWidgets

    p = page()
    assert set(p.fields) == {s.key for s in settings.SETTINGS}
    assert set(p.groups) == set(GROUPS)
    kinds = {"bool": QtWidgets.QCheckBox, "int": QtWidgets.QSpinBox, "choice": QComboBox, "str": QLineEdit,
             "url": QLineEdit, "path": QLineEdit, "time": QLineEdit, "list": QLineEdit, "date": QLineEdit,
             "account": NavPicker, "dimension": NavPicker, "timezone": NavPicker, "money": QLineEdit,
             "limits": QLineEdit}
    for setting in settings.SETTINGS:
        field = p.fields[setting.key]
        assert isinstance(field.editor, kinds[setting.kind]), setting.key
        assert field.editor.isEnabled() and field.lock.isHidden()
        assert p.groups[setting.key.split(".")[0]].isAncestorOf(field.editor)
    assert p.fields["schedule.business_days"].editor.text() == "Mon, Tue, Wed, Thu, Fri"
    assert p.fields["retry.max_attempts"].editor.value() == 5
    assert p.fields["nav.deployment"].editor.currentText() == "online"
    # no secret field on this page
    assert not any("secret" in key or "password" in key for key in p.fields)


def test_locked_by_deployment_file_in_the_page_and_the_cli(page, deploy_file, capsys):
    deploy_file.write_text(DEPLOY)
    p = page()
    tenant = p.fields["servicetitan.tenant"]
    assert tenant.editor.text() == "1234567"
    assert not tenant.editor.isEnabled()
    assert tenant.lock.isVisible()
    note = lock_note(str(deploy_file))
    assert note == f"Locked by your IT department ({deploy_file})"
    assert note in tenant.lock.text() and tenant.editor.toolTip() == note
    # a preset that is not locked shows the preset and stays editable
    interval = p.fields["schedule.interval_minutes"]
    assert interval.editor.value() == 30 and interval.editor.isEnabled() and interval.lock.isHidden()
    assert "1 settings locked by IT" in p.summary.text()
    # the CLI refuses the same change, naming the key and the file
    assert main(["profile", "set", "servicetitan", "--tenant", "x"]) == 1
    err = capsys.readouterr().err
    assert "servicetitan.tenant is locked" in err and str(deploy_file) in err
    # Save never writes a locked value, even if the widget were changed programmatically
    tenant.editor.setText("999")
    p.save()
    assert settings.get("default", "servicetitan.tenant") == "1234567"


def test_save_keeps_other_fields_and_names_the_bad_key(page, qtbot):
    p = page()
    p.fields["servicetitan.client_id"].editor.setText("cid.abc")
    p.fields["schedule.business_start"].editor.setText("25:99")
    p.fields["nav.api_url"].editor.setText("http://nav.local/api")
    p.fields["posting.post_journal"].editor.setChecked(True)
    p.fields["retry.max_attempts"].editor.setValue(7)
    with qtbot.waitSignal(p.status_message) as blocker:
        applied = p.save()
    assert applied == {"servicetitan.client_id": "cid.abc", "posting.post_journal": True, "retry.max_attempts": 7}
    assert "2 need correcting" in blocker.args[0]
    start = p.fields["schedule.business_start"]
    assert start.error.isVisible() and "schedule.business_start" in start.error.text()
    assert start.editor.text() == "25:99"  # what was typed is kept for correcting
    url = p.fields["nav.api_url"]
    assert url.error.isVisible() and "nav.api_url" in url.error.text() and "https://" in url.error.text()
    assert p.fields["servicetitan.client_id"].error.isHidden()
    assert settings.get("default", "servicetitan.client_id") == "cid.abc"
    assert settings.get("default", "schedule.business_start") == "07:00"
    # untouched fields were not written (a later IT preset still applies to them)
    profile = settings.get_profile("default")
    assert {row.key for row in profile.settings} == set(applied)
    assert list(audit.events(action="settings.changed"))[-1].detail.count("cid.abc") == 1
    # correcting the field and saving again clears its error
    start.editor.setText("7:30")
    p.fields["nav.api_url"].editor.setText("https://nav.local/api/")
    assert p.save() == {"schedule.business_start": "07:30", "nav.api_url": "https://nav.local/api/"}
    assert start.error.isHidden() and start.editor.text() == "07:30"


def test_invalid_deployment_file_shown_on_the_page(page, deploy_file):
    deploy_file.write_text("[servicetitan]\ntennant = '1'\n")
    p = page()
    assert p.deploy_error.isVisible() and "servicetitan.tennant" in p.deploy_error.text()
    assert not p.save_button.isEnabled()
    assert not p.fields["servicetitan.client_id"].editor.isEnabled()
    deploy_file.write_text(DEPLOY)
    p.refresh()
    assert p.deploy_error.isHidden() and p.save_button.isEnabled()
    assert p.fields["servicetitan.client_id"].editor.isEnabled()
