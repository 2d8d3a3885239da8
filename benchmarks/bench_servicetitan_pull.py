"""The whole first pull, as the user runs it, against its raw fetch-and-store peer on the same data in
the same run.

A ServiceTitan simulator with 20,000 purchase orders (the bills of the received ones, ~14,000, and
~2,500 vendor returns) runs in its own process, so its CPU is nobody's. Each contender then runs in a
fresh process of its own (its CPU time and peak RSS are its alone):

- ``ours``: ``SyncService.pull()`` into an empty store: the three export feeds (purchase orders,
  inventory bills, vendor returns), parsing and problem checks, staging, readiness, holds, the audit trail;
- ``peer``: the open-source ``servicepytan`` client's ``export_all`` for the same three feeds, every
  record written to a plain SQLite table (id, kind, JSON) — what issue #17 measured;
- ``before`` (optional, ``--before-tree DIR`` with an older checkout, e.g.
  ``mkdir /tmp/before && git archive 4162b74 stnav_desktop | tar -x -C /tmp/before``):
  the same pull with that code. The old code stops on the lone-surrogate purchase order (issue #12,
  item 2), so its simulator has that one character repaired.

Printed per contender: CPU (user+sys) of the action, wall time, peak RSS of the process, records, and
for the store: SQL statements SQLite executed (trace callback: an executemany counts each row) and
calls from Python into SQLite. Then the ratios the goals are stated in (CPU vs the peer ≤ 1.5,
peak RSS ≤ 300 MB, statements per page).

    .venv/bin/python benchmarks/bench_servicetitan_pull.py [--purchase-orders 20000] [--export-batch 1000]
        [--before-tree /tmp/stnav-before] [--repeat 3] [--breakdown] [--profile FILE] [--changed N]

``--repeat N`` (default 3): peer and ours run alternately N times (before N times after them) and the
median CPU of each is reported with every run's figure (single runs on a shared machine vary by up to 30 %);
``--breakdown`` runs ours (and before, with ``--before-tree``) once more with a CPU clock around each phase
and prints where its CPU goes;
``--profile FILE`` writes a cProfile of our pull (its figures are then not comparable); ``--changed N``
then changes N purchase orders in the simulator and measures the delta pull that follows (ours, and
before with ``--before-tree``; servicepytan's ``export_all`` returns no continuation token, so its user
re-exports everything: no delta peer).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# -- the simulator, in its own process -------------------------------------------------------------
def serve(conn, tls_dir: str, purchase_orders: int, export_batch: int, repair_surrogate: bool) -> None:
    sys.path.insert(0, str(ROOT))
    from stnav_desktop.sandbox.servicetitan import ServiceTitanSandbox

    sandbox = ServiceTitanSandbox(Path(tls_dir), purchase_orders=purchase_orders, export_batch=export_batch)
    if repair_surrogate:
        for coll in (sandbox.data.purchase_orders, sandbox.data.bills):
            for record in coll.values():
                if any("\ud800" <= c <= "\udfff" for c in record.get("summary") or ""):
                    record["summary"] = "Parts for job (repaired)"
    with sandbox:
        conn.send({"tenant": sandbox.tenant, "client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
                   "app_key": sandbox.app_key, "auth_url": sandbox.auth_url, "auth_root": sandbox.auth_root,
                   "api_url": sandbox.base_url, "ca": str(sandbox.ca_pem),
                   "pos": len(sandbox.data.purchase_orders), "bills": len(sandbox.data.bills),
                   "returns": len(sandbox.data.returns)})
        while (message := conn.recv()) != "stop":  # ("edit", n): n POs changed in ServiceTitan, for a delta
            for po_id in sandbox.purchase_order_ids()[:message[1]]:
                sandbox.edit_purchase_order(po_id, summary="Parts for job (changed in ServiceTitan)")
            conn.send("edited")


# the feeds ``SyncService.pull`` reads (sync/app/pull.py STREAMS), in its order: the peer fetches the same
FEEDS = (("inventory", "purchase-orders"), ("accounting", "inventory-bills"), ("inventory", "returns"))


# -- contenders, each in a fresh process -----------------------------------------------------------
def usage() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_maxrss / 1024  # Linux: ru_maxrss in KiB


def role_ours(sim: dict) -> dict:
    home = os.environ.get("STNAV_BENCH_HOME") or tempfile.mkdtemp(prefix="stnav-bench-")  # kept: a delta
    os.environ["STNAV_HOME"] = home
    os.environ["STNAV_DEPLOY_FILE"] = str(Path(home) / "none.toml")
    import keyring
    import keyring.backend

    class Memory(keyring.backend.KeyringBackend):
        priority = 1
        store: dict = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    keyring.set_keyring(Memory())
    from stnav_desktop import credentials
    from stnav_desktop.paths import app_paths
    from stnav_desktop.store import settings
    from stnav_desktop.store.db import db, open_db
    from stnav_desktop.store.models import StDocument
    from stnav_desktop.sync.app import pull  # noqa: F401  (imported before the clock starts, as the peer's client is)
    from stnav_desktop.sync.app.service import SyncService

    open_db(app_paths().ensure().database)
    profile = settings.get_profile("default")
    for key, value in {"servicetitan.environment": "integration", "servicetitan.tenant": str(sim["tenant"]),
                       "servicetitan.client_id": sim["client_id"], "servicetitan.app_key": sim["app_key"],
                       "servicetitan.auth_url": sim["auth_url"], "servicetitan.api_url": sim["api_url"],
                       "servicetitan.ca_bundle": sim["ca"]}.items():
        settings.set_value(profile, key, value)
    credentials.set_secret(profile.name, "servicetitan.client_secret", sim["client_secret"])
    service = SyncService(profile)
    service.st_client()  # build (and import) the client before the clock starts, as the peer's client is
    traced = [0]
    calls = [0]
    db.connection().set_trace_callback(lambda _sql: traced.__setitem__(0, traced[0] + 1))
    database = db.obj  # db is a peewee proxy (store/proxy.py): count on the database it stands for
    original = database.execute_sql

    def counting(*a, **kw):
        calls[0] += 1
        return original(*a, **kw)

    database.execute_sql = counting
    phases = _phase_clocks() if os.environ.get("STNAV_BENCH_BREAKDOWN") else None
    profiler = None
    if os.environ.get("STNAV_BENCH_PROFILE"):
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    cpu0, _ = usage()
    t0 = time.perf_counter()
    summary = service.pull()
    wall = time.perf_counter() - t0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(os.environ["STNAV_BENCH_PROFILE"])
    cpu1, peak = usage()
    database.execute_sql = original
    db.connection().set_trace_callback(None)
    stored = StDocument.select().count()
    return {"cpu": cpu1 - cpu0, "wall": wall, "peak_rss_mb": peak, "records": stored, "pages": summary.pages,
            "statements": traced[0], "python_calls": calls[0], "summary": summary.line(),
            **({"phases": phases} if phases is not None else {})}


PHASES = (  # (module, attribute, what it is): CPU per phase of our pull with --breakdown
    ("stnav_desktop.connectors.servicetitan.client:ServiceTitanClient", "get",
     "fetch: HTTP, TLS, JSON with exact decimals"),
    # the export feeds read through _get (the JSON and whether it can hold a float); older trees: get only
    ("stnav_desktop.connectors.servicetitan.client:ServiceTitanClient", "_get",
     "fetch: HTTP, TLS, JSON with exact decimals"),
    ("stnav_desktop.connectors.servicetitan.client", "_parse_safely", "typed records and their problem checks"),
    ("stnav_desktop.sync.app.documents", "prepare", "content hash, stored JSON text, grid columns"),
    ("stnav_desktop.sync.app.holds", "safe_evaluate", "readiness: the accounting plan of each new document"),
    ("stnav_desktop.sync.app.pull:_PageStager", "_new_row", "new row: names, holds, its audit event (w/o plan)"),
    ("stnav_desktop.sync.app.pull:_PageLookups", "prefetch", "page look-ups (a return's PO and bills, jobs)"),
    ("stnav_desktop.sync.app.pull", "_insert_documents", "document INSERTs (multi-row)"),
    ("stnav_desktop.store.audit", "append_many", "audit: chain, MACs, one INSERT per page"),
    ("stnav_desktop.sync.app.holds", "reevaluate", "holds re-check after the pages (w/o its index)"),
    ("stnav_desktop.sync.app.holds:HoldIndex", "load", "holds index (every bill of the store, read twice)"),
    ("stnav_desktop.sync.app.pull:_PageStager", "stage_page", "page staging's own code (existing rows, loop)"),
    ("peewee:_transaction", "commit", "commits (a page with its token: SQLite writes the pages)"),
)


def _phase_clocks() -> dict:
    """Wrap each phase's function with a CPU clock (process time, nested phases subtracted); the cyclic
    garbage collector's passes are a phase of their own (gc.callbacks)."""
    import importlib

    totals: dict[str, float] = {}
    stack: list[float] = []
    for target, name, label in PHASES:
        module_name, _, class_name = target.partition(":")
        owner = importlib.import_module(module_name)
        if class_name:
            owner = getattr(owner, class_name, None)
        original = getattr(owner, name, None)
        if original is None:  # an older tree (--before-tree) without this function: not a phase there
            continue

        def timed(*a, __original=original, __label=label, **kw):
            start = time.process_time()
            stack.append(0.0)
            try:
                return __original(*a, **kw)
            finally:
                spent = time.process_time() - start
                inner = stack.pop()
                totals[__label] = totals.get(__label, 0.0) + spent - inner
                if stack:
                    stack[-1] += spent
        setattr(owner, name, timed)
    import gc

    started: list[float] = []

    def collecting(phase: str, _info: dict) -> None:  # the collector's own time, wherever it interrupts
        if phase == "start":
            started.append(time.process_time())
        elif started:
            spent = time.process_time() - started.pop()
            totals[GC_LABEL] = totals.get(GC_LABEL, 0.0) + spent
            if stack:  # not counted in the phase it interrupted
                stack[-1] += spent
    gc.callbacks.append(collecting)
    return totals


