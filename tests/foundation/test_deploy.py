import pytest

from stnav_desktop import deploy
from stnav_desktop.cli import main
from stnav_desktop.store import settings

GOOD = """
[servicetitan]
environment = "integration"
tenant = "1234567"

[schedule]
interval_minutes = 30

[locked]
keys = ["servicetitan.tenant"]
"""


def test_presets_and_locks(store, deploy_file, capsys):
    deploy_file.write_text(GOOD)
    assert settings.get("default", "servicetitan.tenant") == "1234567"
    assert settings.get("default", "schedule.interval_minutes") == 30
    # preset (not locked) values can be changed by the user
    assert main(["profile", "set", "option", "schedule.interval_minutes", "5"]) == 0
    assert settings.get("default", "schedule.interval_minutes") == 5
    # locked values cannot
    assert main(["profile", "set", "servicetitan", "--tenant", "999"]) == 1
    err = capsys.readouterr().err
    assert "servicetitan.tenant is locked" in err and str(deploy_file) in err
    assert settings.get("default", "servicetitan.tenant") == "1234567"
    assert main(["profile", "show"]) == 0
    assert "locked by IT" in capsys.readouterr().out


@pytest.mark.parametrize("text, named", [
    ("[servicetitan]\ntennant = '1'\n", "servicetitan.tennant"),
    ("[schedule]\ninterval_minutes = 'soon'\n", "schedule.interval_minutes"),
    ("[servicetitan]\nclient_secret = 'x'\n", "servicetitan.client_secret"),
    ("[locked]\nkeys = ['nav.tenant']\n", "nav.tenant"),
    ("[nav\n", "not valid TOML"),
])
def test_invalid_file_names_the_key(store, deploy_file, text, named):
    deploy_file.write_text(text)
    with pytest.raises(deploy.DeployError, match=named.replace(".", r"\.")):
        deploy.current()
