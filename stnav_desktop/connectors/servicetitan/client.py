"""ServiceTitan REST client: purchase orders, inventory bills, reference data, write-back.

Every request goes through the shared ``HttpClient`` (timeouts, urllib3 retries with backoff and
``Retry-After``, 401 -> one refresh and retry) and the tenant's process-wide rate limiter. Pulls are
generators of ``Page`` objects so the caller stores rows first and the continuation token after:
resuming from the last stored token is exact (no gap, no duplicate).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

from stnav_desktop.connectors.http import CallCounter, HttpClient, HttpError, HttpSettings
from stnav_desktop.connectors.servicetitan import parsing
from stnav_desktop.connectors.servicetitan.auth import TokenProvider
from stnav_desktop.connectors.servicetitan.config import ServiceTitanConfig
from stnav_desktop.connectors.servicetitan.errors import api_error
from stnav_desktop.connectors.servicetitan.limits import tenant_limiter
from stnav_desktop.connectors.servicetitan.models import (
    BusinessUnit,
    GLAccount,
    InventoryBill,
    InventoryLocation,
    InventoryReturn,
    Job,
    KnownIds,
    MarkExportedResult,
    Page,
    PurchaseOrder,
    Record,
    Sku,
    UnreadableRecord,
    Vendor,
)
from stnav_desktop.redact import register_secret

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Record)
MAX_IDS = 50  # "Perform lookup by multiple IDs (maximum 50)"
SKU_KINDS = {"Material": "materials", "Equipment": "equipment", "Service": "services"}


def _clock_fn(clock: Any) -> Callable[[], float]:
    if clock is None:
        return time.time
    if hasattr(clock, "timestamp"):
        return clock.timestamp
    if callable(clock):
        return clock
    raise TypeError("clock must be a Clock (with timestamp()) or a callable returning epoch seconds")


class ServiceTitanClient:
    """One tenant, one environment. Thread-safe: share one instance between worker threads."""

    def __init__(self, config: ServiceTitanConfig, client_secret: str, *, counter: CallCounter | None = None,
                 clock: Any = None) -> None:
        self.config = config
        self.counter = counter
        if config.app_key:
            register_secret(config.app_key)
        settings = HttpSettings(timeout=config.timeout, ca_bundle=config.ca_bundle, retry=config.retry)
        self.auth = TokenProvider(config.token_url, config.client_id, client_secret, settings=settings,
                                  clock=_clock_fn(clock), refresh_margin=config.refresh_margin, counter=counter)
        self.limiter = tenant_limiter(config.environment, config.tenant_id, config.calls_per_second)
        headers = {"Accept": "application/json"}
        if config.app_key:
            headers["ST-App-Key"] = config.app_key
        self.http = HttpClient(config.api_root, settings=settings, auth=self.auth, limiter=self.limiter,
                               error_parser=api_error, default_headers=headers, counter=counter)
        self._known: KnownIds | None = None

    # -- plumbing ---------------------------------------------------------------------------------
    def path(self, module: str, rest: str) -> str:
        return f"{module}/v2/tenant/{self.config.tenant_id}/{rest.lstrip('/')}"

    def get(self, module: str, rest: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._get(module, rest, params)[0]

    def _get(self, module: str, rest: str, params: Mapping[str, Any] | None = None) -> tuple[Any, bool]:
        """The answer's JSON and whether it holds no float (``parsing.loads_vouched``)."""
        resp = self.http.request("GET", self.path(module, rest), params=_clean(params), expected=(200,))
        content = resp.content
        try:
            return parsing.loads_vouched(content) if content else (None, True)
        except ValueError:
            raise HttpError(f"ServiceTitan answered {module}/{rest} with something that is not JSON",
                            status=resp.status_code, retryable=True) from None

    def close(self) -> None:
        self.http.session.close()

    def __enter__(self) -> ServiceTitanClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- generic pagers --------------------------------------------------------------------------
    def iter_export(self, module: str, resource: str, parse: Callable[[dict[str, Any]], R],
                    continue_from: str | None = None, *, include_recent_changes: bool = False
                    ) -> Iterator[Page[R]]:
        """Export feed ``/export/{resource}``: yields pages until ``hasMore`` is false. The last page
        (possibly empty) still carries a fresh token: store it and call again later."""
        token = continue_from
        while True:
            params: dict[str, Any] = {}
            if token:
                params["from"] = token
            if include_recent_changes:
                params["includeRecentChanges"] = "true"
            body, float_free = self._get(module, f"export/{resource}", params)
            if not isinstance(body, dict) or "data" not in body:
                raise HttpError(f"ServiceTitan export/{resource} answered without the export envelope")
            has_more = bool(body.get("hasMore"))
            token = body.get("continueFrom") or token
            # no name here holds the page or its payloads while the caller stores it: once it is done
            # with them they are freed at once, not kept alive until the next page is asked for
            yield Page([_parse_safely(parse, r, resource) for r in body.pop("data") or []], token, has_more,
                       float_free=float_free)
            if not has_more:
                return

    def iter_list(self, module: str, rest: str, parse: Callable[[dict[str, Any]], R],
                  params: Mapping[str, Any] | None = None, *, page_size: int | None = None,
                  modified_on_or_after: datetime | None = None) -> Iterator[Page[R]]:
        """Paginated list endpoint ``{page, pageSize, hasMore, data}``; also copes with endpoints that
        answer a bare array (``/inventory-bills``): a short page ends it."""
        size = page_size or self.config.page_size
        query = dict(params or {})
        if modified_on_or_after is not None:
            query["modifiedOnOrAfter"] = parsing.format_datetime(modified_on_or_after)
        page = 1
        while True:
            body = self.get(module, rest, {**query, "page": page, "pageSize": size})
            if isinstance(body, list):
                data, has_more = body, len(body) >= size
            elif isinstance(body, dict):
                data, has_more = body.get("data") or [], bool(body.get("hasMore"))
            else:
                raise HttpError(f"ServiceTitan {rest} answered without a list")
            yield Page([parse(r) for r in data if isinstance(r, dict)], None, has_more, page=page)
            if not has_more or not data:
                return
            page += 1

    def _all(self, pages: Iterable[Page[R]]) -> list[R]:
        return [r for p in pages for r in p.records]

    # -- reference ids (to flag dangling references) -------------------------------------------------
    def known_ids(self, refresh: bool = False) -> KnownIds:
        """Vendor and business-unit ids (active and inactive), loaded once and cached."""
        if self._known is None or refresh:
            vendors = frozenset(v.id for v in self._all(self.iter_vendors()))
            bus = frozenset(b.id for b in self._all(self.iter_business_units()))
            self._known = KnownIds(vendors=vendors, business_units=bus)
        return self._known

    def _refs(self, validate: bool) -> KnownIds | None:
        return self.known_ids() if validate else None

    # -- purchase orders (inventory v2) ----------------------------------------------------------------
    def iter_export_purchase_orders(self, continue_from: str | None = None, *, include_recent_changes: bool = False,
                                    validate_references: bool = True) -> Iterator[Page[PurchaseOrder]]:
        known = self._refs(validate_references)
        return self.iter_export("inventory", "purchase-orders",
                                lambda r: parsing.parse_purchase_order(r, known), continue_from,
                                include_recent_changes=include_recent_changes)

    def iter_purchase_orders(self, modified_on_or_after: datetime | None = None, *, ids: Iterable[int] = (),
                             status: str | None = None, page_size: int | None = None,
                             validate_references: bool = True) -> Iterator[Page[PurchaseOrder]]:
        known = self._refs(validate_references)
        params: dict[str, Any] = {"sort": "+ModifiedOn", "status": status}
        return self._list_by_ids("inventory", "purchase-orders", lambda r: parsing.parse_purchase_order(r, known),
                                 params, ids, page_size, modified_on_or_after)

    def get_purchase_order(self, po_id: int, *, validate_references: bool = True) -> PurchaseOrder:
        return parsing.parse_purchase_order(self.get("inventory", f"purchase-orders/{int(po_id)}"),
                                            self._refs(validate_references))

    # -- inventory returns (inventory v2) -----------------------------------------------------------
    def iter_export_returns(self, continue_from: str | None = None, *, include_recent_changes: bool = False,
                            validate_references: bool = True) -> Iterator[Page[InventoryReturn]]:
        """Export_Returns ``GET /inventory/v2/tenant/{tenant}/export/returns``: same continuation as POs."""
        known = self._refs(validate_references)
        return self.iter_export("inventory", "returns", lambda r: parsing.parse_inventory_return(r, known),
                                continue_from, include_recent_changes=include_recent_changes)

    # -- inventory bills (accounting v2) -------------------------------------------------------------
    def iter_export_inventory_bills(self, continue_from: str | None = None, *,
                                    include_recent_changes: bool = False,
                                    validate_references: bool = True) -> Iterator[Page[InventoryBill]]:
        known = self._refs(validate_references)
        return self.iter_export("accounting", "inventory-bills", lambda r: parsing.parse_inventory_bill(r, known),
                                continue_from, include_recent_changes=include_recent_changes)

    def iter_inventory_bills(self, modified_on_or_after: datetime | None = None, *, ids: Iterable[int] = (),
                             sync_statuses: Iterable[str] = (), page_size: int | None = None,
                             validate_references: bool = True) -> Iterator[Page[InventoryBill]]:
        """``/inventory-bills/paginated`` (the envelope version; the plain list is a bare array)."""
        known = self._refs(validate_references)
        params: dict[str, Any] = {"syncStatuses": ",".join(sync_statuses) or None}
        return self._list_by_ids("accounting", "inventory-bills/paginated",
                                 lambda r: parsing.parse_inventory_bill(r, known), params, ids, page_size,
                                 modified_on_or_after)

    def mark_bills_exported(self, bill_ids: Iterable[int]) -> list[MarkExportedResult]:
        """POST ``/inventory-bills/markasexported`` ``{"inventoryBillIds": [...]}``. Returns one result
        per id. A refused request raises ``ConnectorError`` (``retryable`` for 429/5xx; a transport error
        means the outcome is unknown: read the bills back before re-sending)."""
        ids = [int(i) for i in bill_ids]
        results: list[MarkExportedResult] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            resp = self.http.request("POST", self.path("accounting", "inventory-bills/markasexported"),
                                     json_body={"inventoryBillIds": chunk}, expected=(200,))
            body = parsing.loads(resp.content) if resp.content else []
            seen = set()
            for row in body if isinstance(body, list) else []:
                bid = int(row.get("inventoryBillId"))
                seen.add(bid)
                results.append(MarkExportedResult(bid, bool(row.get("success")), row.get("errorMessage")))
            for bid in chunk:
                if bid not in seen:
                    results.append(MarkExportedResult(bid, False, "no result returned for this bill"))
        return results

    # -- reference data ---------------------------------------------------------------------------
    def iter_vendors(self, modified_on_or_after: datetime | None = None, *, active: str = "Any",
                     ids: Iterable[int] = ()) -> Iterator[Page[Vendor]]:
        return self._list_by_ids("inventory", "vendors", parsing.parse_vendor, {"active": active}, ids, None,
                                 modified_on_or_after)

    def iter_skus(self, kind: str = "Material", modified_on_or_after: datetime | None = None, *,
                  active: str = "Any", ids: Iterable[int] = ()) -> Iterator[Page[Sku]]:
        """Pricebook SKUs: kind "Material", "Equipment" or "Service"."""
        if kind not in SKU_KINDS:
            raise ValueError(f"kind must be one of {sorted(SKU_KINDS)}")
        return self._list_by_ids("pricebook", SKU_KINDS[kind], lambda r: parsing.parse_sku(r, kind),
                                 {"active": active}, ids, None, modified_on_or_after)

    def iter_business_units(self, modified_on_or_after: datetime | None = None, *, active: str = "Any"
                            ) -> Iterator[Page[BusinessUnit]]:
        return self.iter_list("settings", "business-units", parsing.parse_business_unit, {"active": active},
                              modified_on_or_after=modified_on_or_after)

    def iter_gl_accounts(self, modified_on_or_after: datetime | None = None, *, active: str = "Any"
                         ) -> Iterator[Page[GLAccount]]:
        return self.iter_list("accounting", "gl-accounts", parsing.parse_gl_account, {"active": active},
                              modified_on_or_after=modified_on_or_after)

    def iter_jobs(self, modified_on_or_after: datetime | None = None, *, ids: Iterable[int] = ()
                  ) -> Iterator[Page[Job]]:
        return self._list_by_ids("jpm", "jobs", parsing.parse_job, {}, ids, None, modified_on_or_after)

    def iter_inventory_locations(self, modified_on_or_after: datetime | None = None, *, active: str = "Any"
                                 ) -> Iterator[Page[InventoryLocation]]:
        """Warehouses (the inventory locations POs point at with ``inventoryLocationId``)."""
        return self.iter_list("inventory", "warehouses", parsing.parse_inventory_location, {"active": active},
                              modified_on_or_after=modified_on_or_after)

    def _list_by_ids(self, module: str, rest: str, parse: Callable[[dict[str, Any]], R],
                     params: Mapping[str, Any], ids: Iterable[int], page_size: int | None,
                     modified_on_or_after: datetime | None) -> Iterator[Page[R]]:
        id_list = [int(i) for i in ids]
        if not id_list:
            yield from self.iter_list(module, rest, parse, params, page_size=page_size,
                                      modified_on_or_after=modified_on_or_after)
            return
        for start in range(0, len(id_list), MAX_IDS):
            chunk = ",".join(str(i) for i in id_list[start:start + MAX_IDS])
            yield from self.iter_list(module, rest, parse, {**params, "ids": chunk}, page_size=page_size,
                                      modified_on_or_after=modified_on_or_after)

    # convenience: whole lists (reference data is small)
    def vendors(self) -> list[Vendor]:
        return self._all(self.iter_vendors())

    def business_units(self) -> list[BusinessUnit]:
        return self._all(self.iter_business_units())

    def gl_accounts(self) -> list[GLAccount]:
        return self._all(self.iter_gl_accounts())

    def skus(self) -> list[Sku]:
        return [s for kind in ("Material", "Equipment") for s in self._all(self.iter_skus(kind))]

    def inventory_locations(self) -> list[InventoryLocation]:
        return self._all(self.iter_inventory_locations())


def _parse_safely(parse: Callable[[dict[str, Any]], R], raw: Any, resource: str) -> Any:
    """One bad entry never stops a page: what the parser cannot read comes back as an UnreadableRecord."""
    if not isinstance(raw, dict):
        return UnreadableRecord(id=0, raw={"entry": raw}, problems=[
            f"{resource}: an entry of the feed is not a JSON object ({str(raw)[:60]!r})"])
    try:
        return parse(raw)
    except Exception as exc:  # a shape no parser anticipated: keep the payload, name the problem
        rid = raw.get("id")
        log.warning("ServiceTitan %s record %s could not be read: %s", resource, rid, type(exc).__name__)
        return UnreadableRecord(id=rid if isinstance(rid, int) else 0, raw=raw, problems=[
            f"{resource} record {rid}: could not be read ({type(exc).__name__}: {str(exc)[:120]})"])


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    return {k: v for k, v in params.items() if v is not None and v != ""}
