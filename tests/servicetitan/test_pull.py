"""End-to-end pulls against the simulator: token expiry, 429 storms, resume, bad records, write-back."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest

from stnav_desktop.connectors.http import AuthError, TransportError
from stnav_desktop.connectors.servicetitan import Deduper, dedupe


class FakeStore:
    """What the sync engine does: store the rows of a page, then the token."""

    def __init__(self):
        self.rows: dict[int, object] = {}
        self.versions: list[tuple[int, object]] = []
        self.token: str | None = None

    def save(self, page):
        for r in page.records:
            self.rows[r.id] = r
            self.versions.append(r.key)
        self.token = page.continue_from


def test_full_export_pull_gets_every_po_and_bill(sandbox, client):
    store = FakeStore()
    pages = 0
    for page in client.iter_export_purchase_orders(store.token):
        store.save(page)
        pages += 1
    assert sorted(store.rows) == sandbox.purchase_order_ids()
    assert len(store.versions) == len(store.rows)  # no duplicates
    assert pages == 6  # 60 POs, 10 per export batch
    bills = [b for p in client.iter_export_inventory_bills() for b in p.records]
    assert sorted(b.id for b in bills) == sandbox.bill_ids()
    # money exact, datetimes aware UTC
    po = store.rows[sandbox.purchase_order_ids()[0]]
    assert isinstance(po.total, Decimal) and po.created_on.tzinfo is not None
    assert po.total == sum(i.total for i in po.items) + po.tax + po.shipping
    ok_bill = next(b for b in bills if b.ok)
    assert isinstance(ok_bill.bill_amount, Decimal)
    assert ok_bill.items[0].general_ledger_account.id in (4001, 4002)


def test_two_part_receipt_gives_two_bills(sandbox, client):
    bills = [b for p in client.iter_export_inventory_bills() for b in p.records]
    by_po: dict[int, list] = {}
    for b in bills:
        by_po.setdefault(b.purchase_order_id, []).append(b)
    split = [v for v in by_po.values() if len(v) == 2]
    assert split, "seeded data must contain POs received in two parts"
    for pair in split:
        assert pair[0].reference_number.endswith("-R1") and pair[1].reference_number.endswith("-R2")


def test_token_expiry_mid_pull_shared_clock_refreshes_ahead(sandbox, make_client, fake_clock):
    client = make_client(clock=fake_clock)
    seen = []
    for page in client.iter_export_purchase_orders():
        seen.extend(r.id for r in page.records)
        fake_clock.advance(seconds=301)  # 6 pages -> 30 minutes: two token lifetimes crossed
    assert sorted(seen) == sandbox.purchase_order_ids()
    assert [r for r in sandbox.requests if r.status == 401] == []  # refreshed ahead of expiry
    assert sandbox.token_requests == 2  # 0 s and 903 s (the 840 s early-refresh point passed)


def test_token_expiry_mid_pull_server_clock_only_401_then_retry(sandbox, client, fake_clock):
    """The client trusts its own clock; the server's clock jumps 15 min: 401 -> refresh -> retry, no failure."""
    seen = []
    for page in client.iter_export_purchase_orders():
        seen.extend(r.id for r in page.records)
        fake_clock.advance(seconds=900)
    assert sorted(seen) == sandbox.purchase_order_ids()
    statuses = [r.status for r in sandbox.requests]
    assert statuses.count(401) >= 5  # each page hit an expired token once...
    assert statuses.count(200) >= 6 + 2  # ...and every page still arrived


def test_revoked_token_is_replaced(sandbox, client):
    client.vendors()
    sandbox.revoke_tokens()
    assert len(client.vendors()) == 7


def test_429_storm_survived_nothing_lost(sandbox, client, caplog):
    caplog.set_level(logging.DEBUG)
    client.known_ids()
    sandbox.set_faults(fail_next=[429, 429, 429, 503, 429, 429], retry_after=0)
    store = FakeStore()
    for page in client.iter_export_purchase_orders():
        store.save(page)
        sandbox.set_faults(burst_429=3)  # another burst before every page
    assert sorted(store.rows) == sandbox.purchase_order_ids()
    assert len(store.versions) == 60
    assert sum(1 for r in sandbox.requests if r.status == 429) >= 15


def test_interrupted_pull_resumes_exactly(sandbox, client):
    store = FakeStore()
    client.known_ids()
    sandbox.set_faults(drop_after_calls=3)  # the 3rd feed call dies mid-way
    with pytest.raises(TransportError):
        for page in client.iter_export_purchase_orders(store.token):
            store.save(page)
    assert 0 < len(store.rows) < 60
    # meanwhile someone edits a PO that was already pulled: it must come again, once
    first = sorted(store.rows)[0]
    sandbox.edit_purchase_order(first, summary="changed after pull")
    for page in client.iter_export_purchase_orders(store.token):
        store.save(page)
    assert sorted(store.rows) == sandbox.purchase_order_ids()
    assert len(store.versions) == 61  # 60 + the edited one, no gap, no duplicate
    assert store.rows[first].summary == "changed after pull"
    # caught up: an empty final page with a fresh token
    pages = list(client.iter_export_purchase_orders(store.token))
    assert len(pages) == 1 and pages[0].records == [] and not pages[0].has_more and pages[0].continue_from


