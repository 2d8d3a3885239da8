"""Pulling from ServiceTitan into the store, incrementally and resumably.

Each export feed is read page by page; a page's documents and the continuation token after it are
committed in one transaction, so a pull cancelled or killed at any point resumes from the last stored
page with no gap and no duplicate. A first full pull and later delta pulls are the same code path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Protocol, cast

from stnav_desktop.store import audit
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import DocStatus, Profile, SourceKind, StDocument, StReference, SyncWatermark
from stnav_desktop.sync.app import documents, holds, mapping

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
    # optional: a source without it (an older gateway, a test double) is not asked for returns
    # def iter_export_returns(self, continue_from: str | None = None) -> Iterator[Page]: ...


STREAMS = {
    "export/purchase-orders": (SourceKind.PURCHASE_ORDER, "iter_export_purchase_orders"),
    "export/inventory-bills": (SourceKind.INVENTORY_BILL, "iter_export_inventory_bills"),
    "export/returns": (SourceKind.INVENTORY_RETURN, "iter_export_returns"),
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


class _PageStager:
    """Stores pages with a number of SQL statements per page, not per document: one read of the page's
    existing rows, one multi-row INSERT of the new ones (readiness and holds decided in memory before
    the insert, so a new document is never READY for an instant it should not be), one executemany of
    targeted UPDATEs for the unchanged ones whose modifiedOn moved, one multi-row audit append, and
    the token. Documents whose content changed go through ``documents.stage`` one by one (they carry
    the changed-after-posting and in-flight rules); a delta pull has few of them."""

    def __init__(self, profile: Profile, summary: PullSummary) -> None:
        self.profile = profile
        self.summary = summary
        self.ctx = mapping.plan_context(profile)
        self.names = st_names(profile)
        self.holds: holds.HoldIndex | None = None
        self.restaged: list[int] = []  # rows changed through documents.stage: readiness re-checked at the end

    def stage_page(self, kind: str, records: list[Any]) -> None:
        prepared: dict[int, documents.Prepared] = {}
        events: list[dict[str, Any]] = []
        for record in records:
            raw = getattr(record, "raw", record)
            try:
                item = documents.prepare(kind, raw, list(getattr(record, "problems", None) or []))
            except documents.Unreadable as exc:
                self.summary.with_problems += 1
                self.summary.add("unreadable")
                events.append({"action": "document.unreadable", "detail": {"kind": kind, "problem": str(exc)}})
                log.warning("pull: %s", exc)
                continue
            prepared[item.st_id] = item  # a feed repeating a record within a page: the last one wins
        existing: dict[int, tuple[Any, ...]] = {}
        ids = list(prepared)
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            for stored in cast("Iterable[tuple[Any, ...]]", StDocument.select(
                    StDocument.id, StDocument.st_id, StDocument.content_hash, StDocument.modified_on)
                    .where((StDocument.profile == self.profile) & (StDocument.kind == kind)
                           & StDocument.st_id.in_(chunk)).tuples()):
                existing[stored[1]] = stored
        if kind == SourceKind.INVENTORY_BILL and self.holds is None:
            self.holds = holds.HoldIndex.load(self.profile)
        now = utcnow()
        inserts: list[dict[str, Any]] = []
        touched: list[tuple[Any, ...]] = []
        for st_id, item in prepared.items():
            if item.problems:
                self.summary.with_problems += 1
            row = existing.get(st_id)
            if row is None:
                inserts.append(self._new_row(kind, item, now, events))
                self.summary.add("new")
                continue
            if row[2] == item.digest:
                modified = item.columns["modified_on"]
                if modified and row[3] != modified:
                    touched.append((StDocument.modified_on.db_value(modified), item.raw_text, row[0]))
                self.summary.add("unchanged")
                continue
            result = documents.stage_prepared(self.profile, kind, item)
            self.summary.add(result.change)
            if result.change in ("new", "updated"):
                self.summary.changed_ids.append(result.document.id)
                self.restaged.append(result.document.id)
        if inserts:
            _insert_documents(inserts)
        if touched:
            table = StDocument._meta.table_name
            p = db.param  # "?" on SQLite, "%s" on PostgreSQL
            db.cursor().executemany(f"UPDATE {table} SET modified_on = {p}, raw = {p} WHERE id = {p}", touched)
        audit.append_many(events, profile=self.profile.name)
        if kind == SourceKind.PURCHASE_ORDER and self.holds is not None:
            for st_id in prepared:
                self.holds.add_po(st_id)

    def _new_row(self, kind: str, item: documents.Prepared, now, events: list[dict[str, Any]]) -> dict[str, Any]:
        columns = dict(item.columns)
        if not columns.get("vendor_name") and columns.get("vendor_st_id") in self.names.get("vendors", {}):
            columns["vendor_name"] = self.names["vendors"][columns["vendor_st_id"]][:200]
        if not columns.get("business_unit_name") and \
                columns.get("business_unit_st_id") in self.names.get("businessUnits", {}):
            columns["business_unit_name"] = self.names["businessUnits"][columns["business_unit_st_id"]][:200]
        problems = item.problems or None
        # what readiness reads of a document (mapping.evaluate), before the row exists
        probe = SimpleNamespace(kind=kind, raw=item.raw, source_problems=problems, st_id=item.st_id,
                                number=columns.get("number") or "", st_status=columns.get("st_status") or "")
        status, reason = holds.safe_evaluate(probe, self.ctx)
        hold_reason = ""
        if kind == SourceKind.INVENTORY_BILL and self.holds is not None:
            hold_reason = self.holds.reason(row_id=None, st_id=item.st_id, number=columns["number"],
                                            vendor_st_id=columns["vendor_st_id"],
                                            purchase_order_st_id=columns["purchase_order_st_id"],
                                            active=columns["st_active"])
            # a new row's id is above every stored one: it is the later bill of any duplicate pair
            self.holds.add_bill(1 << 62, item.st_id, columns["number"], columns["vendor_st_id"],
                                columns["st_active"], status)
            if holds.held_status(status, hold_reason, ""):
                status, reason = DocStatus.HELD, hold_reason
        # one event per document, named by its reference like every other event of its history
        # (``stnav audit show PO-10452-001``), with the readiness verdict it was stored with
        prefixes: dict[str, str] = {SourceKind.PURCHASE_ORDER: "PO", SourceKind.INVENTORY_RETURN: "RET"}
        prefix = prefixes.get(kind, "BILL")
        ref = f"{prefix}-{columns['number'] or item.st_id}"
        detail = {"st_id": item.st_id, "total": columns["total"], "status": status}
        if reason:
            detail["reason"] = reason
        if item.problems:
            detail["problems"] = item.problems
        events.append({"action": "document.pulled", "st_ref": ref, "detail": detail})
        return {**columns, "profile": self.profile.id, "kind": kind, "st_id": item.st_id,
                "raw": item.raw_text, "content_hash": item.digest, "source_problems": problems,
                "status": status, "problem": reason if status != DocStatus.READY else "",
                "hold_reason": hold_reason, "first_seen_at": now, "updated_at": now}


_MISSING = object()


def _insert_documents(rows: list[dict[str, Any]]) -> None:
    """Multi-row INSERTs of new documents (as many rows per statement as SQLite's 32,766 bound variables
    allow), converting only the columns that vary; the model's defaults are converted once."""
    fields = StDocument._meta.sorted_fields
    fields = [f for f in fields if f.name != "id"]
    raw_text = {"raw"}  # already JSON text (documents.prepare)
    json_fields = {"source_problems"}
    converters = {f.name: f.db_value for f in fields}
    varying = set().union(*rows)
    defaults: dict[str, Any] = {}
    constants: dict[str, Any] = {}
    for f in fields:
        default = f.db_value(f.default() if callable(f.default) else f.default)
        (defaults if f.name in varying else constants)[f.name] = default
    names = [f.name for f in fields]
    columns = ", ".join(f.column_name for f in fields)
    per = max(1, 32_000 // len(fields))
    table = StDocument._meta.table_name
    plan = [(name, constants.get(name, _MISSING), defaults.get(name), converters[name] if name in json_fields
             else None, name in raw_text) for name in names]
    for start in range(0, len(rows), per):
        chunk = rows[start:start + per]
        values: list[Any] = []
        append = values.append
        for row in chunk:
            get = row.get
            for name, constant, default, convert, as_is in plan:
                if constant is not _MISSING:
                    append(constant)
                    continue
                value = get(name, _MISSING)
                if value is _MISSING:
                    append(default)
                elif value is None or as_is:
                    append(value)
                elif convert is not None:
                    append(convert(value))
                elif isinstance(value, datetime):
                    append(value.astimezone(UTC).isoformat(timespec="microseconds"))  # as UtcDateTimeField
                elif isinstance(value, Decimal):
                    append(str(value))  # as MoneyField
                elif isinstance(value, bool):
                    append(value)  # SQLite stores it as 0/1; PostgreSQL wants a boolean
                else:
                    append(value)
        marks = ",".join(["(" + ",".join([db.param] * len(names)) + ")"] * len(chunk))
        db.execute_sql(f"INSERT INTO {table} ({columns}) VALUES {marks}", values)


def pull(profile: Profile, source: StSource, *, streams: Iterable[str] = tuple(STREAMS),
         cancel: Callable[[], bool] = lambda: False) -> PullSummary:
    summary = PullSummary()
    stager = _PageStager(profile, summary)
    for stream in streams:
        kind, method = STREAMS[stream]
        if not hasattr(source, method):
            log.info("pull: the source has no %s feed; skipped", stream)
            continue
        mark = watermark(profile, stream)
        for page in getattr(source, method)(mark.token):
            with db.atomic():
                restaged_before = len(stager.restaged)
                stager.stage_page(kind, list(page.records))
                # rows changed through documents.stage are evaluated with the page too: a pull killed after
                # this commit leaves no stored document unevaluated (new rows were decided in memory)
                page_restaged = stager.restaged[restaged_before:]
                if page_restaged:
                    fill_names(profile)
                    mapping.refresh_readiness(profile, documents=StDocument.select().where(
                        StDocument.id.in_(page_restaged) & StDocument.status.in_(list(mapping.REEVALUATE))))
                # the token is stored with the rows it covers, never before
                if page.continue_from:
                    mark.token = page.continue_from
                mark.updated_at = utcnow()
                SyncWatermark.update(token=mark.token, updated_at=mark.updated_at).where(
                    SyncWatermark.id == mark.id).execute()
            summary.pages += 1
            if cancel():
                summary.cancelled = True
                break
        if summary.cancelled:
            break
    # held bills whose reason went away (their PO arrived, reactivated) and changed bills: holds re-checked
    holds.reevaluate(profile, stager.restaged)
    audit.append("pull.finished", profile=profile.name, detail={"pages": summary.pages, **summary.counts,
                                                                 "with_problems": summary.with_problems,
                                                                 "cancelled": summary.cancelled})
    return summary


def st_names(profile: Profile) -> dict[str, dict[int, str]]:
    out: dict[str, dict[int, str]] = {}
    for ref in StReference.select(StReference.entity, StReference.st_id, StReference.name).where(
            StReference.profile == profile):
        out.setdefault(ref.entity, {})[ref.st_id] = ref.name
    return out


def fill_names(profile: Profile) -> None:
    """Purchase orders carry vendor and business unit ids only: fill the grid's name columns from the
    cached ServiceTitan reference data (targeted UPDATEs, one executemany per column, whatever the size
    of the store)."""
    names = st_names(profile)
    table = StDocument._meta.table_name
    with db.atomic():
        cursor = db.cursor()
        for column, id_column, entity in (("vendor_name", "vendor_st_id", "vendors"),
                                          ("business_unit_name", "business_unit_st_id", "businessUnits")):
            rows = [(name[:200], profile.id, st_id) for st_id, name in names.get(entity, {}).items() if name]
            if rows:
                p = db.param
                cursor.executemany(f"UPDATE {table} SET {column} = {p} WHERE profile_id = {p} AND {column} = '' "
                                   f"AND {id_column} = {p}", rows)


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
