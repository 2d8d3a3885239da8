"""`stnav service …`: the systemd user unit (validated by systemd-analyze) and the Windows task XML."""

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from stnav_desktop.cli import main, service_cmd


@pytest.fixture
def fake_systemctl(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(sys, "platform", "linux")

    def systemctl(*args, check=True):
        calls.append(args)
        out = {"is-active": "active\n", "is-enabled": "enabled\n"}.get(args[0], "")
        return subprocess.CompletedProcess(["systemctl", "--user", *args], 0, out, "")

    monkeypatch.setattr(service_cmd, "_systemctl", systemctl)
    real_run = subprocess.run

    def run(cmd, *a, **kw):
        if cmd[0] == "loginctl":
            calls.append(tuple(cmd))
            return subprocess.CompletedProcess(cmd, 0, "", "")
        return real_run(cmd, *a, **kw)

    monkeypatch.setattr(service_cmd.subprocess, "run", run)
    return calls


def test_install_writes_a_unit_systemd_accepts_and_enables_it(fake_systemctl, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STNAV_HOME", str(tmp_path / "home with space"))
    assert main(["--profile", "acme", "service", "install"]) == 0
    path = tmp_path / "xdg" / "systemd" / "user" / "stnav-scheduler-acme.service"
    unit = path.read_text()
    assert f"ExecStart={sys.executable} -m stnav_desktop --profile acme run" in unit
    assert f'Environment="STNAV_HOME={tmp_path}/home with space"' in unit
    assert "WantedBy=default.target" in unit and "Restart=on-failure" in unit
    assert ("daemon-reload",) in fake_systemctl and ("enable", "stnav-scheduler-acme.service") in fake_systemctl
    assert any(c[:2] == ("loginctl", "enable-linger") for c in fake_systemctl)
    if shutil.which("systemd-analyze"):
        done = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert main(["--profile", "acme", "service", "status"]) == 0
    assert "stnav-scheduler-acme.service: active, enabled" in capsys.readouterr().out
    assert main(["--profile", "acme", "service", "uninstall"]) == 0
    assert not path.exists() and ("disable", "--now", "stnav-scheduler-acme.service") in fake_systemctl
    assert main(["--profile", "acme", "service", "status"]) == 3


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_a_unit_systemd_rejects_is_not_installed(fake_systemctl, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(service_cmd, "run_command", lambda profile, port=None: ["/nonexistent/stnav", "run"])
    assert main(["service", "install"]) == 1
    assert "systemd rejects the unit" in capsys.readouterr().err
    assert not (tmp_path / "xdg" / "systemd" / "user" / "stnav-scheduler-default.service").exists()
    assert fake_systemctl == []


def test_the_windows_task_starts_at_boot_as_the_user_with_nobody_logged_on():
    xml = service_cmd.task_xml("acme", r"OFFICE\ap-clerk", webhook_port=8088)
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    root = ET.fromstring(xml.replace('encoding="UTF-16"', ""))
    assert root.find("t:Triggers/t:BootTrigger", ns) is not None
    principal = root.find("t:Principals/t:Principal", ns)
    assert principal.find("t:UserId", ns).text == r"OFFICE\ap-clerk"
    assert principal.find("t:LogonType", ns).text == "Password"  # runs whether the user is logged on or not
    assert root.find("t:Settings/t:MultipleInstancesPolicy", ns).text == "IgnoreNew"
    assert root.find("t:Settings/t:ExecutionTimeLimit", ns).text == "PT0S"
    args = root.find("t:Actions/t:Exec/t:Arguments", ns).text
    assert args.endswith("--profile acme run --webhook-port 8088")
    assert service_cmd.task_name("acme") == r"\ml-connector\stnav scheduler (acme)"