def test_bad_records_kept_with_problems_rest_lands(sandbox, client):
    bad = sandbox.bad_records
    store = FakeStore()
    for page in client.iter_export_purchase_orders():
        store.save(page)
    assert len(store.rows) == 60
    problems = {pid: store.rows[pid].problems for pid in bad["purchase_orders"].values()}
    po0 = store.rows[bad["purchase_orders"]["vendor_zero"]]
    assert f"PO {po0.number}: vendor 0 does not exist in ServiceTitan" in po0.problems
    assert any("vendor 9999 does not exist" in p for p in problems[bad["purchase_orders"]["unknown_vendor"]])
    assert any("business unit 9999" in p for p in problems[bad["purchase_orders"]["unknown_business_unit"]])
    assert any("absurdly long" in p for p in problems[bad["purchase_orders"]["long_text"]])
    cc = problems[bad["purchase_orders"]["control_chars"]]
    assert any("NUL" in p for p in cc) and any("bidirectional" in p for p in cc)
    assert any("negative" in p for p in problems[bad["purchase_orders"]["negative_amount"]])
    good = [r for r in store.rows.values() if r.ok]
    assert len(good) >= 50
    bills = {b.id: b for p in client.iter_export_inventory_bills() for b in p.records}
    assert len(bills) == len(sandbox.bill_ids())
    bb = bad["inventory_bills"]
    assert any("is not a number" in p for p in bills[bb["non_numeric_amount"]].problems)
    assert bills[bb["non_numeric_amount"]].bill_amount is None
    assert any("is negative" in p for p in bills[bb["negative_amount"]].problems)
    assert any("vendor (none) does not exist" in p for p in bills[bb["missing_vendor"]].problems)
    assert any("business unit 9999" in p for p in bills[bb["unknown_business_unit"]].problems)


def test_list_pull_with_watermark_and_dedupe(sandbox, client, fake_clock):
    pos = [r for p in client.iter_purchase_orders(page_size=25) for r in p.records]
    assert len(pos) == 60
    watermark = max(p.modified_on for p in pos)
    fake_clock.advance(minutes=5)
    edited = sandbox.purchase_order_ids()[5]
    sandbox.edit_purchase_order(edited, summary="edited")
    new = sandbox.add_purchase_orders(2)
    again = [r for p in client.iter_purchase_orders(watermark) for r in p.records]  # inclusive: re-reads boundary
    d = Deduper()
    d(pos)
    fresh = d(again)
    assert sorted(r.id for r in fresh) == sorted([edited, *new])
    assert len(list(dedupe(pos + pos))) == 60


def test_reference_data(sandbox, client):
    assert {v.id for v in client.vendors()} == {2001, 2002, 2003, 2004, 2005, 2006, 2007}
    bus = client.business_units()
    assert [b.name for b in sorted(bus, key=lambda b: b.id)][0] == "HVAC Service - North"
    skus = client.skus()
    assert {s.kind for s in skus} == {"Material", "Equipment"}
    assert all(isinstance(s.cost, Decimal) for s in skus)
    assert len([r for p in client.iter_skus("Service") for r in p.records]) == 2
    assert {g.number for g in client.gl_accounts()} >= {"6110", "6130"}
    jobs = [r for p in client.iter_jobs(ids=[38110000, 38110001]) for r in p.records]
    assert [j.job_number for j in jobs] == ["10400", "10401"]
    assert len(client.inventory_locations()) == 3
    po = client.get_purchase_order(sandbox.purchase_order_ids()[0])
    assert po.items


def test_mark_bills_exported(sandbox, client, fake_clock):
    bill_ids = sandbox.bill_ids()[:3]
    fake_clock.advance(minutes=1)
    results = client.mark_bills_exported([*bill_ids, 999])
    assert [(r.bill_id, r.success) for r in results] == [*[(b, True) for b in bill_ids], (999, False)]
    assert sandbox.exported_bill_ids == bill_ids
    exported = [b for p in client.iter_inventory_bills(sync_statuses=["Exported"]) for b in p.records]
    assert sorted(b.id for b in exported) == bill_ids
    assert all(b.modified_on == fake_clock.now().replace(microsecond=0) or b.modified_on >= fake_clock.now()
               - timedelta(seconds=1) for b in exported)


def test_mark_bills_exported_5xx_is_raised_retryable(sandbox, client):
    client.vendors()
    sandbox.set_faults(fail_next=[503])
    from stnav_desktop.connectors.http import ConnectorError

    with pytest.raises(ConnectorError) as err:
        client.mark_bills_exported([sandbox.bill_ids()[0]])
    assert err.value.retryable and err.value.status == 503
    assert sandbox.exported_bill_ids == []  # a POST is not retried on 5xx


