"""Reference data for mapping and validation (plain dicts with BC's field names; the sync layer caches).

The v2.0 catalog has no generalLedgerSetup entity (allowPostingFrom/To): the posting-period check is
BC's own at posting time and comes back as a clear error (see errors.py)."""

from __future__ import annotations

from typing import Any

from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.client import NavClient


class RefData:
    def __init__(self, client: NavClient, page_size: int = 1000) -> None:
        self.client = client
        self.page_size = page_size

    def _all(self, entity: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return list(self.client.iter(self.client.cpath(entity), params, page_size=self.page_size))

    def companies(self) -> list[dict[str, Any]]:
        return list(self.client.iter("companies", page_size=self.page_size))

    def vendors(self) -> list[dict[str, Any]]:
        return self._all("vendors")

    def vendor(self, number: str) -> dict[str, Any] | None:
        found = [v for v in self._all("vendors", {"$filter": odata.eq_filter(number=number)}) if v["number"] == number]
        return found[0] if found else None

    def items(self) -> list[dict[str, Any]]:
        return self._all("items")

    def accounts(self) -> list[dict[str, Any]]:
        return self._all("accounts")

    def dimensions(self) -> list[dict[str, Any]]:
        """Dimensions, each with its ``dimensionValues``."""
        return self._all("dimensions", {"$expand": "dimensionValues"})

    def dimension_values(self) -> list[dict[str, Any]]:
        return self._all("dimensionValues")

    def journals(self) -> list[dict[str, Any]]:
        return self._all("journals")
