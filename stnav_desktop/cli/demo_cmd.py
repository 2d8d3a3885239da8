"""``stnav demo``: the app against the bundled simulators with seeded data, ALWAYS in its own temporary
home (whatever ``STNAV_HOME`` says: a portable install sets it to the real books), removed at exit
unless ``--keep``. The machine's deployment file is ignored too: its locks are for real profiles.

GUI where a display exists, headless otherwise (or with ``--headless``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run against the bundled simulators with sample data (never your real data)")
    p.add_argument("--headless", action="store_true", help="no window: run the whole cycle and print a summary")
    p.add_argument("--keep", action="store_true", help="keep the temporary demo home afterwards (its path is printed)")
    p.add_argument("--nav", choices=("api", "classic"), default="api",
                   help="NAV back end: Business Central's API v2.0 (default), or classic NAV 2016-2018 page web "
                        "services (headless)")
    p.set_defaults(handler=run)


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@contextlib.contextmanager
def demo_home(*, keep: bool = False) -> Iterator[Path]:
    """A fresh temporary STNAV_HOME for this process (and no deployment file) while the demo runs;
    the previous environment comes back afterwards and the folder is removed unless ``keep``."""
    home = Path(tempfile.mkdtemp(prefix="stnav-demo-"))
    saved = {name: os.environ.get(name) for name in ("STNAV_HOME", "STNAV_DEPLOY_FILE")}
    os.environ["STNAV_HOME"] = str(home)
    os.environ["STNAV_DEPLOY_FILE"] = str(home / "no-deploy.toml")  # never exists: no IT presets or locks
    try:
        yield home
    finally:
        from stnav_desktop.store.db import close_db

        close_db()
        for handler in list(logging.getLogger().handlers):  # the demo's log file lives in the demo home
            if isinstance(handler, logging.FileHandler) and str(handler.baseFilename).startswith(str(home)):
                logging.getLogger().removeHandler(handler)
                handler.close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if keep:
            print(f"demo home kept at {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    with demo_home(keep=args.keep):
        from stnav_desktop import demo

        try:
            if args.nav == "classic":
                return demo.run_headless_classic(args.profile)
            if args.headless or not has_display():
                return demo.run_headless(args.profile)
            return demo.run_gui(args.profile)
        finally:
            if not args.keep:
                _forget_audit_key()


def _forget_audit_key() -> None:
    """The throw-away database's audit key must not stay behind in the user's keychain."""
    from stnav_desktop import credentials
    from stnav_desktop.store import audit

    if audit.store_open():
        credentials.forget_audit_key(audit.database_id())
