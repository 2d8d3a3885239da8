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
    dep = parse(path.read_text(encoding="utf-8"), str(path))
    with _lock:
        _cache[str(path)] = (mtime, dep)
    return dep
