"""Posting approved documents to NAV exactly once.

For each document:
1. settle any earlier attempt whose outcome is unknown, by asking NAV (never by guessing);
2. look in NAV for what an interrupted run may have created (vendor + vendor invoice number for
   invoices, drafts included; document number for journal lines and G/L entries) — found means done;
3. record the attempt (idempotency key = kind + ServiceTitan id + version) and COMMIT it;
4. write to NAV; record the NAV id, number and G/L entries.

Killed at any instant, a rerun lands in 1 or 2 and never writes a second document. A document NAV
refuses is marked with the reason in plain words and the rest of the batch goes on.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.redact import redact
from stnav_desktop.store import audit, settings
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import (
    AttemptState,
    Batch,
    DocStatus,
    PostingAttempt,
    Profile,
    SourceKind,
    StDocument,
)
from stnav_desktop.sync import accounting, batches, documents, lifecycle, mapping, retry

log = logging.getLogger(__name__)


@dataclass
class NavDocument:
    """What NAV holds for one of our documents."""

    nav_id: str
    number: str
    kind: str  # purchase_invoice, journal
    posted: bool
    gl_entries: list[dict[str, Any]] = field(default_factory=list)


class NavGateway(Protocol):
    """The few NAV operations posting needs (``sync.gateways`` adapts the NAV connector)."""

    def find_invoice(self, plan: accounting.InvoicePlan) -> NavDocument | None: ...
    def create_invoice(self, plan: accounting.InvoicePlan, *, post: bool) -> NavDocument: ...
    def post_invoice(self, found: NavDocument) -> NavDocument: ...
    def find_journal(self, plan: accounting.JournalPlan) -> NavDocument | None: ...
    def create_journal(self, plan: accounting.JournalPlan, *, post: bool) -> NavDocument: ...
    def post_journal(self, found: NavDocument, plan: accounting.JournalPlan) -> NavDocument: ...


class StWriteBack(Protocol):
    def mark_bills_exported(self, bill_ids: list[int]) -> dict[int, str | None]: ...


@dataclass
class PostResult:
    document_id: int
    st_ref: str
    outcome: str  # posted, already_posted, failed, needs_attention, not_ready, skipped
    message: str = ""
    nav_number: str = ""


@dataclass
class PostingOptions:
    post_invoices: bool
    post_journal: bool
    max_attempts: int
    base_seconds: float
    cap_seconds: float

    @classmethod
    def for_profile(cls, profile: Profile) -> PostingOptions:
        return cls(post_invoices=settings.get(profile, "posting.mode") == "post",
                   post_journal=bool(settings.get(profile, "posting.post_journal")),
                   max_attempts=int(settings.get(profile, "retry.max_attempts")),
                   base_seconds=float(settings.get(profile, "retry.base_seconds")),
                   cap_seconds=float(settings.get(profile, "retry.cap_seconds")))


# Documents per chunk when posting in chunks (``Poster(chunk_size=CHUNK_SIZE)``): one $batch of lookups, one
# of writes, one post, one read-back and one of G/L reads per chunk instead of ~5 requests per document.
# ``SyncService`` posts in chunks; ``Poster``'s own default (1) is the document-by-document path.
CHUNK_SIZE = 50


def idempotency_key(doc: StDocument) -> str:
    return f"{doc.kind}:{doc.st_id}:v{doc.version}"


class Poster:
    def __init__(self, profile: Profile, gateway: NavGateway, *, write_back: StWriteBack | None = None,
                 actor: str | None = None, clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None, chunk_size: int = 1) -> None:
        self.profile = profile
        self.chunk_size = max(1, chunk_size)
        self.gateway = gateway
        self.write_back = write_back
        self.actor = actor or audit.current_actor()
        self.clock = clock
        self.rng = rng
        self.options = PostingOptions.for_profile(profile)

    # -- public ----------------------------------------------------------------------------------
    def post_batch(self, batch: Batch | None = None, *, cancel: Callable[[], bool] = lambda: False,
                   progress: Callable[[int, int, PostResult], None] | None = None) -> list[PostResult]:
        """Post every approved document (of ``batch``, or all), plus due retries, ``chunk_size`` documents per
        NAV ``$batch``. ``cancel`` is checked between chunks: what is in flight finishes, nothing is half-posted."""
        self.settle_unknown()
        docs = self._due_documents(batch)
        results: list[PostResult] = []
        size = self.chunk_size if self._can_batch() else 1
        for start in range(0, len(docs), size):
            if cancel():
                log.info("posting cancelled after %s of %s documents", start, len(docs))
                break
            chunk = docs[start:start + size]
            if size == 1:
                chunk_results = [self._post_one(chunk[0])]
            else:
                chunk_results = self._post_chunk(chunk)
            for offset, result in enumerate(chunk_results):
                results.append(result)
                if progress:
                    progress(start + offset + 1, len(docs), result)
                    time.sleep(0)  # let a waiting UI thread take the GIL and paint between documents
        self._write_back_pending()
        if batch is not None:
            self._close_batch(batch)
        return results

    def settle_unknown(self) -> int:
        """On start-up and before any retry: ask NAV about every attempt whose outcome is unknown."""
        pending = (StDocument.select().join(PostingAttempt)
                   .where((StDocument.profile == self.profile) & (PostingAttempt.state == AttemptState.PENDING))
                   .distinct())
        settled = 0
        for doc in pending:
            try:
                self._settle(doc)
                settled += 1
            except ConnectorError as exc:
                log.warning("could not settle %s yet: %s", lifecycle.st_ref(doc), exc)
        # a document left in POSTING without a pending attempt (killed between the two commits)
        for doc in StDocument.select().where((StDocument.profile == self.profile)
                                             & (StDocument.status == DocStatus.POSTING)):
            if not doc.attempts.where(PostingAttempt.state == AttemptState.PENDING).exists():
                lifecycle.transition(doc, DocStatus.APPROVED, reason="interrupted before sending; will post again")
        return settled

    def post_document(self, doc: StDocument) -> PostResult:
        plan = self._plan(doc)
        if isinstance(plan, PostResult):
            return plan
        ref = lifecycle.st_ref(doc)
        try:
            found = self._find(plan)
        except ConnectorError as exc:
            return self._failed(doc, None, exc)
        if found is not None:
            try:
                found = self._complete(found, plan)
            except ConnectorError as exc:  # e.g. a draft found in NAV that NAV now refuses to post
                return self._failed(doc, None, exc)
            self._posted(doc, None, found, already=True)
            return PostResult(doc.id, ref, "already_posted", "found in NAV; not sent again", found.number)
        with db.atomic():
            attempt = PostingAttempt.create(
                document=doc, idempotency_key=idempotency_key(doc),
                attempt_no=doc.attempts.count() + 1, operation=self._operation(plan),
                request_summary=self._summary(plan))
            lifecycle.transition(doc, DocStatus.POSTING, actor=self.actor,
                                 detail={"attempt": attempt.attempt_no, "key": attempt.idempotency_key})
        try:
            if isinstance(plan, accounting.InvoicePlan):
                created = self.gateway.create_invoice(plan, post=self.options.post_invoices)
            else:
                created = self.gateway.create_journal(plan, post=self.options.post_journal)
        except TransportError as exc:
            # the request may or may not have been carried out: keep the attempt pending, settle later
            return self._failed(doc, attempt, exc, unknown=True)
        except ConnectorError as exc:
            return self._failed(doc, attempt, exc)
        self._posted(doc, attempt, created)
        return PostResult(doc.id, ref, "posted", "", created.number)

    # -- chunks ----------------------------------------------------------------------------------
    def _can_batch(self) -> bool:
        return self.chunk_size > 1 and all(hasattr(self.gateway, name)
                                           for name in ("find_many", "create_invoices", "create_journals"))

    def _post_one(self, doc: StDocument) -> PostResult:
        try:
            return self.post_document(doc)
        except Exception as exc:  # one bad document never stops the rest of the batch
            return self._unexpected(doc, exc)

    def _unexpected(self, doc: StDocument, exc: BaseException) -> PostResult:
        log.error("posting %s failed unexpectedly", lifecycle.st_ref(doc), exc_info=exc)
        # an attempt left pending is settled against NAV on the next run; nothing is guessed
        return PostResult(doc.id, lifecycle.st_ref(doc), "failed", f"unexpected error: {redact(exc)}")

    def _plan(self, doc: StDocument):
        """The accounting plan, or the result when there is nothing to send (skipped / back to review)."""
        ref = lifecycle.st_ref(doc)
        try:
            plan = accounting.plan_document(doc.kind, doc.raw, mapping.plan_context(self.profile))
            if isinstance(plan, accounting.JournalPlan):
                plan.check_balanced()
        except accounting.NotPostable as exc:
            if doc.status != DocStatus.READY:
                lifecycle.transition(doc, DocStatus.READY, batch=None)
            lifecycle.transition(doc, DocStatus.SKIPPED, reason=str(exc), batch=None)
            return PostResult(doc.id, ref, "skipped", str(exc))
        except accounting.PlanError as exc:
            # mappings or reference data changed since approval: back to review, nothing sent
            self._to_review(doc, "; ".join(exc.problems))
            return PostResult(doc.id, ref, "not_ready", "; ".join(exc.problems))
        return plan

    def _needs_completion(self, found: NavDocument, plan) -> bool:
        if found.posted:
            return False
        if isinstance(plan, accounting.InvoicePlan):
            return self.options.post_invoices
        return self.options.post_journal

    def _post_chunk(self, docs: list[StDocument]) -> list[PostResult]:
        """The same steps as ``post_document`` for several documents at once: plan each; look them all up in
        one ``$batch``; record and COMMIT every attempt (POSTING) before one ``$batch`` write; then each
        document's own outcome. An unknown outcome (connection lost) keeps the attempts pending."""
        results: dict[int, PostResult] = {}
        planned: list[tuple[StDocument, Any]] = []
        for doc in docs:
            try:
                plan = self._plan(doc)
            except Exception as exc:
                results[doc.id] = self._unexpected(doc, exc)
                continue
            if isinstance(plan, PostResult):
                results[doc.id] = plan
            else:
                planned.append((doc, plan))
        # 1. look everything up in NAV: found means done (or finished, e.g. a draft to post)
        to_write: list[tuple[StDocument, Any]] = []
        if planned:
            try:
                found_list = self.gateway.find_many([plan for _, plan in planned])
            except Exception as exc:  # the whole lookup failed: nothing was written, each document fails
                found_list = [exc] * len(planned)
            for (doc, plan), found in zip(planned, found_list, strict=True):
                try:
                    if isinstance(found, ConnectorError):
                        results[doc.id] = self._failed(doc, None, found)
                    elif isinstance(found, BaseException):
                        results[doc.id] = self._unexpected(doc, found)
                    elif found is None:
                        to_write.append((doc, plan))
                    elif self._needs_completion(found, plan):
                        results[doc.id] = self.post_document(doc)  # rare: finish it alone, looking up again
                    else:
                        self._posted(doc, None, found, already=True)
                        results[doc.id] = PostResult(doc.id, lifecycle.st_ref(doc), "already_posted",
                                                     "found in NAV; not sent again", found.number)
                except Exception as exc:
                    results[doc.id] = self._unexpected(doc, exc)
        # 2. every attempt recorded and committed before anything is written
        attempts: dict[int, PostingAttempt] = {}
        if to_write:
            with db.atomic():
                for doc, plan in to_write:
                    attempt = PostingAttempt.create(
                        document=doc, idempotency_key=idempotency_key(doc),
                        attempt_no=doc.attempts.count() + 1, operation=self._operation(plan),
                        request_summary=self._summary(plan))
                    lifecycle.transition(doc, DocStatus.POSTING, actor=self.actor,
                                         detail={"attempt": attempt.attempt_no, "key": attempt.idempotency_key})
                    attempts[doc.id] = attempt
        # 3. one write per kind (bills before invoices), each document its own atomicity group
        journals = [(d, p) for d, p in to_write if isinstance(p, accounting.JournalPlan)]
        invoices = [(d, p) for d, p in to_write if isinstance(p, accounting.InvoicePlan)]
        for group, write in ((journals, lambda plans: self.gateway.create_journals(
                                 plans, post=self.options.post_journal)),
                             (invoices, lambda plans: self.gateway.create_invoices(
                                 plans, post=self.options.post_invoices))):
            if not group:
                continue
            try:
                outcomes = list(write([p for _, p in group]))
                if len(outcomes) != len(group):
                    raise RuntimeError(f"NAV gateway answered {len(outcomes)} outcomes for {len(group)} documents")
            except Exception as exc:
                # the $batch as a whole failed: some atomicity groups may have been carried out, so the
                # outcome of every document in it is unknown until NAV is asked (settled on the next run)
                log.warning("a $batch write of %s documents failed as a whole: %s", len(group), redact(exc))
                outcomes = [TransportError(f"the batch write failed ({redact(exc)}); NAV will be asked before "
                                           "anything is sent again")] * len(group)
            # 4. each document's own result
            for (doc, _), outcome in zip(group, outcomes, strict=True):
                attempt = attempts[doc.id]
                ref = lifecycle.st_ref(doc)
                try:
                    if isinstance(outcome, TransportError):
                        results[doc.id] = self._failed(doc, attempt, outcome, unknown=True)
                    elif isinstance(outcome, ConnectorError):
                        results[doc.id] = self._failed(doc, attempt, outcome)
                    elif isinstance(outcome, BaseException):
                        results[doc.id] = self._unexpected(doc, outcome)
                    else:
                        self._posted(doc, attempt, outcome)
                        results[doc.id] = PostResult(doc.id, ref, "posted", "", outcome.number)
                except Exception as exc:
                    results[doc.id] = self._unexpected(doc, exc)
        return [results[doc.id] for doc in docs]

    # -- internals -----------------------------------------------------------------------------
    def _operation(self, plan) -> str:
        return "purchase_invoice" if isinstance(plan, accounting.InvoicePlan) else "journal_lines"

    def _summary(self, plan) -> dict[str, Any]:
        if isinstance(plan, accounting.InvoicePlan):
            return {"vendor": plan.vendor_number, "vendorInvoiceNumber": plan.vendor_invoice_number,
                    "postingDate": plan.posting_date.isoformat(), "lines": len(plan.lines), "total": str(plan.total)}
        return {"documentNumber": plan.document_number, "externalDocumentNumber": plan.external_document_number,
                "postingDate": plan.posting_date.isoformat(), "lines": len(plan.lines)}

    def _find(self, plan) -> NavDocument | None:
        if isinstance(plan, accounting.InvoicePlan):
            return self.gateway.find_invoice(plan)
        return self.gateway.find_journal(plan)

    def _complete(self, found: NavDocument, plan) -> NavDocument:
        """A document found in NAV as a draft when the profile posts: finish the job (post it)."""
        if found.posted:
            return found
        if isinstance(plan, accounting.InvoicePlan) and self.options.post_invoices:
            return self.gateway.post_invoice(found)
        if isinstance(plan, accounting.JournalPlan) and self.options.post_journal:
            return self.gateway.post_journal(found, plan)
        return found

    def _settle(self, doc: StDocument) -> None:
        attempts = list(doc.attempts.where(PostingAttempt.state == AttemptState.PENDING))
        ctx = mapping.plan_context(self.profile, validate=False)
        try:
            plan = accounting.plan_document(doc.kind, doc.raw, ctx)
        except (accounting.PlanError, accounting.NotPostable):
            plan = None
        found = self._find(plan) if plan is not None else None
        with db.atomic():
            for attempt in attempts:
                attempt.state = AttemptState.SETTLED_FOUND if found else AttemptState.SETTLED_ABSENT
                attempt.finished_at = utcnow()
                if found:
                    attempt.nav_id, attempt.nav_number = found.nav_id, found.number
                attempt.save()
                audit.append("attempt.settled", st_ref=lifecycle.st_ref(doc), nav_ref=found.number if found else "",
                             profile=self.profile.name,
                             detail={"attempt": attempt.attempt_no, "found_in_nav": bool(found)})
        if found:
            found = self._complete(found, plan)
            self._posted(doc, None, found, already=True)
        elif doc.status == DocStatus.POSTING:
            lifecycle.transition(doc, DocStatus.APPROVED, reason="earlier attempt never reached NAV; will post again")
        if not found:
            documents.apply_pending(doc)  # not in NAV: the newer content replaces the old before posting

    def _posted(self, doc: StDocument, attempt: PostingAttempt | None, found: NavDocument, *,
                already: bool = False) -> None:
        with db.atomic():
            if attempt is not None:
                attempt.state = AttemptState.SUCCEEDED
                attempt.finished_at = utcnow()
                attempt.nav_id, attempt.nav_number = found.nav_id, found.number
                attempt.gl_entries = found.gl_entries or None
                attempt.save()
            if doc.status in (DocStatus.APPROVED, DocStatus.NEEDS_ATTENTION, DocStatus.FAILED, DocStatus.POSTING):
                if doc.status == DocStatus.APPROVED:
                    lifecycle.transition(doc, DocStatus.POSTING)
                doc.nav_id, doc.nav_number = found.nav_id, found.number
                lifecycle.transition(
                    doc, DocStatus.POSTED, actor=self.actor, nav_id=found.nav_id, nav_number=found.number,
                    posted_hash=doc.content_hash, posted_version=doc.version, next_retry_at=None,
                    detail={"nav_kind": found.kind, "nav_id": found.nav_id, "nav_number": found.number,
                            "posted_in_nav": found.posted, "already_in_nav": already,
                            "gl_entries": [e.get("entryNumber") for e in found.gl_entries],
                            "gl": found.gl_entries})
        documents.apply_pending(doc)

    def _failed(self, doc: StDocument, attempt: PostingAttempt | None, exc: ConnectorError, *,
                unknown: bool = False) -> PostResult:
        ref = lifecycle.st_ref(doc)
        message = str(exc)
        # failures since the document was (re)approved, whether or not a write was attempted
        attempts_made = (doc.retry_count or 0) + 1
        retryable = unknown or exc.retryable
        exhausted = attempts_made >= self.options.max_attempts
        with db.atomic():
            if attempt is not None and not unknown:
                attempt.state = AttemptState.FAILED
                attempt.finished_at = utcnow()
                attempt.error, attempt.error_code = message, exc.code or str(exc.status or "")
                attempt.correlation_id = exc.correlation_id or ""
                attempt.save()
            elif attempt is not None:
                attempt.error = f"outcome unknown: {message}"
                attempt.correlation_id = exc.correlation_id or ""
                attempt.save()
            detail = {"error": message, "code": exc.code, "status": exc.status, "correlation_id": exc.correlation_id,
                      "outcome_unknown": unknown}
            if doc.status == DocStatus.APPROVED:
                lifecycle.transition(doc, DocStatus.POSTING)
            if retryable and not exhausted:
                when = retry.next_retry_at(self.clock(), max(1, attempts_made), base=self.options.base_seconds,
                                           cap=self.options.cap_seconds, rng=self.rng)
                lifecycle.transition(doc, DocStatus.FAILED, reason=message, next_retry_at=when,
                                     retry_count=attempts_made, detail={**detail, "next_retry_at": when})
                return PostResult(doc.id, ref, "failed", message)
            reason = message if not retryable else f"gave up after {attempts_made} attempts: {message}"
            lifecycle.transition(doc, DocStatus.NEEDS_ATTENTION, reason=reason, next_retry_at=None,
                                 retry_count=attempts_made, detail=detail)
        return PostResult(doc.id, ref, "needs_attention", reason)

    def _to_review(self, doc: StDocument, reason: str) -> None:
        if doc.status in (DocStatus.APPROVED, DocStatus.FAILED, DocStatus.NEEDS_ATTENTION):
            lifecycle.transition(doc, DocStatus.NEEDS_MAPPING, reason=reason, batch=None)

    def _due_documents(self, batch: Batch | None) -> list[StDocument]:
        now = self.clock()
        query = StDocument.select().where(StDocument.profile == self.profile)
        due = ((StDocument.status == DocStatus.APPROVED)
               | ((StDocument.status == DocStatus.FAILED) & (StDocument.next_retry_at <= now)))
        query = query.where(due)
        if batch is not None:
            query = query.where(StDocument.batch == batch)
        # bills before invoices: the clearing account is credited before it is debited
        return sorted(query, key=lambda d: (d.kind != SourceKind.INVENTORY_BILL, d.id))

    def _close_batch(self, batch: Batch) -> None:
        batches.close_if_done(batch, profile_name=self.profile.name)

    def _write_back_pending(self) -> None:
        """Posted bills are marked exported in ServiceTitan; failures stay visible and are retried."""
        if self.write_back is None:
            return
        docs = list(StDocument.select().where(
            (StDocument.profile == self.profile) & (StDocument.kind == SourceKind.INVENTORY_BILL)
            & (StDocument.status == DocStatus.POSTED) & StDocument.st_exported_at.is_null()))
        for chunk in (docs[i:i + 50] for i in range(0, len(docs), 50)):
            try:
                results = self.write_back.mark_bills_exported([d.st_id for d in chunk])
            except ConnectorError as exc:
                for doc in chunk:
                    doc.st_export_error = f"marking exported in ServiceTitan failed (will retry): {exc}"
                    doc.save()
                continue
            for doc in chunk:
                error = results.get(doc.st_id, "no answer for this bill")
                with db.atomic():
                    if error:
                        doc.st_export_error = f"ServiceTitan did not mark it exported: {error}"
                    else:
                        doc.st_exported_at, doc.st_export_error = utcnow(), ""
                    doc.save()
                    audit.append("document.marked_exported" if not error else "document.mark_exported_failed",
                                 st_ref=lifecycle.st_ref(doc), nav_ref=doc.nav_number or "",
                                 profile=self.profile.name, detail={"error": error})


def replay(profile: Profile, *, document_ids: Iterable[int] | None = None, batch: Batch | None = None,
           actor: str | None = None) -> int:
    """Put failed / needs-attention documents back in line (approved, retry count kept in the log)."""
    query = StDocument.select().where((StDocument.profile == profile)
                                      & StDocument.status.in_([DocStatus.NEEDS_ATTENTION, DocStatus.FAILED]))
    if document_ids is not None:
        query = query.where(StDocument.id.in_(list(document_ids)))
    if batch is not None:
        query = query.where(StDocument.batch == batch)
    count = 0
    for doc in query:
        lifecycle.transition(doc, DocStatus.APPROVED, actor=actor, reason="replay requested", next_retry_at=None,
                             retry_count=0)
        count += 1
    return count
