"""``stnav demo``: the app against the bundled simulators with seeded data, in a throw-away home.

GUI where a display exists, headless otherwise (or with ``--headless``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run against the bundled simulators with sample data")
    p.add_argument("--headless", action="store_true", help="no window: run the whole cycle and print a summary")
    p.add_argument("--keep", action="store_true", help="keep the temporary STNAV_HOME afterwards")
    p.set_defaults(handler=run)


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(args: argparse.Namespace) -> int:
    throwaway = "STNAV_HOME" not in os.environ
    if throwaway:
        os.environ["STNAV_HOME"] = tempfile.mkdtemp(prefix="stnav-demo-")
    from stnav_desktop.sync import demo

    headless = args.headless or not has_display()
    try:
        if headless:
            return demo.run_headless(args.profile)
        return demo.run_gui(args.profile)
    finally:
        if throwaway and not args.keep:
            _forget_audit_key()


def _forget_audit_key() -> None:
    """The throw-away database's audit key must not stay behind in the user's keychain."""
    from stnav_desktop import credentials
    from stnav_desktop.store import audit

    if audit.store_open():
        credentials.forget_audit_key(audit.database_id())
