"""Reference data from classic NAV pages, shaped like ``connectors.nav.RefData`` answers (API v2.0 names:
``number``, ``displayName``, ``blocked``…) so the reference-data cache in ``sync/app/refdata.py`` fills the same
way on either back end. Pages: 27 Vendor List, 31 Item List, 16 Chart of Accounts, 536/537 Dimensions and
Dimension Values; the journal is the configured template/batch (page 251 is not needed)."""

from __future__ import annotations

from typing import Any

from stnav_desktop.connectors.nav.classic.books import BLANK_OPTION, ClassicBooks
from stnav_desktop.connectors.nav.errors import NavError


def _blocked(value: Any) -> Any:
    return "" if value == BLANK_OPTION else value


class ClassicRefData:
    def __init__(self, books: ClassicBooks) -> None:
        self.books = books
        self.client = books.client

    def _all(self, role: str) -> list[dict[str, Any]]:
        return list(self.client.iter(self.client.service_path(role)))

    def companies(self) -> list[dict[str, Any]]:
        return self.client.companies()

    def vendors(self) -> list[dict[str, Any]]:
        return [{"number": v["No"], "displayName": v.get("Name", ""), "blocked": _blocked(v.get("Blocked"))}
                for v in self._all("vendors")]

    def items(self) -> list[dict[str, Any]]:
        try:
            rows = self._all("items")
        except NavError as exc:
            if exc.status == 404:
                return []  # page 31 not published: item lines are not offered
            raise
        return [{"number": i["No"], "displayName": i.get("Description", ""), "blocked": bool(i.get("Blocked"))}
                for i in rows]

    def accounts(self) -> list[dict[str, Any]]:
        return [{"number": a["No"], "displayName": a.get("Name", ""), "blocked": bool(a.get("Blocked")),
                 "directPosting": bool(a.get("Direct_Posting", True)),
                 "accountType": _blocked(a.get("Account_Type")) or "Posting"} for a in self._all("accounts")]

    def dimensions(self) -> list[dict[str, Any]]:
        """Dimensions, each with its ``dimensionValues`` (page 537 lists the values of every dimension)."""
        values: dict[str, list[dict[str, Any]]] = {}
        for v in self._all("dimension_values"):
            values.setdefault(str(v["Dimension_Code"]), []).append(
                {"code": v["Code"], "displayName": v.get("Name", ""), "blocked": bool(v.get("Blocked"))})
        try:
            dims = [{"code": d["Code"], "displayName": d.get("Name", "")} for d in self._all("dimensions")]
        except NavError as exc:
            if exc.status != 404:
                raise
            dims = [{"code": code, "displayName": code} for code in values]
        return [{**d, "dimensionValues": values.get(d["code"], [])} for d in dims]

    def journals(self) -> list[dict[str, Any]]:
        cfg = self.books.config
        return [{"code": cfg.journal_batch.upper(), "displayName": f"{cfg.journal_template.upper()} / "
                                                                  f"{cfg.journal_batch.upper()}"}]
