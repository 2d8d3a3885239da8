"""``stnav support-bundle``: a zip of logs, settings, versions and audit state for support, secrets masked."""

from __future__ import annotations

import argparse
from pathlib import Path

from stnav_desktop.cli.common import boot


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("support-bundle",
                       help="write a zip for support: logs, settings, versions, audit state (secrets masked)")
    p.add_argument("--output", type=Path, default=None, metavar="FILE.zip",
                   help="where to write it (default: ml-connector-support-DATE-TIME.zip here)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from stnav_desktop import support_bundle

    boot(args)
    output = args.output or Path(support_bundle.default_name())
    support_bundle.write(output)
    print(f"support bundle written to {output.resolve()}")
    print("It holds the logs, settings, keychain status (stored/missing only), versions and the audit "
          "log's newest events; secrets are masked. Look through it before sending it.")
    return 0
