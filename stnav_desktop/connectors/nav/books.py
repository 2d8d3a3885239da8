"""What posting and reconciliation need of a NAV back end, whatever its wire: the typed contract.

Two back ends implement ``NavBooks``: the Business Central API v2.0 (``connectors/nav/bulk.py``) and
classic NAV page web services (``connectors/nav/classic/``). ``sync/`` speaks only these types: no URL,
OData query or NAV field name crosses this line.

Exactly-once rests on ``find_documents``: it looks a document up by what identifies it (vendor + vendor
document number for purchase documents, our document number for journals), drafts and posted alike,
never by a date (a retry on a later day must find what an earlier day created).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from stnav_desktop.connectors.http import ConnectorError
from stnav_desktop.connectors.nav.credit_memos import PurchaseCreditMemoSpec
from stnav_desktop.connectors.nav.journals import JournalLineSpec
from stnav_desktop.connectors.nav.purchase_invoices import PurchaseInvoiceSpec


class DocKind(StrEnum):
    PURCHASE_INVOICE = "purchase_invoice"
    PURCHASE_CREDIT_MEMO = "purchase_credit_memo"
    JOURNAL = "journal"


@dataclass(frozen=True)
class GLEntry:
    """One G/L entry as NAV booked it (read back, never computed locally)."""

    entry_number: int
    posting_date: date
    document_number: str
    document_type: str
    account_number: str
    description: str
    debit: Decimal
    credit: Decimal
    dimensions: Mapping[str, str] = field(default_factory=dict)

    @property
    def amount(self) -> Decimal:
        return self.debit - self.credit


@dataclass
class NavDocument:
    """What NAV holds for one of our documents. ``posted`` False = a draft (unposted invoice / journal lines)."""

    kind: DocKind
    nav_id: str
    number: str
    posted: bool
    gl_entries: list[GLEntry] = field(default_factory=list)
    amount: Decimal | None = None  # total excluding tax as NAV holds it (a changed draft shows here)


@dataclass(frozen=True)
class InvoiceKey:
    vendor_number: str
    vendor_invoice_number: str


@dataclass(frozen=True)
class CreditMemoKey:
    vendor_number: str
    vendor_credit_memo_number: str


@dataclass(frozen=True)
class JournalKey:
    document_number: str
    # What the document holds when whole: its number of lines and the sum of its debits. A back end that
    # cannot create a document in one request (classic pages: one request per line) tells a half-made one by
    # them; a prefix of the lines can balance (a 0.00 line first), so balance alone does not say "whole".
    # Not part of the identity.
    lines: int | None = field(default=None, compare=False)
    total: Decimal | None = field(default=None, compare=False)


DocumentKey = InvoiceKey | CreditMemoKey | JournalKey


@dataclass
class JournalDocumentSpec:
    """The lines of one journal document (one document number), balanced, created all or nothing."""

    document_number: str
    lines: list[JournalLineSpec]


DraftSpec = PurchaseInvoiceSpec | PurchaseCreditMemoSpec | JournalDocumentSpec

# Per document: what NAV holds, or why not. A ``TransportError`` (a ``ConnectorError``) means the outcome
# is unknown: the caller must ask NAV (``find_documents``) before sending anything again.
Outcome = NavDocument | ConnectorError
Found = NavDocument | None | ConnectorError


class NavBooks(Protocol):
    """Bulk operations on one NAV company; each list answer is in the order of its input."""

    def find_documents(self, keys: Sequence[DocumentKey]) -> list[Found]:
        """Drafts and posted documents by identity (never by date); posted ones carry their G/L entries."""
        ...

    def create_invoices(self, specs: Sequence[PurchaseInvoiceSpec], *, post: bool) -> list[Outcome]:
        """Each invoice all or nothing, dimensions checked after create; posted if ``post``."""
        ...

    def create_credit_memos(self, specs: Sequence[PurchaseCreditMemoSpec], *, post: bool) -> list[Outcome]: ...

    def create_journals(self, docs: Sequence[JournalDocumentSpec], *, post: bool) -> list[Outcome]:
        """Each document's lines all or nothing; one bad document never blocks the others' posting."""
        ...

    def post_documents(self, docs: Sequence[NavDocument], specs: Sequence[DraftSpec | None] | None = None
                       ) -> list[Outcome]:
        """Post drafts found earlier (a retry that finds its draft finishes the job). With ``specs`` (aligned
        with ``docs``), a purchase draft's dimensions are checked against its spec first, and set right where
        NAV holds something else: a draft is never posted with dimensions nobody asked for."""
        ...

    def gl_entries_between(self, start: date, end: date) -> list[GLEntry]:
        """G/L entries with start <= posting date < end, with their dimensions (reconciliation)."""
        ...
