"""Connection checks, one clear line each. Probes never write: permission to create purchase invoices
and journal lines is probed by reading the entity set with ``$top=0`` (BC checks read permission on the
same table; a real insert probe would leave documents behind or burn number series). A missing insert
permission therefore still shows up only at the first real create, with BC's Authorization_* error."""

from __future__ import annotations

from dataclasses import dataclass

from stnav_desktop.connectors.http import ConnectorError
from stnav_desktop.connectors.nav.client import NavClient


@dataclass
class Check:
    name: str
    ok: bool
    message: str


def connection_checks(client: NavClient) -> list[Check]:
    if not isinstance(client, NavClient):  # classic NAV page web services (nav.deployment = classic)
        from stnav_desktop.connectors.nav.classic.checks import classic_connection_checks

        return classic_connection_checks(getattr(client, "client", client))
    checks: list[Check] = []

    def run(name: str, fn, ok_message: str) -> bool:
        try:
            fn()
        except ConnectorError as exc:
            checks.append(Check(name, False, str(exc)))
            return False
        checks.append(Check(name, True, ok_message))
        return True

    if client.config.uses_oauth:
        auth = client.http.auth
        if not run("token", lambda: auth(False), "Signed in to Microsoft Entra ID."):  # type: ignore[misc]
            return checks
    companies: list[dict] = []

    def list_companies() -> None:
        companies.extend(client.companies())
    if not run("companies", list_companies, "The API answers and lists companies."):
        return checks
    if not any(c["id"].lower() == (client.config.company_id or "").lower() for c in companies):
        names = ", ".join(f"{c['name']} ({c['id']})" for c in companies) or "none"
        checks.append(Check("company", False, f"Company {client.config.company_id} was not found. Available: {names}."))
        return checks
    checks.append(Check("company", True, "The configured company is reachable."))
    run("read vendors", lambda: client.get(client.cpath("vendors"), params={"$top": "1"}), "Vendors can be read.")
    run("purchase invoices", lambda: client.get(client.cpath("purchaseInvoices"), params={"$top": "0"}),
        "Purchase invoices are accessible (read probe, nothing written).")
    run("journal lines", lambda: client.get(client.cpath("journals"), params={"$top": "0"}),
        "Journals are accessible (read probe, nothing written).")
    return checks
