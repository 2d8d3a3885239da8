"""``NavSandbox``: a strict local Business Central (API v2.0) with Entra ID token endpoint (online) or
Basic auth (on-premises), over HTTPS with its own CA. See the package docstring for what it covers."""

from __future__ import annotations

import base64
import logging
import secrets
import threading
import time
import uuid
from collections import deque
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from stnav_desktop.sandbox import jsonutil
from stnav_desktop.sandbox.clock import Clock
from stnav_desktop.sandbox.nav import odata
from stnav_desktop.sandbox.nav.api import Api, Result, split_url
from stnav_desktop.sandbox.nav.company import CREDIT_MEMO, INVOICE, Company, PurchaseDocType, check_body
from stnav_desktop.sandbox.nav.faults import Faults
from stnav_desktop.sandbox.nav.store import ApiError, Store, Txn, etag_for
from stnav_desktop.sandbox.server import JsonHandler, SandboxHTTPServer, make_server

log = logging.getLogger(__name__)

SCOPE = "https://api.businesscentral.dynamics.com/.default"
JSON_CT = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
SUBSCRIPTION_DAYS = 3  # "Working with webhooks in Dynamics 365 Business Central": subscriptions expire after 3 days
# Entity sets that accept a subscription. The documented v2.0 list (same page, "Supported entities") has accounts,
# dimensions, generalLedgerEntries, items, journals, purchaseInvoices, vendors (purchaseOrders is NOT in it);
# dimensionValues is accepted too: codeunit 6153 "API Webhook Notification Mgt." GetEntity() refuses only pages
# with a temporary source table or a composite key, and APIV2DimensionValuesEntity.Page.al (page 30040) reads the
# real "Dimension Value" table keyed by SystemId. journalLines/purchaseInvoiceLines/dimensionSetLines are refused.
WEBHOOK_SETS = {"accounts", "dimensions", "dimensionValues", "generalLedgerEntries", "items", "journals",
                "purchaseInvoices", "vendors"}
# codeunit 6154 "API Webhook Notification Send": above this many changes of one subscription in one send window a
# single changeType "collection" with a lastModifiedDateTime filter replaces them (online figure: 1,000)
MAX_NOTIFICATIONS = 1000
# codeunit 6154 GetMaxNumberOfAttempts: a notification URL answering 408/429/5xx (or nothing) is retried; after
# more than 5 failed attempts the subscription is deleted. Any other status deletes it at once (ShouldReschedule).
MAX_SEND_ATTEMPTS = 5
# codeunit 6154 / on-prem server setting ApiSubscriptionDelayTime: changes are collected for 30 s, then sent
NOTIFICATION_DELAY_S = 30.0


