"""Bills that must not be booked, held back with the reason in words until a person releases them.

A bill is held when it is
- inactive: deleted in ServiceTitan (``active: false`` on the export feed);
- orphaned: it points to a purchase order that does not exist (not on the purchase-order feed);
- a duplicate: an earlier bill of the same vendor has the same vendor invoice reference
  (``referenceNumber``); the later one is held and the reason names the one it duplicates.

A held document has status HELD: it is never in READY, so no batch takes it and posting never sees it.
A release (``release``) is a person's audited decision and covers exactly the reason released: if a
different reason appears later, the bill is held again. When the reason goes away in ServiceTitan (the
purchase order appears, the bill is reactivated), the next pull lets it go on to readiness by itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stnav_desktop.store import audit
from stnav_desktop.store.db import db
from stnav_desktop.store.models import DocStatus, Profile, SourceKind, StDocument
from stnav_desktop.sync.app import mapping
from stnav_desktop.sync.domain import lifecycle

# statuses a hold can still stop (later ones are already approved, posting or booked)
HOLDABLE = (DocStatus.NEEDS_MAPPING, DocStatus.READY, DocStatus.SKIPPED, DocStatus.HELD)
# a bill in these statuses never counts as the original of a duplicate
NOT_ORIGINAL = (DocStatus.REJECTED,)


class HoldError(ValueError):
    pass


def _key(vendor_st_id: int | None, number: str, st_id: int) -> tuple[int, str] | None:
    ref = (number or "").strip().casefold()
    if vendor_st_id is None or not ref or ref == str(st_id):
        return None  # no vendor or no vendor invoice reference: nothing to compare
    return vendor_st_id, ref


@dataclass
class HoldIndex:
    """What the hold rules need of the whole store, read once: purchase-order ids and, per (vendor,
    vendor invoice reference), the first active bill. New bills are added as they are staged."""

    po_ids: set[int] = field(default_factory=set)
    first_by_ref: dict[tuple[int, str], tuple[int, int, str]] = field(default_factory=dict)  # -> (row id, st id, number)

    @classmethod
    def load(cls, profile: Profile) -> HoldIndex:
        index = cls()
        # plain SQL: through peewee's per-row wrappers these reads (every PO and bill of the store, at the
        # first bill page and again at the end of a pull) cost as much as the hold rules themselves
        p = db.param  # "?" on SQLite, "%s" on PostgreSQL
        where = f"FROM {StDocument._meta.table_name} WHERE profile_id = {p} AND kind = {p}"
        index.po_ids = {st_id for (st_id,) in db.execute_sql(
            f"SELECT st_id {where}", [profile.id, str(SourceKind.PURCHASE_ORDER)]).fetchall()}
        for row_id, st_id, number, vendor_st_id, active, status in db.execute_sql(
                f"SELECT id, st_id, number, vendor_st_id, st_active, status {where} ORDER BY id",
                [profile.id, str(SourceKind.INVENTORY_BILL)]).fetchall():
            index.add_bill(row_id, st_id, number, vendor_st_id, bool(active), status)
        return index

    def add_po(self, st_id: int) -> None:
        self.po_ids.add(st_id)

    def add_pos(self, st_ids: Iterable[int]) -> None:
        self.po_ids.update(st_ids)

    def add_bill(self, row_id: int, st_id: int, number: str, vendor_st_id: int | None, active: bool,
                 status: str) -> None:
        key = _key(vendor_st_id, number, st_id)
        if key is None or not active or status in NOT_ORIGINAL:
            return
        current = self.first_by_ref.get(key)
        if current is None or row_id < current[0]:
            self.first_by_ref[key] = (row_id, st_id, number)

    def reason(self, *, row_id: int | None, st_id: int, number: str, vendor_st_id: int | None,
               purchase_order_st_id: int | None, active: bool) -> str:
        """The hold reason in words ("" when nothing holds the bill)."""
        reasons = []
        if not active:
            reasons.append("deleted in ServiceTitan (inactive): must not be booked")
        if purchase_order_st_id is not None and purchase_order_st_id not in self.po_ids:
            reasons.append(f"its purchase order {purchase_order_st_id} does not exist in ServiceTitan")
        key = _key(vendor_st_id, number, st_id)
        first = self.first_by_ref.get(key) if key is not None and active else None
        if first is not None and first[1] != st_id and (row_id is None or first[0] < row_id):
            reasons.append(f"duplicate of bill {first[2]} (ServiceTitan id {first[1]}): same vendor and "
                           f"vendor invoice reference {number!r}")
        return "; ".join(reasons)


def held_status(status: str, reason: str, released: str) -> bool:
    """Whether a document with this status and hold reason is to be held now."""
    return bool(reason) and reason != released and status in HOLDABLE


def release(doc: StDocument, reason: str, *, actor: str | None = None) -> StDocument:
    """A person releases a held bill to be booked (audited with who and why). It then goes through the
    readiness check like any pulled document (ready, or needs mapping with the reason)."""
    reason = (reason or "").strip()
    if not reason:
        raise HoldError(f"{lifecycle.st_ref(doc)}: say why it may be booked (a reason is required to release)")
    if doc.status != DocStatus.HELD:
        raise HoldError(f"{lifecycle.st_ref(doc)} is not held (it is {doc.status})")
    actor = actor or audit.current_actor()
    with db.atomic():
        held_for = doc.hold_reason
        StDocument.update(hold_released=held_for).where(StDocument.id == doc.id).execute()
        doc.hold_released = held_for
        audit.append("document.hold_released", st_ref=lifecycle.st_ref(doc), profile=doc.profile.name, actor=actor,
                     detail={"held_for": held_for, "reason": reason, "version": doc.version})
        ctx = mapping.plan_context(doc.profile)
        status, why = safe_evaluate(doc, ctx)
        lifecycle.transition(doc, status, reason=why, actor=actor,
                             detail={"released": held_for, "release_reason": reason})
    return doc


def safe_evaluate(doc: Any, ctx: Any) -> tuple[str, str]:
    """``mapping.evaluate`` that never raises: a record too broken to plan needs a person, with the cause."""
    try:
        return mapping.evaluate(doc, ctx)
    except Exception as exc:  # a malformed record must not stop a pull or a release
        problems = list(getattr(doc, "source_problems", None) or [])
        problems.append(f"cannot be planned: {type(exc).__name__}: {str(exc)[:120]}")
        return DocStatus.NEEDS_MAPPING, "; ".join(dict.fromkeys(problems))


def reevaluate(profile: Profile, ids: Iterable[int] | None = None) -> int:
    """Re-check holds for documents already stored (bills changed this pull and every held bill):
    hold the ones with a new reason, let go the ones whose reason went away. Returns documents changed."""
    index = HoldIndex.load(profile)
    query = StDocument.select().where((StDocument.profile == profile)
                                      & (StDocument.kind == SourceKind.INVENTORY_BILL)
                                      & StDocument.status.in_(list(HOLDABLE)))
    wanted = set(ids or ())
    query = query.where((StDocument.status == DocStatus.HELD) | StDocument.id.in_(sorted(wanted))) if wanted \
        else query.where(StDocument.status == DocStatus.HELD)
    changed = 0
    ctx = None
    for doc in query.iterator():
        reason = index.reason(row_id=doc.id, st_id=doc.st_id, number=doc.number, vendor_st_id=doc.vendor_st_id,
                              purchase_order_st_id=doc.purchase_order_st_id, active=doc.st_active)
        if reason != doc.hold_reason:
            StDocument.update(hold_reason=reason).where(StDocument.id == doc.id).execute()
            doc.hold_reason = reason
        if held_status(doc.status, reason, doc.hold_released):
            if doc.status != DocStatus.HELD or doc.problem != reason:
                # out of a prepared batch too: approving that batch must not take it along
                lifecycle.transition(doc, DocStatus.HELD, reason=reason, batch=None)
                changed += 1
        elif doc.status == DocStatus.HELD:
            ctx = ctx or mapping.plan_context(profile)
            status, why = safe_evaluate(doc, ctx)
            lifecycle.transition(doc, status, reason=why,
                                 detail={"hold": "no longer applies" if not reason else "released"})
            changed += 1
    return changed
