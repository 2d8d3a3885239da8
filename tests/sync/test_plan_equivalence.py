"""Readiness made cheaper (issue #17) changes no verdict, reason, plan line, amount or order: for the
simulator's data (and its hazards, and records made to reach every branch of the plans) in a store with
some mappings set and some missing, today's ``holds.safe_evaluate`` / ``accounting.plan_document`` give
exactly what the frozen copy of the code before it (tests/sync/plan_reference.py) gives, under every
accounting model, date rule and setting that steers a plan."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from stnav_desktop.connectors.servicetitan import parsing
from stnav_desktop.sandbox import catalog
from stnav_desktop.sandbox.servicetitan.data import Dataset
from stnav_desktop.store import settings
from stnav_desktop.store.models import DocStatus, NavReference, StDocument, StReference
from stnav_desktop.sync.app import documents, holds, mapping
from stnav_desktop.sync.domain import accounting
from stnav_desktop.sync.domain.returns import ReturnCreditMemoPlan

from . import plan_reference as frozen

NOW = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def _json(value: Any) -> Any:
    """A record as the connector hands it over: through JSON, exact decimals."""
    return parsing.loads(json.dumps(value, default=str))


def _variants(pos: list[dict], bills: list[dict], returns: list[dict]) -> list[tuple[str, dict]]:
    """Records made to reach the branches the simulator's data does not: each a copy with a new id."""
    out: list[tuple[str, dict]] = []
    next_id = [70_000_000]

    def variant(kind: str, base: dict, **changes: Any) -> dict:
        record = copy.deepcopy(base)
        next_id[0] += 1
        record["id"] = next_id[0]
        for key, value in changes.items():
            if value is _DROP:
                record.pop(key, None)
            else:
                record[key] = value
        out.append((kind, record))
        return record

    po = next(p for p in pos if p["status"] == "Received" and len(p["items"]) >= 2)
    po_lines = po["items"]
    variant("purchase_order", po, number="V-STR", total=str(po["total"]), tax=str(po["tax"]))
    variant("purchase_order", po, number="V-NAN", tax="abc", total="NaN")
    variant("purchase_order", po, number="V-NOTOTAL", total=_DROP)
    variant("purchase_order", po, number="V-NOITEMS", items=[])
    variant("purchase_order", po, number="V-CENT", total=Decimal(str(po["total"])) + Decimal("0.01"))
    variant("purchase_order", po, number="V-FAR", total=Decimal(str(po["total"])) + Decimal("5"))
    variant("purchase_order", po, number="V-BADDATE", date="2026-13-45T00:00:00Z")
    variant("purchase_order", po, number="V-NODATE", date=None, receivedOn=None)
    variant("purchase_order", po, number="V-NOBU", businessUnitId=None)
    variant("purchase_order", po, number="V-NOJOB", jobId=None)
    variant("purchase_order", po, number="V-JOBSTR", jobId="abc")
    variant("purchase_order", po, number="V-PENDING", status="Pending")
    variant("purchase_order", po, number=None, status=None)
    long_name = "Very  long\tname\nwith \x07 controls " * 10
    variant("purchase_order", po, number="V-TEXT", items=[
        {**po_lines[0], "skuName": long_name, "skuCode": "  CODE\u202e  "},
        {**po_lines[1], "skuName": None, "skuCode": None},
        {**po_lines[1], "skuId": 3999, "quantity": "-2", "quantityReceived": "-2", "cost": "1.005"},
        {**po_lines[0], "quantity": 0, "quantityReceived": 0},
        {**po_lines[0], "quantity": True, "quantityReceived": True, "cost": None}])
    variant("purchase_order", po, number="V-FLOAT", shipping=2.675, tax=0.1, items=[
        {**po_lines[0], "quantity": 3, "quantityReceived": 3, "cost": 0.335}])
    bill = next(b for b in bills if b.get("active", True) and b["items"] and b.get("vendor"))
    line = bill["items"][0]
    variant("inventory_bill", bill, referenceNumber="V-NOBU", businessUnit=None)
    variant("inventory_bill", bill, referenceNumber="V-NOVENDORNAME", vendor={"id": bill["vendor"]["id"], "name": None})
    variant("inventory_bill", bill, referenceNumber=None, billDate="2026-09-30")
    variant("inventory_bill", bill, referenceNumber="V-OTHER", otherAmount="4.00",
            billAmount=str(Decimal(bill["billAmount"]) + Decimal("4.00")))
    variant("inventory_bill", bill, referenceNumber="V-CENT", billAmount=str(Decimal(bill["billAmount"]) - Decimal("0.01")))
    variant("inventory_bill", bill, referenceNumber="V-NOITEMS", items=[])
    variant("inventory_bill", bill, referenceNumber="V-LINES", items=[
        {**line, "order": None, "quantity": "1,5", "cost": None},
        {**line, "order": 7, "skuId": 3999, "skuType": "Service", "cost": "-3.10", "name": long_name,
         "costOfSaleAccount": {"id": 4099, "number": "5999"}, "generalLedgerAccount": None},
        {**line, "skuId": None, "skuType": None, "costOfSaleAccount": None,
         "generalLedgerAccount": {"id": 4002, "number": None}},
        {**line, "skuId": 3008, "skuType": "Equipment", "costOfSaleAccount": {}},
        {**line, "skuId": 3001, "skuType": "Material"}])
    ret = next(r for r in returns if r["status"] == "CreditReceived" and r.get("active", True)
               and r["vendorId"] not in (2003, 2006) and r["businessUnitId"] != 1004)
    rline = ret["items"][0]
    variant("inventory_return", ret, number="V-INACTIVE-LINE", items=[{**rline, "active": False}, rline])
    variant("inventory_return", ret, number="V-NOITEMS", items=[{**rline, "active": False}])
    variant("inventory_return", ret, number="V-NOPO", purchaseOrderId=None)
    variant("inventory_return", ret, number="V-OTHERPO", purchaseOrderId=po["id"], items=[
        {**rline, "skuId": po_lines[1]["skuId"], "code": po_lines[1]["skuCode"]},
        {**rline, "skuId": 3999, "code": None, "costOfSaleAccount": {"number": "5000"}},
        {**rline, "skuId": 3998, "costOfSaleAccount": None, "generalLedgerAccount": {"number": "4000"}},
        {**rline, "quantity": "-1"}])
    variant("inventory_return", ret, number="V-NODATES", creditReceivedOn=None, returnedOn=None, returnDate=None)
    variant("inventory_return", ret, number="V-PENDING", status="Pending")
    variant("inventory_return", ret, number="V-CANCELED", status="Canceled", canceledReason=None)
    variant("inventory_return", ret, number="V-STATUS", status=5)
    variant("inventory_return", ret, number="V-FAR", returnAmount="1.00")
    return out


