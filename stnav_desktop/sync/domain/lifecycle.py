"""The lifecycle of a staged ServiceTitan document, and the one place its status changes.

pulled → needs mapping → ready → approved (in a batch) → posting → posted, or in NAV as a draft
(followed up until NAV posts it), or unconfirmed (answer lost: NAV is asked), or failed (NAV does not hold
it; retry scheduled) → needs attention (replayable); or rejected; or changed after posting. Every
transition is audited.
"""

from __future__ import annotations

from typing import Any

from stnav_desktop.store import audit
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import DocStatus, StDocument

S = DocStatus
_CHECKED = {S.NEEDS_MAPPING, S.READY, S.REJECTED, S.SKIPPED, S.DATA_PROBLEM, S.WAITING}  # readiness outcomes
ALLOWED: dict[str, set[str]] = {
    S.NEEDS_MAPPING: _CHECKED | {S.HELD},
    S.DATA_PROBLEM: _CHECKED | {S.HELD},
    S.WAITING: _CHECKED | {S.HELD},
    S.READY: _CHECKED | {S.APPROVED, S.HELD},
    S.APPROVED: {S.POSTING, S.READY, S.NEEDS_MAPPING, S.REJECTED},
    S.POSTING: {S.POSTED, S.IN_NAV_DRAFT, S.UNCONFIRMED, S.FAILED, S.NEEDS_ATTENTION, S.APPROVED},
    # unknown outcome: only NAV's answer moves it (found → posted / draft; absent → approved to resend)
    S.UNCONFIRMED: {S.POSTED, S.IN_NAV_DRAFT, S.APPROVED, S.UNCONFIRMED},
    # a draft in NAV: posted there (or by us), deleted there, or changed in ServiceTitan meanwhile
    S.IN_NAV_DRAFT: {S.POSTED, S.NEEDS_ATTENTION, S.CHANGED_AFTER_POSTING},
    S.FAILED: {S.POSTING, S.NEEDS_ATTENTION, S.REJECTED, S.POSTED, S.IN_NAV_DRAFT, S.READY, S.APPROVED},
    S.NEEDS_ATTENTION: {S.APPROVED, S.POSTING, S.REJECTED, S.READY, S.NEEDS_MAPPING, S.POSTED, S.IN_NAV_DRAFT},
    S.REJECTED: {S.NEEDS_MAPPING, S.READY},
    S.POSTED: {S.CHANGED_AFTER_POSTING},
    S.CHANGED_AFTER_POSTING: {S.POSTED},  # after a person resolves it with a correction
    S.SKIPPED: {S.NEEDS_MAPPING, S.READY, S.SKIPPED, S.DATA_PROBLEM, S.WAITING, S.HELD},
    # held back (sync/app/holds.py): never batched; out only by a person's audited release, a rejection, or
    # the reason going away in ServiceTitan
    S.HELD: _CHECKED | {S.HELD},
}


class TransitionError(ValueError):
    pass


def st_ref(doc: StDocument) -> str:
    prefix = {"purchase_order": "PO", "inventory_return": "RET"}.get(doc.kind, "BILL")
    return f"{prefix}-{doc.number or doc.st_id}"


def transition(doc: StDocument, new: str, *, reason: str = "", actor: str | None = None,
               detail: dict[str, Any] | None = None, **fields: Any) -> StDocument:
    """Change ``doc``'s status (and any extra columns) and audit it, in one transaction."""
    old = doc.status
    if new not in ALLOWED.get(old, set()):
        raise TransitionError(f"{st_ref(doc)}: cannot go from {old} to {new}")
    with db.atomic():
        doc.status = new
        doc.problem = reason if new in (S.NEEDS_MAPPING, S.FAILED, S.NEEDS_ATTENTION, S.SKIPPED, S.UNCONFIRMED,
                                        S.CHANGED_AFTER_POSTING, S.REJECTED, S.HELD, S.DATA_PROBLEM,
                                        S.WAITING) else ""
        for key, value in fields.items():
            setattr(doc, key, value)
        doc.updated_at = utcnow()
        doc.save()
        if old != new or reason:
            audit.append(f"document.{new}", st_ref=st_ref(doc), nav_ref=doc.nav_number or "",
                         profile=doc.profile.name, actor=actor,
                         detail={"from": old, "to": new, "reason": reason, "version": doc.version,
                                 **(detail or {})})
    return doc
