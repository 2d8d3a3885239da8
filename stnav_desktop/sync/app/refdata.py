"""The NAV reference-data cache (vendors, items, G/L accounts, dimension values, journals) that the
pickers and the validation read. Filled by ``refresh`` from the NAV connector."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from stnav_desktop.connectors.nav.refdata import REFERENCE_SETS, reference_rows
from stnav_desktop.store import audit
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import NavReference, Profile


@dataclass(frozen=True)
class Choice:
    key: str
    name: str
    blocked: bool = False

    @property
    def label(self) -> str:
        return f"{self.key} — {self.name}" + ("  (blocked)" if self.blocked else "")


def choices(profile: Profile, entity: str, *, prefix: str | None = None) -> list[Choice]:
    query = NavReference.select(NavReference.key, NavReference.name, NavReference.blocked, NavReference.data).where(
        (NavReference.profile == profile) & (NavReference.entity == entity)).order_by(NavReference.key)
    out = []
    for ref in query:
        key = ref.key
        if prefix is not None:
            if not key.startswith(prefix + ":"):
                continue
            key = key.split(":", 1)[1]
        if entity == "accounts" and not (ref.data or {}).get("directPosting", True):
            continue  # not offered: NAV refuses direct posting to it
        out.append(Choice(key, ref.name, ref.blocked))
    return out


def replace(profile: Profile, entity: str, rows: Iterable[dict[str, Any]]) -> int:
    """Replace the cache of one entity in one transaction (rows: key, name, blocked, data)."""
    now = utcnow()
    rows = list(rows)
    with db.atomic():
        NavReference.delete().where((NavReference.profile == profile) & (NavReference.entity == entity)).execute()
        for chunk in (rows[i:i + 500] for i in range(0, len(rows), 500)):
            NavReference.insert_many([dict(profile=profile, entity=entity, key=r["key"], name=r.get("name", "")[:200],
                                           blocked=bool(r.get("blocked")), data=r.get("data"), refreshed_at=now)
                                      for r in chunk]).execute()
    audit.append("refdata.refreshed", profile=profile.name, detail={"entity": entity, "rows": len(rows)})
    return len(rows)


def last_refresh(profile: Profile) -> dict[str, Any]:
    from peewee import fn

    query = (NavReference.select(NavReference.entity, fn.MAX(NavReference.refreshed_at))
             .where(NavReference.profile == profile).group_by(NavReference.entity).tuples())
    return dict(cast("Iterable[tuple[str, Any]]", query))


def refresh_nav(profile: Profile, source, only: Iterable[str] | None = None) -> dict[str, int]:
    """Read vendors, items, G/L accounts, dimension values and journals from NAV (``RefData`` or classic
    NAV's ``ClassicRefData``) into the cache, each entity in one transaction; ``only``: just these entities
    (a NAV notification named them). The connector turns NAV's records into cache rows."""
    readers = {entity: (lambda e=entity: reference_rows(source, e)) for entity in REFERENCE_SETS}
    wanted = set(readers) if only is None else set(only)
    return {entity: replace(profile, entity, read()) for entity, read in readers.items() if entity in wanted}
