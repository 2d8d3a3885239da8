"""``stnav connect test``, ``stnav pull``, ``stnav refdata refresh``, ``stnav post``, ``stnav run``,
``stnav report reconcile`` and ``stnav sandbox servicetitan|nav``: the network-bound actions."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from stnav_desktop.cli.common import CliError, boot, port_number, positive_int, require_profile
from stnav_desktop.logs import one_line
from stnav_desktop.store.models import Batch


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("connect", help="check the connections")
    cs = c.add_subparsers(dest="connect_command", metavar="ACTION", required=True)
    ct = cs.add_parser("test", help="one line per check, with the fix for the usual failures")
    ct.set_defaults(handler=connect_test)

    p = sub.add_parser("pull", help="pull new and changed documents from ServiceTitan")
    p.set_defaults(handler=pull)

    r = sub.add_parser("refdata", help="NAV and ServiceTitan reference data for pickers and checks")
    rs = r.add_subparsers(dest="refdata_command", metavar="ACTION", required=True)
    rr = rs.add_parser("refresh", help="read vendors, items, accounts, dimensions, journals")
    rr.set_defaults(handler=refdata_refresh)

    po = sub.add_parser("post", help="post approved documents (and due retries) to NAV")
    po.add_argument("--batch", type=positive_int("--batch"), default=None)
    po.set_defaults(handler=post)

    rn = sub.add_parser("run", help="the scheduler, headless: pull, retries, renewals until Ctrl+C")
    rn.add_argument("--once", action="store_true", help="run what is due once and exit")
    rn.add_argument("--webhook-port", type=port_number, default=None,
                    help="also receive ServiceTitan webhooks on this loopback port (pull when they arrive)")
    rn.set_defaults(handler=run)

    rp = sub.add_parser("report", help="reports")
    rps = rp.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    rc = rps.add_parser("reconcile", help="ServiceTitan against NAV (read back) for a month")
    rc.add_argument("--month", required=True, type=_month, help="YYYY-MM")
    rc.add_argument("--format", choices=("text", "csv", "xlsx"), default="text")
    rc.add_argument("--output", type=Path, default=None)
    rc.set_defaults(handler=report_reconcile)

    v = sub.add_parser("vendor", help="create a missing vendor on the other side (and map it)")
    vs = v.add_subparsers(dest="vendor_command", metavar="ACTION", required=True)
    vn = vs.add_parser("create-in-nav", help="a NAV vendor from a ServiceTitan vendor (name, address)")
    vn.add_argument("st_vendor_id", type=positive_int("ServiceTitan vendor id"))
    vn.add_argument("--tax-id", default="", help="ServiceTitan keeps no tax id: give it here")
    vn.add_argument("--number", default=None, help="NAV vendor number (default: NAV's number series)")
    vn.set_defaults(handler=vendor_to_nav)
    vt = vs.add_parser("create-in-servicetitan", help="a ServiceTitan vendor from a NAV vendor")
    vt.add_argument("nav_number")
    vt.set_defaults(handler=vendor_to_st)

    sb = sub.add_parser("sandbox", help="run a local simulator in the foreground")
    sbs = sb.add_subparsers(dest="sandbox_command", metavar="SYSTEM", required=True)
    for name in ("servicetitan", "nav"):
        s = sbs.add_parser(name, help=f"the {name} simulator")
        s.add_argument("--port", type=port_number, default=0)
        s.add_argument("--tls-dir", type=Path, default=None)
        if name == "nav":
            s.add_argument("--flavour", choices=("online", "onprem", "nav2018"), default="online")
        s.set_defaults(handler=sandbox, system=name)


def _month(text: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text.strip()):
        raise argparse.ArgumentTypeError(f"expected a month like 2026-10 (YYYY-MM), not {text!r}")
    return text.strip()


def _service(args):
    boot(args)
    from stnav_desktop.sync.app.service import SyncService

    return SyncService(require_profile(args.profile))


def _wrap(fn):
    from stnav_desktop import credentials
    from stnav_desktop.connectors.http import ConnectorError
    from stnav_desktop.sync.app.st_gateway import ConfigurationError

    try:
        return fn()
    except (ConfigurationError, credentials.CredentialError, ConnectorError) as exc:
        raise CliError(str(exc)) from None


def connect_test(args) -> int:
    service = _service(args)
    lines = service.test_connections()
    for system, name, ok, message in lines:
        print(f"{'PASS' if ok else 'FAIL'}  {system}: {name} — {message}")
    failed = [line for line in lines if not line[2]]
    if failed:
        raise CliError(f"{len(failed)} check(s) failed: {failed[0][0]}: {failed[0][1]} — {failed[0][3]}")
    return 0


def pull(args) -> int:
    service = _service(args)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        summary = _wrap(lambda: service.pull(cancel=stop.is_set))
    finally:
        signal.signal(signal.SIGINT, previous)
    print(f"pull: {summary.line()}")
    return 0


def refdata_refresh(args) -> int:
    service = _service(args)
    counts = _wrap(service.refresh_refdata)
    print("reference data: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def post(args) -> int:
    service = _service(args)
    batch = None
    if args.batch is not None:
        batch = Batch.get_or_none((Batch.id == args.batch) & (Batch.profile == service.profile))
        if batch is None:
            raise CliError(f"no batch {args.batch}")
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())

    def progress(index, total, result):
        print(f"[{index}/{total}] {result.st_ref:<24} {result.outcome:<16} {result.nav_number:<14} {result.message[:100]}",
              flush=True)

    from stnav_desktop.sync.app.batches import BatchError

    try:
        results = _wrap(lambda: service.post(batch, cancel=stop.is_set, progress=progress))
    except BatchError as exc:  # e.g. "approve batch 3 first": refused, nothing sent, exit 1
        raise CliError(str(exc)) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    if batch is not None and not results and Batch.get_by_id(batch.id).status == "done":
        print(f"batch {batch.id} is done: every document in it reached a final state; nothing to post")
        return 0
    bad = [r for r in results if r.outcome in ("failed", "needs_attention", "not_ready")]
    print(f"{len(results) - len(bad)} posted or already in NAV, {len(bad)} not posted"
          + (" (cancelled: what was in flight finished)" if stop.is_set() else ""))
    return 1 if bad else 0


STANDBY_SECONDS = 30
HEARTBEAT_SECONDS = 60


def run(args) -> int:
    service = _service(args)
    failed: list[str] = []

    def on_event(news) -> None:  # sync.scheduler.JobNews
        if not news.ok:
            failed.append(news.job)
        print(f"{news.job}: {one_line(news.summary)}", flush=True)

    scheduler = service.scheduler(on_event=on_event)
    if args.once:
        _wrap(scheduler.tick)
        if failed:
            raise CliError(f"{len(failed)} job(s) failed: {', '.join(failed)} (details in the log file)")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # one scheduler per STORE, whichever PC it runs on (store/locks.py); the others stand by
    from stnav_desktop.store.locks import SERVICE_WAITING, StoreLock, who

    lock = StoreLock("scheduler")
    if not lock.try_acquire():
        info = who("scheduler")
        print(f"the scheduler already runs for this store ({info.holder if info else 'another PC'}); standing by "
              "to take over if it stops", flush=True)
        # say that a service waits: a window running the schedule hands it over (store/locks.py)
        waiting = StoreLock(SERVICE_WAITING)
        try:
            waiting.try_acquire()
            while not lock.try_acquire():
                if stop.wait(STANDBY_SECONDS):
                    return 0
                if waiting.held:
                    waiting.heartbeat()
                else:
                    waiting.try_acquire()
        finally:
            waiting.release()
    receiver = nav_receiver = None
    try:
        if args.webhook_port is not None:
            receiver = _wrap(lambda: service.webhook_receiver(scheduler, args.webhook_port)).start()
            print(f"receiving ServiceTitan webhooks on {receiver.url}", flush=True)
        nav_receiver = _nav_notifications(service, scheduler)
        scheduler.start()
        print("scheduler running; Ctrl+C to stop", flush=True)
        lost = False
        while not stop.wait(HEARTBEAT_SECONDS):
            if not lock.heartbeat():
                lost = True
                break
        scheduler.stop()
        if lost:  # the database dropped our session: another PC may run it now; the service restarts us
            raise CliError("lost the store's scheduler lock (connection to the database ended); stopping")
        return 0
    finally:
        for rx in (receiver, nav_receiver):
            if rx is not None:
                rx.stop()
        if nav_receiver is not None:
            service.nav_receiver_stopped()
        lock.release()


def _nav_notifications(service, scheduler):
    """NAV's webhooks (BC API with nav.notification_url set): the receiver starts before the subscriptions
    job runs (BC validates the URL while subscribing); otherwise say why NAV is polled."""
    from stnav_desktop.sync.app import notifications

    nav_receiver = _wrap(lambda: service.nav_receiver(scheduler))
    if nav_receiver is None:
        print(notifications.status_line(service.profile), flush=True)
        return None
    nav_receiver.start()
    print(f"receiving NAV notifications on port {nav_receiver.port} for {service.value('nav.notification_url')}",
          flush=True)
    scheduler.run_soon("subscriptions", "service started: NAV subscriptions checked")
    return nav_receiver


def report_reconcile(args) -> int:
    from stnav_desktop.sync.views import reconcile
    service = _service(args)
    try:
        reconcile.month_bounds(args.month)
    except ValueError:
        raise CliError(f"--month {args.month!r}: expected YYYY-MM") from None
    report = _wrap(lambda: service.reconcile(args.month))
    if args.format in ("csv", "xlsx"):
        path = args.output or Path(f"reconcile-{args.month}.{args.format}")
        reconcile.write(report, path, args.format)
        print(f"written to {path}")
        return 0
    print(f"{'territory':<12} {'ST cost':>12} {'G/L cost':>12} {'Δ cost':>10} {'ST invoiced':>12} "
          f"{'G/L payables':>12} {'Δ payables':>10} {'G/L clearing':>12} {'not in NAV':>11}")
    for t in report.territories:  # one row per NAV territory code, each G/L figure read back from NAV
        print(f"{t.code:<12} {t.st_cost:>12,.2f} {t.gl_cost:>12,.2f} {t.cost_difference:>10,.2f} "
              f"{t.st_payables:>12,.2f} {t.gl_payables:>12,.2f} {t.payables_difference:>10,.2f} "
              f"{t.gl_clearing:>12,.2f} {t.not_posted:>11,.2f}  {', '.join(t.business_units)}")
    for line in report.differences:
        print(f"  {line.st_ref:<22} {line.difference:>12,.2f}  {line.explanation}")
    for c in report.clearing:
        if c.balance:
            print(f"  clearing {c.po_ref:<20} {c.balance:>12,.2f}  {c.explanation}")
    return 0


def vendor_to_nav(args) -> int:
    from stnav_desktop.sync.app.vendors import VendorError

    service = _service(args)
    try:
        created = _wrap(lambda: service.create_nav_vendor(args.st_vendor_id, tax_id=args.tax_id, number=args.number))
    except VendorError as exc:
        raise CliError(str(exc)) from None
    print(f"NAV vendor {created.number} ({created.display_name}) {'created' if created.created else 'already existed'}"
          f"; ServiceTitan vendor {args.st_vendor_id} mapped to it")
    return 0


def vendor_to_st(args) -> int:
    from stnav_desktop.sync.app.vendors import VendorError

    service = _service(args)
    try:
        created = _wrap(lambda: service.create_st_vendor(args.nav_number))
    except VendorError as exc:
        raise CliError(str(exc)) from None
    print(f"ServiceTitan vendor {created.id} ({created.name}) ready; mapped to NAV vendor {args.nav_number}")
    return 0


def sandbox(args) -> int:
    import tempfile

    tls = args.tls_dir or Path(tempfile.mkdtemp(prefix="stnav-sandbox-tls-"))
    if args.system == "servicetitan":
        from stnav_desktop.sandbox.servicetitan import run_standalone

        run_standalone(args.port, tls)
    else:
        from stnav_desktop.sandbox.nav import run_standalone

        run_standalone(args.port, tls, flavour=args.flavour)
    return 0


