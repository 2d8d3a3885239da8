"""Helpers shared by the subcommand modules: start-up, profiles, and turning any failure into one line."""

from __future__ import annotations

import argparse
import errno
import logging

from stnav_desktop.logs import one_line


class CliError(Exception):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def boot(args: argparse.Namespace, *, console: bool = True) -> None:
    """Folders, logging and the database; each failure is one line naming the file and what to do."""
    from stnav_desktop.logs import setup_logging
    from stnav_desktop.paths import app_paths
    from stnav_desktop.store.db import DatabaseProblem, open_db

    verbose = bool(getattr(args, "verbose", False))
    paths = app_paths()
    try:
        paths.ensure()
    except OSError as exc:
        raise CliError(_folder_problem(exc)) from None
    try:
        setup_logging(paths, level=logging.DEBUG if verbose else logging.INFO, console=console,
                      console_tracebacks=verbose)
    except OSError as exc:
        raise CliError(f"log file {paths.log_file} cannot be written ({exc.strerror or exc}): give your user "
                       f"write access to {paths.logs}, or set STNAV_HOME to a writable local folder") from None
    from stnav_desktop.store.backend import StoreConfigError
    from stnav_desktop.store.migrations import SchemaTooNew
    from stnav_desktop.store.pg import StoreUnavailable

    try:
        open_db(paths.database)
    except (DatabaseProblem, StoreUnavailable, SchemaTooNew, StoreConfigError) as exc:  # one line, no traceback
        raise CliError(str(exc)) from None
    from stnav_desktop import deploy
    from stnav_desktop.store import audit

    audit.sealing_key(create=False)  # one keychain call now, not later while holding the write lock
    try:  # a broken deployment file stops every command up front, before anything is written
        deploy.current()
    except deploy.DeployError as exc:
        raise CliError(str(exc)) from None


def _folder_problem(exc: OSError) -> str:
    from pathlib import Path

    where = exc.filename or "the data folder"
    if exc.filename:
        for parent in (Path(exc.filename), *Path(exc.filename).parents):
            if parent.exists():
                if parent.is_file():
                    where = str(parent)
                break
    if isinstance(exc, FileExistsError | NotADirectoryError):
        return (f"{where} exists but is a file, not a folder (STNAV_HOME points at a file?): point STNAV_HOME "
                "at a folder, or move that file away")
    if isinstance(exc, PermissionError) or exc.errno in (errno.EROFS, errno.EACCES):
        return (f"folder {where} cannot be created or written (read-only or no permission): set STNAV_HOME "
                "to a writable local folder")
    return f"folder {where} cannot be used: {exc.strerror or exc}"


def require_profile(name: str):
    """The named profile, which must exist ("default" always does): a typo must not quietly start an
    empty profile. ``stnav profile set`` is what creates one."""
    from stnav_desktop.store import settings
    from stnav_desktop.store.models import Profile

    profile = Profile.get_or_none(Profile.name == name)
    if profile is not None:
        return profile
    if name == "default":
        return settings.get_profile(name)
    known = sorted({"default", *(p.name for p in Profile.select())})
    raise CliError(f"--profile {name!r}: no such profile (profiles: {', '.join(known)}); create it with "
                   f"`stnav --profile {name} profile set ...`", 2)


def positive_int(what: str):
    """An argparse type for record numbers: 1, 2, 3 ... (0 or -1 never means "all")."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number like 12, not {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{what} must be 1 or more, not {value}")
        if value > 2**31 - 1:
            raise argparse.ArgumentTypeError(f"{what} {value} is too large")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


def port_number(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535 (0: any free port), not {value}")
    return value


def describe(exc: BaseException) -> str | None:
    """One line for the failures a user can fix (bad files, settings, locks, ports); None for a bug."""
    import sqlite3

    import peewee

    from stnav_desktop import credentials, deploy
    from stnav_desktop.store import settings
    from stnav_desktop.store.db import DatabaseProblem, explain

    if isinstance(exc, DatabaseProblem | deploy.DeployError | settings.SettingError | credentials.CredentialError):
        return str(exc)
    if isinstance(exc, sqlite3.Error | peewee.DatabaseError):
        from stnav_desktop.paths import app_paths

        return explain(app_paths().database, exc)
    if isinstance(exc, OSError):
        if exc.errno == errno.EADDRINUSE:
            return f"the port is already in use by another program ({exc.strerror}): choose another port"
        if exc.errno == errno.EACCES and exc.filename is None:
            return f"not allowed: {exc.strerror} (a port below 1024 needs administrator rights)"
        if exc.filename:
            return f"{exc.filename}: {exc.strerror or exc}"
        return f"{exc.strerror or exc}"
    try:
        from stnav_desktop.connectors.http import ConnectorError
        from stnav_desktop.sync.app.st_gateway import ConfigurationError
    except ImportError:  # pragma: no cover - partial installs
        return None
    if isinstance(exc, ConnectorError | ConfigurationError):
        return str(exc)
    return None


__all__ = ["CliError", "boot", "describe", "one_line", "positive_int", "require_profile"]
