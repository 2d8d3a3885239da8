"""Every setting is validated when it is set — in the window, the CLI and deploy.toml: calendar dates,
time zones, URLs, files, and G/L accounts / dimension codes against NAV's cached chart."""

from __future__ import annotations

import pytest

from stnav_desktop import deploy
from stnav_desktop.cli import main
from stnav_desktop.store import settings
from stnav_desktop.store.models import NavReference, ProfileSetting
from stnav_desktop.ui.settings_page import SettingsPage

BAD = [
    ("posting.allow_to", "31/12/2026", "YYYY-MM-DD"),
    ("posting.allow_from", "2020-02-31", "not a day of the calendar"),
    ("schedule.timezone", "Mars/Olympus_Mons", "not a time zone"),
    ("schedule.timezone", "../../etc/passwd", "not a time zone"),
    ("nav.api_url", "https://", "not a valid URL"),
    ("nav.api_url", "https://nav local/api", "not a valid URL"),
    ("nav.api_url", "https://nav.local:99999/api", "not a valid URL"),
    ("servicetitan.auth_url", "http://auth.example.com", "https://"),
    ("nav.ca_bundle", "/no/such/bundle.pem", "no file at"),
]
CHART = [("accounts", "2950", "Purchases clearing", {"directPosting": True}),
         ("accounts", "6110", "Job materials", {"directPosting": True}),
         ("accounts", "2130", "Inventory", {"directPosting": False}),
         ("dimensionValues", "TERRITORY:NORTH", "North", {})]


@pytest.fixture
def profile(store):
    prof = settings.get_profile("default")
    for entity, key, name, data in CHART:
        NavReference.create(profile=prof, entity=entity, key=key, name=name, data=data)
    return prof


@pytest.mark.parametrize(("key", "value", "says"), BAD + [
    ("posting.clearing_account", "9999", "does not exist in NAV's chart"),
    ("posting.clearing_account", "2130", "does not allow direct posting"),
    ("posting.territory_dimension", "REGION", "NAV has no dimension REGION"),
])
def test_store_and_cli_refuse_what_they_cannot_use(profile, capsys, key, value, says):
    with pytest.raises(settings.SettingError, match=key.replace(".", r"\.")) as caught:
        settings.set_value(profile, key, value)
    assert says in str(caught.value)
    assert not ProfileSetting.select().where(ProfileSetting.key == key).exists()
    assert main(["profile", "set", "option", key, value]) == 1
    err = capsys.readouterr().err
    assert key in err and says in err and "Traceback" not in err


def test_good_values_are_kept_normalised(profile, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert settings.set_value(profile, "posting.allow_to", "2026-12-31") == "2026-12-31"
    assert settings.set_value(profile, "posting.allow_to", "") == ""
    assert settings.set_value(profile, "schedule.timezone", "America/Chicago") == "America/Chicago"
    assert settings.set_value(profile, "nav.api_url", "https://nav.local:7048/BC/api/v2.0/")
    assert settings.set_value(profile, "nav.ca_bundle", str(bundle)) == str(bundle)
    assert settings.set_value(profile, "posting.clearing_account", "6110") == "6110"
    assert settings.set_value(profile, "posting.territory_dimension", "TERRITORY") == "TERRITORY"


@pytest.mark.parametrize(("key", "value", "says"), BAD)
def test_deploy_file_refuses_them_naming_the_key(store, deploy_file, key, value, says):
    section, name = key.split(".", 1)
    deploy_file.write_text(f'[{section}]\n{name} = "{value}"\n')
    with pytest.raises(deploy.DeployError, match=key.replace(".", r"\.")) as caught:
        deploy.current()
    assert says in str(caught.value)


def test_window_shows_the_reason_beside_the_field_and_offers_the_chart_with_names(qtbot, profile):
    page = SettingsPage(profile)
    qtbot.addWidget(page)
    page.show()
    allow_to = page.fields["posting.allow_to"]
    allow_to.editor.setText("31/12/2026")
    clearing = page.fields["posting.clearing_account"]
    labels = [clearing.editor.itemText(i) for i in range(clearing.editor.count())]
    assert "2950 — Purchases clearing" in labels and not any(t.startswith("2130") for t in labels)
    clearing.editor.setEditText("9999")
    zone = page.fields["schedule.timezone"]
    zone.editor.setEditText("Mars/Olympus_Mons")
    page.save_button.click()
    assert allow_to.error.isVisible() and "YYYY-MM-DD" in allow_to.error.text()
    assert clearing.error.isVisible() and "does not exist" in clearing.error.text()
    assert zone.error.isVisible() and "not a time zone" in zone.error.text()
    assert not ProfileSetting.select().where(ProfileSetting.key.in_(
        ["posting.allow_to", "posting.clearing_account", "schedule.timezone"])).exists()
    # picking from the list works and is saved
    clearing.editor.setCurrentIndex(clearing.editor.findData("6110"))
    zone.editor.setEditText("America/Chicago")
    allow_to.editor.setText("2026-12-31")
    page.save_button.click()
    assert settings.get(profile, "posting.clearing_account") == "6110"
    assert settings.get(profile, "schedule.timezone") == "America/Chicago"
    assert settings.get(profile, "posting.allow_to") == "2026-12-31"