_DROP = object()


def _shape(outcome: Any) -> Any:
    """What a plan says, comparable across the two codes (the applies-to look-up called)."""
    if isinstance(outcome, ReturnCreditMemoPlan):
        return ("return", dataclasses.asdict(outcome.invoice), outcome.applies_to_invoice, outcome.applies_to(),
                outcome.vendor_credit_memo_number)
    if dataclasses.is_dataclass(outcome):
        return (type(outcome).__name__, dataclasses.asdict(outcome))  # type: ignore[arg-type]
    return outcome


def _plan(plan_document, kind: str, raw: dict, ctx: accounting.PlanContext) -> Any:
    try:
        return _shape(plan_document(kind, raw, ctx))
    except accounting.PlanError as exc:
        return ("PlanError", exc.problems)
    except Exception as exc:  # noqa: BLE001 - NotPostable, and what a broken record raises: the same both ways
        return (type(exc).__name__, str(exc))


@pytest.fixture
def store_with_data(store):
    profile = settings.get_profile("default")
    data = Dataset(tenant=7, now=NOW, purchase_orders=160)
    pos, bills, returns = (data.purchase_orders.values(), data.bills.values(), data.returns.values())
    records = [("purchase_order", r) for r in pos] + [("inventory_bill", r) for r in bills] + \
        [("inventory_return", r) for r in returns] + _variants(pos, bills, returns)
    for kind, raw in records:
        parse = {"purchase_order": parsing.parse_purchase_order, "inventory_bill": parsing.parse_inventory_bill,
                 "inventory_return": parsing.parse_inventory_return}[kind]
        record = parse(_json(raw), None)
        documents.stage(profile, kind, record.raw, list(record.problems or []))
    # mappings: most set, some missing (a vendor, a business unit, a SKU), some blocked or not in NAV
    for vid, _name, nav, *_rest in catalog.VENDORS:
        if nav and vid != 2003:  # Carrier Enterprise unmapped
            mapping.set_mapping(profile, "vendor", vid, nav)
    for bid, _name, code, _label in catalog.TERRITORIES[:3]:  # Plumbing - West unmapped
        mapping.set_mapping(profile, "business_unit", bid, code, target_type="" if bid == 1002 else "TERRITORY")
    for sid, _kind, _code, _name, _cost, nav, _cat in catalog.SKUS:
        if sid == 3005:
            continue  # the ball valve unmapped
        mapping.set_mapping(profile, "item", sid, nav or "6110", target_type="Item" if nav else "Account")
    mapping.set_mapping(profile, "gl_rule", "sku_type:Equipment", "6130")
    mapping.set_mapping(profile, "gl_rule", "business_unit:1003", "6120")
    for gid, _name, _number, _type in catalog.ST_GL_ACCOUNTS[:1]:
        mapping.set_mapping(profile, "st_gl_account", gid, "6120")
    mapping.set_mapping(profile, "st_gl_account", "number:5000", "6110")
    mapping.set_mapping(profile, "st_gl_account", "4000", "6900")  # a blocked account
    mapping.set_mapping(profile, "dimension", "technician:1201", "TECH-A", target_type="TECH")
    mapping.set_mapping(profile, "dimension", "technician:1202", "TECH-B", target_type="OTHER")
    mapping.set_mapping(profile, "dimension", "inventory_location:Main warehouse", "MAIN", target_type="LOC")
    mapping.set_mapping(profile, "dimension", "job_type:1", "SERVICE", target_type="JOBTYPE")
    refs = [("vendors", nav, name, {}, blocked) for _v, _n, nav, name, *_r, blocked in catalog.VENDORS if nav]
    refs += [("accounts", number, name, {"directPosting": direct}, blocked)
             for number, name, _cat, direct, blocked in catalog.GL_ACCOUNTS if number != "6210"]  # freight missing
    refs += [("items", nav, name, {}, sid == 3002) for sid, _k, _c, name, _cost, nav, _cat in catalog.SKUS if nav]
    refs += [("dimensionValues", f"TERRITORY:{code}", label, {}, code == "SOUTH")
             for _b, _n, code, label in catalog.TERRITORIES]
    refs += [("dimensionValues", "TECH:TECH-A", "Tech A", {}, False), ("dimensionValues", "LOC:MAIN", "Main", {}, False),
             ("dimensionValues", "JOB:10401", "Job", {}, False), ("dimensionValues", "TECH:NONE", "None", {}, False)]
    for entity, key, name, extra, blocked in refs:
        NavReference.create(profile=profile, entity=entity, key=key, name=name, data=extra, blocked=blocked)
    # jobs as pulled: most with their number and type, one without a number
    for job in data.jobs.values()[:30]:
        info = dict(job, jobNumber=None) if job["id"] % 10 == 3 else job
        StReference.create(profile=profile, entity="jobs", st_id=job["id"], name=str(job["jobNumber"]), code="",
                           data=json.loads(json.dumps(info, default=str)))
    # a PO posted in NAV: its returns apply to its invoice
    posted = StDocument.select().where(StDocument.kind == "purchase_order", StDocument.st_status == "Received",
                                       StDocument.vendor_st_id == 2001).first()
    StDocument.update(status=DocStatus.POSTED, nav_number="PI-104417").where(StDocument.id == posted.id).execute()
    return profile