class NavSandbox:
    """A local BC. ``flavour``: ``"online"`` (Entra token endpoint, Bearer) or ``"onprem"`` (Basic auth,
    ``/{instance}/api/v2.0/``), or ``"nav2018"`` (on-prem Basic auth that only serves ``api/beta``)."""

    def __init__(self, tls_dir: Path, *, clock: Clock | None = None, flavour: str = "online",
                 faults: Faults | None = None, port: int = 0, max_page_size: int = 20000,
                 rate_limit: tuple[int, float] | None = None, rate_limit_retry_after: str | None = "1",
                 etag_conflict_status: int = 409, token_lifetime: int = 3599, instance: str = "BC") -> None:
        if flavour not in ("online", "onprem", "nav2018"):
            raise ValueError("flavour must be 'online', 'onprem' or 'nav2018'")
        self.tls_dir = Path(tls_dir)
        self.clock = clock or Clock()
        self.flavour = flavour
        self.faults = faults or Faults()
        self.max_page_size = max_page_size
        if rate_limit is None and flavour == "online":
            rate_limit = (6000, 300.0)
        self.rate_limit = rate_limit
        self.rate_limit_retry_after = rate_limit_retry_after
        self.etag_conflict_status = etag_conflict_status
        self.token_lifetime = token_lifetime
        self.instance = instance
        self.tenant = str(uuid.uuid5(uuid.NAMESPACE_DNS, "tenant.ml-connector.sandbox"))
        self.environment = "Production"
        self.client_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, "client.ml-connector.sandbox"))
        self.client_secret = "sim~" + secrets.token_urlsafe(30)
        self.basic_user = "STNAV"
        self.basic_key = secrets.token_urlsafe(33)[:44]
        self.store = Store()
        company = Company(self.store, self.clock.now)
        self.companies: dict[str, Company] = {company.id: company}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, datetime] = {}
        self.requests_seen = 0
        self.status_counts: dict[int, int] = {}
        self.notifications_sent: list[dict[str, Any]] = []
        self._pending_notifications: list[dict[str, Any]] = []
        self._rate_log: dict[str, deque[float]] = {}
        self._stats_lock = threading.Lock()
        self.api = Api(self)
        self.server: SandboxHTTPServer = make_server(_Handler, self, self.tls_dir, port=port)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> NavSandbox:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> NavSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what a client configures --------------------------------------------------------------
    @property
    def host_url(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"

    @property
    def api_root_path(self) -> str:
        if self.flavour == "online":
            return f"/v2.0/{self.tenant}/{self.environment}/api/v2.0/"
        if self.flavour == "nav2018":
            return f"/{self.instance}/api/beta/"
        return f"/{self.instance}/api/v2.0/"

    @property
    def base_url(self) -> str:
        return self.host_url + self.api_root_path

    @property
    def authority(self) -> str:
        return f"{self.host_url}/{self.tenant}"

    @property
    def company_id(self) -> str:
        return next(iter(self.companies))

    @property
    def company(self) -> Company:
        return self.companies[self.company_id]

    @property
    def ca_pem(self) -> Path:
        assert self.server.tls is not None
        return self.server.tls.ca_pem

    # -- test hooks ----------------------------------------------------------------------------
    def advance(self, seconds: float = 0, **kw: float) -> None:
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise RuntimeError("advance() needs a FakeClock")
        advance(seconds, **kw)

    def expire_tokens(self) -> None:
        with self.store.lock:
            self.tokens.clear()

    def purchase_invoices(self) -> list[dict[str, Any]]:
        return self._purchase_documents(INVOICE)

    def purchase_credit_memos(self) -> list[dict[str, Any]]:
        return self._purchase_documents(CREDIT_MEMO)

    def _purchase_documents(self, kind: PurchaseDocType) -> list[dict[str, Any]]:
        """Every header of ``kind`` with its dimension set lines and its lines (each with theirs)."""
        with self.store.lock:
            c = self.company
            dims = _by(c.t("dimensionSetLines").values(), "parentId")
            lines = _by(c.t(kind.lines_table).values(), "documentId")
            out = []
            for doc in c.t(kind.table).values():
                rec = odata.public(doc)
                rec["dimensionSetLines"] = dims.get(doc["id"], [])
                rec[kind.lines_table] = [{**odata.public(ln), "dimensionSetLines": dims.get(ln["id"], [])}
                                         for ln in sorted(lines.get(doc["id"], []), key=lambda r: r["sequence"])]
                out.append(rec)
            return out

    def journal_lines(self) -> list[dict[str, Any]]:
        with self.store.lock:
            c = self.company
            dims = _by(c.t("dimensionSetLines").values(), "parentId")
            return [{**odata.public(ln), "dimensionSetLines": dims.get(ln["id"], [])}
                    for ln in c.t("journalLines").values()]

    def gl_entries(self) -> list[dict[str, Any]]:
        with self.store.lock:
            c = self.company
            dims = _by(c.t("dimensionSetLines").values(), "parentId")
            return [{**odata.public(e), "dimensionSetLines": dims.get(e["id"], [])}
                    for e in sorted(c.t("generalLedgerEntries").values(), key=lambda r: r["entryNumber"])]

    def set_allowed_posting_dates(self, start: Any = None, end: Any = None) -> None:
        self.company.allow_posting_from = start
        self.company.allow_posting_to = end

    def block_vendor(self, number: str, blocked: str = "All") -> None:
        with self.store.lock:
            rec = self.company.by_field("vendors", "number", number)
            assert rec is not None
            rec["blocked"] = blocked
            rec["_ver"] += 1

    def touch(self, table: str, rec_id: str) -> None:
        """Simulate another user changing a record (its ETag changes)."""
        with self.store.lock:
            self.company.t(table)[rec_id]["_ver"] += 1

    # "someone in NAV" (a user in the BC client, not the API): the change goes through a transaction like any
    # other, so subscribers are notified of it (codeunit 6153 registers notifications on OnDatabaseInsert/
    # Modify/Delete/Rename of every table with a live subscription, whoever changed the record)
    def _as_nav_user(self, change) -> Any:
        with self.store.lock:
            txn = Txn()
            try:
                result = change(txn, self.company)
            except Exception:
                txn.rollback()
                raise
            self._queue_notifications(self.company, txn)
            return result

    def rename_vendor(self, number: str, new_name: str) -> None:
        """A user renames a vendor in NAV (Vendor Card, Name)."""
        def change(txn: Txn, c: Company) -> None:
            rec = c.by_field("vendors", "number", number)
            if rec is None:
                raise KeyError(f"no vendor {number}")
            c.store.update(txn, c.tn("vendors"), rec["id"], {"displayName": new_name,
                                                             "lastModifiedDateTime": c.now_iso()})
        self._as_nav_user(change)

    def change_account(self, number: str, **changes: Any) -> None:
        """A user edits a G/L account in NAV (G/L Account Card: Name, Blocked, Direct Posting)."""
        def change(txn: Txn, c: Company) -> None:
            rec = c.by_field("accounts", "number", number)
            if rec is None:
                raise KeyError(f"no G/L account {number}")
            c.store.update(txn, c.tn("accounts"), rec["id"], {**changes, "lastModifiedDateTime": c.now_iso()})
        self._as_nav_user(change)

    def rename_dimension_value(self, dimension: str, code: str, new_name: str) -> None:
        def change(txn: Txn, c: Company) -> None:
            dim = c.by_field("dimensions", "code", dimension)
            rec = next((v for v in c.t("dimensionValues").values()
                        if dim and v["dimensionId"] == dim["id"] and v["code"] == code), None)
            if rec is None:
                raise KeyError(f"no dimension value {dimension}:{code}")
            c.store.update(txn, c.tn("dimensionValues"), rec["id"], {"displayName": new_name,
                                                                     "lastModifiedDateTime": c.now_iso()})
        self._as_nav_user(change)

    def delete_draft_invoice(self, number: str) -> None:
        """A user deletes a draft purchase invoice in NAV (Purchase Invoice page, Delete)."""
        def change(txn: Txn, c: Company) -> None:
            inv = c.by_field("purchaseInvoices", "number", number)
            if inv is None:
                raise KeyError(f"no purchase invoice {number}")
            c.delete_invoice(txn, inv)
        self._as_nav_user(change)

    def post_draft_invoice(self, number: str) -> str:
        """A user posts a draft purchase invoice in NAV (Purchase Invoice page, Post); returns the posted number.
        The purchaseInvoices record keeps its id and becomes status Open (Purch. Inv. Entity Aggregate), so
        subscribers get "updated" for the same resource."""
        def change(txn: Txn, c: Company) -> str:
            inv = c.by_field("purchaseInvoices", "number", number)
            if inv is None:
                raise KeyError(f"no purchase invoice {number}")
            c.post_invoice(txn, inv)
            return str(c.t("purchaseInvoices")[inv["id"]]["number"])
        return self._as_nav_user(change)

    def change_draft_invoice_line(self, number: str, unit_cost: Any) -> None:
        """A user changes the first line's direct unit cost of a draft in NAV (the header total changes)."""
        def change(txn: Txn, c: Company) -> None:
            inv = c.by_field("purchaseInvoices", "number", number)
            if inv is None:
                raise KeyError(f"no purchase invoice {number}")
            line = sorted(c.invoice_lines(inv["id"]), key=lambda r: r["sequence"])[0]
            c.patch_invoice_line(txn, line, {"unitCost": unit_cost})
        self._as_nav_user(change)

    # -- auth ----------------------------------------------------------------------------------
    def issue_token(self) -> tuple[str, int]:
        token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(48)
        with self.store.lock:
            self.tokens[token] = self.clock.now() + timedelta(seconds=self.token_lifetime)
        return token, self.token_lifetime

    def authenticate(self, header: str | None) -> str | None:
        """The user the request runs as, or None."""
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if self.flavour == "online":
            if scheme.lower() != "bearer":
                return None
            with self.store.lock:
                expiry = self.tokens.get(value.strip())
            if expiry is None or expiry <= self.clock.now():
                return None
            return self.client_id
        if scheme.lower() != "basic":
            return None
        try:
            user, _, key = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if secrets.compare_digest(user, self.basic_user) and secrets.compare_digest(key, self.basic_key):
            return user
        return None

    def rate_limited(self, user: str) -> bool:
        if not self.rate_limit:
            return False
        calls, period = self.rate_limit
        now = time.monotonic()
        with self._stats_lock:
            log_ = self._rate_log.setdefault(user, deque())
            while log_ and log_[0] <= now - period:
                log_.popleft()
            if len(log_) >= calls:
                return True
            log_.append(now)
        return False

    # -- subscriptions -------------------------------------------------------------------------
    def _purge_expired(self) -> None:
        now = self.clock.now()
        for sub_id in [k for k, s in self.subscriptions.items() if s["_expires"] <= now]:
            del self.subscriptions[sub_id]

    def _handshake(self, url: str) -> None:
        """"Working with webhooks in Dynamics 365 Business Central": on create AND on renew BC calls
        notificationUrl?validationToken=... and registers (or renews) the subscription only if the answer is
        200 with the token as the body, within ApiSubscriptionNotificationUrlTimeout (5,000 ms); otherwise the
        POST/PATCH fails with 400 and nothing is stored. (Microsoft does not document the wording of that
        error; the status and code are BC's usual BadRequest.)"""
        token = secrets.token_urlsafe(16)
        try:
            resp = requests.post(url, params={"validationToken": token}, timeout=5,
                                 verify=str(self.ca_pem))
            ok = resp.status_code == 200 and resp.text == token
        except requests.RequestException:
            ok = False
        if not ok:
            raise ApiError(400, "BadRequest", "The subscription could not be created because the notification URL "
                           "did not answer the validation request with the validation token.")

    def subscription_public(self, sub: dict[str, Any]) -> dict[str, Any]:
        return odata.public(sub)

    def subscriptions_api(self, method: str, segs: list[tuple[str, str | None]], headers: dict[str, str],
                          body: Any, txn: Txn) -> Result:
        self._purge_expired()
        key = segs[0][1]
        if len(segs) > 1:
            raise ApiError(400, "BadRequest_NotFound", "Resource not found for the segment.")
        if method == "GET" and key is None:
            return Result(200, {"@odata.context": self.base_url + "$metadata#subscriptions",
                                "value": [self.subscription_public(s) for s in self.subscriptions.values()]})
        if method == "POST" and key is None:
            raise AssertionError("POST subscriptions is handled before the lock")  # pragma: no cover
        sub = self.subscriptions.get(key or "")
        if sub is None:
            raise ApiError(404, "Internal_RecordNotFound", f"The subscription {key} does not exist.")
        if method == "GET":
            return Result(200, self.subscription_public(sub))
        self.api.check_if_match(headers, sub)
        if method == "DELETE":
            del self.subscriptions[sub["subscriptionId"]]
            return Result(204)
        raise ApiError(405, "BadRequest_MethodNotAllowed", f"'{method}' is not allowed here.")

    def _check_subscription_body(self, body: Any) -> dict[str, Any]:
        check_body("subscriptions", body)
        url = body.get("notificationUrl") or ""
        if not url.startswith("https://"):
            raise ApiError(400, "BadRequest", "The notification URL must use HTTPS.")
        resource = body.get("resource") or ""
        path = resource.split("?")[0].rstrip("/")
        entity = path.rsplit("/", 1)[-1]
        if entity not in WEBHOOK_SETS:
            raise ApiError(400, "BadRequest", f"The entity set '{entity}' does not support webhook subscriptions.")
        return body

    def create_subscription(self, body: Any) -> Result:
        body = self._check_subscription_body(body)
        with self.store.lock:
            self._purge_expired()
            # "Operational limits for Business Central online": 200 webhook subscriptions per environment;
            # on-premises the server setting ApiSubscriptionMaxNumberOfSubscriptions, default 1000
            limit = 200 if self.flavour == "online" else 1000
            if len(self.subscriptions) >= limit:
                raise ApiError(400, "BadRequest", f"The maximum number of subscriptions ({limit}) has been reached.")
        self._handshake(body["notificationUrl"])  # outside the lock: the receiver may call back
        now = self.clock.now()
        sub_id = uuid.uuid4().hex
        sub = {"id": sub_id, "subscriptionId": sub_id, "notificationUrl": body["notificationUrl"],
               "resource": body["resource"], "timestamp": 1, "userId": self.client_id,
               "lastModifiedDateTime": _iso(now), "clientState": body.get("clientState") or "",
               "expirationDateTime": _iso(now + timedelta(days=SUBSCRIPTION_DAYS)),
               "systemCreatedAt": _iso(now), "systemCreatedBy": self.client_id, "systemModifiedAt": _iso(now),
               "systemModifiedBy": self.client_id, "_expires": now + timedelta(days=SUBSCRIPTION_DAYS), "_ver": 1}
        with self.store.lock:
            self.subscriptions[sub_id] = sub
            return Result(201, {"@odata.context": self.base_url + "$metadata#subscriptions/$entity",
                                **self.subscription_public(sub)})

    def renew_subscription(self, key: str, headers: dict[str, str], body: Any) -> Result:
        with self.store.lock:
            self._purge_expired()
            sub = self.subscriptions.get(key)
            if sub is None:
                raise ApiError(404, "Internal_RecordNotFound", f"The subscription {key} does not exist.")
            self.api.check_if_match(headers, sub)
        body = {**{k: sub[k] for k in ("notificationUrl", "resource", "clientState")}, **(body or {})}
        body = self._check_subscription_body(body)
        self._handshake(body["notificationUrl"])
        now = self.clock.now()
        with self.store.lock:
            sub.update(notificationUrl=body["notificationUrl"], resource=body["resource"],
                       clientState=body.get("clientState") or "", lastModifiedDateTime=_iso(now),
                       systemModifiedAt=_iso(now), expirationDateTime=_iso(now + timedelta(days=SUBSCRIPTION_DAYS)),
                       _expires=now + timedelta(days=SUBSCRIPTION_DAYS))
            sub["_ver"] += 1
            return Result(200, {"@odata.context": self.base_url + "$metadata#subscriptions/$entity",
                                **self.subscription_public(sub)})

    def _queue_notifications(self, company: Company, txn: Txn) -> None:
        if not self.subscriptions or not txn.changes:
            return
        now = self.clock.now()
        for table, rec_id, change in txn.changes:
            _cid, _, entity = table.partition(":")
            if entity == "purchaseInvoiceLines":
                line = company.t(entity).get(rec_id)
                if line is None:
                    continue
                entity, rec_id, change = "purchaseInvoices", line["documentId"], "updated"
            for sub in self.subscriptions.values():
                path = sub["resource"].split("?")[0].rstrip("/")
                if path.endswith(f"companies({company.id})/{entity}") and sub["_expires"] > now:
                    self._pending_notifications.append({
                        "subscriptionId": sub["subscriptionId"], "clientState": sub["clientState"],
                        "expirationDateTime": sub["expirationDateTime"], "resource": f"{path}({rec_id})",
                        "changeType": change, "lastModifiedDateTime": _iso_ms(now), "_url": sub["notificationUrl"],
                        "_since": now})

    def flush_notifications(self) -> int:
        """Send the queued notifications now; returns how many were delivered. BC's job queue does this after
        ApiSubscriptionDelayTime (30 s) and merges what changed meanwhile (codeunit 6154 "API Webhook
        Notification Send"); tests call this instead of waiting. Per notification URL one POST
        ``{"value": [...]}`` carrying the notifications of all its subscriptions, headers clientRequestId and
        x-ms-correlation-id, UTF-8 without BOM. One record changed twice is notified once (the last change);
        more than MAX_NOTIFICATIONS changes of one subscription become one "collection" notification whose
        resource filters on lastModifiedDateTime. A 2xx answer delivers; 408/429/5xx or no answer keeps them
        for the next send (the subscription is deleted after MAX_SEND_ATTEMPTS failed sends); any other
        status deletes the subscription at once."""
        now = self.clock.now()
        with self.store.lock:
            self._purge_expired()
            pending, self._pending_notifications = self._pending_notifications, []
            pending = [n for n in pending if n["subscriptionId"] in self.subscriptions]
        merged: dict[tuple[str, str, str], dict[str, Any]] = {}
        for n in pending:
            merged.pop((n["_url"], n["subscriptionId"], n["resource"]), None)
            merged[(n["_url"], n["subscriptionId"], n["resource"])] = n
        per_sub: dict[str, list[dict[str, Any]]] = {}
        for n in merged.values():
            per_sub.setdefault(n["subscriptionId"], []).append(n)
        by_url: dict[str, list[dict[str, Any]]] = {}
        for sub_id, items in per_sub.items():
            if len(items) > MAX_NOTIFICATIONS:
                first = min(n["_since"] for n in items)
                sub = self.subscriptions[sub_id]
                path = sub["resource"].split("?")[0].rstrip("/")
                items = [{**items[-1], "resource": f"{path}?$filter=lastModifiedDateTime%20gt%20"
                          f"{_iso_ms(first - timedelta(milliseconds=50))}", "changeType": "collection",
                          "lastModifiedDateTime": _iso_ms(now)}]
            for n in items:
                by_url.setdefault(n["_url"], []).append(n)
        sent = 0
        for url, items in by_url.items():
            cid = str(uuid.uuid4())
            body = {"value": [{k: v for k, v in n.items() if not k.startswith("_")} for n in items]}
            try:
                resp = requests.post(url, data=jsonutil.dumps(body).encode(), timeout=5,
                                     verify=str(self.ca_pem), headers={"Content-Type": "application/json",
                                                                        "clientRequestId": cid,
                                                                        "x-ms-correlation-id": cid})
                status = resp.status_code
            except requests.RequestException:
                status = 0
            self.notifications_sent.append({"url": url, "value": body["value"], "status": status})
            if status and status < 300:
                sent += len(items)
                continue
            with self.store.lock:
                if status in (0, 408, 429) or status >= 500:
                    for n in items:
                        n["_attempts"] = n.get("_attempts", 0) + 1
                        if n["_attempts"] > MAX_SEND_ATTEMPTS:
                            self.subscriptions.pop(n["subscriptionId"], None)
                        else:
                            self._pending_notifications.append(n)
                else:
                    for n in items:
                        self.subscriptions.pop(n["subscriptionId"], None)
        return sent

    # -- request execution ---------------------------------------------------------------------
    def run(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any) -> Result:
        """One API request (not $batch), in its own transaction."""
        segs = path.strip("/").split("/")
        if segs and segs[0] == "subscriptions" and method == "POST":
            return self.create_subscription(body)
        if segs and segs[0].startswith("subscriptions(") and method in ("PATCH", "PUT"):
            key = odata.split_segments(segs[0])[0][1] or ""
            return self.renew_subscription(key, headers, body)
        with self.store.lock:
            txn = Txn()
            try:
                result = self.api.execute(method, path, query, headers, body, txn, self.base_url)
            except Exception:
                txn.rollback()
                raise
            self._queue_notifications(self.company, txn)
            return result

    def run_batch(self, body: Any, headers: dict[str, str]) -> Result:
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
            raise ApiError(400, "BadRequest", "Invalid Request Body")
        reqs = body["requests"]
        if len(reqs) > 100:
            raise ApiError(400, "BadRequest", "The number of operations in a batch request exceeds the maximum "
                           "allowed (100).")
        snapshot = headers.get("isolation", "").lower() == "snapshot"
        responses: list[dict[str, Any] | None] = [None] * len(reqs)
        groups: dict[str, list[int]] = {}
        order: list[list[int]] = []
        for i, r in enumerate(reqs):
            group = "__all__" if snapshot else r.get("atomicityGroup")
            if group is None:
                order.append([i])
            elif group in groups:
                groups[group].append(i)
            else:
                groups[group] = [i]
                order.append(groups[group])
        for idxs in order:
            with self.store.lock:
                txn = Txn()
                failed_at = None
                for i in idxs:
                    responses[i] = self._run_inner(reqs[i], txn, headers)
                    if responses[i]["status"] >= 400:  # type: ignore[index]
                        failed_at = i
                        break
                if failed_at is not None and (len(idxs) > 1 or reqs[idxs[0]].get("atomicityGroup") or snapshot):
                    txn.rollback()
                    for i in idxs:
                        if i != failed_at:
                            responses[i] = _inner_error(reqs[i], ApiError(
                                424, "BadRequest", "The request was not carried out because another request of its "
                                "atomicity group failed."))
                else:
                    self._queue_notifications(self.company, txn)
        return Result(200, {"responses": responses})

    def _run_inner(self, req: dict[str, Any], txn: Txn, outer: dict[str, str]) -> dict[str, Any]:
        try:
            method = str(req.get("method", "GET")).upper()
            path, query = split_url(str(req.get("url", "")), self.api_root_path)
            hdrs = {k.lower(): str(v) for k, v in (req.get("headers") or {}).items()}
            for k in ("companyid", "company"):
                if k in outer and k not in hdrs:
                    hdrs[k] = outer[k]
            if path.strip("/").startswith("subscriptions"):
                raise ApiError(400, "BadRequest", "Subscriptions cannot be changed inside $batch by the simulator.")
            result = self.api.execute(method, path, query, hdrs, req.get("body"), txn, self.base_url)
        except ApiError as exc:
            return _inner_error(req, exc)
        out: dict[str, Any] = {"id": req.get("id"), "status": result.status,
                               "headers": {"content-type": "application/json; odata.metadata=minimal",
                                           "odata-version": "4.0"}}
        if result.payload is not None:
            out["body"] = result.payload
        return out


def _inner_error(req: dict[str, Any], exc: ApiError) -> dict[str, Any]:
    cid = str(uuid.uuid4())
    return {"id": req.get("id"), "status": exc.status,
            "headers": {"content-type": "application/json; odata.metadata=minimal", "odata-version": "4.0"},
            "body": {"error": {"code": exc.code, "message": f"{exc.message}  CorrelationId:  {cid}."}}}


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_ms(dt: datetime) -> str:
    """lastModifiedDateTime of a notification: milliseconds, as in the documented sample (…T12:54:20.467Z)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _Handler(JsonHandler):
    server: SandboxHTTPServer

    @property
    def sb(self) -> NavSandbox:
        return self.server.state

    def reply(self, status: int, payload: Any = None, headers: dict[str, str] | None = None,
              text: str | None = None, cid: str | None = None) -> None:
        cid = cid or str(uuid.uuid4())
        hdrs = {"OData-Version": "4.0", "request-id": cid, "ms-correlation-x": cid, **(headers or {})}
        if not self.close_connection:
            hdrs.setdefault("Connection", "keep-alive")
        with self.sb._stats_lock:
            self.sb.status_counts[status] = self.sb.status_counts.get(status, 0) + 1
        if text is not None:
            self.send_text(status, text, headers=hdrs)
        elif payload is None:
            self.send_response(status)
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_text(status, jsonutil.dumps(payload), content_type=JSON_CT, headers=hdrs)

    def reply_bytes(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        cid = str(uuid.uuid4())
        self.send_response(status)
        for k, v in {"OData-Version": "4.0", "request-id": cid, "Content-Type": "application/octet-stream",
                     **(headers or {})}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, exc: ApiError) -> None:
        cid = str(uuid.uuid4())
        self.reply(exc.status, {"error": {"code": exc.code, "message": f"{exc.message}  CorrelationId:  {cid}."}},
                   headers=exc.headers, cid=cid)

    def handle_request(self) -> None:
        # the stdlib reuses one handler object for every request of a keep-alive connection, and
        # JsonHandler.body_bytes() caches the body on it: forget the previous request's body
        self.__dict__.pop("_body", None)
        sb = self.sb
        with sb._stats_lock:
            sb.requests_seen += 1
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw = self.body_bytes()
        # -- Entra ID endpoints (online flavour) ------------------------------------------------
        if sb.flavour == "online" and (path.startswith(f"/{sb.tenant}/") or path.startswith("/common/")):
            return self.entra(path, query, raw, headers)
        root = sb.api_root_path
        if not path.startswith(root):
            return self.error(ApiError(404, "BadRequest_NotFound", f"No HTTP resource was found that matches the "
                                       f"request URI '{sb.host_url}{path}'."))
        faults = sb.faults.take(self.command, path)
        delay = sb.faults.latency + sum(f.delay for f in faults if f.kind == "latency")
        if delay:
            time.sleep(delay)
        user = sb.authenticate(headers.get("authorization"))
        if user is None:
            code = "Authentication_InvalidCredentials"
            hdr = {"WWW-Authenticate": f'Bearer authorization_uri="{sb.authority}/oauth2/authorize"'
                   if sb.flavour == "online" else 'Basic realm="BC"'}
            return self.error(ApiError(401, code, "The server has rejected the client credentials.", hdr))
        if sb.rate_limited(user):
            hdr = {"Retry-After": sb.rate_limit_retry_after} if sb.rate_limit_retry_after else {}
            calls = sb.rate_limit[0] if sb.rate_limit else 0
            return self.error(ApiError(429, "Application_TooManyRequests",
                                       f"Too many requests reached. Maximum ({calls}) per window.", hdr))
        for f in faults:
            if f.kind == "drop_before":
                return self.drop_connection()
            if f.kind == "status":
                hdr = {"Retry-After": f.retry_after} if f.retry_after else {}
                return self.error(ApiError(f.status, "Internal_ServerError" if f.status >= 500 else
                                           "Application_TooManyRequests", f"Injected fault {f.status}.", hdr))
        if headers.get("data-access-intent", "").lower() == "readonly" and self.command != "GET":
            return self.error(ApiError(400, "BadRequest", "Data-Access-Intent ReadOnly is not allowed on writes."))
        sub_path = path[len(root):]
        try:
            # a media stream (documentAttachments(<id>)/attachmentContent) is sent as bytes, not JSON
            body = raw if sub_path.endswith("/attachmentContent") else (jsonutil.loads(raw) if raw else None)
        except ValueError:
            return self.error(ApiError(400, "BadRequest", "Invalid Request Body"))
        try:
            if sub_path == "$batch" and self.command == "POST":
                result = sb.run_batch(body, headers)
            else:
                result = sb.run(self.command, sub_path, query, headers, body)
        except ApiError as exc:
            if any(f.kind == "drop_after" for f in faults):
                return self.drop_connection()
            return self.error(exc)
        if any(f.kind == "drop_after" for f in faults):
            log.info("fault: dropping the connection after a committed %s %s", self.command, path)
            return self.drop_connection()
        if result.content is not None:
            return self.reply_bytes(result.status, result.content, result.headers)
        self.reply(result.status, result.payload, result.headers, text=result.text)

    def entra(self, path: str, query: dict[str, str], raw: bytes, headers: dict[str, str]) -> None:
        sb = self.sb
        host = sb.host_url
        if path == "/common/discovery/instance":
            return self.send_json(200, {"tenant_discovery_endpoint":
                                        f"{sb.authority}/v2.0/.well-known/openid-configuration",
                                        "api-version": "1.1", "metadata": []})
        if path == f"/{sb.tenant}/v2.0/.well-known/openid-configuration":
            return self.send_json(200, {
                "token_endpoint": f"{sb.authority}/oauth2/v2.0/token",
                "authorization_endpoint": f"{sb.authority}/oauth2/v2.0/authorize",
                "issuer": f"{host}/{sb.tenant}/v2.0", "jwks_uri": f"{sb.authority}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "tenant_region_scope": "NA"})
        if path == f"/{sb.tenant}/oauth2/v2.0/token" and self.command == "POST":
            form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
            client_id, secret = form.get("client_id"), form.get("client_secret")
            auth = headers.get("authorization", "")
            if auth.lower().startswith("basic "):
                try:
                    client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                except ValueError:
                    pass
            if form.get("grant_type") != "client_credentials":
                return self.aad_error("unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
            if client_id != sb.client_id:
                return self.aad_error("unauthorized_client", 700016, f"Application with identifier '{client_id}' "
                                      "was not found in the directory.")
            if not secret or not secrets.compare_digest(secret, sb.client_secret):
                return self.aad_error("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret "
                                      "being sent in the request is the client secret value, not the client secret "
                                      f"ID, for a secret added to app '{client_id}'.", status=401)
            if form.get("scope") != SCOPE:
                return self.aad_error("invalid_scope", 70011, "The provided value for the input parameter 'scope' "
                                      "is not valid.")
            token, lifetime = sb.issue_token()
            return self.send_json(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                                        "access_token": token})
        return self.send_json(404, {"error": "not_found"})

    def aad_error(self, error: str, code: int, text: str, status: int = 400) -> None:
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        ts = self.sb.clock.now().strftime("%Y-%m-%d %H:%M:%SZ")
        self.send_json(status, {"error": error, "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\n"
                                f"Correlation ID: {corr}\r\nTimestamp: {ts}", "error_codes": [code],
                                "timestamp": ts, "trace_id": trace, "correlation_id": corr})


def run_standalone(port: int, tls_dir: Path, flavour: str = "online", **kw: Any) -> None:
    """Run the simulator in the foreground (``stnav sandbox nav --port N``) until Ctrl+C."""
    sb = NavSandbox(Path(tls_dir), flavour=flavour, port=port, **kw).start()
    print(f"NAV / Business Central simulator ({flavour}) on {sb.host_url}")
    print(f"  API root (api_url):  {sb.base_url}")
    print(f"  company id:          {sb.company_id}")
    if flavour == "online":
        print(f"  tenant:              {sb.tenant}")
        print(f"  environment:         {sb.environment}")
        print(f"  authority:           {sb.authority}")
        print(f"  client id:           {sb.client_id}")
        print(f"  client secret:       {sb.client_secret}")
    else:
        print(f"  user:                {sb.basic_user}")
        print(f"  web service key:     {sb.basic_key}")
    print(f"  CA bundle:           {sb.ca_pem}")
    print("Press Ctrl+C to stop.")
    try:
        while True:  # BC's job queue sends what changed every ApiSubscriptionDelayTime (30,000 ms)
            time.sleep(NOTIFICATION_DELAY_S)
            if sb._pending_notifications:
                sb.flush_notifications()
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()


__all__ = ["NavSandbox", "run_standalone", "etag_for"]


def _by(records: Any, key: str) -> dict[str, list[dict[str, Any]]]:
    """Test-side reads (every document with its lines and dimensions): grouped once, not scanned per
    document, so a test that checks thousands of documents stays linear. Lines keep their stored form;
    set lines are shown as the API shows them."""
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        out.setdefault(rec[key], []).append(odata.public(rec) if key == "parentId" else rec)
    return out
