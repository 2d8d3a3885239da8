"""Queries behind the review grid: filter, sort and page in SQL so the grid stays fast at 100,000 rows.
The GUI's table model calls these; it never writes SQL itself."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from peewee import JOIN, fn

from stnav_desktop.store.models import DocStatus, Mapping, MappingKind, Profile, StDocument

COLUMNS = ("source", "number", "date", "st_vendor", "nav_vendor", "territory", "dimension", "amount", "status",
           "problem")

STATUS_LABELS: dict[str, str] = {  # looked up with the stored status text
    DocStatus.NEEDS_MAPPING: "Needs mapping", DocStatus.READY: "Ready", DocStatus.APPROVED: "Approved",
    DocStatus.POSTING: "Posting", DocStatus.POSTED: "Posted",
    DocStatus.IN_NAV_DRAFT: "In NAV as draft", DocStatus.UNCONFIRMED: "Sent, awaiting NAV's confirmation", DocStatus.FAILED: "Failed (retry scheduled)",
    DocStatus.NEEDS_ATTENTION: "Needs attention", DocStatus.REJECTED: "Rejected",
    DocStatus.CHANGED_AFTER_POSTING: "Changed after posting", DocStatus.SKIPPED: "Not posted (by rule)",
    DocStatus.HELD: "Held back (release to book)",
    DocStatus.DATA_PROBLEM: "Data problem", DocStatus.WAITING: "Waiting for full receipt",
}


@dataclass
class ReviewFilter:
    statuses: list[str] = field(default_factory=list)
    kind: str | None = None
    vendor: str | None = None  # ServiceTitan vendor name contains
    territory: str | None = None  # business unit name contains
    date_from: datetime | None = None
    date_to: datetime | None = None
    search: str = ""  # number, vendor, business unit or problem contains


@dataclass
class ReviewRow:
    id: int
    kind: str
    number: str
    date: datetime | None
    st_vendor: str
    vendor_st_id: int | None
    nav_vendor: str
    territory: str
    business_unit_st_id: int | None
    dimension: str
    amount: Decimal | None
    status: str
    problem: str
    batch_id: int | None = None  # the batch it is in (ready documents of a batch wait for its approval)


VendorMap = Mapping.alias("vendor_map")
UnitMap = Mapping.alias("unit_map")


def _base(profile: Profile, flt: ReviewFilter):
    query = (StDocument.select(StDocument.id, StDocument.kind, StDocument.number, StDocument.doc_date,
                               StDocument.vendor_name, StDocument.vendor_st_id, StDocument.business_unit_name,
                               StDocument.business_unit_st_id, StDocument.total, StDocument.status,
                               StDocument.problem, StDocument.batch,
                               VendorMap.target.alias("nav_vendor"), UnitMap.target.alias("dimension"))
             .join(VendorMap, JOIN.LEFT_OUTER,
                   on=((VendorMap.profile == StDocument.profile) & (VendorMap.kind == MappingKind.VENDOR)
                       & (VendorMap.source_key == StDocument.vendor_st_id.cast("TEXT"))))
             .switch(StDocument)
             .join(UnitMap, JOIN.LEFT_OUTER,
                   on=((UnitMap.profile == StDocument.profile) & (UnitMap.kind == MappingKind.BUSINESS_UNIT)
                       & (UnitMap.source_key == StDocument.business_unit_st_id.cast("TEXT"))))
             .where(StDocument.profile == profile))
    if flt.statuses:
        query = query.where(StDocument.status.in_(flt.statuses))
    if flt.kind:
        query = query.where(StDocument.kind == flt.kind)
    if flt.vendor:
        query = query.where(StDocument.vendor_name.contains(flt.vendor))
    if flt.territory:
        query = query.where(StDocument.business_unit_name.contains(flt.territory))
    if flt.date_from:
        query = query.where(StDocument.doc_date >= flt.date_from)
    if flt.date_to:
        query = query.where(StDocument.doc_date < flt.date_to)
    if flt.search.strip():
        text = flt.search.strip()
        query = query.where(StDocument.number.contains(text) | StDocument.vendor_name.contains(text)
                            | StDocument.business_unit_name.contains(text) | StDocument.problem.contains(text))
    return query


SORT_KEYS: dict[str, Any] = {
    "source": StDocument.kind, "number": StDocument.number, "date": StDocument.doc_date,
    "st_vendor": StDocument.vendor_name, "nav_vendor": VendorMap.target, "territory": StDocument.business_unit_name,
    "dimension": UnitMap.target, "amount": StDocument.total.cast("REAL"),  # ordering only; values stay Decimal
    "status": StDocument.status, "problem": StDocument.problem,
}


def count(profile: Profile, flt: ReviewFilter) -> int:
    return _base(profile, flt).count()


def fetch(profile: Profile, flt: ReviewFilter, *, sort: str = "date", descending: bool = True, offset: int = 0,
          limit: int = 200) -> list[ReviewRow]:
    return list(iterate(profile, flt, sort=sort, descending=descending, offset=offset, limit=limit))


def iterate(profile: Profile, flt: ReviewFilter, *, sort: str = "date", descending: bool = True, offset: int = 0,
            limit: int | None = None) -> Iterator[ReviewRow]:
    """The rows one by one, streamed from the cursor (``stnav review list --limit 100000`` keeps one row in
    memory, not the list)."""
    key = SORT_KEYS.get(sort, StDocument.doc_date)
    order = [key.desc() if descending else key.asc(), StDocument.id.desc() if descending else StDocument.id.asc()]
    query = _base(profile, flt).order_by(*order)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    for r in query.dicts().iterator():
        yield ReviewRow(id=r["id"], kind=r["kind"], number=r["number"],
                        date=StDocument.doc_date.python_value(r["doc_date"])
                        if isinstance(r["doc_date"], str) else r["doc_date"],
                        st_vendor=r["vendor_name"], vendor_st_id=r["vendor_st_id"], nav_vendor=r["nav_vendor"] or "",
                        territory=r["business_unit_name"], business_unit_st_id=r["business_unit_st_id"],
                        dimension=r["dimension"] or "",
                        amount=StDocument.total.python_value(r["total"]) if isinstance(r["total"], str) else r["total"],
                        status=r["status"], problem=r["problem"], batch_id=r.get("batch"))


def status_counts(profile: Profile) -> dict[str, int]:
    query = (StDocument.select(StDocument.status, fn.COUNT(StDocument.id).alias("n"))
             .where(StDocument.profile == profile).group_by(StDocument.status).tuples())
    return dict(cast("Iterable[tuple[str, int]]", query))


def distinct_values(profile: Profile, column: str) -> list[str]:
    field_ = {"vendor": StDocument.vendor_name, "territory": StDocument.business_unit_name}[column]
    query = (StDocument.select(field_).where((StDocument.profile == profile) & (field_ != ""))
             .distinct().order_by(field_).tuples())
    return [v for (v,) in cast("Iterable[tuple[str]]", query)]


def document(document_id: int | None) -> StDocument | None:
    """One staged document (the detail pane's subject), or None."""
    return StDocument.get_or_none(StDocument.id == document_id) if document_id is not None else None