SETTINGS = [  # each a store's settings that steer plans; the defaults in between
    {},
    {"posting.model": "invoice_only"},
    {"posting.model": "journal_only"},
    {"posting.date_rule": "receipt_date", "posting.allow_from": "2026-10-01", "posting.allow_to": "2026-10-20",
     "posting.postable_po_statuses": ["Received", "PartiallyReceived", "Pending"]},
    {"posting.model": "invoice_only", "posting.date_rule": "posting_day", "posting.apply_returns": False,
     "posting.postable_po_statuses": ["Received", "Pending", "Sent"], "posting.allow_from": "2026-10-15"},
    {"posting.dimension_rules": ["job:JOB:value:required", "technician:TECH:map:default=NONE",
                                 "inventory_location:LOC:map", "job_type:JOBTYPE:map:required", "project:PROJ:value",
                                 "business_unit:TERRITORY:map", "budget_code:BUDGET:map:required"]},
    {"posting.model": "journal_only", "posting.dimension_rules": ["job:JOB:value", "technician:TECH:map"],
     "posting.allow_to": "2026-09-30"},
    {"posting.dimension_rules": ["job:JOB:value", "job:OTHER:value"]},  # unreadable: named on every row
]


@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize("values", SETTINGS)
def test_readiness_and_plans_are_what_they_were(store_with_data, values, validate):
    profile = store_with_data
    for key, value in values.items():
        settings.set_value(profile, key, value)
    ctx = mapping.plan_context(profile, validate=validate)
    ctx.today = date(2026, 10, 30)
    docs = list(StDocument.select().order_by(StDocument.kind, StDocument.st_id))
    assert len(docs) > 250
    seen: dict[str, int] = {}
    for doc in docs:
        expected = frozen.safe_evaluate(doc, ctx)
        assert holds.safe_evaluate(doc, ctx) == expected, doc.number
        assert _plan(accounting.plan_document, doc.kind, doc.raw, ctx) == \
            _plan(frozen.plan_document, doc.kind, doc.raw, ctx), doc.number
        seen[expected[0]] = seen.get(expected[0], 0) + 1
    # the data reaches ready documents and every kind of refusal
    assert {DocStatus.NEEDS_MAPPING, DocStatus.SKIPPED, DocStatus.DATA_PROBLEM} <= set(seen), seen
    if not values and not validate:
        assert DocStatus.READY in seen, seen


