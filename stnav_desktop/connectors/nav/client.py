"""``NavClient``: JSON over HTTPS to Business Central API v2.0 for one company.

All traffic goes through ``connectors.http.HttpClient`` (timeouts, retries with backoff/jitter and
Retry-After, 401 -> one token refresh). Online limits are kept client-side: 6,000 requests per 5 minutes
and 5 at once. Money is ``Decimal`` both ways (JSON numbers with their exact text).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stnav_desktop.connectors.http import AuthHook, CallCounter, HttpClient, HttpSettings, RetryPolicy
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.auth import MsalTokenProvider, basic_auth, windows_auth
from stnav_desktop.connectors.nav.base import ODataClient
from stnav_desktop.connectors.nav.config import NavConfig
from stnav_desktop.connectors.nav.errors import (
    ConflictError,
    NavAuthError,
    UnsupportedServerError,
    error_from_parts,
    parse_error,
)
from stnav_desktop.connectors.ratelimit import ConcurrencyLimit, RateLimiter
from stnav_desktop.redact import register_secret

log = logging.getLogger(__name__)

BATCH_MAX = 100


@dataclass
class BatchRequest:
    method: str
    url: str  # relative to the API root, e.g. "companies(<id>)/purchaseInvoices"
    body: Any = None
    id: str | None = None
    atomicity_group: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class BatchResponse:
    id: str | None
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.status < 400


class NavClient(ODataClient):
    SEND_EXPECTED = (200, 201, 204)  # API v2.0 writes never answer 202

    def __init__(self, config: NavConfig, secret: str | None, *, counter: CallCounter | None = None,
                 retry: RetryPolicy | None = None, limiter: RateLimiter | None = None,
                 concurrency: ConcurrencyLimit | None = None) -> None:
        if config.is_beta_api:
            raise UnsupportedServerError(
                "This server offers the NAV 2018 'api/beta' API. It is not supported: it has no v2.0 field names, "
                "no dimensionSetLines on documents and different line keys. Use Business Central 17 or later "
                "(API v2.0), or the ODataV4 page web services path (not built yet).")
        self.config = config
        register_secret(secret)
        session_auth = None
        auth_hook: AuthHook | None = None
        if config.uses_oauth:
            if not secret:
                raise NavAuthError("No client secret is stored for this NAV connection.")
            auth_hook = MsalTokenProvider(config, secret)
        elif config.auth == "basic":
            if not secret:
                raise NavAuthError("No web service access key is stored for this NAV connection.")
            auth_hook = basic_auth(config.user, secret)
        else:
            session_auth = windows_auth(config.user, secret)
        online = config.deployment == "online"
        settings = HttpSettings(timeout=config.timeout, ca_bundle=config.ca_bundle, retry=retry or RetryPolicy())
        self.http = HttpClient(
            config.resolved_api_url, settings=settings, auth=auth_hook,
            limiter=limiter if limiter is not None else (RateLimiter(6000, 300.0) if online else None),
            concurrency=concurrency if concurrency is not None else (ConcurrencyLimit(5) if online else None),
            error_parser=parse_error, counter=counter,
            default_headers={"Accept": "application/json", "Accept-Language": "en-US"})
        if session_auth is not None:
            self.http.session.auth = session_auth
        self._ids = itertools.count(1)

    # -- paths ---------------------------------------------------------------------------------
    @property
    def company_path(self) -> str:
        if not self.config.company_id:
            raise UnsupportedServerError("No company is selected for this NAV connection.")
        return f"companies({odata.guid_key(self.config.company_id)})/"

    def cpath(self, rest: str) -> str:
        return self.company_path + rest.lstrip("/")

    # -- verbs (get, iter, delete: ODataClient) ---------------------------------------------------
    def post(self, path: str, body: Any = None, *, headers: Mapping[str, str] | None = None) -> Any:
        return self._send("POST", path, body, headers)

    def action(self, path: str) -> None:
        """A bound action such as ``purchaseInvoices(<id>)/Microsoft.NAV.post`` (204, no body)."""
        self._send("POST", path)

    def patch(self, path: str, changes: Mapping[str, Any], etag: str, *, retry_on_conflict: bool = True) -> Any:
        """PATCH with ``If-Match``. On a stale ETag (409/412 ``Request_EntityChanged``) the record is re-read and
        the same changes are sent once more with the fresh ETag; only the fields we change are sent, so other
        users' changes to other fields survive. A second conflict raises ``ConflictError``."""
        try:
            return self._send("PATCH", path, dict(changes), {"If-Match": etag})
        except ConflictError:
            if not retry_on_conflict:
                raise
            fresh = self.get(path)
            log.info("stale ETag on %s: re-read and retrying once", path.split("(")[0])
            return self._send("PATCH", path, dict(changes), {"If-Match": fresh["@odata.etag"]})

    def batch(self, requests_: list[BatchRequest], *, isolation_snapshot: bool = False) -> list[BatchResponse]:
        """JSON ``$batch`` (max 100 operations per call; longer lists are split, never across an atomicity group)."""
        out: list[BatchResponse] = []
        chunk: list[BatchRequest] = []
        groups: list[list[BatchRequest]] = []
        for r in requests_:
            if r.id is None:
                r.id = str(next(self._ids))
            if r.atomicity_group and groups and groups[-1][0].atomicity_group == r.atomicity_group:
                groups[-1].append(r)
            else:
                groups.append([r])
        for g in groups:
            if len(g) > BATCH_MAX:
                raise ValueError("an atomicity group cannot hold more than 100 operations")
            if len(chunk) + len(g) > BATCH_MAX:
                out.extend(self._batch_call(chunk, isolation_snapshot))
                chunk = []
            chunk.extend(g)
        if chunk:
            out.extend(self._batch_call(chunk, isolation_snapshot))
        return out

    def _batch_call(self, reqs: list[BatchRequest], snapshot: bool) -> list[BatchResponse]:
        payload: dict[str, list[dict[str, Any]]] = {"requests": []}
        for r in reqs:
            item: dict[str, Any] = {"method": r.method, "id": r.id, "url": r.url,
                                    "headers": {"Content-Type": "application/json", **r.headers}}
            if r.body is not None:
                item["body"] = r.body
            if r.atomicity_group:
                item["atomicityGroup"] = r.atomicity_group
            payload["requests"].append(item)
        headers = {"Isolation": "snapshot"} if snapshot else None
        result = self._send("POST", "$batch", payload, headers)
        if self.http.counter is not None:
            self.http.counter.batched(len(reqs))
        by_id = {str(x.get("id")): x for x in (result or {}).get("responses", [])}
        out = []
        for r in reqs:
            x = by_id.get(str(r.id), {"status": 500, "body": None, "headers": {}})
            out.append(BatchResponse(r.id, int(x.get("status", 500)), x.get("body"), dict(x.get("headers") or {})))
        return out

    @staticmethod
    def batch_error(resp: BatchResponse, *, what: str | None = None, context: Mapping[str, Any] | None = None):
        return error_from_parts(resp.status, resp.body, resp.headers, context=context, what=what)

    # -- companies -----------------------------------------------------------------------------
    def companies(self) -> list[dict[str, Any]]:
        return list(self.iter("companies"))

    def company(self) -> dict[str, Any]:
        return self.get(f"companies({odata.guid_key(self.config.company_id)})")
