"""The fast export parsers (parse_purchase_order / parse_inventory_bill / parse_inventory_return) give
exactly what the parsers before them gave: every field (value AND type, so Decimal("1.0") is not
Decimal("1")), every problem string in the same order, and the same UnreadableRecord when a shape makes
a parser raise. The yardstick is a frozen copy of the old module (reference_parsing.py), run through the
client's ``_parse_safely`` as the pull runs it, over the simulator's data with its hazards and over
hand-made oddities."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from stnav_desktop.connectors.servicetitan import parsing
from stnav_desktop.connectors.servicetitan.client import _parse_safely
from stnav_desktop.connectors.servicetitan.models import KnownIds
from stnav_desktop.sandbox import jsonutil
from stnav_desktop.sandbox.servicetitan.data import Dataset
from tests.servicetitan import reference_parsing as ref

FEEDS = {"purchase-orders": "parse_purchase_order", "inventory-bills": "parse_inventory_bill",
         "returns": "parse_inventory_return"}


def snap(value: Any) -> Any:
    """A comparable picture of a parsed value that also tells types and Decimal exponents apart."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, tuple((f.name, snap(getattr(value, f.name)))
                                            for f in dataclasses.fields(value)))
    if isinstance(value, list):
        return ["list", *(snap(v) for v in value)]
    if isinstance(value, dict):
        return ("dict", tuple((k, snap(v)) for k, v in value.items()))
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), repr(value.tzinfo))
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    return (type(value).__name__, repr(value))


def parse_both(feed: str, raw: Any, known: KnownIds | None) -> tuple[Any, Any]:
    """Old and new parser on separate deep copies (so neither can see what the other did to its input)."""
    old_parse, new_parse = getattr(ref, FEEDS[feed]), getattr(parsing, FEEDS[feed])
    old = _parse_safely(lambda r: old_parse(r, known), copy.deepcopy(raw), feed)
    new = _parse_safely(lambda r: new_parse(r, known), copy.deepcopy(raw), feed)
    return old, new


def assert_same(feed: str, raw: Any, known: KnownIds | None) -> Any:
    old, new = parse_both(feed, raw, known)
    assert new.problems == old.problems, (feed, raw)
    assert new == old, (feed, raw)
    assert snap(new) == snap(old), (feed, raw)
    # and again with the memos warm (the stamps and GL accounts of this record now cached)
    again = _parse_safely(lambda r: getattr(parsing, FEEDS[feed])(r, known), copy.deepcopy(raw), feed)
    assert snap(again) == snap(old), (feed, raw)
    return old


def wire(records: list[dict[str, Any]]) -> list[Any]:
    """As the simulator sends them and the client reads them: JSON, numbers as exact Decimals."""
    return parsing.loads(jsonutil.dumps({"data": records}))["data"]


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset(tenant=123, now=datetime(2026, 11, 1, 12, tzinfo=UTC), purchase_orders=120)


@pytest.fixture(scope="module")
def known(dataset: Dataset) -> KnownIds:
    return KnownIds(vendors=frozenset(v["id"] for v in dataset.vendors.values()),
                    business_units=frozenset(b["id"] for b in dataset.business_units.values()))


@pytest.fixture(scope="module")
def feeds(dataset: Dataset) -> dict[str, list[Any]]:
    return {"purchase-orders": wire(dataset.purchase_orders.values()),
            "inventory-bills": wire(dataset.bills.values()), "returns": wire(dataset.returns.values())}


@pytest.mark.parametrize("with_known", [True, False])
def test_simulator_feeds_with_their_hazards_parse_the_same(feeds, known, dataset, with_known):
    parsing._reset_caches()
    problems = 0
    for feed, records in feeds.items():
        assert records
        for raw in records:
            problems += len(assert_same(feed, raw, known if with_known else None).problems)
    assert dataset.bad.po and dataset.bad.bill  # the hazards are in the data...
    assert problems > 10  # ...and they were found


# -- hand-made oddities --------------------------------------------------------------------------
MONEY = [None, "", "  ", "12.5", " 12.50 ", "-1", "1,234.50", "abc", "NaN", "Infinity", "1e3", "0.0000001",
         -1, 0, 7, True, False, 12.5, float("nan"), Decimal("-0"), Decimal("-0.01"), Decimal("NaN"),
         Decimal("sNaN"), Decimal("Infinity"), Decimal("1E+3"), Decimal("2.10"), Decimal("9E+999999"),
         [], {}, {"amount": 1}, "x" * 100]
