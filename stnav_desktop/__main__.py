from stnav_desktop.cli import main

raise SystemExit(main())
