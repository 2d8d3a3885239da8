"""HTTP side of the ServiceTitan simulator: the token endpoint (auth origin) and the tenant APIs
(api origin), on top of ``sandbox/server.py``. Strict where the real service is: ST-App-Key and a
live token on every call (``Bearer <t>`` or a bare token, as the real gateway accepts), tenant in
the path, 60 calls/s per (app key, tenant) -> 429 + Retry-After, RFC 7807 error bodies, pageSize
1..5000, ids <= 50, export feeds with opaque continuation tokens."""

from __future__ import annotations

import base64
import collections
import json
import logging
import math
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from stnav_desktop.sandbox import jsonutil
from stnav_desktop.sandbox.server import JsonHandler
from stnav_desktop.sandbox.servicetitan import vendors as vendor_api
from stnav_desktop.sandbox.servicetitan.data import Collection, Dataset, iso, parse_wire_datetime
from stnav_desktop.sandbox.servicetitan.faults import Faults

log = logging.getLogger(__name__)

API_RE = re.compile(r"^/(inventory|accounting|settings|pricebook|jpm)/v2/tenant/([^/]+)/(.+?)/?$")
TYPE_400 = "https://tools.ietf.org/html/rfc7231#section-6.5.1"
TYPE_404 = "https://tools.ietf.org/html/rfc7231#section-6.5.4"
TYPE_401 = "https://tools.ietf.org/html/rfc7235#section-3.1"
TYPE_403 = "https://tools.ietf.org/html/rfc7231#section-6.5.3"
TYPE_429 = "https://tools.ietf.org/html/rfc6585#section-4"
TYPE_5XX = "https://tools.ietf.org/html/rfc7231#section-6.6.1"


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    body: Any = None  # request JSON body
    response: Any = None  # response JSON (only when recording bodies)
    auth_header: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class SimState:
    data: Dataset
    clock: Any
    tenant: int
    client_id: str
    client_secret: str
    app_key: str
    calls_per_second: int = 60
    token_lifetime: int = 900
    export_batch: int = 1000
    faults: Faults = field(default_factory=Faults)
    record_bodies: bool = False
    min_retry_after: int = 1  # smallest Retry-After on a real rate-limit 429 (tests may set 0)
    rate_clock: Callable[[], float] = time.monotonic
    tokens: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    log: list[Logged] = field(default_factory=list)
    token_requests: int = 0
    rate_limited: int = 0
    exported_bill_ids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._calls: dict[tuple[str, str], collections.deque[float]] = {}

    # -- tokens -----------------------------------------------------------------------------------
    def issue_token(self) -> tuple[str, int]:
        now = self.clock.now()
        header = _b64({"alg": "RS256", "kid": "SANDBOX", "typ": "at+jwt"})
        payload = _b64({"nbf": int(now.timestamp()), "exp": int(now.timestamp()) + self.token_lifetime,
                        "iss": "https://auth.servicetitan.io", "client_id": self.client_id,
                        "tenant": str(self.tenant), "jti": uuid.uuid4().hex})
        token = f"{header}.{payload}.{secrets.token_urlsafe(32)}"
        with self.lock:
            self.tokens[token] = (self.tenant, now + timedelta(seconds=self.token_lifetime))
            self.token_requests += 1
        return token, self.token_lifetime

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def rate_check(self, key: tuple[str, str]) -> float | None:
        """None if the call may go; else seconds until it could."""
        now = self.rate_clock()
        with self.lock:
            window = self._calls.setdefault(key, collections.deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.calls_per_second:
                self.rate_limited += 1
                return window[0] + 1.0 - now
            window.append(now)
            return None


def _b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()


def encode_token(collection: str, seq: int) -> str:
    raw = json.dumps({"c": collection, "s": seq, "v": 1}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_token(token: str, collection: str) -> int | None:
    try:
        pad = "=" * (-len(token) % 4)
        obj = json.loads(base64.urlsafe_b64decode(token + pad))
        if obj.get("c") == collection and isinstance(obj.get("s"), int):
            return obj["s"]
    except (ValueError, TypeError, AttributeError):
        pass
    return None


class BadRequest(Exception):
    def __init__(self, errors: dict[str, list[str]], title: str = "One or more validation errors occurred.") -> None:
        super().__init__(title)
        self.errors = errors
        self.title = title


def problem(status: int, title: str, errors: dict[str, list[str]] | None = None, type_: str | None = None
            ) -> dict[str, Any]:
    """``ApiErrorResponse`` (RFC 7807): type, title, status, traceId, errors, data — all required."""
    default_type = {400: TYPE_400, 401: TYPE_401, 403: TYPE_403, 404: TYPE_404, 429: TYPE_429}.get(status, TYPE_5XX)
    return {"type": type_ or default_type, "title": title, "status": status,
            "traceId": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00", "errors": errors or {}, "data": {}}


_SURROGATE = re.compile("[\ud800-\udfff]")


class ServiceTitanHandler(JsonHandler):
    state: SimState

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None,
                  content_type: str = "application/json; charset=utf-8") -> None:
        """As the shared handler, but a lone UTF-16 surrogate in a record (data hazard: text pasted from
        broken sources into a PO summary; .NET strings are UTF-16 and hold them) goes out as the JSON
        escape ``"\\ud800"``, which is how the real service serialises it: valid JSON, yet text that has
        no UTF-8 form once parsed."""
        if payload is None:
            super().send_json(status, payload, headers=headers, content_type=content_type)
            return
        text = jsonutil.dumps(payload)
        if _SURROGATE.search(text):
            text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_request(self) -> None:
        self.state = self.server.state
        self.body_bytes()  # always drain the body (clients send "{}" even on GET) to keep keep-alive in sync
        path, query = self.split()
        role = getattr(self.server, "role", "api")
        if role == "auth":
            self._token_endpoint(path)
            return
        self._api(path, query)

    # -- auth origin --------------------------------------------------------------------------
    def _token_endpoint(self, path: str) -> None:
        if path.rstrip("/") != "/connect/token":
            self.send_json(404, None)
            return
        if self.command != "POST":
            self.send_json(405, None, headers={"Allow": "POST"})
            return
        form = {k: v[0] for k, v in parse_qs(self.body_bytes().decode("utf-8", "replace")).items()}
        st = self.state
        if form.get("grant_type") != "client_credentials":
            self.send_json(400, {"error": "unsupported_grant_type"})
            return
        if form.get("client_id") != st.client_id or not secrets.compare_digest(
                form.get("client_secret", ""), st.client_secret):
            self.send_json(400, {"error": "invalid_client"})
            return
        token, lifetime = st.issue_token()
        self.send_json(200, {"access_token": token, "expires_in": lifetime, "token_type": "Bearer",
                             "scope": "tn.inv.purchaseorders:r tn.acc.inventorybills:r tn.acc.inventorybills:w"})

    # -- api origin ---------------------------------------------------------------------------
    def _api(self, path: str, query: dict[str, list[str]]) -> None:
        st = self.state
        entry = Logged(self.command, path, query, 0, auth_header=self.headers.get("Authorization"))
        if self.command in ("POST", "PATCH", "PUT"):
            try:
                entry.body = self.body_json()
            except ValueError:
                entry.body = "<invalid json>"
        with st.lock:
            st.log.append(entry)
        action = st.faults.draw()
        if st.faults.latency:
            time.sleep(st.faults.latency)
        if action == "drop":
            entry.status = -1
            self.drop_connection()
            return
        if action == 429:
            self._reply(entry, 429, problem(429, _rate_title(st.faults.retry_after)),
                        {"Retry-After": str(st.faults.retry_after)})
            return
        if isinstance(action, int):
            self._reply(entry, action, problem(action, "The service is temporarily unavailable."))
            return
        app_key = self.headers.get("ST-App-Key")
        if not app_key or not secrets.compare_digest(app_key, st.app_key):
            self._reply(entry, 401, problem(401, "Access denied: missing or invalid ST-App-Key header."))
            return
        token = (self.headers.get("Authorization") or "").strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        with st.lock:
            grant = st.tokens.get(token)
        if grant is None:
            self._reply(entry, 401, problem(401, "Unauthorized: the access token is missing or invalid."),
                        {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return
        if st.clock.now() >= grant[1]:
            self._reply(entry, 401, problem(401, "Unauthorized: the access token has expired."),
                        {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="expired"'})
            return
        m = API_RE.match(path)
        if not m:
            self._reply(entry, 404, problem(404, "Resource not found."))
            return
        module, tenant, rest = m.groups()
        if tenant != str(grant[0]):
            self._reply(entry, 403, problem(403, f"The access token does not grant access to tenant {tenant}."))
            return
        wait = st.rate_check((app_key, tenant))
        if wait is not None:
            secs = max(st.min_retry_after, math.ceil(wait)) if st.min_retry_after > 0 else 0
            self._reply(entry, 429, problem(429, _rate_title(secs)), {"Retry-After": str(secs)})
            return
        try:
            status, payload = self._route(module, rest, query, entry.body)
        except BadRequest as exc:
            status, payload = 400, problem(400, exc.title, exc.errors)
        if status == 200 and self.command != "GET" and st.faults.take_drop_after_write():
            entry.status = -1  # the write happened; the client never sees the answer
            entry.response = payload if st.record_bodies else None
            self.drop_connection()
            return
        self._reply(entry, status, payload)

    def _reply(self, entry: Logged, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        entry.status = status
        if self.state.record_bodies:
            entry.response = payload
        self.send_json(status, payload, headers=headers)

    # -- routing ------------------------------------------------------------------------------
    def _route(self, module: str, rest: str, q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        d = self.state.data
        method = self.command
        lists: dict[tuple[str, str], Collection] = {
            ("inventory", "purchase-orders"): d.purchase_orders, ("inventory", "vendors"): d.vendors,
            ("inventory", "warehouses"): d.warehouses, ("accounting", "gl-accounts"): d.gl_accounts,
            ("accounting", "inventory-bills/paginated"): d.bills, ("settings", "business-units"): d.business_units,
            ("pricebook", "materials"): d.materials, ("pricebook", "equipment"): d.equipment,
            ("pricebook", "services"): d.services, ("jpm", "jobs"): d.jobs,
        }
        exports: dict[tuple[str, str], Collection] = {
            ("inventory", "export/purchase-orders"): d.purchase_orders,
            ("accounting", "export/inventory-bills"): d.bills,
            ("settings", "export/business-units"): d.business_units,
            ("pricebook", "export/materials"): d.materials, ("pricebook", "export/equipment"): d.equipment,
        }
        if method == "POST" and (module, rest) == ("accounting", "inventory-bills/markasexported"):
            return self._mark_exported(body)
        if method == "POST" and (module, rest) == ("inventory", "vendors"):
            return self._create_vendor(body)
        if method != "GET":
            return 405, problem(405, "Method not allowed.")
        if (module, rest) in exports:
            return 200, self._export(exports[(module, rest)], q)
        if (module, rest) == ("accounting", "inventory-bills"):
            return 200, self._list(d.bills, q, envelope=False)
        if (module, rest) in lists:
            return 200, self._list(lists[(module, rest)], q)
        head, _, tail = rest.rpartition("/")
        if (module, head) in lists and tail.isdigit():
            coll = lists[(module, head)]
            rec = coll.records.get(int(tail))
            if rec is None:
                return 404, problem(404, f"{coll.name} with id {tail} was not found.")
            if coll is d.vendors:
                rec = vendor_api.with_external(rec, d.vendor_external, _one(q, "externalDataApplicationGuid"))
            return 200, rec
        return 404, problem(404, "Resource not found.")

    def _create_vendor(self, body: Any) -> tuple[int, Any]:
        if body == "<invalid json>":
            raise BadRequest({"request": ["The request body is not valid JSON."]})
        errors = vendor_api.validate_create(body)
        if errors:
            raise BadRequest(errors)
        st = self.state
        new_id = vendor_api.create(st.data.vendors, st.data.vendor_external, body, st.clock.now())
        return 200, {"id": new_id}

    def _mark_exported(self, body: Any) -> tuple[int, Any]:
        ids = body.get("inventoryBillIds") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise BadRequest({"inventoryBillIds": ["The inventoryBillIds field is required."]})
        st = self.state
        out = []
        for bid in ids:
            rec = st.data.bills.records.get(bid)
            if rec is None:
                out.append({"inventoryBillId": bid, "success": False,
                            "errorMessage": f"Inventory bill {bid} was not found."})
                continue
            status = "PostedAndExported" if rec.get("syncStatus") in ("Posted", "PostedAndExported") else "Exported"
            st.data.touch(st.data.bills, bid, {"syncStatus": status}, st.clock.now())
            with st.lock:
                st.exported_bill_ids.append(bid)
            out.append({"inventoryBillId": bid, "success": True, "errorMessage": None})
        return 200, out

    def _export(self, coll: Collection, q: dict[str, list[str]]) -> dict[str, Any]:
        token = _one(q, "from")
        after = -1
        if token:
            seq = decode_token(token, coll.name)
            if seq is None:
                when = _parse_dt(token, "from", allow_date=True)
                seq = coll.first_seq_modified_on_or_after(when)
            after = seq
        _bool(q, "includeRecentChanges")
        rows, last, has_more = coll.feed(after, self.state.export_batch)
        return {"hasMore": has_more, "continueFrom": encode_token(coll.name, last), "data": rows}

    def _list(self, coll: Collection, q: dict[str, list[str]], envelope: bool = True) -> Any:
        page = _int(q, "page", 1)
        page = 1 if page == 0 else page
        size = _int(q, "pageSize", 50)
        errors: dict[str, list[str]] = {}
        if page < 0:
            errors["page"] = ["The field page must be between 0 and 2147483647."]
        if not 1 <= size <= 5000:
            errors["pageSize"] = ["The field pageSize must be between 1 and 5000."]
        ids = _ids(q)
        if ids is not None and len(ids) > 50:
            errors["ids"] = ["The maximum number of ids is 50."]
        if errors:
            raise BadRequest(errors)
        rows = coll.values()
        if ids is not None:
            rows = [r for r in rows if r["id"] in ids]
        for name, field_, op in (("modifiedOnOrAfter", "modifiedOn", "ge"), ("modifiedBefore", "modifiedOn", "lt"),
                                 ("createdOnOrAfter", "createdOn", "ge"), ("createdBefore", "createdOn", "lt")):
            value = _one(q, name)
            if value:
                when = _parse_dt(value, name)
                rows = [r for r in rows if _cmp(r.get(field_), when, op)]
        active = (_one(q, "active") or "True").lower()
        if active not in ("true", "false", "any"):
            raise BadRequest({"active": [f"The value '{active}' is not valid for active."]})
        if active != "any" and coll.name != "inventory-bills" and rows and "active" in rows[0]:
            rows = [r for r in rows if bool(r.get("active")) == (active == "true")]
        if coll.name == "purchase-orders":
            status = _one(q, "status")
            if status:
                rows = [r for r in rows if r["status"].lower() == status.lower()]
            number = _one(q, "number")
            if number:
                rows = [r for r in rows if r["number"] == number]
            job_ids = _multi(q, "jobIds") or ([_one(q, "jobId")] if _one(q, "jobId") else None)
            if job_ids:
                wanted = {int(j) for j in job_ids}
                rows = [r for r in rows if r.get("jobId") in wanted]
        if coll.name == "vendors":
            guid = _one(q, "externalDataApplicationGuid")
            if guid:
                ext = self.state.data.vendor_external
                rows = [vendor_api.with_external(r, ext, guid) for r in rows]
                rows = [r for r in rows if vendor_api.matches_external(r, _one(q, "externalDataKey"),
                                                                       _multi(q, "externalDataValues"))]
        if coll.name == "inventory-bills":
            statuses = _multi(q, "syncStatuses")
            if statuses:
                wanted_s = {s.lower() for s in statuses}
                rows = [r for r in rows if (r.get("syncStatus") or "").lower() in wanted_s]
            bus = _multi(q, "businessUnitIds")
            if bus:
                wanted_b = {int(b) for b in bus}
                rows = [r for r in rows if (r.get("businessUnit") or {}).get("id") in wanted_b]
        sort = _one(q, "sort")
        if sort:
            direction, key = sort[0], sort[1:]
            if direction not in "+- " or key.lower() not in ("id", "modifiedon", "createdon"):
                raise BadRequest({"sort": [f"Sorting by '{sort}' is not supported."]})
            name = {"id": "id", "modifiedon": "modifiedOn", "createdon": "createdOn"}[key.lower()]
            rows.sort(key=lambda r: (_sort_key(r.get(name)), r["id"]), reverse=direction == "-")
        else:
            rows.sort(key=lambda r: r["id"])
        start = (page - 1) * size
        chunk = rows[start:start + size]
        if coll.name == "inventory-bills":  # ``active`` exists only on the export feed's bill schema
            chunk = [{k: v for k, v in r.items() if k != "active"} for r in chunk]
        if not envelope:
            return chunk
        return {"page": page, "pageSize": size, "hasMore": start + size < len(rows),
                "totalCount": len(rows) if _bool(q, "includeTotal") else None, "data": chunk}


def _rate_title(seconds: int) -> str:
    return f"Rate limit is exceeded. Try again in {seconds} seconds."


def _one(q: dict[str, list[str]], name: str) -> str | None:
    for k, v in q.items():
        if k.lower() == name.lower() and v:
            return v[0]
    return None


def _multi(q: dict[str, list[str]], name: str) -> list[str] | None:
    values = [x for k, v in q.items() if k.lower() == name.lower() for item in v for x in item.split(",") if x]
    return values or None


def _ids(q: dict[str, list[str]]) -> set[int] | None:
    values = _multi(q, "ids")
    if values is None:
        return None
    try:
        return {int(v) for v in values}
    except ValueError:
        raise BadRequest({"ids": ["The ids must be a comma-separated list of integers."]}) from None


def _int(q: dict[str, list[str]], name: str, default: int) -> int:
    value = _one(q, name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest({name: [f"The value '{value}' is not valid."]}) from None


def _bool(q: dict[str, list[str]], name: str) -> bool:
    value = _one(q, name)
    if value is None or value == "":
        return False
    if value.lower() not in ("true", "false"):
        raise BadRequest({name: [f"The value '{value}' is not valid."]})
    return value.lower() == "true"


def _parse_dt(value: str, name: str, allow_date: bool = True) -> datetime:
    try:
        dt = parse_wire_datetime(value.replace(" ", "+") if "T" in value else value)
    except ValueError:
        raise BadRequest({name: [f"The value '{value[:60]}' is not valid."]}) from None
    assert dt is not None
    return dt


def _cmp(value: Any, when: datetime, op: str) -> bool:
    try:
        dt = parse_wire_datetime(value)
    except ValueError:
        return False
    if dt is None:
        return False
    return dt >= when if op == "ge" else dt < when


def _sort_key(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_wire_datetime(value)
        except ValueError:
            return value
    return value


__all__ = ["ServiceTitanHandler", "SimState", "encode_token", "decode_token", "problem", "iso"]
