"""``stnav audit verify|show``."""

from __future__ import annotations

import argparse

from stnav_desktop.cli.common import CliError, boot
from stnav_desktop.store import audit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="the audit log: verify the hash chain, show a document's history")
    s = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = s.add_parser("verify", help="check the hash chain; exit 1 naming the first broken event")
    v.set_defaults(handler=verify)
    sh = s.add_parser("show", help="every event for one ServiceTitan document number")
    sh.add_argument("st_ref", help="ServiceTitan reference, e.g. PO-10452")
    sh.set_defaults(handler=show)


def verify(args: argparse.Namespace) -> int:
    boot(args)
    result = audit.verify()
    if not result.ok:
        raise CliError(result.message())
    print(result.message())
    return 0


def show(args: argparse.Namespace) -> int:
    boot(args)
    found = False
    for event in audit.events(st_ref=args.st_ref):
        found = True
        print(f"{event.seq:>6}  {event.ts.isoformat(timespec='seconds')}  {event.actor:<16} {event.action:<24} "
              f"{event.nav_ref or '-':<20} {event.detail}")
    if not found:
        raise CliError(f"no audit events for {args.st_ref!r}")
    return 0
