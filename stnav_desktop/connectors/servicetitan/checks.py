"""Connection test: one line per check, with the usual fix when it fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stnav_desktop.connectors.http import AuthError, ConnectorError, TransportError
from stnav_desktop.connectors.servicetitan.client import ServiceTitanClient


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str


def _fix(client: ServiceTitanClient, exc: ConnectorError) -> str:
    env = client.config.environment
    other = "integration" if env == "production" else "production"
    if isinstance(exc, TransportError):
        return (f"{exc} Check the network/proxy and the {env} host name; if a proxy inspects TLS, set its CA "
                "bundle.")
    if exc.code == "app_key":
        return f"{exc}"
    if exc.code == "forbidden":
        return f"{exc}"
    if exc.code in ("invalid_client",):
        return f"{exc} (If the credentials are for {other}, switch the environment to {other}.)"
    if exc.status == 404:
        return f"{exc} Tenant {client.config.tenant_id} was not found in {env}: check the tenant id or switch to {other}."
    return str(exc)


def connection_checks(client: ServiceTitanClient) -> list[Check]:
    checks: list[Check] = []
    try:
        client.auth.token(force=True)
        checks.append(Check("Sign-in (token)", True, f"ServiceTitan {client.config.environment} issued a token."))
    except ConnectorError as exc:
        checks.append(Check("Sign-in (token)", False, _fix(client, exc)))
        return checks
    if not client.config.app_key:
        checks.append(Check("App key", False, "No ST-App-Key configured: enter the app key from the developer "
                                              "portal (My Apps)."))
        return checks

    probes: list[tuple[str, Callable[[], Any]]] = [
        ("Tenant reachable (business units)", lambda: client.get("settings", "business-units",
                                                                 {"pageSize": 1, "active": "Any"})),
        ("Purchase orders readable", lambda: client.get("inventory", "purchase-orders", {"pageSize": 1})),
        ("Inventory bills readable", lambda: client.get("accounting", "inventory-bills/paginated", {"pageSize": 1})),
        ("Vendors readable", lambda: client.get("inventory", "vendors", {"pageSize": 1})),
        ("Pricebook materials readable", lambda: client.get("pricebook", "materials", {"pageSize": 1})),
        ("GL accounts readable", lambda: client.get("accounting", "gl-accounts", {"pageSize": 1})),
        ("Jobs readable", lambda: client.get("jpm", "jobs", {"pageSize": 1})),
        ("Warehouses readable", lambda: client.get("inventory", "warehouses", {"pageSize": 1})),
    ]
    for name, probe in probes:
        try:
            probe()
            checks.append(Check(name, True, "OK"))
        except ConnectorError as exc:
            checks.append(Check(name, False, _fix(client, exc)))
            if isinstance(exc, AuthError | TransportError) and name.startswith("Tenant"):
                break  # everything else would fail the same way
    return checks
