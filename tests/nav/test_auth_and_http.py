import logging
from datetime import date
from decimal import Decimal

import pytest
import responses

from stnav_desktop.connectors.http import RetryPolicy
from stnav_desktop.connectors.nav.checks import connection_checks
from stnav_desktop.connectors.nav.client import NavClient
from stnav_desktop.connectors.nav.config import NavConfig
from stnav_desktop.connectors.nav.errors import ConflictError, NavAuthError, UnsupportedServerError
from stnav_desktop.connectors.nav.purchase_invoices import (
    InvoiceLineSpec,
    PurchaseInvoices,
    PurchaseInvoiceSpec,
)
from stnav_desktop.connectors.nav.refdata import RefData

from .conftest import FAST_RETRY, online_config, onprem_config

D = Decimal


def _spec(vin):
    return PurchaseInvoiceSpec("V20000", vin, date(2026, 11, 2), date(2026, 11, 2),
                               [InvoiceLineSpec("Item", "1010", D("2"), D("14.20"))], dimensions={"TERRITORY": "EAST"})


def test_msal_online_end_to_end(online_client, nav_online):
    checks = connection_checks(online_client)
    assert all(c.ok for c in checks), checks
    assert [c.name for c in checks][:2] == ["token", "companies"]
    res = PurchaseInvoices(online_client).create(_spec("ONL-1"), post=True)
    assert res.posted


def test_token_expiry_refreshes_once(online_client, nav_online):
    ref = RefData(online_client)
    assert ref.vendors()
    nav_online.expire_tokens()  # BC now answers 401; the client drops msal's cached token and retries
    assert len(ref.vendors()) == 6


def test_wrong_client_secret_gives_clear_failure(nav_online, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "totally-wrong-secret-value-123"
    client = NavClient(online_config(nav_online), wrong, retry=FAST_RETRY)
    checks = connection_checks(client)
    assert checks[0].name == "token" and not checks[0].ok
    assert "invalid_client" in checks[0].message and "AADSTS7000215" in checks[0].message
    assert wrong not in checks[0].message and wrong not in caplog.text
    assert nav_online.client_secret not in caplog.text


def test_basic_auth_onprem(client, nav_onprem):
    assert all(c.ok for c in connection_checks(client))
    bad = NavClient(onprem_config(nav_onprem), "wrong-key-abcdefgh", retry=FAST_RETRY)
    with pytest.raises(NavAuthError) as err:
        RefData(bad).vendors()
    assert err.value.code == "Authentication_InvalidCredentials" and err.value.status == 401
    assert "wrong-key-abcdefgh" not in str(err.value)


def test_secrets_never_in_exceptions_or_logs(nav_onprem, caplog):
    caplog.set_level(logging.DEBUG)
    key = nav_onprem.basic_key
    client = NavClient(onprem_config(nav_onprem), key, retry=FAST_RETRY)
    nav_onprem.faults.fail(500, times=10, method="GET")
    with pytest.raises(Exception) as err:
        RefData(client).vendors()
    assert key not in str(err.value) and key not in caplog.text
    assert "Authorization" not in caplog.text or "***" in caplog.text


def test_nav2018_beta_is_refused_clearly(nav_onprem):
    cfg = NavConfig(deployment="onprem", api_url="https://nav.example.local:7048/NAV/api/beta/", user="u",
                    company_id=nav_onprem.company_id)
    with pytest.raises(UnsupportedServerError, match="api/beta"):
        NavClient(cfg, "some-key-123456")


@pytest.mark.parametrize("status", [409, 412])
def test_stale_etag_is_reread_and_retried(client, nav_onprem, status):
    nav_onprem.etag_conflict_status = status
    inv = PurchaseInvoices(client).create(_spec(f"ET-{status}"))
    nav_onprem.touch("purchaseInvoices", inv.id)  # someone else changed it
    path = client.cpath(f"purchaseInvoices({inv.id})")
    rec = client.patch(path, {"shipToName": "Warehouse 2"}, inv.etag)
    assert rec["shipToName"] == "Warehouse 2"
    with pytest.raises(ConflictError) as err:
        client.patch(path, {"shipToName": "X"}, inv.etag, retry_on_conflict=False)
    assert err.value.code == "Request_EntityChanged"
    nav_onprem.etag_conflict_status = 409


def test_429_storm_slows_down_without_losing_anything(nav_onprem, monkeypatch):
    slept = []
    import urllib3.util.retry as r

    monkeypatch.setattr(r.time, "sleep", lambda s: slept.append(s))
    client = NavClient(onprem_config(nav_onprem), nav_onprem.basic_key,
                       retry=RetryPolicy(total=8, backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0))
    nav_onprem.faults.fail(429, times=5, retry_after="2", method="POST")
    pi = PurchaseInvoices(client)
    results = [pi.create(_spec(f"RL-{i}")) for i in range(3)]
    assert len({r.id for r in results}) == 3
    assert len(nav_onprem.purchase_invoices()) == 3
    assert nav_onprem.status_counts.get(429) == 5
    assert slept.count(2.0) >= 5  # Retry-After honoured on each 429


@responses.activate
def test_error_mapping_and_paging_with_responses():
    base = "https://bc.example/v2.0/t/Production/api/v2.0/"
    cid = "11111111-2222-3333-4444-555555555555"
    cfg = NavConfig(deployment="onprem", api_url=base, user="u", company_id=cid)
    client = NavClient(cfg, "key-abcdef-123", retry=RetryPolicy(total=0))
    url = f"{base}companies({cid})/vendors"
    responses.get(url, json={"value": [{"number": "V1"}], "@odata.nextLink": url + "?$skiptoken=opaque%21"},
                  match=[responses.matchers.query_param_matcher({})])
    responses.get(url, json={"value": [{"number": "V2"}]},
                  match=[responses.matchers.query_param_matcher({"$skiptoken": "opaque!"})])
    assert [v["number"] for v in RefData(client).vendors()] == ["V1", "V2"]
    assert responses.calls[0].request.headers["Prefer"] == "odata.maxpagesize=1000"
    responses.post(f"{base}companies({cid})/purchaseInvoices", status=400, headers={"ms-correlation-x": "corr-1"},
                   json={"error": {"code": "Application_DialogException", "message": "You cannot create this type of "
                                   "document when Vendor V60000 is blocked with type All  CorrelationId:  "
                                   "41403538-77d3-4eed-ac4a-84b730dc6310."}})
    with pytest.raises(Exception) as err:
        client.post(client.cpath("purchaseInvoices"), {"vendorNumber": "V60000"})
    e = err.value
    assert str(e).startswith("Vendor V60000 is blocked")
    assert e.code == "Application_DialogException" and e.correlation_id == "corr-1"
    assert "CorrelationId" not in e.nav_message
    responses.get(f"{base}companies({cid})/items", status=404,
                  json={"error": {"code": "BadRequest_NotFound", "message": "No HTTP resource was found."}})
    with pytest.raises(Exception) as err:
        client.get(client.cpath("items"))
    assert err.value.status == 404 and err.value.code == "BadRequest_NotFound"
