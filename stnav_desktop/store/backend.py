"""Which database an installation uses: the SQLite file beside the app (one PC, the default) or a
shared PostgreSQL server (an office with several PCs, issue #19).

Where the choice comes from, first match wins:

1. the machine-wide deployment file IT writes (``deploy.toml``)::

       [store]
       url = "postgresql://stnav@db.office.lan:5432/stnav"
       sslmode = "verify-full"
       sslrootcert = "C:/ProgramData/ml-connector/office-ca.pem"

2. this user's ``store.toml`` in the app's config folder (written by ``stnav store use URL``);
3. nothing: SQLite in the data folder.

The URL never carries the password: it is a keychain secret (``stnav store password``), read when the
connection opens. Without one, libpq's own means apply (client certificate, ``PGPASSFILE``, peer).

Both backends run the same peewee models and the same migration ladder (``store/migrations.py``).
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger(__name__)

SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# the keychain entry of the shared database's password: one per installation, not per profile
KEYCHAIN_PROFILE = "installation"
PASSWORD_FIELD = "store.password"
CONNECT_TIMEOUT_S = 10
CONFIG_FILE = "store.toml"


class StoreConfigError(ValueError):
    """A store setting that cannot work; the message names the setting and where it came from."""


@dataclass(frozen=True)
class StoreConfig:
    url: str = ""  # "" = the SQLite file
    sslmode: str = ""
    sslrootcert: str = ""
    sslcert: str = ""
    sslkey: str = ""
    source: str = "default"

    @property
    def kind(self) -> str:
        return "postgresql" if self.url else "sqlite"

    @property
    def is_postgres(self) -> bool:
        return bool(self.url)

    def describe(self) -> str:
        """Where the data lives, for status lines and the support bundle (never a secret)."""
        if not self.url:
            return "SQLite (this PC)"
        p = parse_url(self.url, self.source)
        tls = self.sslmode or p.get("sslmode") or "prefer"
        return f"PostgreSQL {p.get('user', '')}@{p.get('host', 'localhost')}:{p.get('port', 5432)}/" \
               f"{p.get('dbname', '')} (sslmode {tls}; from {self.source})"


def parse_url(url: str, source: str = "store.url") -> dict[str, Any]:
    """``postgresql://user@host:port/dbname?sslmode=…`` → psycopg connect parameters (no password)."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("postgresql", "postgres"):
        raise StoreConfigError(f"{source}: store.url {text!r} must start with postgresql://")
    if parts.password is not None:
        raise StoreConfigError(f"{source}: store.url must not contain the password; store it in the keychain "
                               "with `stnav store password`")
    params: dict[str, Any] = {}
    if parts.hostname:
        params["host"] = unquote(parts.hostname)
    try:
        if parts.port:
            params["port"] = parts.port
    except ValueError:
        raise StoreConfigError(f"{source}: store.url {text!r} has an invalid port") from None
    if parts.username:
        params["user"] = unquote(parts.username)
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise StoreConfigError(f"{source}: store.url {text!r} names no database (…/DATABASE at the end)")
    params["dbname"] = dbname
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name",
                       "target_session_attrs", "options"):
            raise StoreConfigError(f"{source}: store.url parameter {key!r} is not supported")
        if key == "sslmode" and value not in SSLMODES:
            raise StoreConfigError(f"{source}: sslmode {value!r} is not one of {', '.join(SSLMODES)}")
        params[key] = value
    return params


def _validated(values: dict[str, Any], source: str) -> StoreConfig:
    known = {"url", "sslmode", "sslrootcert", "sslcert", "sslkey"}
    for key in values:
        if key not in known:
            raise StoreConfigError(f"{source}: unknown key store.{key} (known: {', '.join(sorted(known))})")
        if not isinstance(values[key], str):
            raise StoreConfigError(f"{source}: store.{key} must be text")
    cfg = StoreConfig(**{k: values[k].strip() for k in values}, source=source)
    if cfg.url:
        parse_url(cfg.url, source)
    elif any((cfg.sslmode, cfg.sslrootcert, cfg.sslcert, cfg.sslkey)):
        raise StoreConfigError(f"{source}: store TLS settings given but no store.url")
    if cfg.sslmode and cfg.sslmode not in SSLMODES:
        raise StoreConfigError(f"{source}: store.sslmode {cfg.sslmode!r} is not one of {', '.join(SSLMODES)}")
    for key in ("sslrootcert", "sslcert", "sslkey"):
        path = getattr(cfg, key)
        if path and not Path(path).expanduser().is_file():
            raise StoreConfigError(f"{source}: store.{key} {path!r} is not a readable file")
    return cfg


