"""Parsing and error mapping without the simulator (``responses``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses

from stnav_desktop.connectors.http import AuthError, HttpError, RetryPolicy
from stnav_desktop.connectors.servicetitan import ServiceTitanClient, ServiceTitanConfig
from stnav_desktop.connectors.servicetitan.parsing import (
    format_datetime,
    loads,
    parse_datetime,
    parse_decimal,
    parse_inventory_bill,
    parse_purchase_order,
    text_problems,
)

TOKEN_URL = "https://auth-integration.servicetitan.io/connect/token"
API = "https://api-integration.servicetitan.io"
SECRET = "cs1.unit-test-secret-0123456789"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJ0ZW5hbnQiOiIxMjMifQ.sig-unit-test-token-abcdef"
NO_RETRY = RetryPolicy(total=0, backoff_factor=0, backoff_jitter=0)


def make_client(**kw):
    cfg = ServiceTitanConfig(tenant=123, client_id="cid.unit", app_key="ak1.unit-app-key-xyz",
                             environment="integration", retry=NO_RETRY, **kw)
    return ServiceTitanClient(cfg, SECRET)


def add_token(rsps, status=200, body=None):
    rsps.add(responses.POST, TOKEN_URL, status=status,
             json=body if body is not None else {"access_token": TOKEN, "expires_in": 900, "token_type": "Bearer"})


def test_config_defaults_are_real_hosts():
    prod = ServiceTitanConfig(tenant=1, client_id="c", app_key="a")
    assert prod.token_url == "https://auth.servicetitan.io/connect/token"
    assert prod.api_root == "https://api.servicetitan.io"
    integ = ServiceTitanConfig(tenant=1, client_id="c", app_key="a", environment="integration")
    assert integ.token_url == TOKEN_URL and integ.api_root == API
    with pytest.raises(ValueError):
        ServiceTitanConfig(tenant=1, client_id="c", app_key="a", environment="prod")


def test_datetimes_and_decimals():
    assert parse_datetime("2026-10-02T15:20:51.6Z") == datetime(2026, 10, 2, 15, 20, 51, 600000, tzinfo=UTC)
    assert parse_datetime("2026-10-02T15:20:51.1234567Z").microsecond == 123456
    assert parse_datetime("2025-10-13T00:00:00").tzinfo is not None  # offset-less -> UTC
    assert parse_datetime("2026-10-02T10:00:00-05:00") == datetime(2026, 10, 2, 15, tzinfo=UTC)
    assert parse_datetime("2020-01-01") == datetime(2020, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_datetime("yesterday")
    assert format_datetime(datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"
    assert loads(b'{"a": 131.25}')["a"] == Decimal("131.25")
    assert parse_decimal("12.50") == Decimal("12.50") and parse_decimal(7) == Decimal(7)
    for bad in ("abc", "NaN", "Infinity", True, "12,5O"):
        with pytest.raises(ValueError):
            parse_decimal(bad)


def test_text_problems():
    assert text_problems("memo", "fine\ttext\n") == []
    assert "NUL" in text_problems("memo", "a\x00b")[0]
    assert "control" in text_problems("memo", "a\x07b")[0]
    assert "bidirectional" in text_problems("memo", "abc\u202edef")[0]
    assert "absurdly long" in text_problems("memo", "x" * 5000)[0]


PO = {
    "id": 40123377, "number": "10452-001", "invoiceId": None, "jobId": 38110021, "projectId": None,
    "status": "Received", "typeId": 2, "vendorId": 915, "technicianId": 1204,
    "shipTo": {"street": "123 Main St", "unit": None, "city": "Tulsa", "state": "OK", "zip": "74103",
               "country": "USA"},
    "businessUnitId": 4, "inventoryLocationId": 77, "batchId": None, "budgetCodeId": None,
    "vendorDocumentNumber": "INV-88231", "date": "2026-10-02T00:00:00Z", "requiredOn": "2026-10-04T00:00:00Z",
    "sentOn": "2026-10-02T15:21:09.417Z", "receivedOn": "2026-10-05T13:02:44.09Z",
    "createdOn": "2026-10-02T15:20:51.6Z", "modifiedOn": "2026-10-05T13:02:44.123Z",
    "total": Decimal("131.25"), "tax": Decimal("8.75"), "shipping": Decimal("10.00"), "createdById": 5561,
    "summary": "Filters for RTU job", "brandNewField": {"x": 1},
    "items": [{"id": 90001, "skuId": 8, "description": "<p>20x25x1 pleated filter</p>",
               "createdOn": "2026-10-02T15:20:51.6Z", "modifiedOn": "2026-10-05T13:02:44.123Z",
               "skuName": "Filter 20x25x1", "skuCode": "FLT-20251", "skuType": "Material",
               "vendorPartNumber": "VP-8", "quantity": 10, "quantityReceived": 10, "cost": Decimal("11.25"),
               "total": Decimal("112.50"), "serialNumbers": [], "status": "Received", "chargeable": True,
               "budgetCodeId": None}],
    "customFields": [],
}


def test_parse_purchase_order_keeps_raw_and_extras():
    po = parse_purchase_order(PO)
    assert po.ok, po.problems
    assert po.total == Decimal("131.25") and po.items[0].cost == Decimal("11.25")
    assert po.raw["brandNewField"] == {"x": 1}
    assert po.modified_on == datetime(2026, 10, 5, 13, 2, 44, 123000, tzinfo=UTC)
    bad = parse_purchase_order({**PO, "vendorId": 0, "total": "lots"})
    assert "PO 10452-001: vendor 0 does not exist in ServiceTitan" in bad.problems
    assert any("total 'lots' is not a number" in p for p in bad.problems)
    assert parse_purchase_order({**PO, "total": Decimal("999")}).problems[0].startswith("PO 10452-001: total 999")


BILL = {
    "id": 7700123, "purchaseOrderId": 40123377, "syncStatus": "Pending", "referenceNumber": "10452-001-R1",
    "vendorNumber": "V-915", "summary": "Filters", "billDate": "2026-10-05T00:00:00Z", "billAmount": "131.25",
    "taxAmount": "8.75", "shippingAmount": "10.00", "landedCostMethod": 0, "otherAmount": None,
    "createdOn": "2026-10-05T13:02:45.01Z", "modifiedOn": "2026-10-05T13:02:45.01Z",
    "businessUnit": {"id": 4, "name": "HVAC - North"}, "vendor": {"id": 915, "name": "Ferguson"},
    "items": [{"order": 1, "name": "Filter", "quantity": "10", "cost": "11.25", "id": 880001, "skuId": 8,
               "skuType": "Material", "skuCode": "FLT-20251",
               "generalLedgerAccount": {"id": 501, "name": "Inventory Asset", "number": "1300", "type": "Asset",
                                        "detailType": "Inventory"}}],
}


def test_parse_inventory_bill_strings_to_decimal():
    bill = parse_inventory_bill(BILL)
    assert bill.ok, bill.problems
    assert bill.bill_amount == Decimal("131.25") and bill.items[0].amount == Decimal("112.50")
    assert bill.items[0].general_ledger_account.number == "1300"
    neg = parse_inventory_bill({**BILL, "billAmount": "-5.00", "vendor": None})
    assert any("bill amount -5.00 is negative" in p for p in neg.problems)
    assert any("vendor (none) does not exist" in p for p in neg.problems)


@responses.activate
def test_token_cached_app_key_and_bearer_sent():
    add_token(responses)
    url = f"{API}/inventory/v2/tenant/123/vendors"
    responses.add(responses.GET, url, json={"page": 1, "pageSize": 5000, "hasMore": False, "totalCount": None,
                                            "data": [{"id": 1, "name": "V", "active": True}]})
    client = make_client()
    assert len(client.vendors()) == 1 and len(client.vendors()) == 1
    calls = [c for c in responses.calls if c.request.url.startswith(url)]
    assert calls[0].request.headers["ST-App-Key"] == "ak1.unit-app-key-xyz"
    assert calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "pageSize=5000" in calls[0].request.url and "active=Any" in calls[0].request.url
    assert sum(1 for c in responses.calls if c.request.url == TOKEN_URL) == 1
    body = responses.calls[0].request.body
    assert "grant_type=client_credentials" in body and "client_id=cid.unit" in body


@responses.activate
def test_error_mapping_rfc7807():
    add_token(responses)
    url = f"{API}/inventory/v2/tenant/123/purchase-orders/5"
    responses.add(responses.GET, url, status=404, json={
        "type": "https://tools.ietf.org/html/rfc7231#section-6.5.4", "title": "Purchase order not found",
        "status": 404, "traceId": "00-abc-def-00", "errors": {}, "data": {}})
    with pytest.raises(HttpError) as err:
        make_client().get_purchase_order(5)
    assert err.value.status == 404 and err.value.correlation_id == "00-abc-def-00"
    assert "Purchase order not found" in str(err.value) and not err.value.retryable


@responses.activate
def test_error_mapping_validation_and_5xx():
    add_token(responses)
    url = f"{API}/inventory/v2/tenant/123/vendors"
    responses.add(responses.GET, url, status=400, json={
        "type": "x", "title": "One or more validation errors occurred.", "status": 400, "traceId": "t",
        "errors": {"pageSize": ["The field pageSize must be between 1 and 5000."]}, "data": {}})
    responses.add(responses.GET, url, status=503, body="upstream down")
    client = make_client()
    with pytest.raises(HttpError, match="pageSize: The field pageSize"):
        client.vendors()
    with pytest.raises(HttpError) as err:
        client.vendors()
    assert err.value.retryable and err.value.status == 503


@responses.activate
def test_401_refreshes_once_then_auth_error():
    add_token(responses)
    url = f"{API}/inventory/v2/tenant/123/vendors"
    responses.add(responses.GET, url, status=401, json={"type": "x", "title": "Unauthorized", "status": 401,
                                                        "traceId": "t", "errors": {}, "data": {}})
    with pytest.raises(AuthError, match="refused even after a refresh"):
        make_client().vendors()
    assert sum(1 for c in responses.calls if c.request.url == TOKEN_URL) == 2
    assert sum(1 for c in responses.calls if c.request.url.startswith(url)) == 2


@responses.activate
def test_token_errors_say_what_failed(caplog):
    caplog.set_level(logging.DEBUG)
    add_token(responses, status=400, body={"error": "invalid_client"})
    with pytest.raises(AuthError) as err:
        make_client().vendors()
    msg = str(err.value)
    assert "client id or client secret" in msg and "environment" in msg
    assert SECRET not in msg and SECRET not in caplog.text
    responses.replace(responses.POST, TOKEN_URL, status=404, body="")
    with pytest.raises(AuthError, match="token URL was not found"):
        make_client().vendors()


@responses.activate
def test_mark_exported_request_shape():
    add_token(responses)
    url = f"{API}/accounting/v2/tenant/123/inventory-bills/markasexported"
    responses.add(responses.POST, url, json=[{"inventoryBillId": 1, "success": True, "errorMessage": None},
                                             {"inventoryBillId": 2, "success": False, "errorMessage": "locked"}])
    res = make_client().mark_bills_exported([1, 2])
    assert [(r.bill_id, r.success, r.error) for r in res] == [(1, True, None), (2, False, "locked")]
    import json

    assert json.loads(responses.calls[-1].request.body) == {"inventoryBillIds": [1, 2]}


@responses.activate
def test_bare_array_inventory_bills_list_pages_until_short():
    add_token(responses)
    client = make_client(page_size=2)
    url = f"{API}/accounting/v2/tenant/123/inventory-bills"
    responses.add(responses.GET, url, json=[BILL, {**BILL, "id": 2}])
    responses.add(responses.GET, url, json=[{**BILL, "id": 3}])
    pages = list(client.iter_list("accounting", "inventory-bills", parse_inventory_bill))
    assert [len(p) for p in pages] == [2, 1]
