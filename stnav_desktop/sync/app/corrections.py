"""Corrections for documents changed in ServiceTitan after they were posted.

The app proposes what a bookkeeper would do and never posts it on its own:
- a bill (journal): a reversing journal (same lines, opposite signs, document ``STB<id>-R<n>``) and the
  corrected journal for the new content (document ``STB<id>-C<n>``);
- a purchase order (invoice): a purchase credit memo for the posted invoice's lines and a new invoice
  for the new content (vendor invoice number ``…-v<version>``).
A person approves the proposal; only then is it posted, exactly once like everything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, cast

from stnav_desktop.connectors.nav.books import NavBooks
from stnav_desktop.store import audit
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import AuditEvent, DocStatus, SourceKind, StDocument
from stnav_desktop.sync.app import documents, mapping, posting
from stnav_desktop.sync.domain import accounting, lifecycle


class CorrectionError(ValueError):
    pass


@dataclass
class Correction:
    document_id: int
    st_ref: str
    kind: str  # "journal" or "credit_memo"
    reversal: accounting.JournalPlan | accounting.InvoicePlan
    corrected: accounting.JournalPlan | accounting.InvoicePlan
    new_payload: dict[str, Any]
    changes: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> list[str]:
        if self.kind == "journal":  # both plans are journals (propose)
            reverse, again = cast(accounting.JournalPlan, self.reversal), cast(accounting.JournalPlan, self.corrected)
            return [f"Reverse journal {reverse.document_number}: "
                    + ", ".join(f"{ln.account_number} {ln.amount:+}" for ln in reverse.lines),
                    f"Corrected journal {again.document_number}: "
                    + ", ".join(f"{ln.account_number} {ln.amount:+}" for ln in again.lines)]
        memo, invoice = cast(accounting.InvoicePlan, self.reversal), cast(accounting.InvoicePlan, self.corrected)
        return [f"Purchase credit memo for {memo.vendor_invoice_number}: {memo.total}",
                f"New purchase invoice {invoice.vendor_invoice_number}: {invoice.total}"]


def _latest_change(doc: StDocument) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    events = (AuditEvent.select().where((AuditEvent.st_ref == lifecycle.st_ref(doc)) & AuditEvent.action.in_(
        ["document.changed_after_posting", "document.changed_again"])).order_by(AuditEvent.seq.desc()).limit(1))
    event = next(iter(events), None)
    if event is None:
        raise CorrectionError(f"{lifecycle.st_ref(doc)}: no recorded change to correct")
    detail = json.loads(event.detail)
    return detail["new_payload"], detail.get("changes", [])


def corrections_made(doc: StDocument) -> int:
    return AuditEvent.select().where((AuditEvent.st_ref == lifecycle.st_ref(doc))
                                     & (AuditEvent.action == "correction.posted")).count()


def propose(doc: StDocument) -> Correction:
    if doc.status != DocStatus.CHANGED_AFTER_POSTING:
        raise CorrectionError(f"{lifecycle.st_ref(doc)} is {doc.status}: only documents changed after posting "
                              "need a correction")
    if doc.kind == SourceKind.INVENTORY_RETURN:
        raise CorrectionError(f"{lifecycle.st_ref(doc)}: a vendor return changed after its credit memo was posted; "
                              "correct the credit memo in NAV (the app proposes corrections for purchase orders and "
                              "bills only)")
    new_payload, changes = _latest_change(doc)
    ctx = mapping.plan_context(doc.profile)
    n = corrections_made(doc) + 1
    try:
        posted = accounting.plan_document(doc.kind, doc.raw, mapping.plan_context(doc.profile, validate=False))
        corrected = accounting.plan_document(doc.kind, new_payload, ctx)
    except accounting.NotPostable as exc:
        raise CorrectionError(f"{lifecycle.st_ref(doc)}: {exc}; reverse the posted document in NAV by hand") from None
    except accounting.PlanError as exc:
        raise CorrectionError(f"{lifecycle.st_ref(doc)}: the new content cannot be posted: "
                              + "; ".join(exc.problems)) from None
    if doc.kind == SourceKind.INVENTORY_BILL:
        base = posted.document_number[:14]
        reversal = replace(posted, document_number=f"{base}-R{n}",
                           lines=[replace(ln, amount=-ln.amount, description=f"Reversal: {ln.description}"[:100])
                                  for ln in posted.lines])
        corrected = replace(corrected, document_number=f"{base}-C{n}")
        reversal.check_balanced()
        corrected.check_balanced()
        return Correction(doc.id, lifecycle.st_ref(doc), "journal", reversal, corrected, new_payload, changes)
    corrected = replace(corrected, vendor_invoice_number=f"{posted.vendor_invoice_number[:30]}-v{doc.version + n}")
    return Correction(doc.id, lifecycle.st_ref(doc), "credit_memo", posted, corrected, new_payload, changes)


def approve_and_post(doc: StDocument, books: NavBooks, *, actor: str | None = None, batch=None) -> list[str]:
    """Post an approved correction: the reversal, then the corrected document. Each step finds before it
    creates, so a rerun after a crash never doubles either. Returns the NAV document numbers. Only from
    an approved correction batch (``batches.post_correction_batch``): never on one person's say-so."""
    from stnav_desktop.store.models import CorrectionItem

    if batch is None or batch.kind != "corrections" or batch.status != "approved" or not CorrectionItem.select().where(
            (CorrectionItem.batch == batch) & (CorrectionItem.document == doc.id)).exists():
        raise CorrectionError(f"{lifecycle.st_ref(doc)}: corrections are posted only from an approved correction "
                              "batch (prepare one, have it approved, then post it)")
    correction = propose(doc)
    actor = actor or batch.approved_by or audit.current_actor()
    audit.append("correction.approved", st_ref=correction.st_ref, profile=doc.profile.name, actor=actor,
                 detail={"summary": correction.summary(), "changes": correction.changes})
    if correction.kind == "journal":
        plans: list[accounting.Plan] = [correction.reversal, correction.corrected]
    else:
        assert isinstance(correction.reversal, accounting.InvoicePlan)
        plans = [accounting.CreditMemoPlan(correction.reversal, applies_to_invoice=doc.nav_number),
                 correction.corrected]
    numbers = [found.number for found in posting.ensure_in_nav(books, plans, post=True)]
    with db.atomic():
        doc.raw = correction.new_payload
        doc.content_hash = documents.content_hash(correction.new_payload)
        doc.version += 1
        doc.updated_at = utcnow()
        lifecycle.transition(doc, DocStatus.POSTED, actor=actor, nav_number=numbers[-1],
                             posted_hash=doc.content_hash, posted_version=doc.version,
                             reason="corrected", detail={"correction": correction.kind, "nav_documents": numbers})
        audit.append("correction.posted", st_ref=correction.st_ref, nav_ref=numbers[-1], profile=doc.profile.name,
                     actor=actor, detail={"nav_documents": numbers})
    return numbers
