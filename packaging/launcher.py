"""The one script both frozen executables run: ``stnav`` (console) is the command line,
``stnav-desktop`` (windowed) the GUI. One PyInstaller analysis then serves both, and they share one
folder of libraries."""

import os
import sys


def main() -> int:
    name = os.path.splitext(os.path.basename(sys.executable))[0].lower()
    if name == "stnav":
        from stnav_desktop.cli import main as cli_main

        return cli_main()
    from stnav_desktop.ui.app import main as gui_main

    return gui_main()


if __name__ == "__main__":
    raise SystemExit(main())
