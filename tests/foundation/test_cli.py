from stnav_desktop import __version__
from stnav_desktop.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"stnav {__version__}"


def test_help_lists_commands(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    for command in ("audit", "credentials", "profile"):
        assert command in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: stnav" in capsys.readouterr().out


def test_profile_set_rejects_bad_value_naming_the_key(capsys):
    assert main(["profile", "set", "option", "schedule.interval_minutes", "often"]) == 1
    err = capsys.readouterr().err
    assert "schedule.interval_minutes" in err and "often" in err


def test_version_answers_without_loading_the_rest_of_the_app():
    """`stnav --version` loads neither sync/ nor the connectors (issue #17: start-up time)."""
    import subprocess
    import sys

    code = ("import sys; from stnav_desktop.cli import main; assert main(['--version']) == 0; "
            "loaded = [m for m in sys.modules if m.startswith(('stnav_desktop.sync', 'stnav_desktop.connectors', "
            "'PySide6', 'peewee'))]; print('LOADED', loaded)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "stnav 0.1.0" in out or out.startswith("stnav ")
    assert "LOADED []" in out, out
