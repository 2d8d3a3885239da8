import re
import subprocess
import sys
from pathlib import Path

from stnav_desktop import deploy
from stnav_desktop.store import settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "packaging" / "deploy.example.toml"
SETTING_LINE = re.compile(r"^# ([a-z_]+) = (.*)$")


def uncommented(text: str) -> str:
    """The example with every '# key = default' line switched on."""
    return "\n".join(SETTING_LINE.sub(r"\1 = \2", line) for line in text.splitlines())


def test_example_parses_as_shipped():
    dep = deploy.parse(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))
    assert dep.values == {} and dep.locked == set()


def test_example_lists_every_declared_key_with_its_default():
    dep = deploy.parse(uncommented(EXAMPLE.read_text(encoding="utf-8")), str(EXAMPLE))
    assert set(dep.values) == set(settings.BY_KEY)
    for setting in settings.SETTINGS:
        assert dep.values[setting.key] == setting.parse(setting.default), setting.key
    text = EXAMPLE.read_text(encoding="utf-8")
    for setting in settings.SETTINGS:
        assert f"# {setting.label}" in text


def test_example_is_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "packaging" / "make_deploy_example.py"), "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_example_locks_work(tmp_path, monkeypatch, store):
    text = uncommented(EXAMPLE.read_text(encoding="utf-8")).replace(
        "keys = []", 'keys = ["nav.deployment", "posting.model"]')
    path = tmp_path / "deploy.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("STNAV_DEPLOY_FILE", str(path))
    assert settings.locked_keys() == {"nav.deployment", "posting.model"}