GC_LABEL = "garbage collector (cyclic GC passes, in any phase)"


def plain_export_all(sim: dict):
    """The peer's fetches without servicepytan (if it cannot be installed): requests, one token, the
    export feeds page by page, every record of a feed returned at once as servicepytan does."""
    import requests

    session = requests.Session()
    ca = sim["ca"]  # per request: a REQUESTS_CA_BUNDLE in the environment would win over session.verify
    token = session.post(sim["auth_url"], verify=ca, data={
        "grant_type": "client_credentials", "client_id": sim["client_id"],
        "client_secret": sim["client_secret"]}).json()["access_token"]
    session.headers.update({"Authorization": token, "ST-App-Key": sim["app_key"]})

    def export_all(folder: str, feed: str) -> list:
        rows, params = [], {}
        while True:
            body = session.get(f"{sim['api_url']}/{folder}/v2/tenant/{sim['tenant']}/export/{feed}",
                               params=params, verify=ca).json()
            rows.extend(body["data"])
            if not body["hasMore"]:
                return rows
            params = {"from": body["continueFrom"]}

    return export_all


def role_peer(sim: dict) -> dict:
    import logging
    import sqlite3

    try:
        import servicepytan
        from servicepytan.requests import Endpoint
    except ImportError:
        servicepytan = None
    if servicepytan is not None:
        logging.getLogger("servicepytan").setLevel(logging.CRITICAL)  # it logs secrets and headers on errors
        os.environ["REQUESTS_CA_BUNDLE"] = sim["ca"]
        conn = servicepytan.auth.servicepytan_connect(
            api_environment="integration", app_key=sim["app_key"], tenant_id=str(sim["tenant"]),
            client_id=sim["client_id"], client_secret=sim["client_secret"])
        conn["auth_root"] = sim["auth_root"]
        conn["api_root"] = sim["api_url"]

        def export_all(folder: str, feed: str) -> list:
            return Endpoint(folder, feed, conn=conn).export_all(feed)
        client = "servicepytan"
    else:
        export_all = plain_export_all(sim)
        client = "requests (servicepytan not installed)"
    path = Path(tempfile.mkdtemp(prefix="peer-")) / "peer.sqlite3"
    db = sqlite3.connect(str(path))
    db.execute("PRAGMA journal_mode=wal")
    db.execute("CREATE TABLE record (kind TEXT, id INTEGER, json TEXT, PRIMARY KEY (kind, id))")
    traced = [0]
    db.set_trace_callback(lambda _sql: traced.__setitem__(0, traced[0] + 1))
    cpu0, _ = usage()
    t0 = time.perf_counter()
    records = 0
    for folder, feed in FEEDS:
        rows = export_all(folder, feed)
        with db:
            db.executemany("INSERT OR REPLACE INTO record VALUES (?, ?, ?)",
                           ((feed, r["id"], json.dumps(r)) for r in rows))
        records += len(rows)
    wall = time.perf_counter() - t0
    cpu1, peak = usage()
    return {"cpu": cpu1 - cpu0, "wall": wall, "peak_rss_mb": peak, "records": records,
            "statements": traced[0], "python_calls": 2, "client": client}


