"""``stnav audit verify|show``."""

from __future__ import annotations

import argparse
from pathlib import Path

from stnav_desktop.cli.common import CliError, boot
from stnav_desktop.store import audit
from stnav_desktop.sync.views import audit_export


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="the audit log: verify the hash chain, show a document's history")
    s = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = s.add_parser("verify", help="check the hash chain, its seals and anchors; exit 1 naming the first "
                                    "broken event")
    v.add_argument("--anchor", action="append", default=[], metavar="ANCHOR",
                   help="an anchor read outside the database (a NAV document's description, a support bundle's "
                        "audit-anchor.txt), e.g. stnav:1234:9f3a2b1c4d5e6f70; repeatable")
    v.add_argument("--anchors-from", type=Path, default=None, metavar="FILE",
                   help="a text file holding anchors (one or more per line)")
    v.set_defaults(handler=verify)
    a = s.add_parser("anchor", help="print the audit log's current anchor (newest event and its hash)")
    a.set_defaults(handler=print_anchor)
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
    anchors = list(args.anchor)
    if args.anchors_from is not None:
        try:
            text = args.anchors_from.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"--anchors-from {args.anchors_from}: cannot be read as UTF-8 text ({exc})") from None
        found = [line for line in text.splitlines() if audit.parse_anchors(line)]
        if not found:
            raise CliError(f"--anchors-from {args.anchors_from}: no anchor (stnav:NUMBER:HASH) in the file")
        anchors.extend(found)
    for anchor in args.anchor:
        if not audit.parse_anchors(anchor):
            raise CliError(f"--anchor {anchor!r}: not an audit anchor (looks like stnav:1234:9f3a2b1c4d5e6f70)", 2)
    result = audit.verify(anchors)
    if not result.ok:
        raise CliError(result.message())
    print(result.message())
    return 0


def print_anchor(args: argparse.Namespace) -> int:
    boot(args)
    print(audit.anchor())
    return 0


def show(args: argparse.Namespace) -> int:
    if not args.st_ref.strip():
        raise CliError("no audit events for an empty reference (references look like PO-10452-001)", 2)
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
