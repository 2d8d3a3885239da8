"""``stnav store status|use|password|migrate-to``: where this installation keeps its data.

One PC: the SQLite file (the default). Several PCs: one shared PostgreSQL database that IT sets up
(packaging/README.md), chosen here or in the machine-wide deploy.toml (``[store] url = …``).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from stnav_desktop import credentials
from stnav_desktop.cli.common import CliError, boot
from stnav_desktop.store import backend


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="the database: this PC's SQLite file or a shared PostgreSQL server")
    s = p.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    st = s.add_parser("status", help="which database, its schema version, who is posting what")
    st.set_defaults(handler=status)
    use = s.add_parser("use", help="use a shared PostgreSQL database (postgresql://user@host:port/db) "
                                   "or `sqlite` to go back to this PC's file")
    use.add_argument("url")
    _tls_args(use)
    use.set_defaults(handler=use_store)
    pw = s.add_parser("password", help="store the shared database's password in this user's keychain")
    pw.add_argument("--stdin", action="store_true", help="read it from standard input")
    pw.set_defaults(handler=password)
    mv = s.add_parser("migrate-to", help="move this PC's SQLite store into an empty PostgreSQL database, "
                                         "verify the audit chain there, then use it")
    mv.add_argument("url")
    _tls_args(mv)
    mv.add_argument("--no-switch", action="store_true", help="copy and verify, but keep using SQLite here")
    mv.set_defaults(handler=migrate_to)


def _tls_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sslmode", choices=backend.SSLMODES, default="", help="TLS to the server (verify-full "
                   "checks the certificate and the host name)")
    p.add_argument("--sslrootcert", default="", help="the CA certificate (PEM) that signed the server's")
    p.add_argument("--sslcert", default="", help="client certificate (PEM), if the server asks for one")
    p.add_argument("--sslkey", default="", help="the client certificate's key")


def _config(args: argparse.Namespace) -> backend.StoreConfig:
    try:
        cfg = backend.StoreConfig(url=args.url, sslmode=args.sslmode, sslrootcert=args.sslrootcert,
                                  sslcert=args.sslcert, sslkey=args.sslkey, source="command line")
        backend.parse_url(cfg.url, "command line")
        return cfg
    except backend.StoreConfigError as exc:
        raise CliError(str(exc)) from None


def _deploy_url() -> str:
    from stnav_desktop import deploy

    return deploy.current().values.get("store.url", "")


def status(args: argparse.Namespace) -> int:
    boot(args)
    from stnav_desktop import __version__
    from stnav_desktop.store import claims, migrations
    from stnav_desktop.store.db import db

    cfg = backend.current()
    print(f"store: {cfg.describe()}")
    print(f"schema: v{migrations.current_version(db)} (this PC runs stnav {__version__}, schema "
          f"v{migrations.LATEST})")
    from stnav_desktop.store import locks

    info = locks.who("scheduler")
    print("scheduler: " + (f"runs as {info.holder}, last seen {info.age_seconds:.0f} s ago" if info else
                           "not running (or not since this release)"))
    if cfg.is_postgres:
        live = [c for c in claims.holders().values() if not c.expired]
        by: dict[str, int] = {}
        for c in live:
            by[c.holder] = by.get(c.holder, 0) + 1
        print("being posted: " + (", ".join(f"{n} by {h}" for h, n in sorted(by.items())) or "nothing"))
    return 0


def use_store(args: argparse.Namespace) -> int:
    if _deploy_url():
        raise CliError("the store is set by your IT department's deploy.toml ([store] url); ask IT to change it "
                       "there")
    if args.url.strip().lower() == "sqlite":
        backend.write_config(backend.StoreConfig())
        print("this PC uses its own SQLite store again")
        return 0
    cfg = _config(args)
    from stnav_desktop.logs import setup_logging
    from stnav_desktop.paths import app_paths
    from stnav_desktop.store.db import close_db
    from stnav_desktop.store.migrations import SchemaTooNew
    from stnav_desktop.store.pg import StoreUnavailable, open_postgres

    setup_logging(app_paths().ensure(), console=True)
    try:  # connect (and migrate) first: a wrong URL or password is reported here and nothing is saved
        open_postgres(cfg)
    except (StoreUnavailable, SchemaTooNew) as exc:
        raise CliError(f"{exc} (not saved: this PC keeps its current store)") from None
    finally:
        close_db()
    path = backend.write_config(cfg)
    print(f"now using {cfg.describe()} (saved in {path})")
    return 0


def password(args: argparse.Namespace) -> int:
    label = credentials.SECRET_FIELDS[backend.PASSWORD_FIELD]
    if args.stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise CliError("no terminal to prompt on; pass --stdin to read the password from standard input")
        value = getpass.getpass(f"{label}: ")
    if not value:
        raise CliError("empty password: nothing stored")
    try:
        credentials.set_secret(backend.KEYCHAIN_PROFILE, backend.PASSWORD_FIELD, value)
    except credentials.CredentialError as exc:
        raise CliError(str(exc)) from None
    print(f"{label} stored in the keychain ({credentials.backend_name()})")
    return 0


def migrate_to(args: argparse.Namespace) -> int:
    from stnav_desktop.logs import setup_logging
    from stnav_desktop.paths import app_paths
    from stnav_desktop.store import transfer
    from stnav_desktop.store.pg import StoreUnavailable

    paths = app_paths().ensure()
    setup_logging(paths, console=True)
    try:
        current = backend.current()
    except backend.StoreConfigError as exc:
        raise CliError(str(exc)) from None
    if current.is_postgres:
        raise CliError(f"this installation already uses {current.describe()}; migrate-to moves a SQLite store")
    target = _config(args)
    try:
        result = transfer.migrate_to(paths.database, target, progress=lambda m: print(m, flush=True))
    except (transfer.TransferError, StoreUnavailable) as exc:
        raise CliError(f"store not moved: {exc}") from None
    print(result.summary())
    if args.no_switch:
        print("this PC keeps using its SQLite store (--no-switch)")
    elif _deploy_url():
        print("the store this PC uses is set by deploy.toml: ask IT to point [store] url at the new database")
    else:
        transfer.switch_to(target)
        print(f"this PC now uses {target.describe()}; the SQLite file stays at {paths.database} untouched")
    return 0
