"""Pulling from ServiceTitan into the store, incrementally and resumably.

Each export feed is read page by page; a page's documents and the continuation token after it are
committed in one transaction, so a pull cancelled or killed at any point resumes from the last stored
page with no gap and no duplicate. A first full pull and later delta pulls are the same code path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from stnav_desktop.store import audit
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import Profile, SourceKind, StDocument, StReference, SyncWatermark
from stnav_desktop.sync import documents, lifecycle, mapping

log = logging.getLogger(__name__)


class Record(Protocol):
    raw: dict[str, Any]
    problems: list[str]


class Page(Protocol):
    records: list[Record]
    continue_from: str | None
    has_more: bool


class StSource(Protocol):
    def iter_export_purchase_orders(self, continue_from: str | None = None) -> Iterator[Page]: ...
    def iter_export_inventory_bills(self, continue_from: str | None = None) -> Iterator[Page]: ...


STREAMS = {
    "export/purchase-orders": (SourceKind.PURCHASE_ORDER, "iter_export_purchase_orders"),
    "export/inventory-bills": (SourceKind.INVENTORY_BILL, "iter_export_inventory_bills"),
}


@dataclass
class PullSummary:
    pages: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # new / updated / unchanged / changed_after_posting
    with_problems: int = 0
    cancelled: bool = False
    changed_ids: list[int] = field(default_factory=list)

    def add(self, change: str) -> None:
        self.counts[change] = self.counts.get(change, 0) + 1

    def line(self) -> str:
        parts = [f"{self.counts.get(k, 0)} {k.replace('_', ' ')}" for k in
                 ("new", "updated", "unchanged", "changed_after_posting") if self.counts.get(k)]
        text = ", ".join(parts) or "nothing new"
        if self.with_problems:
            text += f"; {self.with_problems} with data problems"
        return text + (" (cancelled; resumes where it stopped)" if self.cancelled else "")


def watermark(profile: Profile, stream: str) -> SyncWatermark:
    row, _ = SyncWatermark.get_or_create(profile=profile, stream=stream)
    return row


def pull(profile: Profile, source: StSource, *, streams: Iterable[str] = tuple(STREAMS),
         cancel: Callable[[], bool] = lambda: False) -> PullSummary:
    summary = PullSummary()
    contexts: list = []  # the readiness context, built once per pull on the first page that needs it
    for stream in streams:
        kind, method = STREAMS[stream]
        mark = watermark(profile, stream)
        for page in getattr(source, method)(mark.token):
            with db.atomic():
                page_ids = []
                for record in page.records:
                    result = documents.stage(profile, kind, dict(record.raw), list(record.problems or []))
                    summary.add(result.change)
                    if record.problems:
                        summary.with_problems += 1
                    if result.change in ("new", "updated"):
                        summary.changed_ids.append(result.document.id)
                        page_ids.append(result.document.id)
                # names and readiness land with the rows: a pull killed after this commit leaves none unevaluated
                _evaluate_page(profile, page_ids, contexts)
                # the token is stored with the rows it covers, never before
                if page.continue_from:
                    mark.token = page.continue_from
                mark.updated_at = utcnow()
                mark.save()
            summary.pages += 1
            if cancel():
                summary.cancelled = True
                break
        if summary.cancelled:
            break
    audit.append("pull.finished", profile=profile.name, detail={"pages": summary.pages, **summary.counts,
                                                                 "with_problems": summary.with_problems,
                                                                 "cancelled": summary.cancelled})
    return summary


def _evaluate_page(profile: Profile, ids: list[int], contexts: list) -> None:
    if not ids:
        return
    fill_names(profile, ids)
    if not contexts:
        contexts.append(mapping.plan_context(profile))
    for doc in StDocument.select().where(StDocument.id.in_(ids) & StDocument.status.in_(list(mapping.REEVALUATE))):
        status, reason = mapping.evaluate(doc, contexts[0])
        if status != doc.status or reason != doc.problem:
            lifecycle.transition(doc, status, reason=reason)


def st_names(profile: Profile) -> dict[str, dict[int, str]]:
    out: dict[str, dict[int, str]] = {}
    for ref in StReference.select(StReference.entity, StReference.st_id, StReference.name).where(
            StReference.profile == profile):
        out.setdefault(ref.entity, {})[ref.st_id] = ref.name
    return out


def fill_names(profile: Profile, ids: list[int] | None = None) -> None:
    """Purchase orders carry vendor and business unit ids only: fill the grid's name columns from the
    cached ServiceTitan reference data (for the documents ``ids``, or every one missing a name)."""
    names = st_names(profile)
    vendors, units = names.get("vendors", {}), names.get("businessUnits", {})
    query = StDocument.select().where((StDocument.profile == profile) & (
        (StDocument.vendor_name == "") | (StDocument.business_unit_name == "")))
    if ids is not None:
        query = query.where(StDocument.id.in_(ids))
    with db.atomic():
        for doc in query:
            changed = False
            if not doc.vendor_name and doc.vendor_st_id in vendors:
                doc.vendor_name, changed = vendors[doc.vendor_st_id][:200], True
            if not doc.business_unit_name and doc.business_unit_st_id in units:
                doc.business_unit_name, changed = units[doc.business_unit_st_id][:200], True
            if changed:
                doc.save()


def store_st_references(profile: Profile, entity: str, rows: Iterable[dict[str, Any]]) -> int:
    """Cache ServiceTitan reference rows (vendors, businessUnits, skus, glAccounts) for names and suggestions."""
    count = 0
    now = utcnow()
    with db.atomic():
        for row in rows:
            StReference.insert(profile=profile, entity=entity, st_id=int(row["id"]),
                               code=str(row.get("code") or row.get("number") or "")[:200],
                               name=str(row.get("name") or row.get("displayName") or "")[:200],
                               active=bool(row.get("active", True)), data=row, refreshed_at=now).on_conflict(
                conflict_target=[StReference.profile, StReference.entity, StReference.st_id],
                update={StReference.code: str(row.get("code") or row.get("number") or "")[:200],
                        StReference.name: str(row.get("name") or row.get("displayName") or "")[:200],
                        StReference.active: bool(row.get("active", True)), StReference.data: row,
                        StReference.refreshed_at: now}).execute()
            count += 1
    return count
