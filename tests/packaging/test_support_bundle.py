import logging
import zipfile

from stnav_desktop import credentials, redact
from stnav_desktop.cli import main
from stnav_desktop.paths import app_paths
from stnav_desktop.store import audit, settings

SECRET = "s3cr3t-Value-9f8e7d6c5b4a"
OTHER = "WsKey+AbCdEfGhIjKlMnOp/12345=="


def leak_everywhere(store):
    """Secrets that reached the logs, the audit log and a setting in an earlier run of the app."""
    credentials.set_secret("default", "servicetitan.client_secret", SECRET)
    credentials.set_secret("branch", "nav.web_service_key", OTHER)
    # a later process has not read them yet: nothing is registered for masking
    redact.forget_secrets()
    paths = app_paths().ensure()
    with open(paths.log_file, "a", encoding="utf-8") as fh:
        fh.write(f"2024-01-01 ERROR MainThread x: request failed with {SECRET} and {OTHER}\n")
    (paths.logs / "stnav.log.1").write_text(f"older line mentioning {OTHER}\n", encoding="utf-8")
    audit.append("test.leak", detail={"note": f"pasted {SECRET}", "nested": [OTHER]}, profile="default")
    settings.set_value("default", "nav.user", SECRET)
    settings.set_value("branch", "posting.journal_batch", OTHER[:20] + "x")
    settings.set_value("branch", "servicetitan.tenant", f"tenant {OTHER}")


def test_bundle_holds_everything_and_no_secret(store, tmp_path, capsys):
    leak_everywhere(store)
    for i in range(250):
        audit.append("test.event", detail={"i": i}, profile="default")
    output = tmp_path / "out" / "support.zip"
    assert main(["support-bundle", "--output", str(output)]) == 0
    assert str(output) in capsys.readouterr().out
    with zipfile.ZipFile(output) as zf:
        names = set(zf.namelist())
        contents = {name: zf.read(name) for name in names}
    assert {"README.txt", "keychain.json", "versions.json", "deployment.json", "settings.json",
            "audit-events.json", "audit-verify.txt", "logs/stnav.log", "logs/stnav.log.1"} <= names
    for name, data in contents.items():
        for secret in (SECRET, OTHER):
            assert secret.encode() not in data, f"{secret} leaked into {name}"
    assert b"request failed with ***" in contents["logs/stnav.log"]
    import json

    keychain = json.loads(contents["keychain.json"])
    assert keychain["profiles"]["default"]["servicetitan.client_secret"] == "stored"
    assert keychain["profiles"]["branch"]["nav.web_service_key"] == "stored"
    assert keychain["profiles"]["branch"]["servicetitan.client_secret"] == "missing"
    events = json.loads(contents["audit-events.json"])
    assert len(events) == 200 and events[-1]["detail"] == {"i": 249}
    assert contents["audit-verify.txt"].startswith(b"audit log intact")
    stored = json.loads(contents["settings.json"])
    assert stored["default"]["nav.user"] == {"value": "***", "origin": "set"}
    assert stored["branch"]["posting.journal_batch"]["origin"] == "set"
    versions = json.loads(contents["versions.json"])
    assert versions["app"] and versions["qt"] and versions["schema_version"] >= 1
    assert not any(name.endswith(".sqlite3") for name in names)


def test_bundle_without_a_keychain_still_written(store, tmp_path):
    import keyring
    from keyring.backends import fail

    logging.getLogger("stnav_desktop.test").info("hello")
    keyring.set_keyring(fail.Keyring())
    output = tmp_path / "support.zip"
    assert main(["support-bundle", "--output", str(output)]) == 0
    with zipfile.ZipFile(output) as zf:
        keychain = zf.read("keychain.json").decode()
    assert '"available": false' in keychain and "No OS keychain" in keychain
