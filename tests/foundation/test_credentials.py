import io
import logging

import keyring
import pytest
from keyring.backends import fail

from stnav_desktop import credentials
from stnav_desktop.cli import main
from stnav_desktop.paths import app_paths
from stnav_desktop.store import audit

SECRET = "s3cr3t-Client-Value-8f2a9c"


def test_set_and_status_via_cli(store, monkeypatch, capsys, memory_keyring):
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    assert main(["credentials", "set", "default", "servicetitan.client_secret", "--stdin"]) == 0
    assert memory_keyring.store[("ml-connector", "default:servicetitan.client_secret")] == SECRET
    assert main(["credentials", "status", "default"]) == 0
    out = capsys.readouterr().out
    assert "servicetitan.client_secret" in out and "stored" in out and "missing" in out
    assert SECRET not in out


def test_secret_never_reaches_database_logs_or_exceptions(store, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    assert main(["credentials", "set", "default", "servicetitan.client_secret", "--stdin"]) == 0
    # something that would leak it if redaction failed: a log line, an audit detail, an exception
    logging.getLogger("stnav_desktop.test").error("token request client_secret=%s failed", SECRET)
    logging.getLogger("stnav_desktop.test").warning("body was %s", {"note": f"value {SECRET}"})
    audit.append("settings.changed", detail={"client_secret": SECRET, "free_text": f"oops {SECRET}"})
    try:
        raise RuntimeError(f"server said: bad secret {SECRET}")
    except RuntimeError:
        logging.getLogger("stnav_desktop.test").exception("failure")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    # a CLI failure whose exception text carries the secret is redacted on stderr
    monkeypatch.setattr(credentials, "status", lambda p: (_ for _ in ()).throw(RuntimeError(f"x {SECRET}")))
    assert main(["credentials", "status", "default"]) == 1
    captured = capsys.readouterr()
    assert SECRET not in captured.err and SECRET not in captured.out
    for handler in logging.getLogger().handlers:
        handler.flush()
    paths = app_paths()
    files = [paths.database, *paths.database.parent.glob("*.sqlite3-wal"), *paths.logs.glob("*")]
    assert any(p.name == "stnav.log" for p in files)
    for path in files:
        data = path.read_bytes()
        assert SECRET.encode() not in data, path
    log_text = (paths.logs / "stnav.log").read_text()
    assert "client_secret=***" in log_text and "RuntimeError" in log_text


def test_no_keychain_gives_a_clear_message(store, monkeypatch, capsys):
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(credentials.KeychainUnavailable, match="Secret Service"):
        credentials.set_secret("default", "nav.client_secret", SECRET)
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    assert main(["credentials", "set", "default", "nav.client_secret", "--stdin"]) == 1
    err = capsys.readouterr().err
    assert "No OS keychain is available" in err and SECRET not in err


def test_locked_and_not_found_are_told_apart(store, monkeypatch):
    with pytest.raises(credentials.CredentialNotFound, match="stnav credentials set default nav.client_secret"):
        credentials.get_secret("default", "nav.client_secret")

    def locked(*a):
        raise keyring.errors.KeyringLocked("locked")

    monkeypatch.setattr(keyring, "get_password", locked)
    with pytest.raises(credentials.KeychainLocked, match="locked"):
        credentials.get_secret("default", "nav.client_secret")


def test_keyring_backend_env_is_honoured(monkeypatch):
    # keyring reads PYTHON_KEYRING_BACKEND itself; we must not override it
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    import keyring.core

    keyring.core.init_backend()
    assert credentials.backend_name() == "keyring.backends.fail.Keyring"
    with pytest.raises(credentials.KeychainUnavailable):
        credentials.check_available()


def test_without_a_keychain_audit_appends_warn_once_and_ask_again_later(store, monkeypatch, caplog):
    """A headless server or service account has no keychain: each audit append asked it for the MAC key
    and logged a warning (thousands per pull). Now: one warning per process, asked again after a while
    (a keychain unlocked later seals the events from then on)."""
    from stnav_desktop.store import audit

    keyring.set_keyring(fail.Keyring())
    credentials._audit_key_cache.clear()
    credentials._audit_key_missing.clear()
    asked: list[int] = []
    real = credentials.check_available
    monkeypatch.setattr(credentials, "check_available", lambda: (asked.append(1), real())[1])
    clock = [1000.0]
    monkeypatch.setattr("time.monotonic", lambda: clock[0])
    with caplog.at_level(logging.DEBUG, logger=credentials.log.name):
        for i in range(50):
            audit.append("test.event", st_ref=f"PO-{i}")
        assert len(asked) == 1
        clock[0] += credentials.AUDIT_KEY_RETRY_SECONDS + 1
        audit.append("test.event", st_ref="PO-later")
    assert len(asked) == 2  # asked again after the retry interval
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "audit key unavailable" in r.message]
    assert len(warnings) == 1
    assert audit.verify().ok
