"""Batches and approval: a reviewer gathers ready documents into a batch; an approver approves it.
The batch records who prepared and who approved it (OS user) and when. With the two-person rule on,
the approver must differ from the preparer. Rejected documents keep their reason."""

from __future__ import annotations

from collections.abc import Iterable

from stnav_desktop.store import audit, settings
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import Batch, DocStatus, Profile, StDocument
from stnav_desktop.sync import lifecycle, mapping


class BatchError(ValueError):
    pass


def create_batch(profile: Profile, document_ids: Iterable[int] | None = None, *, actor: str | None = None,
                 note: str = "") -> Batch:
    """A batch of READY documents not in another batch (all of them when ``document_ids`` is None)."""
    actor = actor or audit.current_actor()
    query = StDocument.select().where((StDocument.profile == profile) & (StDocument.status == DocStatus.READY)
                                      & StDocument.batch.is_null())
    if document_ids is not None:
        ids = list(document_ids)
        query = query.where(StDocument.id.in_(ids))
        found = {d.id for d in query}
        missing = [i for i in ids if i not in found]
        if missing:
            bad = StDocument.select().where(StDocument.id.in_(missing))
            reasons = [f"{lifecycle.st_ref(d)} is {d.status}" + (" and already in a batch" if d.batch_id else "")
                       for d in bad]
            raise BatchError("only ready documents outside other batches can be batched: " + "; ".join(reasons))
    docs = list(query)
    if not docs:
        raise BatchError("no ready documents to put in a batch")
    with db.atomic():
        batch = Batch.create(profile=profile, prepared_by=actor, note=note)
        StDocument.update(batch=batch).where(StDocument.id.in_([d.id for d in docs])).execute()
        audit.append("batch.prepared", profile=profile.name, actor=actor, nav_ref=f"batch {batch.id}",
                     detail={"batch": batch.id, "documents": [lifecycle.st_ref(d) for d in docs], "note": note})
    return batch


def approve(batch: Batch, *, actor: str | None = None) -> list[str]:
    """Approve a prepared batch. Documents no longer ready (mapping changed, content changed) are taken
    out with their reason; returns those reasons."""
    actor = actor or audit.current_actor()
    if batch.status != "prepared":
        raise BatchError(f"batch {batch.id} is {batch.status}, not waiting for approval")
    if settings.get(batch.profile, "approval.two_person_rule") and actor == batch.prepared_by:
        raise BatchError(f"two-person rule: batch {batch.id} was prepared by {batch.prepared_by}; "
                         "someone else must approve it")
    ctx = mapping.plan_context(batch.profile)
    dropped: list[str] = []
    with db.atomic():
        for doc in StDocument.select().where(StDocument.batch == batch):
            status, reason = mapping.evaluate(doc, ctx) if doc.status == DocStatus.READY else (doc.status, "")
            if doc.status != DocStatus.READY or status != DocStatus.READY:
                dropped.append(f"{lifecycle.st_ref(doc)}: {reason or doc.status}")
                if doc.status == DocStatus.READY:
                    lifecycle.transition(doc, status, reason=reason, batch=None)
                else:
                    doc.batch = None
                    doc.save()
                continue
            lifecycle.transition(doc, DocStatus.APPROVED, actor=actor, detail={"batch": batch.id}, retry_count=0)
        batch.status = "approved"
        batch.approved_by = actor
        batch.approved_at = utcnow()
        batch.save()
        audit.append("batch.approved", profile=batch.profile.name, actor=actor, nav_ref=f"batch {batch.id}",
                     detail={"batch": batch.id, "prepared_by": batch.prepared_by, "dropped": dropped})
    return dropped


def reject(doc: StDocument, reason: str, *, actor: str | None = None) -> StDocument:
    if not reason.strip():
        raise BatchError(f"{lifecycle.st_ref(doc)}: a rejection needs a reason")
    return lifecycle.transition(doc, DocStatus.REJECTED, reason=reason, actor=actor, batch=None,
                                reject_reason=reason)


def reopen(doc: StDocument, *, actor: str | None = None) -> StDocument:
    """Undo a rejection: the document goes back to the mapping check."""
    lifecycle.transition(doc, DocStatus.NEEDS_MAPPING, reason="reopened", actor=actor, reject_reason="")
    mapping.refresh_readiness(doc.profile, documents=[doc])
    return doc


class BatchSummary:
    def __init__(self, batch: Batch, documents: int, total, by_status: dict[str, int]) -> None:
        self.batch = batch
        self.id = batch.id
        self.documents = documents
        self.total = total
        self.by_status = by_status

    @property
    def status_line(self) -> str:
        return ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(self.by_status.items()))


def list_batches(profile: Profile, limit: int = 200) -> list[BatchSummary]:
    from decimal import Decimal

    out = []
    for batch in Batch.select().where(Batch.profile == profile).order_by(Batch.id.desc()).limit(limit):
        docs = list(StDocument.select(StDocument.status, StDocument.total).where(StDocument.batch == batch))
        by_status: dict[str, int] = {}
        for d in docs:
            by_status[d.status] = by_status.get(d.status, 0) + 1
        total = sum((d.total or Decimal(0) for d in docs), Decimal("0.00"))
        out.append(BatchSummary(batch, len(docs), total, by_status))
    return out
