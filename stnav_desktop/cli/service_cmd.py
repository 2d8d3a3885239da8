"""``stnav service install|start|stop|status|uninstall``: ``stnav run`` (the scheduler) as a service that
runs with every window closed and, once set up, with nobody logged on.

- Linux: a systemd USER unit (``~/.config/systemd/user/stnav-scheduler-PROFILE.service``), enabled for
  ``default.target``; ``loginctl enable-linger`` keeps the user's manager running after log-out and
  starts it at boot. The unit is checked with ``systemd-analyze verify`` when systemd has that tool.
- Windows: a scheduled task that starts at boot under this user's account, "run whether the user is
  logged on or not" (Task Scheduler keeps the account's password, the user types it once). A Windows
  service would run as LocalSystem or a service account, which cannot read the user's Credential
  Manager where the NAV and ServiceTitan secrets live; the task runs as the user and can.

Either way one scheduler per store runs at a time: the scheduler takes the store's lock
(``store/locks.py``), so a second PC's service waits instead of pulling and posting twice.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from stnav_desktop.cli.common import CliError

TASK_FOLDER = "ml-connector"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("service", help="run the scheduler as a service (systemd user unit / Windows task)")
    s = p.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    inst = s.add_parser("install", help="register `stnav run` to start at boot")
    inst.add_argument("--print", dest="print_only", action="store_true",
                      help="print the unit file / task XML and change nothing")
    inst.add_argument("--no-linger", action="store_true",
                      help="Linux: do not run `loginctl enable-linger` (the service then stops at log-out)")
    inst.add_argument("--webhook-port", type=int, default=None, help="also receive ServiceTitan webhooks")
    inst.set_defaults(handler=install)
    for name, helptext in (("start", "start it now"), ("stop", "stop it"), ("status", "is it installed and "
                           "running"), ("uninstall", "stop it and remove it")):
        a = s.add_parser(name, help=helptext)
        a.set_defaults(handler=globals()[f"do_{name}"])


# --- what runs ---------------------------------------------------------------------------------------
def run_command(profile: str, webhook_port: int | None = None) -> list[str]:
    """The command line of the service: this installation's own interpreter or frozen executable."""
    if getattr(sys, "frozen", False):
        cmd = [sys.executable]
    else:
        cmd = [sys.executable, "-m", "stnav_desktop"]
    cmd += ["--profile", profile, "run"]
    if webhook_port is not None:
        cmd += ["--webhook-port", str(webhook_port)]
    return cmd