def test_wrong_secret_is_auth_error_without_secret(sandbox, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(secret="cs1.totally-wrong-secret-value")
    with pytest.raises(AuthError) as err:
        client.vendors()
    text = str(err.value)
    assert "client id or client secret" in text and "invalid_client" in text
    assert "totally-wrong-secret-value" not in text
    assert "totally-wrong-secret-value" not in caplog.text


def test_wrong_client_id(sandbox, make_client):
    client = make_client(client_id="cid.nobody")
    with pytest.raises(AuthError, match="invalid_client"):
        client.vendors()


def test_missing_app_key(sandbox, make_client):
    client = make_client(app_key="")
    with pytest.raises(AuthError, match="ST-App-Key"):
        client.vendors()


def test_wrong_tenant_is_forbidden(sandbox, make_client):
    client = make_client(tenant=999)
    with pytest.raises(AuthError, match="connect the app to this tenant"):
        client.vendors()


def test_secrets_never_in_logs_or_errors(sandbox, client, caplog):
    caplog.set_level(logging.DEBUG)
    client.vendors()
    token = client.auth.token()
    sandbox.set_faults(fail_next=[500] * 7)
    with pytest.raises(Exception) as err:
        client.vendors()
    sandbox.set_faults(fail_next=[])
    for secret in (sandbox.client_secret, token, sandbox.app_key):
        assert secret not in str(err.value)
        assert secret not in caplog.text
        assert secret not in repr(client.config) or secret == sandbox.app_key


def test_one_limiter_per_tenant_and_calls_stay_under_it(sandbox, make_client):
    from stnav_desktop.connectors.http import CallCounter

    fake = {"t": 1000.0}
    counter = CallCounter(clock=lambda: fake["t"])
    client = make_client(counter=counter, calls_per_second=20)
    other = make_client()  # same tenant + environment: same limiter, whatever the instance
    assert other.limiter is client.limiter and client.limiter.calls == 60  # the later client set 60/s
    client.limiter.calls = 20
    client.limiter._clock = lambda: fake["t"]  # virtual time: no real waiting
    client.limiter._sleep = lambda s: fake.__setitem__("t", fake["t"] + s)
    for _ in range(50):
        client.get("settings", "business-units", {"pageSize": 1})
    assert counter.total == 51  # 50 calls + 1 token
    assert counter.peak_per_second <= 21  # the token call is not rate limited
    assert fake["t"] - 1000.0 >= 2.0  # 50 calls at 20/s need at least 2 virtual seconds
    assert not any(r.status == 429 for r in sandbox.requests)


def test_simulator_enforces_rate_limit(sandbox, make_client):
    tick = {"t": 0.0}

    def rate_clock():
        tick["t"] += 0.15  # every call 150 ms after the previous one: ~6.7 calls/s offered
        return tick["t"]

    sandbox.state.calls_per_second = 5
    sandbox.state.rate_clock = rate_clock
    sandbox.state.min_retry_after = 0
    client = make_client(calls_per_second=60)
    for _ in range(10):
        client.get("settings", "business-units", {"pageSize": 1})
    limited = [r for r in sandbox.requests if r.status == 429]
    assert limited and sandbox.state.rate_limited == len(limited)  # 429s answered, retried, none failed
    assert sum(1 for r in sandbox.requests if r.status == 200) == 10


def test_simulator_accepts_bare_token_and_rejects_missing_app_key(sandbox):
    import requests

    tok = requests.post(sandbox.auth_url, data={"grant_type": "client_credentials", "client_id": sandbox.client_id,
                                                "client_secret": sandbox.client_secret},
                        verify=str(sandbox.ca_pem)).json()
    assert tok["expires_in"] == 900 and tok["token_type"] == "Bearer"
    url = f"{sandbox.base_url}/settings/v2/tenant/{sandbox.tenant}/business-units"
    ok = requests.get(url, headers={"Authorization": tok["access_token"], "ST-App-Key": sandbox.app_key},
                      verify=str(sandbox.ca_pem))
    assert ok.status_code == 200 and ok.json()["totalCount"] is None
    no_key = requests.get(url, headers={"Authorization": f"Bearer {tok['access_token']}"}, verify=str(sandbox.ca_pem))
    assert no_key.status_code == 401
    assert set(no_key.json()) == {"type", "title", "status", "traceId", "errors", "data"}
    bad = requests.post(sandbox.auth_url, data={"grant_type": "client_credentials", "client_id": sandbox.client_id,
                                                "client_secret": "nope"}, verify=str(sandbox.ca_pem))
    assert bad.status_code == 400 and bad.json() == {"error": "invalid_client"}
    big = requests.get(url, params={"pageSize": 6000}, verify=str(sandbox.ca_pem),
                       headers={"Authorization": tok["access_token"], "ST-App-Key": sandbox.app_key})
    assert big.status_code == 400 and "pageSize" in big.json()["errors"]
