"""Pulling from ServiceTitan into the store, incrementally and resumably.

Each export feed is read page by page; a page's documents and the continuation token after it are
committed in one transaction, so a pull cancelled or killed at any point resumes from the last stored
page with no gap and no duplicate. A first full pull and later delta pulls are the same code path.
"""

from __future__ import annotations

import gc
import logging
import operator
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Protocol, cast

from stnav_desktop.store import audit
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import JsonField, MoneyField, UtcDateTimeField, utcnow
from stnav_desktop.store.models import (
    AttemptState,
    DocStatus,
    PostingAttempt,
    Profile,
    SourceKind,
    StDocument,
    StReference,
    SyncWatermark,
)
from stnav_desktop.sync.app import documents, holds, mapping
from stnav_desktop.sync.domain import lifecycle

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
    the token. Documents whose content changed and whose status readiness decides take the new content
    the same way (``_stage_changed``: one read, one executemany, verdicts in memory); the others
    (approved, in NAV, being posted) go through ``documents.stage_prepared`` one by one, with the
    changed-after-posting and in-flight rules; a delta pull has few of them."""

    one_by_one = False  # tests: every changed document through documents.stage_prepared, as before

    def __init__(self, profile: Profile, summary: PullSummary) -> None:
        self.profile = profile
        self.summary = summary
        self.ctx = mapping.plan_context(profile)
        self.lookups = _PageLookups(profile, self.ctx)
        names = st_names(profile)
        self.vendor_names = names.get("vendors", {})
        self.bu_names = names.get("businessUnits", {})
        self.holds: holds.HoldIndex | None = None
        self.restaged: list[int] = []  # rows whose content changed: holds re-checked at the end
        self.rules: list[int] = []  # of those, the ones documents.stage_prepared took: readiness after the page

    def stage_page(self, kind: str, records: list[Any], float_free: bool = False) -> None:
        """``float_free``: the source vouches that the page's payloads hold no float (documents.prepare)."""
        prepared: dict[int, documents.Prepared] = {}
        events: list[dict[str, Any]] = []
        for record in records:
            raw = getattr(record, "raw", record)
            try:
                item = documents.prepare(kind, raw, list(getattr(record, "problems", None) or []),
                                         float_free=float_free)
            except documents.Unreadable as exc:
                self.summary.with_problems += 1
                self.summary.add("unreadable")
                events.append({"action": "document.unreadable", "detail": {"kind": kind, "problem": str(exc)}})
                log.warning("pull: %s", exc)
                continue
            prepared[item.st_id] = item  # a feed repeating a record within a page: the last one wins
        existing: dict[int, tuple[Any, ...]] = {}
        ids = list(prepared)
        p = db.param  # "?" on SQLite, "%s" on PostgreSQL
        modified_on = StDocument.modified_on.python_value
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            # written out: peewee builds a node per value of an IN list (a tenth of a first pull's staging)
            for doc_id, st_id, digest, modified in db.execute_sql(
                    f"SELECT id, st_id, content_hash, modified_on FROM {StDocument._meta.table_name} "
                    f"WHERE profile_id = {p} AND kind = {p} AND st_id IN ({', '.join([p] * len(chunk))})",
                    [self.profile.id, str(kind), *chunk]).fetchall():
                existing[st_id] = (doc_id, st_id, digest, modified_on(modified))
        if kind == SourceKind.INVENTORY_BILL and self.holds is None:
            self.holds = holds.HoldIndex.load(self.profile)
        # what readiness of the page's new and changed documents looks up, read once (a delta pull of
        # unchanged documents reads nothing); the bills' job numbers from every bill of the page
        self.lookups.prefetch(kind, [item.raw for st_id, item in prepared.items()
                                     if st_id not in existing or existing[st_id][2] != item.digest],
                              [item.raw for item in prepared.values()])
        now = utcnow()
        inserts: list[dict[str, Any]] = []
        touched: list[tuple[Any, ...]] = []
        changed: list[tuple[documents.Prepared, int]] = []
        new_row = self._new_row
        # per page, not per row: a StrEnum member hashes through Python code (Enum.__hash__)
        ref_prefix, bills = _REF_PREFIX.get(kind, "BILL"), kind == SourceKind.INVENTORY_BILL
        unchanged = 0
        for st_id, item in prepared.items():
            row = existing.get(st_id)
            if row is None:
                inserts.append(new_row(kind, item, events, ref_prefix, bills))
                continue
            if row[2] == item.digest:
                modified = item.columns["modified_on"]
                if modified and row[3] != modified:
                    touched.append((StDocument.modified_on.db_value(modified), item.raw_text, row[0]))
                unchanged += 1
                continue
            changed.append((item, row[0]))
        self.summary.with_problems += sum(1 for item in prepared.values() if item.problems)
        for change, count in (("new", len(inserts)), ("unchanged", unchanged)):
            if count:
                self.summary.counts[change] = self.summary.counts.get(change, 0) + count
        checked_events: list[dict[str, Any]] = []
        if changed:
            events[:0] = self._stage_changed(kind, changed, checked_events)
        if inserts:
            _insert_documents(inserts, {"profile": self.profile.id, "kind": kind, "first_seen_at": now,
                                        "updated_at": now})
        if touched:
            table = StDocument._meta.table_name
            p = db.param  # "?" on SQLite, "%s" on PostgreSQL
            db.cursor().executemany(f"UPDATE {table} SET modified_on = {p}, raw = {p} WHERE id = {p}", touched)
        audit.append_many(events + checked_events, profile=self.profile.name)
        if kind == SourceKind.PURCHASE_ORDER and self.holds is not None:
            self.holds.add_pos(prepared)

    def _stage_changed(self, kind: str, changed: list[tuple[documents.Prepared, int]],
                       checked_events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Documents whose content changed in ServiceTitan. One not yet approved (its status one that
        readiness decides) and with no NAV write in flight takes the new content and is checked again here,
        for the whole page at once: one read of the rows, one executemany of targeted UPDATEs, and the
        events ``documents.stage_prepared`` and ``mapping.refresh_readiness`` would write one by one
        (``document.updated`` with the changes; ``document.<status>`` when the verdict moved). Any other
        (approved, in NAV, being posted) goes through ``documents.stage_prepared`` and its rules. Returns
        the ``document.updated`` events; the verdicts' events are added to ``checked_events``."""
        ids = [doc_id for _item, doc_id in changed]
        stored: dict[int, tuple[Any, ...]] = {}
        pending: set[int] = set()
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            for row in cast("Iterable[tuple[Any, ...]]", StDocument.select(
                    StDocument.id, StDocument.status, StDocument.problem, StDocument.raw, StDocument.version,
                    StDocument.nav_number).where(StDocument.id.in_(chunk)).tuples()):
                stored[row[0]] = row
            pending.update(doc_id for (doc_id,) in cast("Iterable[tuple[int]]", PostingAttempt.select(
                PostingAttempt.document).where(PostingAttempt.document.in_(chunk)
                                               & (PostingAttempt.state == AttemptState.PENDING)).tuples()))
        updated: list[dict[str, Any]] = []
        rows: dict[tuple[str, ...], list[list[Any]]] = {}
        now = utcnow()
        for item, doc_id in changed:
            _id, status, problem, old_raw, version, nav_number = stored[doc_id]
            if self.one_by_one or status not in mapping.REEVALUATE or doc_id in pending:
                result = documents.stage_prepared(self.profile, kind, item)
                self.summary.add(result.change)
                if result.change in ("new", "updated"):
                    self.summary.changed_ids.append(result.document.id)
                    self.restaged.append(result.document.id)
                    self.rules.append(result.document.id)
                continue
            version += 1
            columns = item.columns
            ref = lifecycle.st_ref(cast("StDocument", SimpleNamespace(kind=kind, number=columns["number"],
                                                                     st_id=item.st_id)))
            updated.append({"action": "document.updated", "st_ref": ref,
                            "detail": {"version": version, "changes": documents.diff(old_raw, item.raw)}})
            probe = SimpleNamespace(kind=kind, raw=item.raw, source_problems=item.problems or None,
                                    st_id=item.st_id, number=columns["number"], st_status=columns["st_status"])
            verdict, reason = holds.safe_evaluate(probe, self.ctx)
            if verdict != status or reason != problem:  # as refresh_readiness: lifecycle.transition
                problem = reason if verdict != DocStatus.READY else ""
                if verdict != status or reason:
                    checked_events.append({"action": f"document.{verdict}", "st_ref": ref, "nav_ref": nav_number or "",
                                           "detail": {"from": status, "to": verdict, "reason": reason,
                                                      "version": version}})
            values = {**columns, "raw": item.raw_text, "content_hash": item.digest, "version": version,
                      "source_problems": item.problems or None, "status": verdict, "problem": problem,
                      "updated_at": now}
            names = tuple(values)
            rows.setdefault(names, []).append([_db_value(name, value) for name, value in values.items()] + [doc_id])
            self.summary.add("updated")
            self.summary.changed_ids.append(doc_id)
            self.restaged.append(doc_id)
        p = db.param  # "?" on SQLite, "%s" on PostgreSQL
        fields = StDocument._meta.fields
        for names, params in rows.items():
            assignments = ", ".join(f"{fields[name].column_name} = {p}" for name in names)
            db.cursor().executemany(f"UPDATE {StDocument._meta.table_name} SET {assignments} "
                                    f"WHERE {StDocument.id.column_name} = {p}", params)
        return updated

    def _new_row(self, kind: str, item: documents.Prepared, events: list[dict[str, Any]], ref_prefix: str,
                 bill: bool) -> dict[str, Any]:
        """A new document's row, its readiness and hold decided, its ``document.pulled`` event added to
        ``events``. ``ref_prefix``: its reference's (lifecycle.st_ref); ``bill``: an inventory bill."""
        columns = item.columns  # prepare's dict, made for this row (the Prepared is dropped with the page)
        vendor_id = columns["vendor_st_id"]
        if not columns.get("vendor_name"):
            name = self.vendor_names.get(vendor_id)
            columns["vendor_name"] = name[:200] if name else ""
        if not columns.get("business_unit_name"):
            name = self.bu_names.get(columns["business_unit_st_id"])
            columns["business_unit_name"] = name[:200] if name else ""
        problems = item.problems or None
        number = columns["number"]
        # what readiness reads of a document (mapping.evaluate), before the row exists
        probe = SimpleNamespace(kind=kind, raw=item.raw, source_problems=problems, st_id=item.st_id,
                                number=number or "", st_status=columns["st_status"] or "")
        status, reason = holds.safe_evaluate(probe, self.ctx)
        hold_reason = ""
        if bill and self.holds is not None:
            active = columns["st_active"]
            hold_reason = self.holds.reason(row_id=None, st_id=item.st_id, number=number, vendor_st_id=vendor_id,
                                            purchase_order_st_id=columns["purchase_order_st_id"], active=active)
            # a new row's id is above every stored one: it is the later bill of any duplicate pair
            self.holds.add_bill(1 << 62, item.st_id, number, vendor_id, active, status)
            if holds.held_status(status, hold_reason, ""):
                status, reason = DocStatus.HELD, hold_reason
        # one event per document, named by its reference like every other event of its history
        # (``stnav audit show PO-10452-001``), with the readiness verdict it was stored with
        detail = {"st_id": item.st_id, "total": columns["total"], "status": status}
        if reason:
            detail["reason"] = reason
        if problems:
            detail["problems"] = problems
        events.append({"action": "document.pulled", "st_ref": f"{ref_prefix}-{number or item.st_id}", "detail": detail})
        # profile, kind and the page's time: the same for every row of the page (stage_page passes them)
        columns.update(st_id=item.st_id, raw=item.raw_text, content_hash=item.digest, source_problems=problems,
                       status=status, problem=reason if status != DocStatus.READY else "", hold_reason=hold_reason)
        return columns


# lifecycle.st_ref's prefixes, for rows not built yet
_REF_PREFIX: dict[str, str] = {SourceKind.PURCHASE_ORDER: "PO", SourceKind.INVENTORY_RETURN: "RET"}


def _an_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _PageLookups:
    """What readiness looks up in the store (``mapping._lookups``: a return's PO and the bills of that
    PO, a job's record and number), read for a whole page in one query per kind of look-up, where the
    plan context would ask once per document (a query built by peewee each: with 20,000 POs on jobs and
    their returns, most of a first pull's CPU). Installed on the stager's plan context; a key the page
    did not prefetch (a value that is not an id) goes to the context's own look-up, which behaves as
    before. Prefetched documents are the page's view of the store: the bill and PO feeds are staged
    before the return feed, and what a page's own rows add is kept up to date below."""

    def __init__(self, profile: Profile, ctx: Any) -> None:
        self.profile = profile
        self.bills_fallback = ctx.bills_of_po
        self.po_fallback = ctx.purchase_order
        self.job_info_fallback = ctx.job_info
        self.bills: dict[int, list[Any]] = {}  # PO id -> its bills' payloads (stored text until asked)
        self.pos: dict[int, Any] = {}  # PO id -> its payload (stored text until asked), None: not stored
        self.jobs: dict[int, dict[str, Any] | None] = {}  # reference data: unchanged during a pull
        self.from_bills: dict[int, str] | None = None  # job id -> job number, as bills carry it
        ctx.bills_of_po, ctx.purchase_order = self.bills_of_po, self.purchase_order
        ctx.job_info, ctx.job_number = self.job_info, self.job_number

    def prefetch(self, kind: str, raws: list[dict[str, Any]], page: list[dict[str, Any]] | None = None) -> None:
        """Read what evaluating ``raws`` looks up; ``page`` (default ``raws``): every record of the page,
        the newest version of each (bills carry the job numbers of their jobs)."""
        self.bills, self.pos = {}, {}
        job_ids = {i for raw in raws if not raw.get("jobNumber") and (i := _an_id(raw.get("jobId"))) is not None}
        missing = sorted(job_ids - set(self.jobs))
        for start in range(0, len(missing), 900):
            chunk = missing[start:start + 900]
            self.jobs.update(dict.fromkeys(chunk))
            for st_id, data in cast("Iterable[tuple[int, Any]]", StReference.select(
                    StReference.st_id, StReference.data).where(
                    (StReference.profile == self.profile) & (StReference.entity == "jobs")
                    & StReference.st_id.in_(chunk)).tuples()):
                self.jobs[st_id] = data or {}
        if kind == SourceKind.INVENTORY_BILL and self.from_bills is not None:
            for raw in raws if page is None else page:  # the newest version of every bill of the page
                if isinstance(raw.get("jobId"), int) and raw.get("jobNumber"):
                    self.from_bills[raw["jobId"]] = str(raw["jobNumber"])
        if kind != SourceKind.INVENTORY_RETURN:
            return
        po_ids = sorted({i for raw in raws if (i := _an_id(raw.get("purchaseOrderId"))) is not None})
        # the payloads as stored text, read as JSON only when a plan asks (most returns are not bookable
        # yet, and their plan stops before it looks)
        for start in range(0, len(po_ids), 900):
            chunk = po_ids[start:start + 900]
            self.bills.update({i: [] for i in chunk})
            self.pos.update(dict.fromkeys(chunk))
            for po_st_id, text in _documents_text(self.profile, SourceKind.INVENTORY_BILL,
                                                  StDocument.purchase_order_st_id, chunk):
                self.bills[po_st_id].append(text)
            for st_id, text in _documents_text(self.profile, SourceKind.PURCHASE_ORDER, StDocument.st_id, chunk):
                self.pos[st_id] = text

    def bills_of_po(self, po_st_id: Any) -> list[dict[str, Any]]:
        found = self.bills.get(po_st_id) if _an_id(po_st_id) is not None else None
        if found is None:
            return self.bills_fallback(po_st_id)
        if found and isinstance(found[0], str):
            found[:] = [_RAW.python_value(text) for text in found]
        return found

    def purchase_order(self, po_st_id: Any) -> dict[str, Any] | None:
        if _an_id(po_st_id) is not None and po_st_id in self.pos:
            found = self.pos[po_st_id]
            if isinstance(found, str):
                found = self.pos[po_st_id] = _RAW.python_value(found)
            return found
        return self.po_fallback(po_st_id)

    def job_info(self, job_id: Any) -> dict[str, Any] | None:
        if _an_id(job_id) is not None and job_id in self.jobs:
            return self.jobs[job_id]
        return self.job_info_fallback(job_id)

    def job_number(self, job_id: Any) -> str | None:
        """As ``mapping._lookups``: the job's record, else the number the bills carry for it."""
        info = self.job_info(job_id)
        if info and info.get("jobNumber"):
            return str(info["jobNumber"])
        if self.from_bills is None:  # read once; then kept up to date with the bills this pull stages
            self.from_bills = {}
            for (raw,) in cast("Iterable[tuple[Any]]", StDocument.select(StDocument.raw).where(
                    (StDocument.profile == self.profile)
                    & (StDocument.kind == SourceKind.INVENTORY_BILL)).tuples().iterator()):
                if isinstance(raw, dict) and isinstance(raw.get("jobId"), int) and raw.get("jobNumber"):
                    self.from_bills[raw["jobId"]] = str(raw["jobNumber"])
        try:
            return self.from_bills.get(int(job_id))
        except (TypeError, ValueError):
            return None


def _db_value(name: str, value: Any) -> Any:
    """A value as the model's field stores it; ``raw`` is already JSON text (documents.prepare)."""
    return value if name == "raw" or value is None else StDocument._meta.fields[name].db_value(value)


_RAW = StDocument.raw  # the payload column: its converter reads the stored text as the model does


def _documents_text(profile: Profile, kind: str, key: Any, values: list[int]) -> list[tuple[int, str]]:
    """(key, stored payload text) of a kind's documents whose ``key`` column is one of ``values``, in
    the order they were stored. Sorted here: an ORDER BY id makes SQLite walk the profile's index (rows
    in id order) through every document instead of looking the keys up (36,000 rows read for 900 keys)."""
    p = db.param  # "?" on SQLite, "%s" on PostgreSQL
    sql = (f"SELECT {StDocument.id.column_name}, {key.column_name}, {_RAW.column_name} "
           f"FROM {StDocument._meta.table_name} WHERE {StDocument.profile.column_name} = {p} "
           f"AND {StDocument.kind.column_name} = {p} AND {key.column_name} IN ({', '.join([p] * len(values))})")
    return [(k, text) for _id, k, text in sorted(db.execute_sql(sql, [profile.id, kind, *values]).fetchall())]


_MISSING = object()


def _memoized(to_db: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A datetime column's conversion, once per distinct instant (the stamps of a page repeat; equal
    instants convert to the same UTC text). Not for money: Decimal("1.0") == Decimal("1.00")."""
    memo: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return memo[value]
        except KeyError:
            result = memo[value] = to_db(value)
            return result

    return convert


def _insert_documents(rows: list[dict[str, Any]], shared: dict[str, Any] | None = None) -> None:
    """Multi-row INSERTs of new documents (as many rows per statement as SQLite's 32,766 bound variables
    allow). The columns are split once per call: the ones no row sets (the model's default, converted
    once), the ones taken as they are (text, ids, flags; ``raw`` is already JSON text from
    ``documents.prepare``), and the ones the model's field converts (datetimes, money, JSON), each
    distinct value converted once. ``shared``: columns with one value for every row (the profile, the
    kind, the time of the page), converted once."""
    fields = [f for f in StDocument._meta.sorted_fields if f.name != "id"]
    shared = shared or {}
    varying = set().union(*rows) - set(shared)
    constants: list[Any] = []
    plain: list[tuple[str, Any]] = []
    converted: list[tuple[str, Any, Callable[[Any], Any]]] = []
    order: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    for f in fields:
        default = f.db_value(f.default() if callable(f.default) else f.default)
        if f.name in shared:
            value = shared[f.name]
            constants.append(value if f.name == "raw" or value is None else f.db_value(value))
            order[0].append(f)
        elif f.name not in varying:
            constants.append(default)
            order[0].append(f)
        elif f.name == "raw" or not isinstance(f, UtcDateTimeField | MoneyField | JsonField):
            plain.append((f.name, default))
            order[1].append(f)
        else:
            converted.append((f.name, default, _memoized(f.db_value) if isinstance(f, UtcDateTimeField)
                              else f.db_value))
            order[2].append(f)
    # constants written into the statement (a row's share of the bound values is what varies): some 20 of
    # the 36 columns of a new row are the same for every row. Not the times (a page's, a callable default's):
    # a statement text that differs on every page is compiled again each time, and the connection's
    # statement cache would keep every one of those (1,000-row) programs: +170 MB over a first pull
    fixed = [not isinstance(f, UtcDateTimeField) and not callable(f.default) for f in order[0]]
    inline = [(f, text) for f, value, ok in zip(order[0], constants, fixed, strict=True)
              if ok and (text := _sql_literal(value)) is not None]
    bound = [(f, value) for f, value, ok in zip(order[0], constants, fixed, strict=True)
             if not ok or _sql_literal(value) is None]
    constants = [value for _f, value in bound]
    columns = ", ".join(f.column_name for f in (*[f for f, _t in inline], *[f for f, _v in bound], *order[1],
                                                 *order[2]))
    width = len(fields) - len(inline)
    row_marks = "(" + ",".join([text for _f, text in inline] + [db.param] * width) + ")"

    per = max(1, 32_000 // max(width, 1))
    table = StDocument._meta.table_name
    plain_names = [name for name, _default in plain]
    # the rows ``_new_row`` makes all have the same columns: each row's plain values taken by one C call
    take = operator.itemgetter(*plain_names) if len(plain_names) > 1 else None
    for start in range(0, len(rows), per):
        chunk = rows[start:start + per]
        values: list[Any] = []
        extend = values.extend
        for row in chunk:
            if constants:
                extend(constants)
            try:
                extend(take(row) if take is not None else [row[name] for name in plain_names])
            except KeyError:  # a row without some column: the model's default for it
                get = row.get
                extend([get(name, default) for name, default in plain])
            extend([default if (value := row.get(name, _MISSING)) is _MISSING else
                    None if value is None else to_db(value) for name, default, to_db in converted])
        db.execute_sql(f"INSERT INTO {table} ({columns}) VALUES {','.join([row_marks] * len(chunk))}", values)


def _sql_literal(value: Any) -> str | None:
    """A constant column value as SQL text (null, a whole number, a text), or None to bind it instead."""
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    if type(value) is str and "\0" not in value:
        text = "'" + value.replace("'", "''") + "'"
        return text.replace("%", "%%") if db.param == "%s" else text  # psycopg: % starts a placeholder
    return None  # a flag (a boolean column on PostgreSQL), anything else: bound as before


_collector = threading.Lock()
_collector_holders = 0
_collector_was_enabled = True


@contextmanager
def _collector_paused() -> Iterator[Callable[[], object]]:
    """Python's cyclic garbage collector paused while pages are pulled; yields what to call between pages.

    A page makes some 50 containers per record that live until the page is stored (payloads, typed
    records, rows, events): the automatic passes walked them again and again (0.46 s of a 5 s first pull,
    in no phase of its own). Between pages one pass over the young generations frees the page's cycles,
    so memory stays bounded by a page. Process-wide, hence counted: concurrent pulls (another profile)
    re-enable the collector only when the last one ends, and to the state it had before the first."""
    global _collector_holders, _collector_was_enabled
    with _collector:
        if _collector_holders == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_holders += 1
    try:
        yield lambda: gc.collect(1)
    finally:
        with _collector:
            _collector_holders -= 1
            if _collector_holders == 0 and _collector_was_enabled:
                gc.enable()


def pull(profile: Profile, source: StSource, *, streams: Iterable[str] = tuple(STREAMS),
         cancel: Callable[[], bool] = lambda: False) -> PullSummary:
    with _collector_paused() as between_pages:
        return _pull(profile, source, streams, cancel, between_pages)


def _pull(profile: Profile, source: StSource, streams: Iterable[str], cancel: Callable[[], bool],
          between_pages: Callable[[], object]) -> PullSummary:
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
                restaged_before, rules_before = len(stager.restaged), len(stager.rules)
                stager.stage_page(kind, list(page.records), getattr(page, "float_free", False))
                # rows changed through documents.stage are evaluated with the page too: a pull killed after
                # this commit leaves no stored document unevaluated (new and changed rows were decided in memory)
                page_rules = stager.rules[rules_before:]
                if len(stager.restaged) > restaged_before:
                    fill_names(profile)
                if page_rules:
                    mapping.refresh_readiness(profile, documents=StDocument.select().where(
                        StDocument.id.in_(page_rules) & StDocument.status.in_(list(mapping.REEVALUATE))))
                # the token is stored with the rows it covers, never before
                if page.continue_from:
                    mark.token = page.continue_from
                mark.updated_at = utcnow()
                SyncWatermark.update(token=mark.token, updated_at=mark.updated_at).where(
                    SyncWatermark.id == mark.id).execute()
            summary.pages += 1
            del page  # the page's records are freed here (the client keeps no reference to them)
            between_pages()
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
