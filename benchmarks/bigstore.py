"""A big, realistic store for benchmarks: ``build_store()`` fills the store of the current STNAV_HOME.

Purchase orders (received, with their items) and the inventory bills that receive them, spread over
``months`` months, from ``vendors`` ServiceTitan vendors and ``business_units`` business units; NAV
reference data (vendors, accounts, items, territory dimension values) and mappings for all but
``unmapped_vendors`` vendors, so most documents are ready and the rest need a vendor mapping. The oldest
``posted_share`` of the documents are posted (NAV numbers, done batches). Each document's status is what
the product's own readiness check (``sync.app.mapping.evaluate``) says for it, so approving a batch of
them re-checks to the same answer.

The audit log gets ``audit_events`` events chained through the store's own ``audit.append_many`` (so
``stnav audit verify`` passes): per document its pull and its readiness, for posted ones their approval
and posting, then ``document.updated`` events for random documents up to the count asked.

Everything is written with multi-row inserts: 10,000 documents and 50,000 events take a few seconds.

    from benchmarks.bigstore import build_store
    runtime.start()          # or any open store (STNAV_HOME set before)
    info = build_store(documents=10_000, audit_events=50_000, months=12)

The signature is kept stable: other benchmarks import it.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

VENDOR_NAMES = ["Ferguson Enterprises", "W.W. Grainger", "Johnstone Supply", "Watsco", "Winsupply",
                "Hajoca", "Carrier Enterprise", "RE Michel", "United Refrigeration", "Lennox PartsPlus",
                "Trane Supply", "Gustave A. Larson", "Baker Distributing", "Munch's Supply", "Shearer Supply",
                "Coburn Supply", "Goodman Supply", "Mingledorff's", "Insco Distributing", "Habegger Corp"]
BUSINESS_UNITS = [("HVAC Service - North", "NORTH"), ("HVAC Service - South", "SOUTH"),
                  ("Plumbing - East", "EAST"), ("Plumbing - West", "WEST"), ("Electrical", "ELEC"),
                  ("Commercial", "COMM")]
SKUS = [("FLT-16x25", "Air filter 16x25"), ("CAP-45-5", "Run capacitor 45/5"), ("MISC-FIT", "Fittings"),
        ("CON-30A", "Contactor 30A"), ("TXV-3T", "TXV valve 3 ton"), ("R410A-25", "Refrigerant R-410A 25 lb"),
        ("PVC-2IN", "PVC pipe 2in"), ("WH-50G", "Water heater 50 gal"), ("BRK-20A", "Breaker 20A"),
        ("WIRE-12", "Wire 12 AWG 250 ft"), ("THERM-PRO", "Thermostat"), ("MTR-1/2", "Condenser fan motor"),
        ("DRAIN-PAN", "Drain pan"), ("LINESET-3/8", "Line set 3/8"), ("VALVE-BALL", "Ball valve 3/4"),
        ("GAS-FLEX", "Gas flex connector"), ("DISC-60", "Disconnect 60A"), ("PUMP-COND", "Condensate pump"),
        ("IGN-UNIV", "Universal igniter"), ("BELT-A42", "Belt A42")]


@dataclass
class BigStore:
    """What ``build_store`` made: the profile and counts, and the months (``YYYY-MM``) it spans."""

    profile: Any
    documents: int
    purchase_orders: int
    bills: int
    audit_events: int
    months: list[str]
    by_status: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def ready_in(self, month: str) -> list[int]:
        """Ids of the month's ready documents outside any batch (what a reviewer batches)."""
        from stnav_desktop.store.models import DocStatus, StDocument
        from stnav_desktop.sync.views.reconcile import month_bounds

        lo, hi = month_bounds(month)
        lo_dt, hi_dt = (datetime(d.year, d.month, d.day, tzinfo=UTC) for d in (lo, hi))
        return [i for (i,) in StDocument.select(StDocument.id).where(
            (StDocument.profile == self.profile) & (StDocument.status == DocStatus.READY)
            & StDocument.batch.is_null() & (StDocument.doc_date >= lo_dt) & (StDocument.doc_date < hi_dt)).tuples()]


