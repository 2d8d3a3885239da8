"""``stnav``: the command line. Every action of the GUI is a subcommand here, driving ``sync/``.

Exit codes: 0 success; 1 a failure reported in one line on stderr; 2 a usage error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from stnav_desktop import __version__
from stnav_desktop.cli.common import CliError, describe
from stnav_desktop.logs import log_file_hint, one_line
from stnav_desktop.redact import redact

log = logging.getLogger("stnav_desktop.cli")


def commands() -> list:
    """The subcommand modules. Imported when a parser is built, not with this module: they pull in sync/
    and the connectors (~0.25 s), which `stnav --version` and `--help` of a mistyped word do not need."""
    from stnav_desktop.cli import (
        audit_cmd,
        credentials_cmd,
        demo_cmd,
        profile_cmd,
        review_cmd,
        service_cmd,
        store_cmd,
        support_cmd,
        sync_cmd,
    )

    return [audit_cmd, credentials_cmd, profile_cmd, sync_cmd, review_cmd, demo_cmd, support_cmd, store_cmd,
            service_cmd]


class OneLineParser(argparse.ArgumentParser):
    """Usage errors in one line (which command, which argument, what is allowed); ``--help`` for more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {one_line(message)} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="stnav",
        description="ml-connector: move ServiceTitan purchase orders and inventory bills into "
                    "Microsoft Dynamics NAV / Business Central.")
    parser.add_argument("--version", action="version", version=f"stnav {__version__}")
    parser.add_argument("--profile", default="default", help="connection profile (default: %(default)s)")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="log debug detail to the log file, and show tracebacks on the console")
    parser.add_argument("--self-test", action="store_true", help="check this installation and exit 0 or 1")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in commands():
        module.register(sub)
    return parser


def _quiet_stdout() -> None:
    """The reader of our output went away (``stnav review list | head``): stop writing, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests, pythonw)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:  # answered before anything is loaded
        print(f"stnav {__version__}")
        return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from stnav_desktop import selftest

        return selftest.main()
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except CliError as exc:
        _say(redact(one_line(exc)))
        return exc.exit_code
    except BrokenPipeError:
        _quiet_stdout()
        return 141  # what a shell reports for a process ended by SIGPIPE
    except KeyboardInterrupt:
        _say("interrupted; work in flight was finished or rolled back")
        return 130
    except Exception as exc:  # one line for the user; the traceback goes to the (redacted) log file only
        log.error("stnav %s failed", args.command, exc_info=True, extra={"console": getattr(args, "verbose", False)})
        known = describe(exc)
        if known is not None:
            _say(redact(one_line(known)))
        else:
            where = log_file_hint()
            _say(redact(one_line(f"unexpected error ({type(exc).__name__}: {exc})"))
                 + (f"; details in {where}" if where else ""))
        return 1


def _say(line: str) -> None:
    try:
        print(f"stnav: {line}", file=sys.stderr)
    except (BrokenPipeError, OSError, ValueError):
        pass
