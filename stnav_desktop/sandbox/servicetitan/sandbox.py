"""``ServiceTitanSandbox``: a strict local ServiceTitan (auth origin + API origin, HTTPS with a private
CA) with seeded data, test controls and fault injection."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stnav_desktop.sandbox.clock import Clock
from stnav_desktop.sandbox.server import SandboxHTTPServer
from stnav_desktop.sandbox.servicetitan import webhooks
from stnav_desktop.sandbox.servicetitan.app import Logged, ServiceTitanHandler, SimState
from stnav_desktop.sandbox.servicetitan.data import Dataset
from stnav_desktop.sandbox.servicetitan.faults import Faults
from stnav_desktop.sandbox.tls import ensure_tls

DEFAULT_TENANT = 1_234_567


class _Server(SandboxHTTPServer):
    """Polls for shutdown every 50 ms instead of 500 ms, so tests stop a sandbox quickly."""

    role = "api"

    def start(self) -> _Server:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"st-sandbox-{self.role}-{self.port}", daemon=True)
        self._thread.start()
        return self


class ServiceTitanSandbox:
    """Start with ``with ServiceTitanSandbox(tmp / "tls") as st: ...``.

    ``base_url`` is the API root for ``ServiceTitanConfig.api_url``; ``auth_url`` the full token URL
    (``auth_root`` without ``/connect/token``, as servicepytan wants it). Credentials are derived from
    the seed, so a demo profile keeps working across restarts."""

    def __init__(self, tls_dir: Path | None, *, clock: Clock | None = None, seed: int = 7,
                 purchase_orders: int = 60, calls_per_second: int = 60, faults: Faults | None = None,
                 tenant: int = DEFAULT_TENANT, token_lifetime: int = 900, export_batch: int = 1000,
                 record_bodies: bool = False, port: int = 0, auth_port: int = 0,
                 rate_clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock or Clock()
        self.tls_dir = tls_dir
        digest = hashlib.sha256(f"stnav-sandbox-{seed}".encode()).hexdigest()
        self.state = SimState(
            data=Dataset(tenant=tenant, now=self.clock.now(), seed=seed, purchase_orders=purchase_orders),
            clock=self.clock, tenant=tenant, client_id=f"cid.sandbox{seed}", client_secret=f"cs1.{digest[:40]}",
            app_key=f"ak1.{digest[40:64]}", calls_per_second=calls_per_second, token_lifetime=token_lifetime,
            export_batch=export_batch, faults=faults or Faults(), record_bodies=record_bodies,
            rate_clock=rate_clock)
        self._port = port
        self._auth_port = auth_port
        self._api: SandboxHTTPServer | None = None
        self._auth: SandboxHTTPServer | None = None

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> ServiceTitanSandbox:
        tls = ensure_tls(self.tls_dir) if self.tls_dir is not None else None
        self._api = _Server(ServiceTitanHandler, self.state, port=self._port, tls=tls)
        self._auth = _Server(ServiceTitanHandler, self.state, port=self._auth_port, tls=tls)
        self._auth.role = "auth"
        self._api.start()
        self._auth.start()
        return self

    def stop(self) -> None:
        for server in (self._api, self._auth):
            if server is not None:
                server.stop()
        self._api = self._auth = None

    def __enter__(self) -> ServiceTitanSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connection facts -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._api is not None, "sandbox not started"
        return self._api.base_url

    @property
    def auth_root(self) -> str:
        assert self._auth is not None, "sandbox not started"
        return self._auth.base_url

    @property
    def auth_url(self) -> str:
        return self.auth_root + "/connect/token"

    @property
    def ca_pem(self) -> Path | None:
        return self._api.tls.ca_pem if self._api is not None and self._api.tls is not None else None

    @property
    def tenant(self) -> int:
        return self.state.tenant

    @property
    def client_id(self) -> str:
        return self.state.client_id

    @property
    def client_secret(self) -> str:
        return self.state.client_secret

    @property
    def app_key(self) -> str:
        return self.state.app_key

    @property
    def data(self) -> Dataset:
        return self.state.data

    @property
    def faults(self) -> Faults:
        return self.state.faults

    def config_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``ServiceTitanConfig`` pointing at this sandbox."""
        return {"tenant": self.tenant, "client_id": self.client_id, "app_key": self.app_key,
                "environment": "integration", "auth_url": self.auth_url, "api_url": self.base_url,
                "ca_bundle": str(self.ca_pem) if self.ca_pem else None}

    # -- test controls --------------------------------------------------------------------------------
    def set_faults(self, faults: Faults | None = None, **changes: Any) -> Faults:
        if faults is not None:
            self.state.faults = faults
        for k, v in changes.items():
            setattr(self.state.faults, k, v)
        return self.state.faults

    def revoke_tokens(self) -> None:
        self.state.revoke_tokens()

    def edit_purchase_order(self, po_id: int, **changes: Any) -> dict[str, Any]:
        """Change a PO (bumps modifiedOn to the clock's now and moves it to the end of the export feed)."""
        return self.data.touch(self.data.purchase_orders, po_id, changes, self.clock.now())

    def edit_bill(self, bill_id: int, **changes: Any) -> dict[str, Any]:
        return self.data.touch(self.data.bills, bill_id, changes, self.clock.now())

    def add_purchase_orders(self, count: int = 1) -> list[int]:
        self.data.now = self.clock.now()
        return self.data.add_purchase_orders(count)

    @property
    def exported_bill_ids(self) -> list[int]:
        return list(self.state.exported_bill_ids)

    @property
    def requests(self) -> list[Logged]:
        return list(self.state.log)

    @property
    def token_requests(self) -> int:
        return self.state.token_requests

    def purchase_order_ids(self) -> list[int]:
        return sorted(self.data.purchase_orders.records)

    def bill_ids(self) -> list[int]:
        return sorted(self.data.bills.records)

    @property
    def bad_records(self) -> dict[str, dict[str, int]]:
        return {"purchase_orders": dict(self.data.bad.po), "inventory_bills": dict(self.data.bad.bill),
                "duplicate_of": dict(self.data.bad.duplicate_of)}

    def send_webhook(self, url: str, event_type: str, data: dict[str, Any] | None = None, *,
                     secret: str | None = None, header_name: str = webhooks.DEFAULT_HEADER,
                     encoding: str = "base64", retry_delays: tuple[float, ...] = webhooks.RETRY_DELAYS,
                     sleep: Callable[[float], None] = time.sleep, verify: Any = True) -> list[int]:
        body = webhooks.build_event(event_type, self.tenant, data, self.clock.now())
        return webhooks.send_webhook(url, body, secret=secret, header_name=header_name, encoding=encoding,
                                     retry_delays=retry_delays, sleep=sleep, verify=verify)


def run_standalone(port: int, tls_dir: Path, **kw: Any) -> None:
    """Serve until Ctrl-C; print the base URL, credentials and the CA path (``stnav sandbox servicetitan``)."""
    kw.setdefault("auth_port", port + 1 if port else 0)
    sandbox = ServiceTitanSandbox(tls_dir, port=port, **kw)
    sandbox.start()
    print("ServiceTitan sandbox running (Ctrl-C to stop)")
    print(f"  API root:      {sandbox.base_url}")
    print(f"  token URL:     {sandbox.auth_url}")
    print(f"  tenant:        {sandbox.tenant}")
    print(f"  client id:     {sandbox.client_id}")
    print(f"  client secret: {sandbox.client_secret}")
    print(f"  app key:       {sandbox.app_key}")
    print(f"  CA bundle:     {sandbox.ca_pem}")
    print(f"  purchase orders: {len(sandbox.data.purchase_orders)}, bills: {len(sandbox.data.bills)}", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