def _money(value: Decimal) -> float:
    return float(value)  # ServiceTitan sends JSON numbers; documents.to_decimal reads them back exactly


def _ensure_store() -> None:
    from stnav_desktop.store import audit

    if not audit.store_open():
        from stnav_desktop import runtime

        runtime.start()


def build_store(documents: int = 10_000, audit_events: int = 50_000, months: int = 12, *,
                vendors: int = 20, business_units: int = 4, skus: int = 20, unmapped_vendors: int = 2,
                posted_share: float = 0.2, bill_share: float = 0.4, first_month: date = date(2026, 1, 1),
                profile_name: str = "default", seed: int = 17) -> BigStore:
    """Fill the current store (STNAV_HOME; opened if it is not) with ``documents`` documents (about
    ``bill_share`` of them inventory bills receiving the purchase orders) over ``months`` months and
    ``audit_events`` chained audit events. Deterministic for a given ``seed``."""
    started = time.perf_counter()
    _ensure_store()
    from stnav_desktop.store import audit, settings
    from stnav_desktop.store.db import db
    from stnav_desktop.store.models import Batch, DocStatus, NavReference, SourceKind, StDocument
    from stnav_desktop.sync.app import documents as staging
    from stnav_desktop.sync.app import mapping
    from stnav_desktop.sync.domain import lifecycle

    rnd = random.Random(seed)
    profile = settings.get_profile(profile_name)
    vendors = min(vendors, len(VENDOR_NAMES) * 10)
    business_units = min(business_units, len(BUSINESS_UNITS))
    vendor_ids = [2001 + v for v in range(vendors)]
    vendor_name = {vid: VENDOR_NAMES[i % len(VENDOR_NAMES)] + (f" #{i // len(VENDOR_NAMES) + 1}"
                                                               if i >= len(VENDOR_NAMES) else "")
                   for i, vid in enumerate(vendor_ids)}
    bu_ids = [1001 + b for b in range(business_units)]
    sku_ids = [3001 + s for s in range(skus)]

    # --- NAV reference data and mappings (through the product's own functions: audited) ---------------
    refs = [("accounts", "2950", "Purchases clearing", {"directPosting": True}),
            ("accounts", "5630", "Purchase sales tax", {"directPosting": True}),
            ("accounts", "6110", "Job materials, consumables", {"directPosting": True}),
            ("accounts", "6120", "Job materials, stock", {"directPosting": True}),
            ("accounts", "6210", "Freight in", {"directPosting": True}),
            ("accounts", "6220", "Other purchase charges", {"directPosting": True}),
            ("accounts", "2130", "Inventory", {"directPosting": False})]
    refs += [("vendors", f"V{10000 + 10 * i}", vendor_name[vid] + " LLC", {}) for i, vid in enumerate(vendor_ids)]
    refs += [("dimensionValues", f"TERRITORY:{BUSINESS_UNITS[i][1]}", BUSINESS_UNITS[i][0], {})
             for i in range(business_units)]
    refs += [("items", str(1000 + 10 * i), SKUS[i % len(SKUS)][1], {}) for i in range(skus)]
    NavReference.insert_many([dict(profile=profile.id, entity=e, key=k, name=n, data=d) for e, k, n, d in refs]
                             ).on_conflict_ignore().execute()
    for i, vid in enumerate(vendor_ids[:max(0, vendors - unmapped_vendors)]):
        mapping.set_mapping(profile, "vendor", vid, f"V{10000 + 10 * i}", source_label=vendor_name[vid],
                            actor="bench", how="bench")
    for i, bid in enumerate(bu_ids):
        mapping.set_mapping(profile, "business_unit", bid, BUSINESS_UNITS[i][1], target_type="TERRITORY",
                            source_label=BUSINESS_UNITS[i][0], actor="bench", how="bench")
    for i, sid in enumerate(sku_ids):  # two SKUs in three are stock items, the rest go to an account
        target, kind = (str(1000 + 10 * i), "Item") if i % 3 else ("6110", "Account")
        mapping.set_mapping(profile, "item", sid, target, target_type=kind, actor="bench", how="bench")
    mapping.set_mapping(profile, "gl_rule", "sku_type:Material", "6120", actor="bench", how="bench")

    # --- the documents ---------------------------------------------------------------------------------
    bills = int(documents * bill_share)
    pos = documents - bills
    bills = min(bills, pos)
    pos = documents - bills
    month_starts = []
    y, m = first_month.year, first_month.month
    for _ in range(months):
        month_starts.append(datetime(y, m, 1, tzinfo=UTC))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    month_names = [d.strftime("%Y-%m") for d in month_starts]
    end = datetime(y, m, 1, tzinfo=UTC)
    span = (end - month_starts[0]).total_seconds() - 6 * 86400  # a bill comes a few days after its PO

    def iso(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    raws: list[tuple[str, dict[str, Any]]] = []
    po_raws = []
    for i in range(pos):
        when = month_starts[0] + timedelta(seconds=span * i / max(pos, 1))
        when = when.replace(hour=0, minute=0, second=0)
        vid = vendor_ids[rnd.randrange(vendors)]
        lines = []
        for n, sid in enumerate(rnd.sample(sku_ids, rnd.randint(1, min(4, skus))), 1):
            qty = rnd.randint(1, 25)
            cost = Decimal(rnd.randint(150, 45000)) / 100
            code, name = SKUS[(sid - 3001) % len(SKUS)]
            lines.append({"id": n, "skuId": sid, "skuCode": code, "skuName": name, "skuType": "Material",
                          "quantity": qty, "quantityReceived": qty, "cost": _money(cost),
                          "total": _money(cost * qty)})
        items_total = sum((Decimal(str(ln["cost"])) * ln["quantity"] for ln in lines), Decimal("0"))
        tax = (items_total * Decimal("0.08")).quantize(Decimal("0.01"))
        shipping = Decimal(rnd.choice([0, 0, 0, 1200, 2500])) / 100
        raw = {"id": 40_000_000 + i, "number": f"{10000 + i}-001", "status": "Received", "vendorId": vid,
               "businessUnitId": bu_ids[rnd.randrange(business_units)], "date": iso(when),
               "receivedOn": iso(when + timedelta(days=2, hours=13)),
               "modifiedOn": iso(when + timedelta(days=2, hours=13)),
               "total": _money(items_total + tax + shipping), "tax": _money(tax), "shipping": _money(shipping),
               "vendorDocumentNumber": f"INV-{80000 + i}", "summary": f"Job {38_000_000 + i}", "items": lines}
        po_raws.append(raw)
        raws.append((SourceKind.PURCHASE_ORDER, raw))
    for j in range(bills):  # every other PO (spread over the months) is received by one bill
        po = po_raws[(j * pos) // max(bills, 1)]
        when = datetime.fromisoformat(po["date"].replace("Z", "+00:00")) + timedelta(days=3)
        bu = po["businessUnitId"]
        items = [{"order": n, "id": 9_000_000 + j * 10 + n, "skuId": ln["skuId"], "skuCode": ln["skuCode"],
                  "skuType": "Material", "name": ln["skuName"], "quantity": str(ln["quantity"]),
                  "cost": f"{Decimal(str(ln['cost'])):.2f}",
                  "costOfSaleAccount": {"id": 4001, "name": "Job Materials", "number": "6110", "type": "Expense"}}
                 for n, ln in enumerate(po["items"], 1)]
        raw = {"id": 77_000_000 + j, "purchaseOrderId": po["id"], "referenceNumber": f"{po['number']}-R1",
               "billDate": iso(when), "billAmount": f"{Decimal(str(po['total'])):.2f}",
               "taxAmount": f"{Decimal(str(po['tax'])):.2f}", "shippingAmount": f"{Decimal(str(po['shipping'])):.2f}",
               "otherAmount": None, "vendor": {"id": po["vendorId"], "name": vendor_name[po["vendorId"]]},
               "businessUnit": {"id": bu, "name": BUSINESS_UNITS[bu - 1001][0]}, "modifiedOn": iso(when),
               "landedCostMethod": "None", "items": items}
        raws.append((SourceKind.INVENTORY_BILL, raw))
    raws.sort(key=lambda kr: (kr[1].get("date") or kr[1].get("billDate"), kr[0], kr[1]["id"]))

    # readiness as the product decides it: one evaluation per document (no writes), same plan context
    ctx = mapping.plan_context(profile)
    rows = []
    for kind, raw in raws:
        prepared = staging.prepare(kind, raw)
        doc = StDocument(profile=profile, kind=kind, st_id=prepared.st_id, raw=prepared.raw,
                         content_hash=prepared.digest, source_problems=prepared.problems or None,
                         **prepared.columns)
        if kind == SourceKind.PURCHASE_ORDER:
            doc.vendor_name = vendor_name.get(doc.vendor_st_id or 0, "")
            doc.business_unit_name = BUSINESS_UNITS[(doc.business_unit_st_id or 1001) - 1001][0]
        doc.status, doc.problem = mapping.evaluate(doc, ctx)
        rows.append(doc)

    posted_count = int(len(rows) * posted_share)
    batches: dict[str, int] = {}
    fields = ["profile", "kind", "st_id", "number", "modified_on", "doc_date", "vendor_st_id", "vendor_name",
              "business_unit_st_id", "business_unit_name", "purchase_order_st_id", "st_status", "total", "raw",
              "content_hash", "status", "problem", "source_problems", "batch", "posted_hash", "posted_version",
              "nav_id", "nav_number", "st_active"]
    events: list[dict[str, Any]] = []
    inv = jnl = 0
    with db.atomic():
        for index, doc in enumerate(rows):
            pulled = {"action": "document.pulled", "st_ref": lifecycle.st_ref(doc), "actor": "scheduler",
                      "detail": {"st_id": doc.st_id, "kind": doc.kind, "modifiedOn": doc.raw.get("modifiedOn"),
                                 "total": doc.total, "problems": doc.source_problems or []}}
            checked = {"action": f"document.{doc.status}", "st_ref": lifecycle.st_ref(doc), "actor": "scheduler",
                       "detail": {"from": DocStatus.NEEDS_MAPPING, "to": doc.status, "reason": doc.problem,
                                  "version": 1}}
            events.append(pulled)
            if doc.status != DocStatus.NEEDS_MAPPING or doc.problem:
                events.append(checked)
            if index < posted_count and doc.status == DocStatus.READY:
                month = doc.doc_date.strftime("%Y-%m")
                if month not in batches:
                    batch = Batch.create(profile=profile, status="done", prepared_by="clerk", approved_by="controller",
                                         approved_at=doc.doc_date + timedelta(days=35),
                                         prepared_at=doc.doc_date + timedelta(days=34), note=f"{month} bench")
                    batches[month] = batch.id
                    events.append({"action": "batch.prepared", "actor": "clerk", "nav_ref": f"batch {batch.id}",
                                   "detail": {"batch": batch.id, "documents": [], "note": batch.note}})
                    events.append({"action": "batch.approved", "actor": "controller", "nav_ref": f"batch {batch.id}",
                                   "detail": {"batch": batch.id, "prepared_by": "clerk", "dropped": []}})
                doc.batch = batches[month]
                doc.status, doc.posted_hash, doc.posted_version = DocStatus.POSTED, doc.content_hash, 1
                if doc.kind == SourceKind.PURCHASE_ORDER:
                    inv += 1
                    doc.nav_number = f"PPI{100000 + inv}"
                else:
                    jnl += 1
                    doc.nav_number = f"STNAV{200000 + jnl}"
                doc.nav_id = f"{doc.st_id:08x}-0000-4000-8000-{index:012x}"
                for old, new in ((DocStatus.READY, DocStatus.APPROVED), (DocStatus.APPROVED, DocStatus.POSTING),
                                 (DocStatus.POSTING, DocStatus.POSTED)):
                    events.append({"action": f"document.{new}", "st_ref": lifecycle.st_ref(doc),
                                   "actor": "controller" if new == DocStatus.APPROVED else "scheduler",
                                   "nav_ref": doc.nav_number if new == DocStatus.POSTED else "",
                                   "detail": {"from": old, "to": new, "reason": "", "version": 1,
                                              **({"batch": doc.batch} if new == DocStatus.APPROVED else {})}})
        chunk: list[dict[str, Any]] = []
        for doc in rows:
            values = {name: getattr(doc, name if name != "batch" else "batch_id", None) for name in fields}
            values["profile"] = profile.id
            chunk.append(values)
            if len(chunk) == 500:
                StDocument.insert_many(chunk).execute()
                chunk = []
        if chunk:
            StDocument.insert_many(chunk).execute()

        # filler up to the count asked: documents updated in ServiceTitan before they were checked
        existing = audit_count()
        room = max(0, audit_events - existing)
        if len(events) > room:
            events = events[:room]
        while len(events) < room:
            doc = rows[rnd.randrange(len(rows))] if rows else None
            if doc is None:
                events.append({"action": "pull.finished", "actor": "scheduler", "detail": {"documents": 0}})
                continue
            events.append({"action": "document.updated", "st_ref": lifecycle.st_ref(doc), "actor": "scheduler",
                           "detail": {"version": 1, "changes": [{"field": "summary", "before": "",
                                                                 "after": doc.raw.get("summary", "")}]}})
        for start in range(0, len(events), 10_000):
            audit.append_many(events[start:start + 10_000], profile=profile.name)

    by_status: dict[str, int] = {}
    for doc in rows:
        by_status[doc.status] = by_status.get(doc.status, 0) + 1
    return BigStore(profile=profile, documents=len(rows), purchase_orders=pos, bills=bills,
                    audit_events=audit_count(), months=month_names, by_status=by_status,
                    seconds=time.perf_counter() - started)


def audit_count() -> int:
    from stnav_desktop.store.db import db

    row = db.execute_sql("SELECT seq FROM audit_head WHERE id = 1").fetchone()
    return int(row[0] or 0) if row else 0


if __name__ == "__main__":  # a quick look: .venv/bin/python benchmarks/bigstore.py [documents] [events]
    import os
    import sys
    import tempfile

    os.environ.setdefault("STNAV_HOME", tempfile.mkdtemp(prefix="stnav-bigstore-"))
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    info = build_store(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000,
                       int(sys.argv[2]) if len(sys.argv) > 2 else 50_000)
    from stnav_desktop.store import audit as _audit

    print(f"STNAV_HOME={os.environ['STNAV_HOME']}")
    print(f"{info.documents:,} documents ({info.purchase_orders:,} POs, {info.bills:,} bills) over "
          f"{len(info.months)} months, {info.audit_events:,} audit events, built in {info.seconds:.1f} s")
    print("by status:", ", ".join(f"{k} {v:,}" for k, v in sorted(info.by_status.items())))
    print(_audit.verify().message())


# --- for benchmarks that measure an older tree of the code on a store this tree built -----------------
_SCHEMA_OF_TREE: dict[Path, int] = {}


def schema_of(tree: Path) -> int:
    """The newest schema version a tree of the code knows (its migration ladder's last step)."""
    if tree not in _SCHEMA_OF_TREE:
        out = subprocess.run([sys.executable, "-c", "from stnav_desktop.store.migrations import LATEST; print(LATEST)"],
                             capture_output=True, text=True, check=True, cwd=str(tree),
                             env=dict(os.environ, PYTHONPATH=str(tree)))
        _SCHEMA_OF_TREE[tree] = int(out.stdout.strip())
    return _SCHEMA_OF_TREE[tree]


def as_schema_of(home: Path, tree: Path) -> None:
    """The store is built by this tree; an older tree refuses a newer schema (as it must for users). The
    steps after its own only add a table and an index it never reads, so its copy is marked at its version."""
    import sqlite3

    for db_file in home.rglob("stnav.sqlite3"):
        with sqlite3.connect(db_file) as conn:
            conn.execute("DELETE FROM schema_version WHERE version > ?", (schema_of(tree),))
