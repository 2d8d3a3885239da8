"""Posting approved documents to NAV exactly once, in chunks (one document is a chunk of one).

Per run:
1. settle every earlier attempt whose outcome is unknown, by asking NAV (never by guessing);
2. follow up documents left in NAV as drafts: posted there since, changed, or deleted;
3. per chunk: look every document up in NAV by what identifies it (vendor + vendor invoice number;
   our journal document number; never a date) — found means done; record each attempt (idempotency key =
   kind + ServiceTitan id + version) and COMMIT them all; one bulk write; each document's own outcome;
4. before the run ends, ask NAV about every write whose answer was lost in this run; what NAV does not
   hold is sent once more (the attempt budget allowing); what cannot be confirmed stays *unconfirmed*,
   never *failed*.

Killed at any instant, a rerun lands in 1 or 3's look-up and never writes a second document. A document
NAV refuses is marked with the reason in plain words and the rest of the batch goes on.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.connectors.nav.books import NavBooks, NavDocument
from stnav_desktop.redact import redact
from stnav_desktop.store import audit, claims, settings
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
from stnav_desktop.sync.app import batches, documents, mapping
from stnav_desktop.sync.domain import accounting, lifecycle, retry

log = logging.getLogger(__name__)

# Documents per chunk: one $batch of look-ups, one of writes, one post and one G/L read per chunk.
CHUNK_SIZE = 50


class Outcome(StrEnum):
    POSTED = "posted"  # created (and posted, if the profile posts) in this run
    ALREADY_IN_NAV = "already_posted"  # found in NAV: nothing sent
    DRAFT = "in_nav_draft"  # in NAV as an unposted document; followed up every run
    FAILED = "failed"  # NAV does not hold it; a retry is scheduled
    NEEDS_ATTENTION = "needs_attention"  # NAV does not hold it; no more automatic retries
    UNCONFIRMED = "unconfirmed"  # sent, NAV could not be asked yet; asked again before anything is resent
    NOT_READY = "not_ready"  # back to review (mapping or reference data changed)
    ELSEWHERE = "posted_elsewhere"  # another PC (or window) holds the claim on it and is posting it
    SKIPPED = "skipped"  # not posted under the profile's rules

    @property
    def bad(self) -> bool:
        return self in (Outcome.FAILED, Outcome.NEEDS_ATTENTION, Outcome.NOT_READY)

    @property
    def in_nav(self) -> bool:
        return self in (Outcome.POSTED, Outcome.ALREADY_IN_NAV, Outcome.DRAFT)


class WriteBack(Protocol):
    """Marks posted bills exported in ServiceTitan (``sync/st_gateway.WriteBack`` implements it)."""

    def mark_bills_exported(self, bill_ids: list[int]) -> dict[int, str | None]: ...


@dataclass
class PostResult:
    document_id: int
    st_ref: str
    outcome: Outcome
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

    def wants_post(self, plan: accounting.Plan) -> bool:
        return plan.wants_post(self.post_invoices, self.post_journal)


def idempotency_key(doc: StDocument) -> str:
    return f"{doc.kind}:{doc.st_id}:v{doc.version}"


def gl_summary(found: NavDocument) -> list[dict[str, Any]]:
    """The G/L entries NAV booked, as the audit trail keeps them (JSON)."""
    return [{"entry": e.entry_number, "account": e.account_number, "debit": str(e.debit), "credit": str(e.credit),
             "dimensions": dict(e.dimensions)} for e in found.gl_entries]


class Poster:
    def __init__(self, profile: Profile, books: NavBooks, *, write_back: WriteBack | None = None,
                 actor: str | None = None, clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None, chunk_size: int = CHUNK_SIZE) -> None:
        self.profile = profile
        self.books = books
        self.chunk_size = max(1, chunk_size)
        self.write_back = write_back
        self.actor = actor or audit.current_actor()
        self.clock = clock
        self.rng = rng
        self.options = PostingOptions.for_profile(profile)
        # who this poster is in the shared store: claims name it ("being posted by alice@AP-PC-2#4242")
        self.holder = claims.default_holder()
        self.lease_seconds = claims.DEFAULT_LEASE_SECONDS

    # -- public ----------------------------------------------------------------------------------
    def post_batch(self, batch: Batch | None = None, *, cancel: Callable[[], bool] = lambda: False,
                   progress: Callable[[int, int, PostResult], None] | None = None) -> list[PostResult]:
        """Post every approved document (of ``batch``, or all), plus due retries, ``chunk_size`` per chunk.
        ``cancel`` is checked between chunks: what is in flight finishes, nothing is half-posted."""
        self.settle_unknown()
        self.follow_up_drafts()
        docs = self._due_documents(batch)
        results: dict[int, PostResult] = {}
        order: list[int] = []
        for start in range(0, len(docs), self.chunk_size):
            if cancel():
                log.info("posting cancelled after %s of %s documents", start, len(docs))
                break
            chunk = docs[start:start + self.chunk_size]
            for offset, result in enumerate(self._claimed_chunk(chunk)):
                results[result.document_id] = result
                order.append(result.document_id)
                if progress:
                    progress(start + offset + 1, len(docs), result)
                    time.sleep(0)  # let a waiting UI thread take the GIL and paint between documents
        # 4. every write of this run whose answer was lost: ask NAV now, resend what it does not hold
        unknown = [d for d in docs if d.id in results and results[d.id].outcome == Outcome.UNCONFIRMED]
        if unknown and not cancel():
            for result in self._settle_in_run(unknown):
                results[result.document_id] = result
        self._write_back_pending()
        if batch is not None:
            self._close_batch(batch)
        return [results[i] for i in order]

    def settle_unknown(self) -> int:
        """Ask NAV about every attempt whose outcome is unknown (start of every run). Returns how many
        documents were settled."""
        pending = list(StDocument.select().join(PostingAttempt)
                       .where((StDocument.profile == self.profile) & (PostingAttempt.state == AttemptState.PENDING))
                       .distinct())
        settled = 0
        for chunk in _chunks(pending, self.chunk_size):
            with claims.claimed([d.id for d in chunk], self.holder, self.lease_seconds) as won:
                # another PC's attempt in flight is its own to settle: only documents won are asked about
                mine = [d for d in chunk if d.id in set(won)]
                answers = self._settle_chunk(mine)
            for doc, _, found in answers:
                if isinstance(found, ConnectorError):
                    log.warning("could not settle %s yet: %s", lifecycle.st_ref(doc), found)
                else:
                    settled += 1
        # a document left in POSTING without a pending attempt (killed between the two commits)
        posting_now = list(StDocument.select().where((StDocument.profile == self.profile)
                                                     & (StDocument.status == DocStatus.POSTING)))
        with claims.claimed([d.id for d in posting_now], self.holder, self.lease_seconds) as won:
            for doc in (d for d in posting_now if d.id in set(won)):  # not one another PC is posting now
                doc = StDocument.get_by_id(doc.id)
                if doc.status == DocStatus.POSTING and not _attempts(doc).where(
                        PostingAttempt.state == AttemptState.PENDING).exists():
                    lifecycle.transition(doc, DocStatus.APPROVED, reason="interrupted before sending; will post "
                                                                         "again")
        return settled

    def follow_up_drafts(self, document_ids: Iterable[int] | None = None) -> dict[str, int]:
        """Documents in NAV as drafts: posted there since (→ posted, G/L recorded, written back), deleted
        (→ needs attention, said in words), changed (amount differs: said on the row), or still a draft
        that the profile now posts (→ posted by us). ``document_ids``: only these (a NAV notification named
        them); None: every draft (each posting run)."""
        counts = {"posted": 0, "deleted": 0, "changed": 0}
        query = StDocument.select().where((StDocument.profile == self.profile)
                                          & (StDocument.status == DocStatus.IN_NAV_DRAFT))
        if document_ids is not None:
            query = query.where(StDocument.id.in_(list(document_ids)))
        drafts = list(query)
        for whole in _chunks(drafts, self.chunk_size):
            with claims.claimed([d.id for d in whole], self.holder, self.lease_seconds) as won:
                chunk = [StDocument.get_by_id(d.id) for d in whole if d.id in set(won)]
                self._follow_up_chunk([d for d in chunk if d.status == DocStatus.IN_NAV_DRAFT], counts)
        return counts

    def _follow_up_chunk(self, chunk: list[StDocument], counts: dict[str, int]) -> None:
        """One chunk of drafts this poster has claimed."""
        if not chunk:
            return
        planned = self._plans(chunk, validate=False)
        answers = self._find([p for _, p in planned])
        to_post: list[tuple[StDocument, accounting.Plan, NavDocument]] = []
        for (doc, plan), found in zip(planned, answers, strict=True):
            if isinstance(found, ConnectorError):
                log.warning("could not follow up the NAV draft of %s: %s", lifecycle.st_ref(doc), found)
            elif found is None:
                lifecycle.transition(doc, DocStatus.NEEDS_ATTENTION, actor=self.actor,
                                     reason=f"the draft {doc.nav_number} was deleted in NAV; replay to send it "
                                            "again, or reject it")
                counts["deleted"] += 1
            elif found.posted:
                self._in_nav(doc, None, found, already=True)
                counts["posted"] += 1
            else:
                if found.amount is not None and found.amount != plan.total:
                    audit.append("document.draft_changed_in_nav", st_ref=lifecycle.st_ref(doc),
                                 nav_ref=found.number, profile=self.profile.name,
                                 detail={"nav_amount": str(found.amount), "st_amount": str(plan.total)})
                    doc.problem = (f"the draft in NAV totals {found.amount}, ServiceTitan {plan.total}: "
                                   "check it in NAV before posting it")
                    doc.save()
                    counts["changed"] += 1
                if self.options.wants_post(plan):
                    to_post.append((doc, plan, found))
        if to_post:
            for (doc, _, _), outcome in zip(to_post, self._post_drafts([f for _, _, f in to_post],
                                                                       [p for _, p, _ in to_post]), strict=True):
                if isinstance(outcome, NavDocument):
                    self._in_nav(doc, None, outcome, already=True)
                    counts["posted"] += 1
                else:
                    log.warning("posting the NAV draft of %s failed: %s", lifecycle.st_ref(doc), outcome)

    # -- one chunk -------------------------------------------------------------------------------
    def _claimed_chunk(self, docs: list[StDocument]) -> list[PostResult]:
        """Claim the chunk in the store first (one PC wins each document, issue #19), re-read what was won
        and post what is still due; a document another PC holds is reported as being posted there. The
        claims are released after the chunk (a killed process leaves them to expire)."""
        with claims.claimed([d.id for d in docs], self.holder, self.lease_seconds) as won:
            won_ids = set(won)
            now = self.clock()
            fresh = {d.id: d for d in StDocument.select().where(StDocument.id.in_(list(won_ids)))} if won_ids else {}
            due = [fresh[d.id] for d in docs if d.id in fresh and (
                fresh[d.id].status == DocStatus.APPROVED or (fresh[d.id].status == DocStatus.FAILED and (
                    fresh[d.id].next_retry_at is None or fresh[d.id].next_retry_at <= now)))]
            posted = {r.document_id: r for r in self._post_chunk(due)} if due else {}
        others = claims.holders([d.id for d in docs if d.id not in won_ids]) if len(won_ids) < len(docs) else {}
        out = []
        for doc in docs:
            if doc.id in posted:
                out.append(posted[doc.id])
            elif doc.id not in won_ids:
                who = others[doc.id].holder if doc.id in others else "another PC"
                out.append(PostResult(doc.id, lifecycle.st_ref(doc), Outcome.ELSEWHERE, f"being posted by {who}"))
            else:  # won, but another PC finished it between our look-up and our claim
                current = fresh[doc.id]
                out.append(PostResult(doc.id, lifecycle.st_ref(current), Outcome.ALREADY_IN_NAV
                                      if current.status in (DocStatus.POSTED, DocStatus.IN_NAV_DRAFT) else
                                      Outcome.ELSEWHERE, f"already {current.status} (another PC)",
                                      current.nav_number or ""))
        return out

    def _post_chunk(self, docs: list[StDocument]) -> list[PostResult]:
        results: dict[int, PostResult] = {}
        planned: list[tuple[StDocument, accounting.Plan]] = []
        ctx = self._context()
        for doc in docs:
            try:
                plan = self._plan(doc, ctx)
            except Exception as exc:  # one bad document never stops the rest
                results[doc.id] = self._unexpected(doc, exc)
                continue
            if isinstance(plan, PostResult):
                results[doc.id] = plan
            else:
                planned.append((doc, plan))
        # 1. look everything up in NAV: found means done (a draft is finished if the profile posts)
        to_write: list[tuple[StDocument, accounting.Plan]] = []
        drafts: list[tuple[StDocument, accounting.Plan, NavDocument]] = []
        for (doc, plan), found in zip(planned, self._find([p for _, p in planned]), strict=True):
            try:
                if isinstance(found, ConnectorError):
                    results[doc.id] = self._failed(doc, None, found)
                elif found is None:
                    to_write.append((doc, plan))
                elif not found.posted and self.options.wants_post(plan):
                    drafts.append((doc, plan, found))
                else:
                    results[doc.id] = self._in_nav(doc, None, found, already=True, expected=plan.total)
            except Exception as exc:
                results[doc.id] = self._unexpected(doc, exc)
        if drafts:
            for (doc, _, _), outcome in zip(drafts, self._post_drafts([f for _, _, f in drafts],
                                                                      [p for _, p, _ in drafts]), strict=True):
                results[doc.id] = self._record(doc, None, outcome, already=True)
        # 2. every attempt recorded and committed before anything is written
        attempts = self._begin(to_write)
        # 3. one write per kind (bills before invoices), each document its own atomicity group
        for group in _by_kind(to_write):
            plans = [p for _, p in group]
            try:
                outcomes: Sequence[Any] = type(plans[0]).create_in(self.books, plans,
                                                                   post=self.options.wants_post(plans[0]))
                if len(outcomes) != len(group):
                    raise RuntimeError(f"NAV answered {len(outcomes)} outcomes for {len(group)} documents")
            except Exception as exc:
                # the write as a whole failed: some documents may have been carried out, so each outcome is
                # unknown until NAV is asked (before this run ends)
                log.warning("a bulk write of %s documents failed as a whole: %s", len(group), redact(exc))
                outcomes = [TransportError(f"the write failed ({redact(exc)}); NAV is asked before anything is "
                                           "sent again")] * len(group)
            for (doc, _), outcome in zip(group, outcomes, strict=True):
                results[doc.id] = self._record(doc, attempts[doc.id], outcome)
        return [results[doc.id] for doc in docs]

    def _settle_in_run(self, docs: list[StDocument]) -> list[PostResult]:
        """Ask NAV (reads retried with backoff) about this run's lost answers. Found: done. Absent: it never
        reached NAV, so it is sent once more now if the attempt budget allows."""
        out: list[PostResult] = []
        resend: list[StDocument] = []
        with claims.claimed([d.id for d in docs], self.holder, self.lease_seconds) as won:
            fresh = [StDocument.get_by_id(d.id) for d in docs if d.id in set(won)]
            answers = self._settle_chunk(fresh)
        for doc, _, found in answers:
            if isinstance(found, ConnectorError):
                out.append(PostResult(doc.id, lifecycle.st_ref(doc), Outcome.UNCONFIRMED,
                                      f"sent; NAV could not be asked yet ({found}); it is asked again before "
                                      "anything is resent"))
                continue
            doc = StDocument.get_by_id(doc.id)
            if found is not None:
                out.append(PostResult(doc.id, lifecycle.st_ref(doc),
                                      Outcome.ALREADY_IN_NAV if found.posted else Outcome.DRAFT,
                                      "confirmed in NAV after a lost answer", found.number))
            elif doc.status == DocStatus.APPROVED and _attempts(doc).count() < self.options.max_attempts:
                resend.append(doc)
            else:
                out.append(PostResult(doc.id, lifecycle.st_ref(doc), Outcome.FAILED,
                                      "the write never reached NAV; it is sent again on the next run"))
        if resend:
            out.extend(self._claimed_chunk(resend))
        return out

    # -- steps -----------------------------------------------------------------------------------
    def _find(self, plans: list[accounting.Plan]) -> list[Any]:
        if not plans:
            return []
        try:
            answers = self.books.find_documents([p.nav_key() for p in plans])
            if len(answers) != len(plans):
                raise RuntimeError(f"NAV answered {len(answers)} look-ups for {len(plans)} documents")
            return answers
        except ConnectorError as exc:  # the whole look-up failed (after its retries): nothing was written
            return [exc] * len(plans)

    def _post_drafts(self, found: list[NavDocument], plans: list[accounting.Plan]) -> list[Any]:
        """Post drafts found in NAV; each is checked against its plan's spec first (dimensions)."""
        try:
            return list(self.books.post_documents(found, [p.nav_spec() for p in plans]))
        except ConnectorError as exc:
            return [exc] * len(found)

    def _begin(self, to_write: list[tuple[StDocument, accounting.Plan]]) -> dict[int, PostingAttempt]:
        attempts: dict[int, PostingAttempt] = {}
        if not to_write:
            return attempts
        with db.atomic():
            for doc, plan in to_write:
                attempt = PostingAttempt.create(
                    document=doc, idempotency_key=idempotency_key(doc), attempt_no=_attempts(doc).count() + 1,
                    operation=plan.operation, request_summary=plan.summary())
                lifecycle.transition(doc, DocStatus.POSTING, actor=self.actor,
                                     detail={"attempt": attempt.attempt_no, "key": attempt.idempotency_key})
                attempts[doc.id] = attempt
        return attempts

    def _record(self, doc: StDocument, attempt: PostingAttempt | None, outcome: Any, *,
                already: bool = False) -> PostResult:
        try:
            if isinstance(outcome, NavDocument):
                return self._in_nav(doc, attempt, outcome, already=already)
            if isinstance(outcome, TransportError):
                return self._unconfirmed(doc, attempt, outcome)
            if isinstance(outcome, ConnectorError):
                return self._failed(doc, attempt, outcome)
            # a bug between sending and reading the answer: NAV may hold it, so it is asked, never guessed
            log.error("posting %s: unexpected answer", lifecycle.st_ref(doc),
                      exc_info=outcome if isinstance(outcome, BaseException) else None)
            return self._unconfirmed(doc, attempt, TransportError(f"unexpected error: {redact(outcome)}"))
        except Exception as exc:
            return self._unexpected(doc, exc)

    def _context(self, *, validate: bool = True) -> accounting.PlanContext:
        """Settings, mappings and NAV reference data, read once per chunk; "today" is the poster's clock's."""
        return replace(mapping.plan_context(self.profile, validate=validate), today=self.clock().date())

    def _plan(self, doc: StDocument, ctx: accounting.PlanContext) -> accounting.Plan | PostResult:
        """The accounting plan, or the result when there is nothing to send (skipped / back to review)."""
        ref = lifecycle.st_ref(doc)
        try:
            plan = accounting.plan_document(doc.kind, doc.raw, ctx)
            if isinstance(plan, accounting.JournalPlan):
                plan.check_balanced()
        except accounting.NotPostable as exc:
            if doc.status != DocStatus.READY:
                lifecycle.transition(doc, DocStatus.READY, batch=None)
            lifecycle.transition(doc, DocStatus.SKIPPED, reason=str(exc), batch=None)
            return PostResult(doc.id, ref, Outcome.SKIPPED, str(exc))
        except accounting.PlanError as exc:
            # mappings or reference data changed since approval: back to review, nothing sent
            self._to_review(doc, "; ".join(exc.problems))
            return PostResult(doc.id, ref, Outcome.NOT_READY, "; ".join(exc.problems))
        return plan

    def _plans(self, docs: Iterable[StDocument], *, validate: bool) -> list[tuple[StDocument, accounting.Plan]]:
        """Plans of documents already sent (settling, follow-up): the payload as it was sent, mappings as
        they are, no reference validation (a vendor blocked since must not hide what NAV holds)."""
        ctx = self._context(validate=validate)
        out: list[tuple[StDocument, accounting.Plan]] = []
        for doc in docs:
            try:
                out.append((doc, accounting.plan_document(doc.kind, doc.raw, ctx)))
            except (accounting.PlanError, accounting.NotPostable) as exc:
                log.warning("%s cannot be looked up in NAV: %s", lifecycle.st_ref(doc), exc)
        return out

    def _settle_chunk(self, docs: list[StDocument]) -> list[tuple[StDocument, accounting.Plan, Any]]:
        """Ask NAV about documents whose last write is unconfirmed; drafts the profile posts are posted
        together (one journal post for all of them), then each is settled. Per document: what NAV holds."""
        planned = self._plans(docs, validate=False)
        answers = self._find([p for _, p in planned])
        drafts = [i for i, ((_, plan), found) in enumerate(zip(planned, answers, strict=True))
                  if isinstance(found, NavDocument) and not found.posted and self.options.wants_post(plan)]
        for i, outcome in zip(drafts, self._post_drafts([answers[i] for i in drafts],
                                                        [planned[i][1] for i in drafts]), strict=True):
            if isinstance(outcome, NavDocument):
                answers[i] = outcome
            else:
                log.warning("%s is in NAV as a draft; posting it failed: %s", lifecycle.st_ref(planned[i][0]), outcome)
        out = []
        for (doc, plan), found in zip(planned, answers, strict=True):
            if not isinstance(found, ConnectorError):
                self._settle(doc, found)
            out.append((doc, plan, found))
        return out

    def _settle(self, doc: StDocument, found: NavDocument | None) -> None:
        attempts = list(_attempts(doc).where(PostingAttempt.state == AttemptState.PENDING))
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
        if found is not None:
            self._in_nav(doc, None, found, already=True)
            return
        if doc.status in (DocStatus.POSTING, DocStatus.UNCONFIRMED):
            lifecycle.transition(doc, DocStatus.APPROVED, reason="the earlier attempt never reached NAV; will post "
                                                                 "again")
        documents.apply_pending(doc)  # not in NAV: the newer content replaces the old before posting

    def _in_nav(self, doc: StDocument, attempt: PostingAttempt | None, found: NavDocument, *,
                already: bool = False, expected: Decimal | None = None) -> PostResult:
        """NAV holds it: posted, or a draft (its own state, followed up every run; never written back). A draft
        found whose total is not ``expected`` (the plan's) is said on the row at once, as the follow-up says of a
        draft changed in NAV: every cent accounted for before the accountant posts it."""
        new = DocStatus.POSTED if found.posted else DocStatus.IN_NAV_DRAFT
        gl = gl_summary(found)
        with db.atomic():
            if attempt is not None:
                attempt.state = AttemptState.SUCCEEDED
                attempt.finished_at = utcnow()
                attempt.nav_id, attempt.nav_number = found.nav_id, found.number
                attempt.gl_entries = gl or None
                attempt.save()
            if doc.status == DocStatus.APPROVED:
                lifecycle.transition(doc, DocStatus.POSTING)
            if doc.status != new:
                doc.nav_id, doc.nav_number = found.nav_id, found.number
                lifecycle.transition(
                    doc, new, actor=self.actor, nav_id=found.nav_id, nav_number=found.number,
                    posted_hash=doc.content_hash, posted_version=doc.version, next_retry_at=None,
                    detail={"nav_kind": str(found.kind), "nav_id": found.nav_id, "nav_number": found.number,
                            "posted_in_nav": found.posted, "already_in_nav": already,
                            "gl_entries": [e.entry_number for e in found.gl_entries], "gl": gl})
        documents.apply_pending(doc)
        ref = lifecycle.st_ref(doc)
        if not found.posted and expected is not None and found.amount is not None and found.amount != expected:
            note = f"the draft in NAV totals {found.amount}, ServiceTitan {expected}: check it in NAV before posting it"
            with db.atomic():
                audit.append("document.draft_changed_in_nav", st_ref=ref, nav_ref=found.number,
                             profile=self.profile.name,
                             detail={"nav_amount": str(found.amount), "st_amount": str(expected)})
                StDocument.update(problem=note).where(StDocument.id == doc.id).execute()
            doc.problem = note
            return PostResult(doc.id, ref, Outcome.DRAFT, note, found.number)
        if not found.posted:
            return PostResult(doc.id, ref, Outcome.DRAFT, "in NAV as a draft: post it in NAV", found.number)
        if already:
            return PostResult(doc.id, ref, Outcome.ALREADY_IN_NAV, "found in NAV; not sent again", found.number)
        return PostResult(doc.id, ref, Outcome.POSTED, "", found.number)

    def _unconfirmed(self, doc: StDocument, attempt: PostingAttempt | None, exc: ConnectorError) -> PostResult:
        """The answer was lost: the attempt stays pending and NAV is asked before anything is resent."""
        with db.atomic():
            if attempt is not None:
                attempt.error = f"outcome unknown: {exc}"
                attempt.correlation_id = exc.correlation_id or ""
                attempt.save()
            if doc.status == DocStatus.APPROVED:
                lifecycle.transition(doc, DocStatus.POSTING)
            lifecycle.transition(doc, DocStatus.UNCONFIRMED, reason=f"sent; NAV's answer was lost ({exc}); NAV is "
                                 "asked before anything is sent again", detail={"outcome_unknown": True})
        return PostResult(doc.id, lifecycle.st_ref(doc), Outcome.UNCONFIRMED, str(exc))

    def _failed(self, doc: StDocument, attempt: PostingAttempt | None, exc: ConnectorError) -> PostResult:
        """NAV refused it, or could not be asked before writing: nothing is in NAV for it."""
        ref = lifecycle.st_ref(doc)
        message = str(exc)
        attempts_made = (doc.retry_count or 0) + 1  # failures since the document was (re)approved
        exhausted = attempts_made >= self.options.max_attempts
        with db.atomic():
            if attempt is not None:
                attempt.state = AttemptState.FAILED
                attempt.finished_at = utcnow()
                attempt.error, attempt.error_code = message, exc.code or str(exc.status or "")
                attempt.correlation_id = exc.correlation_id or ""
                attempt.save()
            detail = {"error": message, "code": exc.code, "status": exc.status, "correlation_id": exc.correlation_id}
            if doc.status == DocStatus.APPROVED:
                lifecycle.transition(doc, DocStatus.POSTING)
            if exc.retryable and not exhausted:
                when = retry.next_retry_at(self.clock(), max(1, attempts_made), base=self.options.base_seconds,
                                           cap=self.options.cap_seconds, rng=self.rng)
                lifecycle.transition(doc, DocStatus.FAILED, reason=message, next_retry_at=when,
                                     retry_count=attempts_made, detail={**detail, "next_retry_at": when})
                return PostResult(doc.id, ref, Outcome.FAILED, message)
            reason = message if not exc.retryable else f"gave up after {attempts_made} attempts: {message}"
            lifecycle.transition(doc, DocStatus.NEEDS_ATTENTION, reason=reason, next_retry_at=None,
                                 retry_count=attempts_made, detail=detail)
        return PostResult(doc.id, ref, Outcome.NEEDS_ATTENTION, reason)

    def _unexpected(self, doc: StDocument, exc: BaseException) -> PostResult:
        log.error("posting %s failed unexpectedly", lifecycle.st_ref(doc), exc_info=exc)
        # an attempt left pending is settled against NAV on the next run; nothing is guessed
        return PostResult(doc.id, lifecycle.st_ref(doc), Outcome.FAILED, f"unexpected error: {redact(exc)}")

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
        """Bills POSTED in NAV (never drafts) are marked exported in ServiceTitan; failures stay visible and
        are retried."""
        if self.write_back is None:
            return
        docs = list(StDocument.select().where(
            (StDocument.profile == self.profile) & (StDocument.kind == SourceKind.INVENTORY_BILL)
            & (StDocument.status == DocStatus.POSTED) & StDocument.st_exported_at.is_null()))
        for chunk in _chunks(docs, 50):
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


def _attempts(doc: StDocument) -> Any:
    """The document's posting attempts (a query)."""
    return PostingAttempt.select().where(PostingAttempt.document == doc)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _by_kind(items: list[tuple[StDocument, accounting.Plan]]) -> list[list[tuple[StDocument, accounting.Plan]]]:
    """Group by plan kind, in write order (bills' journals first)."""
    groups: dict[Any, list[tuple[StDocument, accounting.Plan]]] = {}
    for doc, plan in items:
        groups.setdefault(type(plan), []).append((doc, plan))
    return [groups[k] for k in sorted(groups, key=lambda k: k.write_order)]


def ensure_in_nav(books: NavBooks, plans: list[accounting.Plan], *, post: bool = True) -> list[NavDocument]:
    """Corrections: each plan found or created (and posted), in order; raises the first ``ConnectorError``."""
    out: list[NavDocument] = []
    for plan in plans:
        [found] = books.find_documents([plan.nav_key()])
        if found is None:
            [found] = type(plan).create_in(books, [plan], post=post)
        elif isinstance(found, NavDocument) and post and not found.posted:
            [found] = books.post_documents([found], [plan.nav_spec()])
        if isinstance(found, ConnectorError):
            raise found
        out.append(found)
    return out


def replay(profile: Profile, *, document_ids: Iterable[int] | None = None, batch: Batch | None = None,
           actor: str | None = None) -> int:
    """Put failed / needs-attention documents back in line (approved, retry count kept in the log). A
    document whose last write is unconfirmed is not replayed: NAV is asked first."""
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
