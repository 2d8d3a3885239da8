"""The main window on a big store (issue #17): 10,000 documents and 50,000 audit events.

Measures, offscreen, in a subprocess per code tree (the same store file for both):
- open: from ``MainWindow(...)`` construction to the first paint of the Review grid with its rows;
- the longest event-loop gap (a 10 ms QTimer probe) during start-up, then while switching to every tab
  once (waiting for each tab's data), then while scrolling the Audit tab to its end ten times;
- how many audit rows the Audit tab holds at the end (the old tab loads the whole log, keeps 2,000).

Run: .venv/bin/python benchmarks/bench_window_open.py [--documents 10000] [--audit-events 50000]
     [--before-tree DIR]   DIR holds an older ``stnav_desktop`` (``git archive 4162b74 stnav_desktop |
                           tar -x -C DIR``), measured the same way in the same run for the ratio.
Exits 1 when the window opens in more than 1.5 s or the event loop stalls more than 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPEN_LIMIT_S = 1.5
GAP_LIMIT_MS = 100.0


# -- the store -------------------------------------------------------------------------------------
def build(home: Path, documents: int, audit_events: int) -> None:
    """A store as a busy office has it after a year: documents in every status, batches, an audit log."""
    os.environ["STNAV_HOME"] = str(home)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        from bigstore import build_store  # the shared big store of the benchmarks (benchmarks/bigstore.py)
    except ImportError:
        build_store = None
    from stnav_desktop import runtime

    runtime.start()
    if build_store is not None:
        build_store(documents=documents, audit_events=audit_events)
        return
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from stnav_desktop.store import audit, settings
    from stnav_desktop.store.db import db
    from stnav_desktop.store.models import StDocument

    profile = settings.get_profile("default")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    statuses = ["needs_mapping", "ready", "posted", "approved", "failed", "posted", "posted"]
    with db.atomic():
        rows = []
        for i in range(documents):
            rows.append(dict(profile=profile.id, kind="purchase_order" if i % 3 else "inventory_bill", st_id=i + 1,
                             number=f"{10000 + i}-001", vendor_st_id=2001 + i % 40, vendor_name=f"Vendor {i % 40}",
                             business_unit_st_id=1001 + i % 4, business_unit_name=f"Territory {i % 4}",
                             doc_date=start + timedelta(minutes=50 * i), total=Decimal(i % 50000) / 100,
                             raw="{}", content_hash=f"h{i}", status=statuses[i % len(statuses)],
                             problem="vendor not mapped" if i % 7 == 0 else ""))
            if len(rows) == 2000:
                StDocument.insert_many(rows).execute()
                rows = []
        if rows:
            StDocument.insert_many(rows).execute()
    actions = ["document.pulled", "document.ready", "document.approved", "document.posting", "document.posted"]
    done = 0
    while done < audit_events:
        n = min(5000, audit_events - done)
        events = []
        for k in range(done, done + n):
            i = k // len(actions) % max(1, documents)
            action = actions[k % len(actions)]
            detail = {"from": "ready", "to": action.split(".")[1], "version": 1}
            if action == "document.posted":
                detail.update(nav_kind="purchase_invoice", nav_number=f"PPI{k:06d}", gl_entries=[k, k + 1])
            events.append(dict(action=action, st_ref=f"PO-{10000 + i}-001", profile="default", detail=detail,
                               nav_ref=f"PPI{k:06d}" if action == "document.posted" else ""))
        audit.append_many(events, actor="bench")
        done += n


# -- one measurement (runs in a subprocess, on the tree PYTHONPATH names) ----------------------------
def measure(home: Path) -> dict:
    os.environ["STNAV_HOME"] = str(home)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from stnav_desktop import runtime

    runtime.start()
    t = time.perf_counter()
    import stnav_desktop
    from stnav_desktop.sync.app.service import SyncService  # noqa: F401 - imported before the window, as main() does
    imports_s = time.perf_counter() - t
    from stnav_desktop.store import settings
    from stnav_desktop.ui.main_window import MainWindow
    from stnav_desktop.ui.qt import QApplication, QSettings, QtCore

    app = QApplication.instance() or QApplication(sys.argv[:1])
    profile = settings.get_profile("default")
    state: dict = {"gaps": {}, "phase": "start-up", "last": time.perf_counter()}

    def tick() -> None:
        now = time.perf_counter()
        gap = (now - state["last"]) * 1000
        phase = state["phase"]
        state["gaps"][phase] = max(state["gaps"].get(phase, 0.0), gap)
        state["last"] = now

    probe = QtCore.QTimer(interval=10)
    probe.timeout.connect(tick)
    probe.start()

    def run_until(done, timeout: float = 30.0) -> bool:
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
            if done():
                return True
            time.sleep(0.001)
        return False

    painted: list[float] = []

    class PaintSpy(QtCore.QObject):
        def eventFilter(self, obj, event):  # noqa: N802 - Qt signature
            if event.type() == QtCore.QEvent.Type.Paint and not painted:
                pages = window.pages.built() if hasattr(window.pages, "built") else window.pages
                review = pages.get("review")
                if review is not None and review.model.rowCount() > 0:
                    painted.append(time.perf_counter())
            return False

    spy = PaintSpy()
    run_until(lambda: False, 0.1)  # the probe's clock settles
    ini = Path(tempfile.mkdtemp()) / "ui.ini"
    window = None
    t0 = 0.0

    def open_window() -> None:
        nonlocal window, t0
        t0 = time.perf_counter()
        state["last"] = t0  # construction counts as a gap of the loop
        window = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat), profile=profile)
        window.resize(1366, 768)
        app.installEventFilter(spy)
        window.show()

    QtCore.QTimer.singleShot(0, open_window)
    if not run_until(lambda: bool(painted), 60):
        raise SystemExit("the Review grid never showed its rows")
    open_s = painted[0] - t0
    run_until(lambda: False, 0.5)
    app.removeEventFilter(spy)

    def busy() -> bool:
        runner = getattr(window, "runner", None)
        futures = getattr(runner, "_futures", None)
        return bool(futures)

    for index in range(window.tabs.count()):
        state["phase"] = "tab " + window.tabs.tabText(index).replace("&&", "&")
        window.tabs.setCurrentIndex(index)
        run_until(lambda: not busy(), 30)
        run_until(lambda: False, 0.2)
    audit_index = next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == "Audit")
    window.tabs.setCurrentIndex(audit_index)
    run_until(lambda: not busy(), 30)
    table = window.findChild(QtCore.QObject, "auditTable")
    state["phase"] = "audit scroll"
    for _ in range(10):
        table.scrollToBottom()
        run_until(lambda: not busy(), 30)
        run_until(lambda: False, 0.1)
    rows = table.model().rowCount()
    window.close()
    probe.stop()
    return {"tree": str(Path(stnav_desktop.__file__).parent.parent), "open_s": open_s, "imports_s": imports_s,
            "gaps_ms": state["gaps"], "audit_rows": rows}


def run_tree(home: Path, tree: Path | None) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DBUS_SESSION_BUS_ADDRESS="disabled:")
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in ([tree] if tree else []) + [root])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", str(home)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree or root, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"measurement failed ({tree or 'this tree'}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--audit-events", type=int, default=50_000)
    parser.add_argument("--before-tree", type=Path, help="a folder holding the older stnav_desktop package")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    home = Path(tempfile.mkdtemp(prefix="stnav-bench-window-"))
    t = time.perf_counter()
    build(home, args.documents, args.audit_events)
    print(f"store: {args.documents:,} documents, {args.audit_events:,} audit events "
          f"(built in {time.perf_counter() - t:.1f} s)")
    results = [("after", run_tree(home, None))]
    if args.before_tree:
        from bigstore import as_schema_of  # on sys.path since build()

        as_schema_of(home, args.before_tree.resolve())  # the older tree refuses a newer schema
        results.insert(0, ("before", run_tree(home, args.before_tree.resolve())))
    print("(the app's modules are imported first, as stnav-desktop's main() does before it builds the window: "
          + ", ".join(f"{n} {r['imports_s']:.2f} s" for n, r in results) + ")")
    print(f"{'':8} {'open':>8} {'gap start-up':>14} {'worst tab switch':>28} {'gap audit scroll':>18} "
          f"{'audit rows held':>16}")
    for name, r in results:
        tabs = {p: g for p, g in r["gaps_ms"].items() if p.startswith("tab ")}
        worst_tab = max(tabs, key=tabs.get)
        print(f"{name:8} {r['open_s']:7.2f}s {r['gaps_ms']['start-up']:12.0f}ms "
              f"{worst_tab[4:]:>20} {tabs[worst_tab]:5.0f}ms {r['gaps_ms'].get('audit scroll', 0):16.0f}ms "
              f"{r['audit_rows']:>16,}")
        print("         every tab: " + ", ".join(f"{p[4:]} {g:.0f} ms" for p, g in tabs.items()))
    after = results[-1][1]
    if len(results) == 2:
        before = results[0][1]
        worst_b, worst_a = max(before["gaps_ms"].values()), max(after["gaps_ms"].values())
        print(f"ratio after/before: open {after['open_s'] / before['open_s']:.2f}, "
              f"longest gap {worst_a / worst_b:.2f} ({worst_a:.0f} ms vs {worst_b:.0f} ms)")
    worst = max(after["gaps_ms"].values())
    ok = after["open_s"] <= OPEN_LIMIT_S and worst <= GAP_LIMIT_MS
    print(f"targets: open <= {OPEN_LIMIT_S} s, longest gap <= {GAP_LIMIT_MS:.0f} ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
