"""The ServiceTitan source document attached to its NAV document (issue #15, part 4): each purchase
invoice and credit memo the app posts gets a PDF of its purchase order or return — lines, receipts and
bills, amounts, dates, who created it in ServiceTitan and who prepared and approved it in the app — so an
auditor opening the invoice in NAV sees where it came from.

Rendered with fpdf2 (pure Python, no Qt). Attaching runs after posting and never blocks it: a failure is
recorded on the document (``NavAttachment``) and retried on the next run; exactly once rests on the file
name (``ST-PO-<number>.pdf``), which NAV refuses twice on one document and the connector looks up first.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeGuard

from stnav_desktop.connectors.http import ConnectorError
from stnav_desktop.connectors.nav.books import DocKind
from stnav_desktop.redact import redact
from stnav_desktop.store import audit, settings
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import DocStatus, NavAttachment, Profile, SourceKind, StDocument
from stnav_desktop.sync.app.documents import to_datetime, to_decimal
from stnav_desktop.sync.domain import lifecycle

log = logging.getLogger(__name__)

ATTACHABLE = (DocStatus.POSTED, DocStatus.IN_NAV_DRAFT, DocStatus.CHANGED_AFTER_POSTING)
KIND_TO_NAV: dict[str, DocKind] = {SourceKind.PURCHASE_ORDER: DocKind.PURCHASE_INVOICE,
                                   SourceKind.INVENTORY_RETURN: DocKind.PURCHASE_CREDIT_MEMO}


class Attacher(Protocol):
    """``connectors/nav/attachments.DocumentAttachments`` implements it."""

    def attach(self, kind: DocKind, parent_id: str, file_name: str, content: bytes) -> Any: ...


@dataclass
class AttachSummary:
    attached: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"{self.attached} source document(s) attached in NAV"
        return text + (f"; {self.failed} failed (retried next run)" if self.failed else "")


def file_name(doc: StDocument) -> str:
    """``ST-PO-10452-001.pdf`` / ``ST-RET-RT-10452-001-1.pdf``: only characters every file system and
    BC's FileManagement.IsValidFileName accept (an invalid name would be renamed to filename.txt)."""
    prefix = "ST-PO" if doc.kind == SourceKind.PURCHASE_ORDER else "ST-RET"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", str(doc.number or doc.st_id)).strip("._") or str(doc.st_id)
    return f"{prefix}-{safe}"[:200] + ".pdf"


# -- rendering ----------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    """What the PDF's core fonts can show (Latin-1), one line, control characters dropped."""
    text = " ".join(str("" if value is None else value).split())
    text = "".join(ch for ch in text if ch.isprintable())
    return text.encode("latin-1", "replace").decode("latin-1")


def _money(value: Any) -> str:
    try:
        amount = to_decimal(value)
    except ValueError:
        return _text(value)
    return "" if amount is None else f"{amount.quantize(Decimal('0.01')):,}"


def _day(value: Any) -> str:
    try:
        when = to_datetime(value)
    except (TypeError, ValueError):
        return _text(value)
    return when.astimezone(UTC).date().isoformat() if when else ""


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _bills(doc: StDocument) -> list[StDocument]:
    if doc.kind != SourceKind.PURCHASE_ORDER:
        return []
    return list(StDocument.select().where((StDocument.profile == doc.profile)
                                          & (StDocument.kind == SourceKind.INVENTORY_BILL)
                                          & (StDocument.purchase_order_st_id == doc.st_id)).order_by(StDocument.id))


