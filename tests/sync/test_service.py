import pytest

from stnav_desktop.cli import main
from stnav_desktop.paths import app_paths
from stnav_desktop.sync.app.service import ConfigurationError, PostingLock, SyncService


def test_only_one_process_posts_per_store(store, capsys):
    with PostingLock(app_paths().data):
        with pytest.raises(ConfigurationError, match="another ml-connector window or `stnav` command is posting"):
            SyncService("default").post()
        assert main(["post"]) == 1
    assert "is posting for this database right now; this one will not post" in capsys.readouterr().err


def test_unconfigured_connections_say_what_is_missing(store, capsys):
    lines = SyncService("default").test_connections()
    assert ("ServiceTitan", "configuration", False) == lines[0][:3]
    assert "servicetitan.tenant" in lines[0][3] and "Settings tab" in lines[0][3]
    assert main(["connect", "test"]) == 1
    err = capsys.readouterr().err
    assert "check(s) failed" in err
