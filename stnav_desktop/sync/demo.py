"""The demo: both simulators with seeded data, a configured profile, then the GUI or a headless cycle.

Provisional until the sync engine lands: the GUI opens the main window; headless says what it will do.
"""

from __future__ import annotations

import os


def run_headless(profile: str) -> int:
    print("ml-connector demo (headless)")
    print(f"  home: {os.environ.get('STNAV_HOME')}")
    print("  will: start the ServiceTitan and NAV simulators, pull purchase orders and bills, suggest and")
    print("        accept mappings, batch, approve, post, and print the totals posted per territory.")
    print("  status: the connectors and the sync engine are being built; nothing is pulled yet.")
    return 0


def run_gui(profile: str) -> int:
    from stnav_desktop.ui.app import main

    return main([])
