"""The machine-wide deployment file IT uses to preset (and lock) non-secret settings for every user.

Where it is read from:
- ``STNAV_DEPLOY_FILE`` if set (tests, unusual installs);
- Windows: ``%ProgramData%\\ml-connector\\deploy.toml``;
- Linux: ``/etc/xdg/ml-connector/deploy.toml``; macOS: ``/Library/Application Support/ml-connector/deploy.toml``.

Format (TOML)::

    [servicetitan]
    environment = "production"
    tenant = "1234567"

    [nav]
    deployment = "online"
    company_id = "..."

    [schedule]
    interval_minutes = 30

    [locked]
    keys = ["servicetitan.tenant", "nav.deployment"]

Every key must be a declared setting; secrets are refused (each user stores them in their own
keychain). An invalid file is an error that names the key, never silently ignored.
"""

from __future__ import annotations

import os
import sys
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from stnav_desktop import APP_NAME


class DeployError(ValueError):
    pass


@dataclass
class Deployment:
    source: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    locked: set[str] = field(default_factory=set)


def deploy_file_path() -> Path:
    override = os.environ.get("STNAV_DEPLOY_FILE")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("ProgramData", r"C:\ProgramData")) / APP_NAME / "deploy.toml"
    return Path(platformdirs.site_config_dir(APP_NAME, multipath=False)) / "deploy.toml"


_SECRET_WORDS = ("secret", "password", "web_service_key", "token", "client_state")


_TOML_TYPES = {bool: "true/false", int: "a number", float: "a decimal number", str: "a quoted text",
               list: "a list [...]", dict: "a [section]"}


def _wrong_type(setting: Any, raw: Any) -> str:
    """A TOML value of the wrong type for the setting, in words; empty when it fits."""
    got = _TOML_TYPES.get(type(raw), type(raw).__name__.replace("_", " "))
    if isinstance(raw, dict):
        return f"expected a value, got {got}"
    if setting.kind == "bool" and not isinstance(raw, bool):
        return f"expected true or false (no quotes), got {got} {raw!r}"
    if setting.kind == "int" and (isinstance(raw, bool) or not isinstance(raw, int)):
        return f"expected a whole number (no quotes), got {got} {raw!r}"
    if setting.kind == "list" and not isinstance(raw, list):
        return f"expected a list like [\"Mon\", \"Tue\"], got {got} {raw!r}"
    if setting.kind == "str" and isinstance(raw, int) and not isinstance(raw, bool):
        return ""  # tenant = 1234567 (a number where text is expected) is what IT writes: taken as text
    if setting.kind in ("str", "choice", "url", "path", "time") and not isinstance(raw, str):
        return f"expected a quoted text, got {got} {raw!r}"
    if isinstance(raw, list) and not all(isinstance(v, str) for v in raw):
        return "expected a list of quoted texts"
    return ""


def parse(text: str, source: str = "deploy.toml") -> Deployment:
    from stnav_desktop.store.settings import BY_KEY, SettingError

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DeployError(f"{source}: not valid TOML ({exc})") from None
    dep = Deployment(source=source)
    locked_section = data.pop("locked", {})
    for section, body in data.items():
        if not isinstance(body, dict):
            raise DeployError(f"{source}: top-level key {section!r} must be a [section]")
        if section == "store":  # the installation's database, not a profile setting (store/backend.py)
            from stnav_desktop.store.backend import parse_deploy_section

            dep.values.update(parse_deploy_section(body, source))
            continue
        for name, raw in body.items():
            key = f"{section}.{name}"
            if any(word in key.lower() for word in _SECRET_WORDS):
                raise DeployError(f"{source}: {key} looks like a secret; secrets never go in the deployment "
                                  "file (each user stores them in their own keychain)")
            setting = BY_KEY.get(key)
            if setting is None:
                raise DeployError(f"{source}: unknown key {key!r}")
            problem = _wrong_type(setting, raw)
            if problem:
                raise DeployError(f"{source}: {key}: {problem}")
            try:
                dep.values[key] = setting.parse(raw)
            except SettingError as exc:
                raise DeployError(f"{source}: {exc}") from None
    if not isinstance(locked_section, dict):
        raise DeployError(f"{source}: [locked] must be a section with keys = [...]")
    keys = locked_section.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise DeployError(f"{source}: locked.keys must be a list of setting names")
    for key in keys:
        if key not in BY_KEY:
            raise DeployError(f"{source}: locked.keys names unknown key {key!r}")
        if key not in dep.values:
            raise DeployError(f"{source}: locked.keys names {key!r} but the file gives it no value")
        dep.locked.add(key)
    return dep


def read_text(path: Path) -> str:
    """The file's text: UTF-8, with or without the BOM PowerShell 5 and Notepad write. Anything else is one
    line naming the file and what to do."""
    if path.is_dir():
        raise DeployError(f"{path}: is a folder, not a file; the deployment file is a TOML file named deploy.toml")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DeployError(f"{path}: cannot be read ({exc.strerror or exc}); give users read access to it") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DeployError(f"{path}: saved as UTF-16 (PowerShell's Out-File default); save it as UTF-8, e.g. "
                          "Set-Content -Encoding utf8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DeployError(f"{path}: line {line}: not UTF-8 (saved as Windows-1252/ANSI?); save it as UTF-8") from None
    if "\x00" in text:
        raise DeployError(f"{path}: holds a NUL character; it is not a text file")
    return text


_cache: dict[str, tuple[float, Deployment]] = {}
_lock = threading.Lock()


def current() -> Deployment:
    """The deployment in force (re-read when the file changes); empty when there is none."""
    path = deploy_file_path()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return Deployment()
    with _lock:
        cached = _cache.get(str(path))
        if cached and cached[0] == mtime:
            return cached[1]
    dep = parse(read_text(path), str(path))
    with _lock:
        _cache[str(path)] = (mtime, dep)
    return dep