def render_pdf(doc: StDocument) -> bytes:
    """The PDF of a staged purchase order or return, from what was pulled and what the app recorded."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    raw = doc.raw or {}
    is_po = doc.kind == SourceKind.PURCHASE_ORDER
    title = f"ServiceTitan {'purchase order' if is_po else 'vendor return'} {doc.number or doc.st_id}"
    pdf = FPDF(format="Letter")
    pdf.set_title(_text(title))
    pdf.set_subject(_text(f"Source of NAV document {doc.nav_number or ''}"))
    pdf.set_creator("ML Connector")
    # the same document version renders to the same bytes (a retry re-sends exactly what was attempted)
    pdf.set_creation_date((doc.updated_at or datetime(2000, 1, 1, tzinfo=UTC)).astimezone(UTC))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 9, _text(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=9)

    def row(label: str, value: Any) -> None:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(45, 5.5, _text(label))
        pdf.set_font("Helvetica", size=9)
        pdf.multi_cell(0, 5.5, _text(value) or "-", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    job = raw.get("jobNumber") or raw.get("jobId")
    row("Vendor", f"{doc.vendor_name or ''} (ServiceTitan id {doc.vendor_st_id or '-'})")
    row("Business unit", f"{doc.business_unit_name or ''} (ServiceTitan id {doc.business_unit_st_id or '-'})")
    if job:
        row("Job", job)
    row("Status in ServiceTitan", doc.st_status)
    if is_po:
        row("PO date", _day(raw.get("date")))
        row("Received on", _day(raw.get("receivedOn")))
        row("Vendor document no.", raw.get("vendorDocumentNumber"))
    else:
        po = StDocument.get_or_none((StDocument.profile == doc.profile)
                                    & (StDocument.kind == SourceKind.PURCHASE_ORDER)
                                    & (StDocument.st_id == (doc.purchase_order_st_id or 0)))
        row("Purchase order", po.number if po else raw.get("purchaseOrderId"))
        row("Return date", _day(raw.get("returnDate")))
        row("Vendor credit received", _day(raw.get("creditReceivedOn")))
        row("RMA / reference", raw.get("referenceNumber"))
    row("Created in ServiceTitan", f"{_when(to_datetime(raw.get('createdOn')))} by employee "
                                   f"{raw.get('createdById') or '-'}")
    row("Memo", raw.get("summary") if is_po else raw.get("memo"))
    pdf.ln(2)

    # lines
    pdf.set_font("Helvetica", "B", 9)
    widths = (32, 70, 22, 22, 22, 22)
    heads = ("SKU", "Name", "Ordered" if is_po else "Qty", "Received" if is_po else "", "Unit cost", "Amount")
    for w, h in zip(widths, heads, strict=True):
        pdf.cell(w, 6, h, border="B")
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for item in raw.get("items") or []:
        if not isinstance(item, dict):
            continue
        qty = item.get("quantity")
        received = item.get("quantityReceived") if is_po else ""
        try:
            amount = (to_decimal(item.get("quantityReceived") if is_po else qty) or 0) * (
                to_decimal(item.get("cost")) or 0)
        except ValueError:
            amount = None
        cells = (item.get("skuCode") or item.get("code"), item.get("skuName") or item.get("name"), qty, received,
                 _money(item.get("cost")), _money(amount) if amount is not None else "")
        for w, value in zip(widths, cells, strict=True):
            pdf.cell(w, 5.5, _text(value)[:48])
        pdf.ln()
    pdf.ln(1)
    for label, key in ((("Tax", "tax"), ("Shipping", "shipping"), ("PO total", "total")) if is_po else
                       (("Tax", "taxAmount"), ("Shipping", "shippingAmount"), ("Return total", "returnAmount"))):
        pdf.cell(sum(widths[:-1]), 5.5, label, align="R")
        pdf.cell(widths[-1], 5.5, _money(raw.get(key)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    bills = _bills(doc)
    if bills:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 6, "Receipts and inventory bills", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", size=9)
        for bill in bills:
            b = bill.raw or {}
            pdf.cell(0, 5.5, _text(f"Bill {bill.number}  dated {_day(b.get('billDate'))}  amount "
                                   f"{_money(b.get('billAmount'))}  created by {b.get('createdBy') or '-'}  "
                                   f"NAV {bill.nav_number or bill.status}"),
                     new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, "In ML Connector", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=9)
    batch = doc.batch
    if batch is not None:
        row("Prepared by", f"{batch.prepared_by} on {_when(batch.prepared_at)} (batch {batch.id})")
        row("Approved by", f"{batch.approved_by or '-'} on {_when(batch.approved_at)}")
    row("NAV document", f"{doc.nav_number or ''} ({'posted' if doc.status == DocStatus.POSTED else doc.status})")
    row("ServiceTitan record", f"id {doc.st_id}, version {doc.version}, content hash {doc.content_hash[:16]}")
    return bytes(pdf.output())


# -- attaching -----------------------------------------------------------------------------------------
def _candidates(profile: Profile) -> Iterable[StDocument]:
    done = NavAttachment.select(NavAttachment.document).where(NavAttachment.state == "attached")
    return StDocument.select().where((StDocument.profile == profile)
                                     & StDocument.kind.in_(list(KIND_TO_NAV))
                                     & StDocument.status.in_(list(ATTACHABLE))
                                     & StDocument.nav_id.is_null(False)
                                     & StDocument.id.not_in(done)).order_by(StDocument.id)


def _is_guid(value: str | None) -> TypeGuard[str]:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def attach_pending(profile: Profile, attacher: Attacher, *, limit: int | None = None) -> AttachSummary:
    """Attach the source PDF to every posted invoice / credit memo that has none yet; failures are kept
    (with the reason) and retried on the next run, up to ``retry.max_attempts``. Never raises."""
    summary = AttachSummary()
    max_attempts = int(settings.get(profile, "retry.max_attempts"))
    for doc in list(_candidates(profile))[:limit]:
        if not _is_guid(doc.nav_id):  # a journal (returns under journal_only): no document to attach to
            continue
        row, _ = NavAttachment.get_or_create(document=doc, defaults={"file_name": file_name(doc)})
        if row.state == "failed" and row.attempts >= max_attempts:
            continue
        ref = lifecycle.st_ref(doc)
        try:
            content = render_pdf(doc)
            done = attacher.attach(KIND_TO_NAV[doc.kind], doc.nav_id, row.file_name, content)
        except (ConnectorError, OSError, ValueError, RuntimeError) as exc:
            message = redact(exc)
            row.attempts += 1
            row.state = "failed" if row.attempts >= max_attempts else "pending"
            row.error, row.updated_at = f"attaching the source PDF failed: {message}", utcnow()
            row.save()
            summary.failed += 1
            summary.problems.append(f"{ref}: {row.error}")
            log.warning("%s: attaching the source PDF to %s failed (attempt %s): %s", ref, doc.nav_number,
                        row.attempts, message)
            continue
        with db.atomic():
            row.state, row.error, row.attempts = "attached", "", row.attempts + 1
            row.nav_attachment_id, row.byte_size = done.attachment_id, done.byte_size
            row.attached_at = row.updated_at = utcnow()
            row.save()
            audit.append("document.source_attached", st_ref=ref, nav_ref=doc.nav_number or "",
                         profile=profile.name, detail={"file": row.file_name, "bytes": done.byte_size,
                                                       "attachment_id": done.attachment_id,
                                                       "already_attached": not done.created})
        summary.attached += 1
    return summary
