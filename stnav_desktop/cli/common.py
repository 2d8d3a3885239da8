"""Helpers shared by the subcommand modules."""

from __future__ import annotations

import argparse

from stnav_desktop import runtime


class CliError(Exception):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def boot(args: argparse.Namespace, *, console: bool = True) -> None:
    import logging

    from stnav_desktop.store.backend import StoreConfigError
    from stnav_desktop.store.migrations import SchemaTooNew
    from stnav_desktop.store.pg import StoreUnavailable

    try:
        runtime.start(console=console, level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO)
    except (StoreUnavailable, SchemaTooNew, StoreConfigError) as exc:  # the store: one line, no traceback
        raise CliError(str(exc)) from None
