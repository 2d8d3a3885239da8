"""The console shows one line per problem; the traceback goes to the log file only (issue 16 item 1)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

from stnav_desktop import credentials
from stnav_desktop.cli import main
from stnav_desktop.paths import app_paths
from stnav_desktop.store import db as db_module

ROOT = Path(__file__).resolve().parents[2]


def test_a_failing_scheduled_job_is_one_line_and_exit_1(store, capsys):
    # no ServiceTitan connection configured: the pull job fails; before, three tracebacks per cycle
    code = main(["run", "--once"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in err and "Traceback" not in out
    assert err.strip().splitlines()[-1].startswith("stnav: ") and "failed" in err
    log_text = app_paths().log_file.read_text(encoding="utf-8")
    assert "Traceback" in log_text  # the detail is kept where support can read it


def test_verbose_shows_the_traceback_on_the_console(store, capsys):
    main(["--verbose", "run", "--once"])
    assert "Traceback" in capsys.readouterr().err


def test_unexpected_error_is_one_line_pointing_at_the_log(store, capsys, monkeypatch):
    from stnav_desktop.cli import review_cmd

    def boom(*_a, **_k):
        raise RuntimeError("something\nspanning\nlines")

    monkeypatch.setattr(review_cmd.review, "iterate", boom)
    assert main(["review", "list"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RuntimeError: something spanning lines" in err[0] and "stnav.log" in err[0]


def test_database_locked_by_another_program_is_named(store, capsys, monkeypatch):
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(db_module, "PRAGMAS", tuple((k, 200 if k == "busy_timeout" else v)
                                                     for k, v in db_module.PRAGMAS))
    other = sqlite3.connect(app_paths().database, timeout=0.1)
    other.execute("BEGIN EXCLUSIVE")  # what a backup tool or a SQLite browser holding a write does
    try:
        code = main(["profile", "set", "option", "schedule.interval_minutes", "20"])
    finally:
        other.rollback()
        other.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert "stnav.sqlite3" in err[0] and "locked by another program" in err[0] and "backup tool" in err[0]


def test_port_in_use_is_one_line(store, capsys, tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        code = main(["sandbox", "servicetitan", "--port", str(busy.getsockname()[1]), "--tls-dir", str(tmp_path)])
    finally:
        busy.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "port is already in use" in err[0]


def test_keychain_unavailable_in_run_is_one_line(store, capsys):
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    credentials._audit_key_cache.clear()
    code = main(["run", "--once"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err + out


def test_closed_pipe_is_quiet(tmp_path):
    """`stnav ... | head -0`: the reader goes away; no BrokenPipeError traceback, exit 141 like SIGPIPE."""
    env = dict(os.environ, STNAV_HOME=str(tmp_path / "home"), STNAV_DEPLOY_FILE=str(tmp_path / "none.toml"),
               PYTHONPATH=str(ROOT), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte is written
    proc = subprocess.run([sys.executable, "-m", "stnav_desktop", "profile", "show"], stdout=write_end,
                          stderr=subprocess.PIPE, env=env, timeout=60)
    os.close(write_end)
    assert "Traceback" not in proc.stderr.decode() and "BrokenPipe" not in proc.stderr.decode()
    assert proc.returncode == 141


def test_interrupt_is_one_line(store, capsys, monkeypatch):
    from stnav_desktop.cli import review_cmd

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(review_cmd.review, "iterate", interrupted)
    assert main(["review", "list"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["stnav: interrupted; work in flight was finished or rolled back"]