def parse_deploy_section(body: dict[str, Any], source: str) -> dict[str, Any]:
    """The ``[store]`` section of deploy.toml, checked; returned as ``store.*`` keys."""
    try:
        cfg = _validated(dict(body), source)
    except StoreConfigError as exc:
        from stnav_desktop.deploy import DeployError

        raise DeployError(str(exc)) from None
    return {f"store.{k}": getattr(cfg, k) for k in ("url", "sslmode", "sslrootcert", "sslcert", "sslkey")
            if getattr(cfg, k)}


def config_path() -> Path:
    from stnav_desktop.paths import app_paths

    return app_paths().config / CONFIG_FILE


def current() -> StoreConfig:
    """The store this installation uses (deploy.toml, then this user's store.toml, then SQLite)."""
    from stnav_desktop import deploy

    dep = deploy.current()
    values = {k.split(".", 1)[1]: v for k, v in dep.values.items() if k.startswith("store.")}
    if values.get("url"):
        return _validated(values, dep.source or "deploy.toml")
    path = config_path()
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise StoreConfigError(f"{path}: not valid TOML ({exc})") from None
        section = data.get("store", {})
        if not isinstance(section, dict):
            raise StoreConfigError(f"{path}: [store] must be a section")
        return _validated(section, str(path))
    return StoreConfig()


def write_config(cfg: StoreConfig) -> Path:
    """Save this user's choice (``stnav store use``); an empty URL goes back to SQLite."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cfg.url:
        path.unlink(missing_ok=True)
        return path
    _validated({k: getattr(cfg, k) for k in ("url", "sslmode", "sslrootcert", "sslcert", "sslkey")
                if getattr(cfg, k)}, str(path))
    lines = ["[store]"]
    for key in ("url", "sslmode", "sslrootcert", "sslcert", "sslkey"):
        value = getattr(cfg, key)
        if value:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{key} = "{escaped}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def keychain_password() -> str | None:
    """The shared database's password from the keychain, or None (libpq's own means then apply)."""
    from stnav_desktop import credentials

    try:
        return credentials.get_secret(KEYCHAIN_PROFILE, PASSWORD_FIELD)
    except credentials.CredentialNotFound:
        return None
    except credentials.KeychainUnavailable as exc:
        log.info("no keychain for the database password (%s); connecting without one", exc)
        return None


def connect_params(cfg: StoreConfig, *, password: str | None = None) -> dict[str, Any]:
    params = parse_url(cfg.url, cfg.source)
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        value = getattr(cfg, key)
        if value:
            params[key] = str(Path(value).expanduser()) if key != "sslmode" else value
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    # pg_stat_activity then says which PC each connection comes from
    params.setdefault("application_name", f"stnav {pc_name()}"[:63])
    if password is None:
        password = keychain_password()
    if password:
        params["password"] = password
    return params


def make_postgres(cfg: StoreConfig, *, password: str | None = None):
    from peewee import PostgresqlDatabase

    params = connect_params(cfg, password=password)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise StoreConfigError("the PostgreSQL driver (psycopg) is not installed in this build") from None
    dbname = params.pop("dbname")
    # SQLite's INTEGER is 64-bit and ServiceTitan ids are int64: every IntegerField is BIGINT here too
    return PostgresqlDatabase(dbname, prefer_psycopg3=True, autoconnect=True, field_types={"INT": "BIGINT"},
                              **params)


def with_url(cfg: StoreConfig, url: str) -> StoreConfig:
    return replace(cfg, url=url)


def pc_name() -> str:
    """This PC's name as the office knows it (Windows: COMPUTERNAME; elsewhere the short host name).
    ``STNAV_PC_NAME`` overrides it (tests that play two PCs on one machine)."""
    name = os.environ.get("STNAV_PC_NAME") or (os.environ.get("COMPUTERNAME") if os.name == "nt" else None)
    return (name or socket.gethostname().split(".")[0] or "unknown-pc")[:64]


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def is_postgres(database) -> bool:
    """True for a PostgreSQL peewee database (or a proxy bound to one)."""
    target = getattr(database, "obj", None) or database
    from peewee import PostgresqlDatabase

    return isinstance(target, PostgresqlDatabase)