STAMPS = [None, "", "   ", "2026-10-01T18:04:47Z", "2026-10-01T18:04:47.383Z", "2026-10-01T18:04:47.1234567Z",
          "2026-10-01T18:04:47.12345678Z", "2026-10-01 18:04:47", "2026-10-01T18:04", "2026-10-01",
          "2026-10-01T10:00:00+0530", "2026-10-01T10:00:00-05:00", "2026-10-01T10:00:00.5-0500",
          "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-10-01T25:00:00Z", "2026-10-01T18:04:47.Z",
          "0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "yesterday", " 2026-10-01T18:04:47Z ",
          " 2026-10-01T18:04:47.38Z", "x2026-10-01T18:04:47.38Z", "2026-10-01T18:04:47 38Z", "2026-10-01t18:04:47Z",
          "2026-10-01T18:04:47.38+00:00Z", "2026-10-01T18:04:47.3838383838383Z", "\u0662026-10-01T18:04:47Z",
          20261001, Decimal("2026.10"), True, ["2026-10-01"], {"date": "2026-10-01"}, "x" * 100]
TEXTS = [None, "", "plain", "a\x00b", "bell\x07", "tab\tand\nnewline", "\u202eevil\u202c", "\u2066iso\u2069",
         "nul\x00 and \u202e bidi", "\x7f", "\x85next line", "lone \ud800 surrogate", "x" * 501, "y" * 4001,
         "\x00" * 5000, 123, Decimal("1.50"), True, {"a": 1}, ["a"], "bill amount"]
IDS = [None, 0, -5, 7, "7", "abc", "7.5", True, False, Decimal("7"), Decimal("7.5"), 7.0, [], {}, "9" * 30]
ITEMS = [None, [], "ab", 5, {}, {"a": 1}, [None], ["x", 5, None], [{}], [[]], [{}, "x", {"id": 1}], True]


def variants(base: dict[str, Any], fields: dict[str, list[Any]]) -> list[dict[str, Any]]:
    out = []
    for name, values in fields.items():
        for value in values:
            raw = copy.deepcopy(base)
            raw[name] = value
            out.append(raw)
        raw = copy.deepcopy(base)
        raw.pop(name, None)  # missing altogether
        out.append(raw)
    return out


def item_variants(base: dict[str, Any], fields: dict[str, list[Any]]) -> list[dict[str, Any]]:
    out = []
    for item in variants(base["items"][0], fields):
        raw = copy.deepcopy(base)
        raw["items"] = [item, copy.deepcopy(base["items"][0])]
        out.append(raw)
    return out


GL = [None, {}, {"id": None}, {"id": "12"}, {"id": True}, {"id": 0}, {"id": 5, "name": 7},
      {"id": 5, "name": {"x": 1}}, {"id": 5, "name": "A", "number": Decimal("6130")},
      {"id": Decimal("5"), "name": "A"}, {"id": 5.0}, "4002", 4002, [],
      {"id": 4002, "name": "Equipment Cost", "number": "6130", "type": "Expense", "detailType": "COGS"}]


def po_cases(base: dict[str, Any]) -> list[dict[str, Any]]:
    fields = {k: MONEY for k in ("total", "tax", "shipping")}
    fields |= {k: STAMPS for k in ("date", "requiredOn", "sentOn", "receivedOn", "createdOn", "modifiedOn")}
    fields |= {k: TEXTS for k in ("number", "vendorDocumentNumber", "summary", "status")}
    fields |= {k: IDS for k in ("id", "vendorId", "businessUnitId", "typeId", "jobId", "invoiceId")}
    fields |= {"items": ITEMS, "customFields": [None, [], [{"a": 1}], 5, "ab", {"a": 1}, True, Decimal("1")],
               "shipTo": [None, "x", {"a": 1}]}
    item_fields = {k: MONEY for k in ("quantity", "quantityReceived", "cost", "total")}
    item_fields |= {k: TEXTS for k in ("skuCode", "skuName", "skuType", "description", "vendorPartNumber", "status")}
    item_fields |= {k: IDS for k in ("id", "skuId")} | {"chargeable": [None, 0, 1, "false", [], True]}
    return variants(base, fields) + item_variants(base, item_fields)


def bill_cases(base: dict[str, Any]) -> list[dict[str, Any]]:
    fields = {k: MONEY for k in ("billAmount", "taxAmount", "shippingAmount", "otherAmount")}
    fields |= {k: STAMPS for k in ("billDate", "dueDate", "createdOn", "modifiedOn")}
    fields |= {k: TEXTS for k in ("referenceNumber", "vendorNumber", "summary", "syncStatus", "jobNumber")}
    fields |= {k: IDS for k in ("id", "purchaseOrderId", "jobId")}
    fields |= {"items": ITEMS, "active": [None, False, 0, "", "no", True],
               "vendor": [None, {}, {"id": 0}, {"id": "2003", "name": 5}, {"id": 9999}, [], "2003"],
               "businessUnit": [None, {}, {"id": None}, {"id": 9999, "name": None}, 1001]}
    item_fields = {k: MONEY for k in ("quantity", "cost")}
    item_fields |= {k: TEXTS for k in ("skuCode", "skuType", "name", "description", "inventoryLocation")}
    item_fields |= {k: IDS for k in ("id", "order", "skuId", "receiptItemId")}
    item_fields |= {k: GL for k in ("generalLedgerAccount", "costOfSaleAccount", "assetAccount")}
    return variants(base, fields) + item_variants(base, item_fields)


