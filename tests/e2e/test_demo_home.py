"""``stnav demo`` never touches the home STNAV_HOME points at (a portable install's real books): it
runs in its own temporary home, removed at exit unless --keep."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from stnav_desktop import demo, runtime
from stnav_desktop.cli import main
from stnav_desktop.store import audit, settings
from stnav_desktop.store.db import close_db


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _configured_home(home: Path) -> dict[str, str]:
    runtime.start()
    profile = settings.get_profile("default")
    settings.set_value(profile, "nav.api_url", "https://nav.example.com:7048/BC/api/v2.0/")
    settings.set_value(profile, "nav.company_id", "real-company")
    audit.append("test.real", profile="default", detail={"real": True})
    close_db()
    import logging

    for handler in list(logging.getLogger().handlers):  # flush and release the real log file
        handler.flush()
    return _snapshot(home)


def test_demo_leaves_a_configured_home_byte_identical(stnav_home, monkeypatch, capsys):
    before = _configured_home(stnav_home)
    seen = {}
    original = demo.run_headless

    def small_demo(profile_name="default", **_):
        seen["home"] = os.environ["STNAV_HOME"]
        return original(profile_name, purchase_orders=6)

    monkeypatch.setattr(demo, "run_headless", small_demo)
    code = main(["demo", "--headless"])
    out = capsys.readouterr().out
    assert "RESULT" in out, out
    assert code == 0, out
    assert seen["home"] != str(stnav_home)
    assert not Path(seen["home"]).exists()  # removed at exit
    assert os.environ["STNAV_HOME"] == str(stnav_home)  # the environment is given back
    assert _snapshot(stnav_home) == before


def test_demo_keep_leaves_its_home_and_says_where(stnav_home, monkeypatch, capsys):
    monkeypatch.setattr(demo, "run_headless", lambda profile_name="default", **_: (
        runtime.start(), settings.set_value(settings.get_profile(profile_name), "nav.company_id", "demo"), 0)[-1])
    assert main(["demo", "--headless", "--keep"]) == 0
    out = capsys.readouterr().out
    kept = Path(out.split("demo home kept at ")[1].split()[0])
    assert (kept / "data" / "stnav.sqlite3").exists()
    assert not (stnav_home / "data").exists()
    import shutil

    shutil.rmtree(kept)
