"""``stnav audit verify|show``."""

from __future__ import annotations

import argparse
from pathlib import Path

from stnav_desktop.cli.common import CliError, boot
from stnav_desktop.store import audit
from stnav_desktop.sync import audit_export


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="the audit log: verify the hash chain, show a document's history")
    s = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = s.add_parser("verify", help="check the hash chain; exit 1 naming the first broken event")
    v.set_defaults(handler=verify)
    sh = s.add_parser("show", help="every event for one ServiceTitan document number")
    sh.add_argument("st_ref", help="ServiceTitan reference, e.g. PO-10452")
    sh.set_defaults(handler=show)
    ex = s.add_parser("export", help="write the audit log (or one document's events) to CSV or Excel")
    ex.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    ex.add_argument("--output", type=Path, default=None, help="file (default audit.<format>)")
    ex.add_argument("--st-ref", default=None, help="only this ServiceTitan reference")
    ex.set_defaults(handler=export)


def verify(args: argparse.Namespace) -> int:
    boot(args)
    result = audit.verify()
    if not result.ok:
        raise CliError(result.message())
    print(result.message())
    return 0


def show(args: argparse.Namespace) -> int:
    boot(args)
    lines = audit_export.chain(args.st_ref)
    if not lines:
        raise CliError(f"no audit events for {args.st_ref!r} (references look like PO-10452-001 or BILL-10452-001-R1)")
    print(audit_export.to_text(lines), end="")
    return 0


def export(args: argparse.Namespace) -> int:
    boot(args)
    path = args.output or Path(f"audit.{args.format}")
    count = audit_export.export(path, args.format, st_ref=args.st_ref)
    print(f"{count} events written to {path}")
    return 0