def test_the_data_reaches_what_it_is_meant_to(store_with_data):
    """The store above has what the equivalence must cover: ready plans of each kind, each reason."""
    ctx = mapping.plan_context(store_with_data)
    reasons = " | ".join(frozen.safe_evaluate(doc, ctx)[1] for doc in StDocument.select())
    for text in ("is not mapped to a NAV vendor", "is not mapped to a TERRITORY value", "is blocked",
                 "does not exist in NAV", "is not a number", "has no items", "add up to", "cannot be planned",
                 "waiting for full receipt", "is Canceled", "waiting for the vendor's credit"):
        assert text in reasons, text
    kinds = set()
    for doc in StDocument.select():
        plan = _plan(frozen.plan_document, doc.kind, doc.raw, ctx)
        kinds.add(plan[0])
    assert {"InvoicePlan", "JournalPlan", "return", "PlanError", "NotPostable"} <= kinds, kinds


AMOUNT_TEXTS = ["12.50", " 12.50 ", "\u00a012.5\u2003", "1_000.25", "1e3", "-0", "-0.00", "0", "", " ", "abc", "12,5O",
                "NaN", "sNaN", "Infinity", "-inf", "\u0661\u0662.\u0663", "1,234.50", "+3", ".5", "5.", "--1"]
AMOUNT_VALUES = [*AMOUNT_TEXTS, None, 0, 7, -3, True, False, 2.675, 0.1, Decimal("1.10"), Decimal("NaN"),
                 Decimal("-Infinity"), Decimal("1E+2"), [], {}]


