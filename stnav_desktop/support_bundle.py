"""The support bundle: one zip IT can send us when something goes wrong, with nothing secret in it.

Contents: the logs, every profile's (non-secret) settings with where each value comes from, the
keychain status (stored / missing only), versions (app, Python, Qt, OS), the schema version, the
newest audit events and the audit chain check.

Every byte written passes through ``redact``: before anything is collected, each secret stored in
the keychain for any profile is read and registered with ``redact.register_secret``, so a secret
that leaked into a log line, an audit detail or a setting in an earlier run is masked too. The
database itself is not included.
"""

from __future__ import annotations

import json
import platform
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stnav_desktop import __version__, credentials, deploy
from stnav_desktop.paths import AppPaths, app_paths
from stnav_desktop.redact import MASK, redact, redact_mapping
from stnav_desktop.store import audit, migrations, settings
from stnav_desktop.store.db import db
from stnav_desktop.store.models import AuditEvent, Profile

AUDIT_EVENTS = 200

README = """ml-connector support bundle
===========================

Made {made} by {actor} with ml-connector {version}.

  logs/                 the application logs (secrets masked)
  settings.json         every profile's settings and where each value comes from (no secrets exist there)
  deployment.json       the machine-wide deployment file in force (presets and locked keys)
  keychain.json         which secrets are stored in the OS keychain: "stored" / "missing", never a value
  versions.json         app, Python, Qt, operating system, SQLite, schema version
  audit-events.json     the newest {events} audit events
  audit-verify.txt      the result of `stnav audit verify`
  audit-anchor.txt      the audit log's head when the bundle was made (stnav:NUMBER:HASH): keep it, and
                        `stnav audit verify --anchor ...` later proves no event up to there was removed

Every file was passed through the app's redaction (known secret values and secret-looking fields are
replaced by {mask}). The database itself is not included.
"""


def default_name(now: datetime | None = None) -> str:
    return f"ml-connector-support-{(now or datetime.now()):%Y%m%d-%H%M%S}.zip"


def _profiles() -> list[str]:
    """Every profile in the database, and "default" (secrets can be stored before any setting)."""
    return sorted({"default", *(p.name for p in Profile.select())})


def register_keychain_secrets(profiles: list[str]) -> dict[str, Any]:
    """Read every stored secret (which registers it for masking); return stored/missing per profile."""
    result: dict[str, Any] = {"backend": credentials.backend_name()}
    try:
        credentials.check_available()
    except credentials.CredentialError as exc:
        result["available"] = False
        result["error"] = str(exc)
        return result
    result["available"] = True
    result["profiles"] = {}
    for profile in profiles:
        states: dict[str, str] = {}
        for field in credentials.SECRET_FIELDS:
            try:
                credentials.get_secret(profile, field)  # registers the value with redact
            except credentials.CredentialNotFound:
                states[field] = "missing"
            except credentials.CredentialError as exc:
                states[field] = f"unreadable: {exc}"
            else:
                states[field] = "stored"
        result["profiles"][profile] = states
    return result


def _settings(profiles: list[str]) -> dict[str, Any]:
    deploy.current()  # an invalid deployment file is reported, not silently skipped
    return {name: {key: {"value": value, "origin": origin}
                   for key, (value, origin) in settings.origins(name).items()} for name in profiles}


def _deployment() -> dict[str, Any]:
    path = deploy.deploy_file_path()
    try:
        dep = deploy.current()
    except deploy.DeployError as exc:
        return {"path": str(path), "error": str(exc)}
    return {"path": str(path), "present": bool(dep.source), "values": dep.values, "locked": sorted(dep.locked)}


def _versions() -> dict[str, Any]:
    import sqlite3

    versions: dict[str, Any] = {
        "app": __version__,
        "frozen": bool(getattr(sys, "frozen", False)),
        "python": sys.version,
        "os": platform.platform(),
        "machine": platform.machine(),
        "sqlite": sqlite3.sqlite_version,
        "schema_version": migrations.current_version(db),
        "keychain_backend": credentials.backend_name(),
    }
    try:
        import PySide6
        from PySide6 import QtCore

        versions["pyside6"] = PySide6.__version__
        versions["qt"] = QtCore.qVersion()
    except ImportError as exc:  # the CLI runs without Qt
        versions["qt"] = f"unavailable ({exc})"
    return versions


def _audit_events(limit: int = AUDIT_EVENTS) -> list[dict[str, Any]]:
    rows = list(AuditEvent.select().order_by(AuditEvent.seq.desc()).limit(limit))
    events = []
    for event in reversed(rows):
        try:
            detail: Any = json.loads(event.detail or "{}")
        except ValueError:
            detail = event.detail
        events.append({"seq": event.seq, "ts": event.ts, "actor": event.actor, "action": event.action,
                       "profile": event.profile_name, "st_ref": event.st_ref, "nav_ref": event.nav_ref,
                       "detail": detail, "hash": event.hash})
    return events


def _json(data: Any) -> str:
    return json.dumps(redact_mapping(data), indent=2, sort_keys=True, default=str, ensure_ascii=False) + "\n"


def _safe(label: str, build: Callable[[], str]) -> str:
    """One part failing (a broken deployment file, a locked keychain) must not lose the rest."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - written into the bundle instead
        return f"could not collect {label}: {type(exc).__name__}: {exc}\n"


def collect(paths: AppPaths | None = None) -> dict[str, str]:
    """Everything the bundle holds, file name -> redacted text. The database must be open."""
    paths = paths or app_paths()
    profiles = _profiles()
    files: dict[str, str] = {}
    # first: every secret in the keychain becomes a known value for redact
    files["keychain.json"] = _safe("the keychain status", lambda: _json(register_keychain_secrets(profiles)))
    files["README.txt"] = README.format(made=datetime.now(UTC).isoformat(timespec="seconds"),
                                        actor=audit.current_actor(), version=__version__,
                                        events=AUDIT_EVENTS, mask=MASK)
    files["versions.json"] = _safe("versions", lambda: _json(_versions()))
    files["deployment.json"] = _safe("the deployment file", lambda: _json(_deployment()))
    files["settings.json"] = _safe("settings", lambda: _json(_settings(profiles)))
    files["audit-events.json"] = _safe("audit events", lambda: _json(_audit_events()))
    files["audit-verify.txt"] = _safe("the audit check", lambda: audit.verify().message() + "\n")
    files["audit-anchor.txt"] = _safe("the audit anchor", lambda: audit.anchor() + "\n")
    if paths.logs.is_dir():
        for log_file in sorted(paths.logs.iterdir()):
            if log_file.is_file():
                files[f"logs/{log_file.name}"] = _safe(
                    log_file.name, lambda f=log_file: f.read_text(encoding="utf-8", errors="replace"))
    # belt and braces: each file as a whole goes through redact once more (known values, patterns)
    return {name: redact(text) for name, text in files.items()}


def write(output: Path, paths: AppPaths | None = None) -> Path:
    files = collect(paths)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text.encode("utf-8"))
    partial.replace(output)
    return output
