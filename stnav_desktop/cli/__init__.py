"""``stnav``: the command line. Every action of the GUI is a subcommand here, driving ``sync/``.

Exit codes: 0 success; 1 a failure reported in one line on stderr; 2 a usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from stnav_desktop import __version__
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
from stnav_desktop.cli.common import CliError
from stnav_desktop.redact import redact

log = logging.getLogger("stnav_desktop.cli")

COMMANDS = [audit_cmd, credentials_cmd, profile_cmd, sync_cmd, review_cmd, demo_cmd, support_cmd, store_cmd,
            service_cmd]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stnav",
        description="ml-connector: move ServiceTitan purchase orders and inventory bills into "
                    "Microsoft Dynamics NAV / Business Central.")
    parser.add_argument("--version", action="version", version=f"stnav {__version__}")
    parser.add_argument("--profile", default="default", help="connection profile (default: %(default)s)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug detail to the log file")
    parser.add_argument("--self-test", action="store_true", help="check this installation and exit 0 or 1")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from stnav_desktop import selftest

        return selftest.main()
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except CliError as exc:
        print(f"stnav: {redact(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("stnav: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the user; the detail goes to the (redacted) log
        log.exception("stnav %s failed", args.command)
        print(f"stnav: {type(exc).__name__}: {redact(exc)}", file=sys.stderr)
        return 1