def unit_name(profile: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", profile)
    return f"stnav-scheduler-{safe}.service"


def task_name(profile: str) -> str:
    return f"\\{TASK_FOLDER}\\stnav scheduler ({profile})"


# --- Linux: systemd user unit --------------------------------------------------------------------------
def _systemd_quote(arg: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:=@+-]+", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(profile: str, webhook_port: int | None = None, env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    exec_start = " ".join(_systemd_quote(a) for a in run_command(profile, webhook_port))
    lines = [
        "[Unit]",
        f"Description=ml-connector scheduler (stnav run, profile {profile})",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={exec_start}",
        # stnav run stops cleanly on SIGTERM: what is in flight finishes, then it exits
        "KillSignal=SIGTERM",
        "TimeoutStopSec=120",
        "Restart=on-failure",
        "RestartSec=30",
    ]
    for var in ("STNAV_HOME", "STNAV_DEPLOY_FILE"):
        if env.get(var):
            lines.append(f"Environment={_systemd_quote(f'{var}={env[var]}')}")
    lines += ["", "[Install]", "WantedBy=default.target", ""]
    return "\n".join(lines)


def unit_path(profile: str, env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "systemd" / "user" / unit_name(profile)


def verify_unit(path: Path) -> str | None:
    """``systemd-analyze verify`` the unit; None when fine or the tool is missing, else its complaint."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        return None
    done = subprocess.run([tool, "verify", str(path)], capture_output=True, text=True, timeout=60)
    # it also reports problems of unrelated units on the machine: keep the lines about ours
    ours = [ln for ln in (done.stdout + done.stderr).splitlines() if path.name in ln or str(path) in ln]
    return "\n".join(ours) if done.returncode != 0 and ours else None


def _systemctl(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    if shutil.which("systemctl") is None:
        raise CliError("systemctl is not available: this system does not run systemd; start `stnav run` from "
                       "your init system instead")
    done = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        msg = (done.stderr or done.stdout).strip().splitlines()
        raise CliError(f"systemctl --user {' '.join(args)} failed: {msg[0] if msg else done.returncode}")
    return done


# --- Windows: scheduled task at boot -------------------------------------------------------------------
def task_xml(profile: str, user: str, webhook_port: int | None = None) -> str:
    cmd = run_command(profile, webhook_port)
    arguments = subprocess.list2cmdline(cmd[1:])
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.4" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>ml-connector scheduler (stnav run, profile {escape(profile)})</Description>
  </RegistrationInfo>
  <Triggers>
    <BootTrigger><Enabled>true</Enabled><Delay>PT1M</Delay></BootTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>{escape(user)}</UserId>
      <LogonType>Password</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure><Interval>PT1M</Interval><Count>999</Count></RestartOnFailure>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(cmd[0])}</Command>
      <Arguments>{escape(arguments)}</Arguments>
    </Exec>
  </Actions>
</Task>
"""


def _windows_user() -> str:
    domain = os.environ.get("USERDOMAIN", "")
    user = os.environ.get("USERNAME", "")
    return f"{domain}\\{user}" if domain else user


def _schtasks(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["schtasks", *args], capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        msg = (done.stderr or done.stdout).strip().splitlines()
        raise CliError(f"schtasks {args[0]} failed: {msg[0] if msg else done.returncode}")
    return done


# --- the commands --------------------------------------------------------------------------------------
def install(args: argparse.Namespace) -> int:
    profile = args.profile
    if sys.platform == "win32":
        xml = task_xml(profile, _windows_user(), args.webhook_port)
        if args.print_only:
            print(xml)
            return 0
        from stnav_desktop.paths import app_paths

        path = app_paths().ensure().config / "stnav-scheduler-task.xml"
        path.write_text(xml, encoding="utf-16")
        # /RP * prompts for the account's password: the task then runs with nobody logged on
        done = subprocess.run(["schtasks", "/Create", "/TN", task_name(profile), "/XML", str(path),
                               "/RU", _windows_user(), "/RP", "*", "/F"], timeout=300)
        if done.returncode != 0:
            raise CliError("schtasks /Create failed (run from an administrator prompt if Task Scheduler says "
                           "access is denied)")
        print(f"installed scheduled task {task_name(profile)}: starts at boot as {_windows_user()}")
        return 0
    unit = systemd_unit(profile, args.webhook_port)
    if args.print_only:
        print(unit, end="")
        return 0
    path = unit_path(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit, encoding="utf-8")
    problem = verify_unit(path)
    if problem:
        path.unlink()
        raise CliError(f"systemd rejects the unit: {problem.splitlines()[0]}")
    _systemctl("daemon-reload")
    _systemctl("enable", unit_name(profile))
    print(f"installed {path} (enabled; `stnav service start` starts it now)")
    if not args.no_linger and shutil.which("loginctl"):
        user = os.environ.get("USER") or ""
        done = subprocess.run(["loginctl", "enable-linger", user], capture_output=True, text=True, timeout=60)
        if done.returncode == 0:
            print(f"linger enabled for {user}: it runs at boot and after you log out")
        else:
            print(f"note: `loginctl enable-linger {user}` failed; ask IT to run it so the service runs with "
                  "nobody logged on", file=sys.stderr)
    return 0


def do_start(args: argparse.Namespace) -> int:
    if sys.platform == "win32":
        _schtasks("/Run", "/TN", task_name(args.profile))
    else:
        _systemctl("start", unit_name(args.profile))
    print("started")
    return 0


def do_stop(args: argparse.Namespace) -> int:
    if sys.platform == "win32":
        _schtasks("/End", "/TN", task_name(args.profile))
    else:
        _systemctl("stop", unit_name(args.profile))
    print("stopped")
    return 0


def do_status(args: argparse.Namespace) -> int:
    code = _service_status(args)
    for line in nav_changes_lines(args):
        print(line)
    return code


def nav_changes_lines(args: argparse.Namespace) -> list[str]:
    """How NAV changes reach this profile, from the store the service writes: "NAV changes: notifications (4
    subscriptions, next expiry …)" and when each subscription expires, or "NAV changes: polling every N min
    (reason)"."""
    from stnav_desktop.cli.common import boot
    from stnav_desktop.store.models import Profile
    from stnav_desktop.sync.app import notifications

    try:
        boot(args)
    except CliError as exc:
        return [f"NAV changes: unknown (the store cannot be read: {exc})"]
    profile = Profile.get_or_none(Profile.name == args.profile)
    if profile is None:
        return [f"NAV changes: unknown (no profile {args.profile!r} in this store yet)"]
    line = notifications.status_line(profile)
    if not line.startswith("NAV changes: notifications"):
        return [line]
    return [line, *("  " + each for each in notifications.subscription_lines(profile))]


def _service_status(args: argparse.Namespace) -> int:
    if sys.platform == "win32":
        done = _schtasks("/Query", "/TN", task_name(args.profile), "/FO", "LIST", "/V", check=False)
        if done.returncode != 0:
            print(f"not installed ({task_name(args.profile)})")
            return 3
        wanted = ("TaskName", "Status", "Last Run Time", "Last Result", "Run As User")
        for line in done.stdout.splitlines():
            if line.split(":", 1)[0].strip() in wanted:
                print(line.strip())
        return 0
    path = unit_path(args.profile)
    if not path.exists():
        print(f"not installed ({path})")
        return 3
    active = _systemctl("is-active", unit_name(args.profile), check=False).stdout.strip() or "unknown"
    enabled = _systemctl("is-enabled", unit_name(args.profile), check=False).stdout.strip() or "unknown"
    print(f"{unit_name(args.profile)}: {active}, {enabled} ({path})")
    print("command: " + " ".join(shlex.quote(a) for a in run_command(args.profile)))
    return 0 if active == "active" else 3


def do_uninstall(args: argparse.Namespace) -> int:
    if sys.platform == "win32":
        _schtasks("/End", "/TN", task_name(args.profile), check=False)
        _schtasks("/Delete", "/TN", task_name(args.profile), "/F")
        print(f"removed scheduled task {task_name(args.profile)}")
        return 0
    path = unit_path(args.profile)
    _systemctl("disable", "--now", unit_name(args.profile), check=False)
    path.unlink(missing_ok=True)
    _systemctl("daemon-reload", check=False)
    print(f"removed {path}")
    return 0
