"""``NavBooks`` over Business Central API v2.0: many documents per ``$batch``, typed in and out.

Reads (look-ups, G/L entries) are safe to repeat, so a whole read ``$batch`` that fails in transit or with
a retryable status is sent again with backoff inside the run (the HTTP layer never repeats a POST, and
``$batch`` is one). Writes are never repeated here: a write whose answer is lost comes back as a
``TransportError`` and the caller settles it with ``find_documents`` before anything is sent again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, cast
from urllib.parse import urlencode

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.books import (
    CreditMemoKey,
    DocKind,
    DocumentKey,
    DraftSpec,
    Found,
    GLEntry,
    InvoiceKey,
    JournalDocumentSpec,
    JournalKey,
    NavDocument,
    Outcome,
)
from stnav_desktop.connectors.nav.client import BatchRequest, NavClient
from stnav_desktop.connectors.nav.credit_memos import (
    CreditMemoResult,
    PurchaseCreditMemos,
    PurchaseCreditMemoSpec,
)
from stnav_desktop.connectors.nav.journals import Journals
from stnav_desktop.connectors.nav.purchase_invoices import (
    InvoiceResult,
    PurchaseInvoices,
    PurchaseInvoiceSpec,
)

log = logging.getLogger(__name__)

GL_ENTRIES = "generalLedgerEntries"
LOOKUP_GROUP = 20  # documents per look-up operation (an `or` filter): the URL stays well under 2,048 bytes


def gl_entry(rec: Mapping[str, Any]) -> GLEntry:
    """One ``generalLedgerEntries`` record (``dimensionSetLines`` expanded) as a typed entry."""
    return GLEntry(
        entry_number=int(rec.get("entryNumber") or 0),
        posting_date=odata.parse_date(str(rec.get("postingDate"))),
        document_number=str(rec.get("documentNumber") or ""),
        document_type=str(rec.get("documentType") or "").strip(),
        account_number=str(rec.get("accountNumber") or ""),
        description=str(rec.get("description") or ""),
        debit=Decimal(str(rec.get("debitAmount") or 0)),
        credit=Decimal(str(rec.get("creditAmount") or 0)),
        dimensions={str(d.get("code")): str(d.get("valueCode")) for d in rec.get("dimensionSetLines") or []})


@dataclass
class _Made:
    result: CreditMemoResult | None
    error: ConnectorError | None = None


class ReadRetry:
    """Backoff for repeatable reads: ``attempts`` tries, exponential from ``base`` seconds up to ``cap``, full
    jitter. ``sleep`` is injectable so tests run on a fake clock."""

    def __init__(self, attempts: int = 4, base: float = 0.5, cap: float = 8.0,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> None:
        self.attempts, self.base, self.cap, self.sleep = max(1, attempts), base, cap, sleep
        self.rng = rng or random.Random()

    def run(self, what: str, call: Callable[[], Any]) -> Any:
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except ConnectorError as exc:
                if not (isinstance(exc, TransportError) or exc.retryable) or attempt == self.attempts:
                    raise
                delay = self.rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))
                log.info("%s failed (%s); reading again in %.1f s (try %s of %s)", what, exc, delay, attempt + 1,
                         self.attempts)
                self.sleep(delay)


class ApiBooks:
    """The API v2.0 back end of ``NavBooks`` for one company."""

    def __init__(self, client: NavClient, *, read_retry: ReadRetry | None = None) -> None:
        self.client = client
        self.invoices = PurchaseInvoices(client)
        self.credit_memos = PurchaseCreditMemos(client)
        self.journals = Journals(client)
        self.read_retry = read_retry or ReadRetry()

    # -- reads -----------------------------------------------------------------------------------
    def _get_many(self, queries: list[tuple[str, dict[str, Any]]]) -> list[list[dict[str, Any]] | ConnectorError]:
        """Many collection GETs in ``$batch`` calls: per query its records (pages followed) or its error. A read
        that failed in transit or retryably is asked again (the whole read batch, it changes nothing)."""
        if not queries:
            return []
        out: list[list[dict[str, Any]] | ConnectorError] = [[] for _ in queries]
        todo = list(range(len(queries)))
        for attempt in range(1, self.read_retry.attempts + 1):
            reqs = [BatchRequest("GET", f"{queries[i][0]}?{urlencode(queries[i][1])}", id=f"q{i}") for i in todo]
            try:
                responses = self.client.batch(reqs)
            except ConnectorError as exc:
                if not (isinstance(exc, TransportError) or exc.retryable) or attempt == self.read_retry.attempts:
                    raise
                self._pause("a look-up $batch", exc, attempt)
                continue
            again: list[int] = []
            for resp in responses:
                i = int(str(resp.id)[1:])
                if not resp.ok:
                    error = self.client.batch_error(resp)
                    out[i] = error
                    if error.retryable:
                        again.append(i)
                    continue
                body = resp.body or {}
                records = list(body["value"]) if "value" in body else [body]  # a collection, or one record
                link = body.get("@odata.nextLink")
                while link:  # rare for these small look-ups
                    page = self.read_retry.run("a look-up page", partial(self.client.get, link))
                    records.extend(page.get("value", []))
                    link = page.get("@odata.nextLink")
                out[i] = records
            if not again or attempt == self.read_retry.attempts:
                break
            self._pause(f"{len(again)} look-up(s)", out[again[0]], attempt)
            todo = again
        return out

    def _pause(self, what: str, exc: Any, attempt: int) -> None:
        delay = self.read_retry.rng.uniform(0, min(self.read_retry.cap, self.read_retry.base * 2 ** (attempt - 1)))
        log.info("%s failed (%s); asking again in %.1f s", what, exc, delay)
        self.read_retry.sleep(delay)

    def _by_values(self, path: str, field: str, values: list[str], expand: str | None = None
                   ) -> dict[str, list[dict[str, Any]] | ConnectorError]:
        """Records whose ``field`` equals one of ``values``: one operation per ``LOOKUP_GROUP`` values
        (``field eq 'a' or field eq 'b' …``: BC accepts ``or`` on one field), all in one read ``$batch``.
        Per value its records, or the error of its group."""
        unique = list(dict.fromkeys(values))
        groups = [unique[i:i + LOOKUP_GROUP] for i in range(0, len(unique), LOOKUP_GROUP)]
        queries = []
        for group in groups:
            params = {"$filter": " or ".join(f"{field} eq {odata.literal(v)}" for v in group)}
            if expand:
                params["$expand"] = expand
            queries.append((path, params))
        out: dict[str, list[dict[str, Any]] | ConnectorError] = {}
        for group, answer in zip(groups, self._get_many(queries), strict=True):
            for value in group:
                out[value] = answer if isinstance(answer, ConnectorError) else [
                    r for r in answer if r.get(field) == value]
        return out

    def _gl_by_number(self, numbers: list[str]) -> dict[str, list[dict[str, Any]] | ConnectorError]:
        # by document number only: a posting date would miss what an earlier day posted (issue #12, item 5)
        return self._by_values(self.client.cpath(GL_ENTRIES), "documentNumber", numbers, "dimensionSetLines")

    def _purchase_document(self, key: InvoiceKey | CreditMemoKey, records: list[dict[str, Any]]) -> NavDocument | None:
        found: list[InvoiceResult] | list[CreditMemoResult]
        if isinstance(key, InvoiceKey):
            found = [InvoiceResult.from_api(r) for r in records if r.get("vendorNumber") == key.vendor_number
                     and r.get("vendorInvoiceNumber") == key.vendor_invoice_number]
            kind = DocKind.PURCHASE_INVOICE
        else:
            found = [CreditMemoResult.from_api(r) for r in records if r.get("vendorNumber") == key.vendor_number
                     and r.get("vendorCreditMemoNumber") == key.vendor_credit_memo_number]
            kind = DocKind.PURCHASE_CREDIT_MEMO
        if not found:
            return None
        best: InvoiceResult | CreditMemoResult = next((r for r in found if r.posted), found[0])
        return NavDocument(kind, best.id, best.number, best.posted, amount=best.total_amount_excluding_tax)

    def find_documents(self, keys: Sequence[DocumentKey]) -> list[Found]:
        """Purchase documents by vendor document number (vendor checked here), journal documents by number
        among the journal's lines and the G/L entries; then the G/L entries of what is posted."""
        invoices = self._by_values(self.client.cpath(self.invoices.entity_set), "vendorInvoiceNumber",
                                   [k.vendor_invoice_number for k in keys if isinstance(k, InvoiceKey)])
        memos = self._by_values(self.client.cpath(self.credit_memos.entity_set), "vendorCreditMemoNumber",
                                [k.vendor_credit_memo_number for k in keys if isinstance(k, CreditMemoKey)])
        journal_numbers = [k.document_number for k in keys if isinstance(k, JournalKey)]
        lines = self._by_values(self.client.cpath(f"journals({self.journals.journal_id()})/journalLines"),
                                "documentNumber", journal_numbers) if journal_numbers else {}
        journal_gl = self._gl_by_number(journal_numbers)
        out: list[Found] = []
        for key in keys:
            if isinstance(key, JournalKey):
                got = (lines[key.document_number], journal_gl[key.document_number])
                error = next((g for g in got if isinstance(g, ConnectorError)), None)
                if error is not None:
                    out.append(error)
                    continue
                unposted, entries = cast(tuple[list[dict[str, Any]], list[dict[str, Any]]], got)
                if unposted:
                    total = sum((a for a in (Decimal(str(ln.get("amount") or 0)) for ln in unposted) if a > 0),
                                Decimal("0"))
                    out.append(NavDocument(DocKind.JOURNAL, key.document_number, key.document_number, False,
                                           amount=total))
                elif entries:
                    out.append(NavDocument(DocKind.JOURNAL, key.document_number, key.document_number, True,
                                           [gl_entry(e) for e in entries]))
                else:
                    out.append(None)
                continue
            records = (invoices[key.vendor_invoice_number] if isinstance(key, InvoiceKey)
                       else memos[key.vendor_credit_memo_number])
            out.append(records if isinstance(records, ConnectorError) else self._purchase_document(key, records))
        self._with_gl([d for d in out if isinstance(d, NavDocument) and d.posted and not d.gl_entries], out)
        return out

    def _with_gl(self, docs: list[NavDocument], out: list[Any]) -> None:
        """Fill in the G/L entries of posted purchase documents (one read batch). A document whose G/L read
        failed stays what NAV holds (posted) and says so in the log; it is never turned into a failure."""
        if not docs:
            return
        answers = self._gl_by_number([d.number for d in docs])
        for doc in docs:
            entries = answers[doc.number]
            if isinstance(entries, ConnectorError):
                log.warning("%s %s is posted; its G/L entries could not be read: %s", doc.kind, doc.number, entries)
            else:
                doc.gl_entries = [gl_entry(e) for e in entries]

    def _check_draft_dimensions(self, docs: Sequence[NavDocument], specs: Sequence[DraftSpec | None],
                                out: list[Outcome]) -> set[int]:
        """Indexes of the purchase drafts that may be posted (dimensions as their spec asks, or no spec)."""
        ok: set[int] = set()
        sets = {DocKind.PURCHASE_INVOICE: self.invoices, DocKind.PURCHASE_CREDIT_MEMO: self.credit_memos}
        for kind, documents in sets.items():
            items = [(k, d) for k, d in enumerate(docs) if d.kind == kind and not d.posted]
            with_spec = [(k, d) for k, d in items if specs[k] is not None]
            ok.update(k for k, d in items if specs[k] is None)
            if not with_spec:
                continue
            verdicts = documents.verify_dimensions_many([(d.nav_id, specs[k]) for k, d in with_spec])
            for (k, _), verdict in zip(with_spec, verdicts, strict=True):
                if verdict is None:
                    ok.add(k)
                else:
                    out[k] = verdict
        return ok

    def gl_entries_between(self, start: date, end: date) -> list[GLEntry]:
        flt = f"postingDate ge {start.isoformat()} and postingDate lt {end.isoformat()}"
        return self.read_retry.run("reading G/L entries", lambda: [
            gl_entry(e) for e in self.client.iter(self.client.cpath(GL_ENTRIES),
                                                  {"$filter": flt, "$expand": "dimensionSetLines"})])

    # -- writes ----------------------------------------------------------------------------------
    def _purchase_outcomes(self, kind: DocKind, outcomes: list[Any], post: bool) -> list[Outcome]:
        out: list[Outcome] = []
        for o in outcomes:
            if o.error is not None or o.result is None:
                out.append(o.error or TransportError("NAV gave no answer for this document"))
            elif post and not o.result.posted:
                # created, but not read back as posted: NAV is asked again before anything is sent
                out.append(TransportError(f"{o.result.number} was created but not read back as posted"))
            else:
                out.append(NavDocument(kind, o.result.id, o.result.number, o.result.posted,
                                       amount=o.result.total_amount_excluding_tax))
        self._with_gl([d for d in out if isinstance(d, NavDocument) and d.posted], out)
        return out

    def create_invoices(self, specs: Sequence[PurchaseInvoiceSpec], *, post: bool) -> list[Outcome]:
        if not specs:
            return []
        return self._purchase_outcomes(DocKind.PURCHASE_INVOICE, self.invoices.create_many(list(specs), post=post),
                                       post)

    def create_credit_memos(self, specs: Sequence[PurchaseCreditMemoSpec], *, post: bool) -> list[Outcome]:
        if not specs:
            return []
        made: list[_Made] = []
        for spec in specs:  # corrections are rare: one deep insert each
            try:
                made.append(_Made(self.credit_memos.create(spec, post=post)))
            except ConnectorError as exc:
                made.append(_Made(None, exc))
        return self._purchase_outcomes(DocKind.PURCHASE_CREDIT_MEMO, made, post)

    def create_journals(self, docs: Sequence[JournalDocumentSpec], *, post: bool) -> list[Outcome]:
        """Each document's lines one atomicity group, all in ``$batch`` calls, then ONE journal post. If NAV
        refuses that post, the chunk's lines are taken out again and the documents are posted one by one,
        so one bad document never blocks the others."""
        if not docs:
            return []
        created = self.journals.create_lines_many([d.lines for d in docs])
        out: list[Outcome] = []
        done: list[int] = []
        for k, (doc, lines) in enumerate(zip(docs, created, strict=True)):
            if isinstance(lines, ConnectorError):
                out.append(lines)
            else:
                total = sum((ln.amount for ln in doc.lines if ln.amount > 0), Decimal("0"))
                out.append(NavDocument(DocKind.JOURNAL, doc.document_number, doc.document_number, False,
                                       amount=total))
                done.append(k)
        if not post or not done:
            return out
        try:
            self.journals.post()
        except ConnectorError as exc:
            if isinstance(exc, TransportError) or exc.retryable:
                for k in done:  # posted or not: unknown, settled by reading back
                    out[k] = exc if isinstance(exc, TransportError) else TransportError(str(exc))
                return out
            log.info("journal post of %s documents refused (%s): posting them one by one", len(done), exc)
            for k in done:
                self._remove_lines(docs[k].document_number, created[k])  # type: ignore[arg-type]
            for k in done:
                out[k] = self._journal_alone(docs[k])
            return out
        return self._journals_posted(docs, done, out)

    def _journals_posted(self, docs: Sequence[JournalDocumentSpec], done: list[int], out: list[Outcome]) -> list[Outcome]:
        answers = self._gl_by_number([docs[k].document_number for k in done])
        for k in done:
            entries = answers[docs[k].document_number]
            if isinstance(entries, ConnectorError):
                log.warning("journal %s posted; its G/L entries could not be read: %s", docs[k].document_number,
                            entries)
                entries = []
            out[k] = NavDocument(DocKind.JOURNAL, docs[k].document_number, docs[k].document_number, True,
                                 [gl_entry(e) for e in entries])
        return out

    def _remove_lines(self, document_number: str, lines: list[dict[str, Any]]) -> None:
        for line in lines:
            try:
                self.client.delete(self.client.cpath(f"journalLines({odata.guid_key(line['id'])})"),
                                   line.get("@odata.etag", "*"))
            except ConnectorError as cleanup:
                log.warning("could not remove journal line of %s: %s", document_number, cleanup)

    def _journal_alone(self, doc: JournalDocumentSpec) -> Outcome:
        """One document of a refused chunk, on its own: what is in NAV is looked up first (a line whose
        removal failed, or lines another document's post took along), never written twice."""
        [found] = self.find_documents([JournalKey(doc.document_number)])
        if found is not None and (isinstance(found, ConnectorError) or found.posted):
            return found
        lines: list[dict[str, Any]] = []
        if found is None:
            created = self.journals.create_lines_many([doc.lines])[0]
            if isinstance(created, ConnectorError):
                return created
            lines = created
        try:
            self.journals.post()
        except ConnectorError as exc:
            if isinstance(exc, TransportError) or exc.retryable:
                return exc if isinstance(exc, TransportError) else TransportError(str(exc))
            self._remove_lines(doc.document_number, lines or self.journals.find_lines(
                document_number=doc.document_number))
            return exc
        out: list[Outcome] = [TransportError("not read back yet")]
        return self._journals_posted([doc], [0], out)[0]

    def post_documents(self, docs: Sequence[NavDocument], specs: Sequence[DraftSpec | None] | None = None
                       ) -> list[Outcome]:
        """Post drafts found earlier: purchase documents by their bound action (one ``$batch``), journal lines
        by posting the journal batch once. A purchase draft with a spec has its dimensions checked (and set
        right) first; one that cannot be is deleted and reported, never posted. Each is read back: posted =
        done, whatever the answer was."""
        out: list[Outcome] = [TransportError("not posted yet")] * len(docs)
        checked = self._check_draft_dimensions(docs, specs or [None] * len(docs), out)
        purchases = [(k, d) for k, d in enumerate(docs) if d.kind != DocKind.JOURNAL and not d.posted
                     and k in checked]
        journals = [k for k, d in enumerate(docs) if d.kind == DocKind.JOURNAL and not d.posted]
        for k, d in enumerate(docs):
            if d.posted:
                out[k] = d
        if purchases:
            sets = {DocKind.PURCHASE_INVOICE: self.invoices, DocKind.PURCHASE_CREDIT_MEMO: self.credit_memos}
            reqs = [BatchRequest("POST", sets[d.kind]._record_path(d.nav_id) + "/Microsoft.NAV.post", id=f"p{k}")
                    for k, d in purchases]
            refused: dict[int, ConnectorError] = {}
            try:
                for resp in self.client.batch(reqs):
                    if not resp.ok:
                        refused[int(str(resp.id)[1:])] = self.client.batch_error(resp)
            except TransportError as exc:
                log.info("posting %s drafts: answer lost (%s); reading them back", len(reqs), exc)
            reads = self._get_many([(sets[d.kind]._record_path(d.nav_id), {}) for _, d in purchases])
            for (k, d), rec in zip(purchases, reads, strict=True):
                if isinstance(rec, ConnectorError):
                    out[k] = refused.get(k) or rec
                    continue
                result = (InvoiceResult if d.kind == DocKind.PURCHASE_INVOICE else CreditMemoResult).from_api(rec[0])
                if result.posted:
                    out[k] = NavDocument(d.kind, result.id, result.number, True,
                                         amount=result.total_amount_excluding_tax)
                else:
                    out[k] = refused.get(k) or TransportError(f"{d.number} was not read back as posted")
            self._with_gl([o for o in out if isinstance(o, NavDocument) and o.posted and not o.gl_entries], out)
        if journals:
            refusal: ConnectorError | None = None
            try:
                self.journals.post()
            except ConnectorError as exc:  # read back all the same: an earlier post may have taken them along
                refusal = exc
            found = self.find_documents([JournalKey(docs[k].number) for k in journals])
            for k, f in zip(journals, found, strict=True):
                if isinstance(f, NavDocument) and f.posted:
                    out[k] = f
                elif isinstance(f, ConnectorError):
                    out[k] = f
                else:
                    out[k] = refusal or TransportError(f"journal {docs[k].number} was not read back as posted")
        return out
