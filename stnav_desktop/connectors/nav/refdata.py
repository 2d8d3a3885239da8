"""Reference data for mapping and validation (plain dicts with BC's field names; the sync layer caches),
and the posting-period setup as typed values: ``gl_setup()`` (page 30087 "APIV2 - G/L Setup",
``generalLedgerSetup``: allowPostingFrom/To, global and shortcut dimension codes) and ``accounting_periods()``
(page 30086 "APIV2 - Accounting Periods"). BC still checks the posting date itself when it posts (a refusal comes
back as a clear error, see errors.py); these let the app warn before sending."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from stnav_desktop.connectors.http import ConnectorError
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.client import NavClient

EMPTY_DATE = date(1, 1, 1)  # how the API shows an empty Date field


def _date_or_none(value: Any) -> date | None:
    if not value:
        return None
    d = odata.parse_date(str(value))
    return None if d == EMPTY_DATE else d


@dataclass(frozen=True)
class GLSetup:
    """General Ledger Setup. ``allow_posting_from`` / ``allow_posting_to`` None = no limit on that side (a user's
    own User Setup range, which BC applies first, is not readable through the API)."""

    allow_posting_from: date | None
    allow_posting_to: date | None
    local_currency_code: str
    shortcut_dimensions: tuple[str, ...]  # Shortcut Dimension 1..8 Code; 1 and 2 are the global dimensions

    @property
    def global_dimension_1(self) -> str:
        return self.shortcut_dimensions[0]

    @property
    def global_dimension_2(self) -> str:
        return self.shortcut_dimensions[1]

    def allows(self, posting_date: date) -> bool:
        return ((self.allow_posting_from is None or posting_date >= self.allow_posting_from)
                and (self.allow_posting_to is None or posting_date <= self.allow_posting_to))

    @classmethod
    def from_api(cls, rec: dict[str, Any]) -> GLSetup:
        return cls(allow_posting_from=_date_or_none(rec.get("allowPostingFrom")),
                   allow_posting_to=_date_or_none(rec.get("allowPostingTo")),
                   local_currency_code=rec.get("localCurrencyCode") or "",
                   shortcut_dimensions=tuple(rec.get(f"shortcutDimension{i}Code") or "" for i in range(1, 9)))


@dataclass(frozen=True)
class AccountingPeriod:
    starting_date: date
    name: str
    new_fiscal_year: bool
    closed: bool
    date_locked: bool

    @classmethod
    def from_api(cls, rec: dict[str, Any]) -> AccountingPeriod:
        return cls(starting_date=odata.parse_date(rec["startingDate"]), name=rec.get("name") or "",
                   new_fiscal_year=bool(rec.get("newFiscalYear")), closed=bool(rec.get("closed")),
                   date_locked=bool(rec.get("dateLocked")))


def period_of(periods: list[AccountingPeriod], day: date) -> AccountingPeriod | None:
    """The accounting period ``day`` falls in (None: before the first period, or no periods)."""
    found = None
    for p in sorted(periods, key=lambda p: p.starting_date):
        if p.starting_date <= day:
            found = p
    return found


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

    def gl_setup(self) -> GLSetup | None:
        """The General Ledger Setup, or None when the server has no ``generalLedgerSetup`` entity (BC versions
        before page 30087 existed answer 404)."""
        try:
            recs = self._all("generalLedgerSetup")
        except ConnectorError as exc:
            if exc.status == 404:
                return None
            raise
        return GLSetup.from_api(recs[0]) if recs else None

    def accounting_periods(self) -> list[AccountingPeriod]:
        """Every accounting period, oldest first."""
        periods = [AccountingPeriod.from_api(r) for r in self._all("accountingPeriods")]
        return sorted(periods, key=lambda p: p.starting_date)


# -- the sync layer's reference cache rows (key, name, blocked, data), from NAV's records ---------------
REFERENCE_SETS = ("vendors", "items", "accounts", "dimensionValues", "journals")


def _blocked(value: Any) -> bool:
    """BC's vendor ``blocked`` is an option (" ", "Payment", "All"); items and accounts use booleans."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip() not in ("", "Payment")


def reference_rows(source: Any, entity: str) -> Iterator[dict[str, Any]]:
    """One reference set as cache rows: ``source`` is ``RefData`` (API v2.0) or classic NAV's
    ``ClassicRefData`` (which answers in the API's shape). Every NAV field name stays here."""
    if entity == "vendors":
        for v in source.vendors():
            yield {"key": v["number"], "name": v.get("displayName", ""), "blocked": _blocked(v.get("blocked")),
                   "data": {"id": v.get("id"), "taxRegistrationNumber": v.get("taxRegistrationNumber"),
                            # evidence for vendor suggestions (sync/domain/matching.py)
                            "phone": v.get("phoneNumber"), "postalCode": v.get("postalCode"),
                            "street": v.get("addressLine1")}}
    elif entity == "items":
        for i in source.items():
            yield {"key": i["number"], "name": i.get("displayName", ""), "blocked": _blocked(i.get("blocked")),
                   "data": {"id": i.get("id"), "type": i.get("type")}}
    elif entity == "accounts":
        for a in source.accounts():
            if a.get("accountType", "Posting") == "Posting":
                yield {"key": a["number"], "name": a.get("displayName", ""), "blocked": _blocked(a.get("blocked")),
                       "data": {"id": a.get("id"), "directPosting": bool(a.get("directPosting", True)),
                                "accountType": a.get("accountType"), "category": a.get("category")}}
    elif entity == "dimensionValues":
        for d in source.dimensions():
            for v in d.get("dimensionValues") or []:
                yield {"key": f"{d['code']}:{v['code']}", "name": v.get("displayName", ""), "data": {"id": v.get("id")}}
    elif entity == "journals":
        for j in source.journals():
            yield {"key": j["code"], "name": j.get("displayName", ""), "data": {"id": j.get("id")}}
    else:
        raise ValueError(f"unknown reference set {entity!r}")