def run_role(role: str, sim: dict, code: Path | None = None) -> dict:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(sim, fh)
    cmd = [sys.executable, __file__, "--role", role, "--sim", fh.name] + (["--code", str(code)] if code else [])
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_simulator(tmp: str, args, repair: bool):
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context("spawn").Process(
        target=serve, args=(child, str(Path(tmp) / "tls"), args.purchase_orders, args.export_batch, repair),
        daemon=True)
    proc.start()
    return proc, parent, parent.recv()


def median(runs: list[dict]) -> dict:
    """The run with the median CPU (an error if any run failed), with every run's CPU kept beside it."""
    failed = [r for r in runs if "error" in r]
    if failed:
        return failed[0]
    ordered = sorted(runs, key=lambda r: r["cpu"])
    return {**ordered[len(ordered) // 2], "cpu_runs": [r["cpu"] for r in runs]}


def show(name: str, r: dict, pages: int | None = None) -> None:
    if "error" in r:
        print(f"{name:<8} FAILED: {r['error']}")
        return
    per_page = f", {r['statements'] / pages:,.0f} per page" if pages else ""
    runs = r.get("cpu_runs") or []
    spread = (f" (median of {len(runs)} runs: {', '.join(f'{c:.2f}' for c in runs)})" if len(runs) > 1 else "")
    print(f"{name:<8} CPU {r['cpu']:6.2f} s{spread}  wall {r['wall']:6.2f} s  peak RSS {r['peak_rss_mb']:6.0f} MB  "
          f"records {r['records']:,}  SQL statements {r['statements']:,}{per_page} "
          f"(Python->SQLite calls {r['python_calls']:,})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--purchase-orders", type=int, default=20_000)
    ap.add_argument("--export-batch", type=int, default=1000)
    ap.add_argument("--before-tree", type=Path, default=None, help="an older checkout to measure the same way")
    ap.add_argument("--profile", type=Path, default=None,
                    help="write a cProfile of our pull to this file (its figures are then not comparable)")
    ap.add_argument("--repeat", type=int, default=3, metavar="N",
                    help="runs of each contender, alternating (default 3); the median CPU is reported")
    ap.add_argument("--breakdown", action="store_true",
                    help="run ours once more with a CPU clock per phase and print where its CPU goes")
    ap.add_argument("--changed", type=int, default=0, metavar="N",
                    help="then N purchase orders change in ServiceTitan and ours pulls again (a delta)")
    ap.add_argument("--role", choices=("ours", "peer"), help=argparse.SUPPRESS)
    ap.add_argument("--sim", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role:
        sys.path.insert(0, str(args.code or ROOT))
        sim = json.loads(args.sim.read_text())
        result = role_ours(sim) if args.role == "ours" else role_peer(sim)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc, pipe, sim = start_simulator(tmp, args, repair=False)
        pages = sum(math.ceil(sim[k] / args.export_batch) for k in ("pos", "bills", "returns"))
        print(f"simulator (own process): {sim['pos']:,} POs, {sim['bills']:,} bills, {sim['returns']:,} returns, "
              f"export batch "
              f"{args.export_batch} -> {pages} pages; built in {time.perf_counter() - t0:.1f} s")
        homes = {name: tempfile.mkdtemp(prefix=f"stnav-bench-{name}-", dir=tmp) for name in ("ours", "before")}
        # peer and ours alternately, each run in a fresh process: on a shared machine the load drifts, so a
        # pair of single runs can differ by 30 %; the median of each is reported, with the range
        peers, ourses = [], []
        for i in range(args.repeat):
            peers.append(run_role("peer", sim))
            if args.changed and i == 0:  # the delta below goes on from the first run's store
                os.environ["STNAV_BENCH_HOME"] = homes["ours"]
            ourses.append(run_role("ours", sim))
            os.environ.pop("STNAV_BENCH_HOME", None)
        peer, ours = median(peers), median(ourses)
        if args.profile:  # a run of its own: a profiled run's figures are not comparable
            os.environ["STNAV_BENCH_PROFILE"] = str(args.profile.resolve())
            run_role("ours", sim)
            os.environ.pop("STNAV_BENCH_PROFILE", None)
        split = split_before = None
        if args.breakdown:
            os.environ["STNAV_BENCH_BREAKDOWN"] = "1"
            os.environ.pop("STNAV_BENCH_HOME", None)
            split = run_role("ours", sim)
            os.environ.pop("STNAV_BENCH_BREAKDOWN", None)
        deltas: dict[str, dict] = {}
        if args.changed:
            pipe.send(("edit", args.changed))
            pipe.recv()
            os.environ["STNAV_BENCH_HOME"] = homes["ours"]
            deltas["ours"] = run_role("ours", sim)
        os.environ.pop("STNAV_BENCH_HOME", None)
        pipe.send("stop")
        proc.join(10)
        before = None
        if args.before_tree:
            proc, pipe, sim_b = start_simulator(tmp, args, repair=True)
            if args.changed:
                os.environ["STNAV_BENCH_HOME"] = homes["before"]
            befores = []
            for i in range(args.repeat):
                befores.append(run_role("ours", sim_b, code=args.before_tree))
                if i == 0:  # a store of its own for each further run (the delta goes on from the first)
                    home_b = os.environ.pop("STNAV_BENCH_HOME", None)
            if args.changed and home_b:
                os.environ["STNAV_BENCH_HOME"] = home_b
            before = median(befores)
            if args.breakdown:  # into a store of its own (the delta below goes on from the store above)
                home = os.environ.pop("STNAV_BENCH_HOME", None)
                os.environ["STNAV_BENCH_BREAKDOWN"] = "1"
                split_before = run_role("ours", sim_b, code=args.before_tree)
                os.environ.pop("STNAV_BENCH_BREAKDOWN", None)
                if home:
                    os.environ["STNAV_BENCH_HOME"] = home
            if args.changed:
                pipe.send(("edit", args.changed))
                pipe.recv()
                deltas["before"] = run_role("ours", sim_b, code=args.before_tree)
            os.environ.pop("STNAV_BENCH_HOME", None)
            pipe.send("stop")
            proc.join(10)
        print("\n== whole pull: fetch + parse + store + readiness + holds + audit, empty store ==")
        show("peer", peer)
        if "client" in peer:
            print(f"         {peer['client']} export_all of the three feeds, every record into a plain SQLite table")
        if before is not None:
            show("before", before, pages)
        show("ours", ours, pages)
        if "error" not in ours:
            print(f"         {ours['summary']}")
        if split is not None and "error" not in split and split_before is not None and "error" not in split_before:
            print(f"\n== where the CPU goes (a second run of each with a clock per phase): before "
                  f"{split_before['cpu']:.2f} s -> ours {split['cpu']:.2f} s ==")
            for label in [*dict.fromkeys(label for _target, _name, label in PHASES), GC_LABEL]:
                print(f"  {split_before['phases'].get(label, 0.0):5.2f} -> {split['phases'].get(label, 0.0):5.2f} s"
                      f"  {label}")
            rests = [r["cpu"] - sum(r["phases"].values()) for r in (split_before, split)]
            print(f"  {rests[0]:5.2f} -> {rests[1]:5.2f} s  the rest: tokens, names, generators, requests between pages")
        elif split is not None and "error" not in split:
            print(f"\n== where our CPU goes (a second run with a clock per phase: {split['cpu']:.2f} s) ==")
            rest = split["cpu"] - sum(split["phases"].values())
            for label in [*dict.fromkeys(label for _target, _name, label in PHASES), GC_LABEL]:
                print(f"  {split['phases'].get(label, 0.0):5.2f} s  {label}")
            print(f"  {rest:5.2f} s  the rest: tokens, names, generators, requests between pages")
        if deltas:
            print(f"\n== delta pull: {args.changed:,} purchase orders changed in ServiceTitan since the pull above ==")
            for name in ("before", "ours"):
                if name in deltas:
                    show(name, deltas[name])
                    if "error" not in deltas[name]:
                        print(f"         {deltas[name]['summary']}")
        print("\n== ratios ==")
        if "error" not in ours and "error" not in peer:
            print(f"CPU ours / peer {ours['cpu'] / peer['cpu']:.2f}x (goal <= 1.5); wall ours / peer "
                  f"{ours['wall'] / peer['wall']:.2f}x; peak RSS ours {ours['peak_rss_mb']:.0f} MB (goal <= 300), "
                  f"peer {peer['peak_rss_mb']:.0f} MB")
            print(f"SQL statements ours {ours['statements']:,} for {ours['records']:,} documents in {pages} pages: "
                  f"{ours['statements'] / ours['records']:.3f} per document, {ours['statements'] / pages:.1f} per page")
        if before is not None and "error" not in before and "error" not in ours:
            print(f"before -> ours: CPU {before['cpu']:.1f} -> {ours['cpu']:.1f} s "
                  f"({before['cpu'] / ours['cpu']:.1f}x less), statements {before['statements']:,} -> "
                  f"{ours['statements']:,}, peak RSS {before['peak_rss_mb']:.0f} -> {ours['peak_rss_mb']:.0f} MB; "
                  f"before / peer CPU {before['cpu'] / peer['cpu']:.1f}x")
        if "before" in deltas and "ours" in deltas and not {"error"} & (set(deltas["before"]) | set(deltas["ours"])):
            b, o = deltas["before"], deltas["ours"]
            print(f"delta pull before -> ours: CPU {b['cpu']:.2f} -> {o['cpu']:.2f} s, statements {b['statements']:,} "
                  f"-> {o['statements']:,} ({o['statements'] / args.changed:.2f} per changed document; an "
                  "executemany counts each row)")


if __name__ == "__main__":
    main()