def return_cases(base: dict[str, Any]) -> list[dict[str, Any]]:
    fields = {k: MONEY for k in ("returnAmount", "taxAmount", "shippingAmount")}
    fields |= {k: STAMPS for k in ("creditReceivedOn", "modifiedOn")}
    fields |= {k: TEXTS for k in ("number", "status", "memo")}
    fields |= {k: IDS for k in ("id", "vendorId", "businessUnitId", "purchaseOrderId", "jobId")}
    fields |= {"items": ITEMS, "active": [None, False, 0, True]}
    item_fields = {k: MONEY for k in ("quantity", "cost")} | {k: TEXTS for k in ("code", "name")}
    item_fields |= {k: IDS for k in ("id", "skuId")} | {"active": [None, False, 0, True]}
    return variants(base, fields) + item_variants(base, item_fields)


CASES = {"purchase-orders": po_cases, "inventory-bills": bill_cases, "returns": return_cases}


@pytest.mark.parametrize("feed", list(CASES))
def test_oddities_parse_the_same(feeds, known, feed):
    parsing._reset_caches()
    base = next(r for r in feeds[feed] if isinstance(r, dict) and r.get("items"))
    cases = CASES[feed](base)
    assert len(cases) > 300
    unreadable = 0
    for raw in cases:
        rec = assert_same(feed, raw, known)
        unreadable += type(rec).__name__ == "UnreadableRecord"
    assert unreadable  # shapes that make a parser raise are among them, and raise the same way


def test_combinations_and_entries_that_are_not_objects(feeds, known):
    po = next(r for r in feeds["purchase-orders"] if r.get("items"))
    bill = next(r for r in feeds["inventory-bills"] if r.get("items"))
    odd_po = copy.deepcopy(po) | {"id": None, "number": None, "vendorId": 0, "businessUnitId": None,
                                  "total": "-3", "tax": Decimal("NaN"), "summary": "\u202e" + "z" * 4001,
                                  "modifiedOn": "2026-10-01T18:04:47.1234567+0200"}
    odd_po["items"] = [{"cost": -1, "total": "x", "skuCode": "\x00"}, 5, {"quantity": Decimal("-2")}]
    odd_bill = copy.deepcopy(bill) | {"id": "abc", "referenceNumber": "R\x07 bill amount", "billAmount": None,
                                      "vendorNumber": "\u2067" * 600}
    odd_bill["items"] = [{"order": 3, "quantity": "2", "cost": "-1.5"}, {"order": "x", "generalLedgerAccount": {}}]
    no_amount = copy.deepcopy(bill) | {"billAmount": None}  # "has no bill amount" (nothing else says it)
    for feed, raw in [("purchase-orders", odd_po), ("inventory-bills", odd_bill), ("inventory-bills", no_amount),
                      ("purchase-orders", "not an object"), ("returns", [1, 2]), ("inventory-bills", None)]:
        assert_same(feed, raw, known)


def test_the_comparison_would_see_a_changed_message(feeds, known):
    """The yardstick is not vacuous: the old parser's messages are there to compare, word for word."""
    po = copy.deepcopy(next(r for r in feeds["purchase-orders"] if r.get("items")))
    po["items"][0]["cost"] = Decimal("-1")
    po["shipping"] = "1,5"
    old, new = parse_both("purchase-orders", po, known)
    label = f"PO {po['number']}"
    assert f"{label}: line 1: cost -1 is negative" in old.problems
    assert f"{label}: shipping '1,5' is not a number" in old.problems
    assert new.problems == old.problems
    changed = copy.deepcopy(new)
    changed.problems[0] = changed.problems[0].replace("is negative", "is below zero")
    assert snap(changed) != snap(old)


def test_memos_stay_bounded_and_a_clear_changes_nothing(feeds, known, monkeypatch):
    """The stamp / money / GL memos never hold more than their bound (a pull's 55,000 stamps would stay
    alive otherwise), and being cleared every few records gives the same records."""
    monkeypatch.setattr(parsing, "_DT_MEMO_MAX", 3)
    monkeypatch.setattr(parsing, "_MONEY_MEMO_MAX", 3)
    monkeypatch.setattr(parsing, "_GL_MEMO_MAX", 1)
    parsing._reset_caches()
    for feed, records in feeds.items():
        for raw in records:
            assert_same(feed, raw, known)
            assert len(parsing._DT_MEMO) <= 3 and len(parsing._MONEY_MEMO) <= 3 and len(parsing._GL_MEMO) <= 1
    parsing._reset_caches()