@pytest.mark.parametrize("value", AMOUNT_VALUES, ids=repr)
def test_an_amount_reads_as_it_did(value):
    """The same value, problem text and exponent for each shape an amount comes in, read twice (the second
    time from what the first remembered)."""
    for _ in range(2):
        got, expected = [], []
        new = accounting._amount({"cost": value}, "cost", "PO 1 line 1", got, required=True)
        old = frozen._amount({"cost": value}, "cost", "PO 1 line 1", expected, required=True)
        assert (str(new), got) == (str(old), expected)
        line = {"quantity": value, "cost": "2.50"}
        bill = {"id": 1, "referenceNumber": "R", "billDate": "2026-10-01", "billAmount": "1", "items": [line],
                "vendor": {"id": 5}, "businessUnit": {"id": 1001}}
        ctx = accounting.PlanContext(mappings={"business_unit": {"1001": ("NORTH", "TERRITORY")}})
        assert _plan(accounting.plan_document, "inventory_bill", bill, ctx) == \
            _plan(frozen.plan_document, "inventory_bill", bill, ctx)


@pytest.mark.parametrize("value", ["2026-10-01T00:00:00Z", "2026-10-01", "2026-10-01T23:30:00-05:00", "", None,
                                   "2026-13-45", "yesterday", datetime(2026, 10, 1, 22, tzinfo=UTC)], ids=repr)
def test_a_date_reads_as_it_did(value):
    for _ in range(2):
        outcomes = []
        for read in (accounting._date, frozen._date):
            try:
                outcomes.append(read(value))
            except Exception as exc:  # noqa: BLE001 - the same exception both ways
                outcomes.append((type(exc).__name__, str(exc)))
        assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("text", ["Air filter 16x25", " lead", "trail ", "two  spaces", "tab\there", "nl\nx",
                                  "nbsp\u00a0x", "em\u2003space", "bidi \u202eevil\u202c", "nul\x00x", "é" * 120,
                                  "x" * 100, "x" * 101, "", " ", "\u2028", 10452], ids=repr)
def test_a_text_is_clipped_as_it_was(text):
    for length in (20, 35, 100):
        assert accounting._clip(text, length) == frozen._clip(text, length)


def test_no_printable_character_is_whitespace_but_the_space():
    """What ``_clip``'s shortcut rests on: a printable text holds no whitespace other than U+0020."""
    import sys
    assert [hex(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF
            and chr(c).isspace() and chr(c).isprintable() and c != 0x20] == []


def test_the_memos_stay_bounded_and_a_clear_changes_nothing():
    """A pull's unique amount texts and dates do not pile up (each memo holds at most ``_CACHE_SIZE``); what
    is read after a memo started over is what was read before."""
    first = [accounting._amount({"a": f"{n}.25"}, "a", "PO 1", []) for n in range(3 * accounting._CACHE_SIZE)]
    days = [accounting._date(f"2026-10-01T00:00:{n % 60:02d}.{n:07d}Z") for n in range(3 * accounting._CACHE_SIZE)]
    lines = [{"quantity": f"{n}", "cost": "1.50", "order": 1} for n in range(3 * accounting._CACHE_SIZE)]
    ctx = accounting.PlanContext(mappings={"business_unit": {"1": ("N", "")}})
    for line in lines:
        bill = {"id": 1, "billDate": "2026-10-01", "billAmount": str(Decimal(line["quantity"]) * Decimal("1.5")),
                "items": [line], "vendor": {"id": 5}, "businessUnit": {"id": 1}}
        accounting.plan_document("inventory_bill", bill, ctx)
    for memo in (accounting._DECIMALS, accounting._DATES, accounting._LINE_AMOUNTS):
        assert 0 < len(memo) <= accounting._CACHE_SIZE
    assert [accounting._amount({"a": f"{n}.25"}, "a", "PO 1", []) for n in range(3 * accounting._CACHE_SIZE)] == first
    assert days == [frozen._date(f"2026-10-01T00:00:{n % 60:02d}.{n:07d}Z") for n in range(3 * accounting._CACHE_SIZE)]
