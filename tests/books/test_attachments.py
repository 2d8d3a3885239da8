"""Issue #15 part 4 against the NAV simulator: the ServiceTitan source document as a PDF attached to its NAV
invoice / credit memo through documentAttachments (APIV2DocumentAttachments.Page.al), exactly once, a failure
never blocking posting and retried."""

import re
import zlib

import pytest

from stnav_desktop.connectors.http import ConnectorError
from stnav_desktop.connectors.nav.attachments import DocumentAttachments
from stnav_desktop.connectors.nav.books import DocKind
from stnav_desktop.store.models import DocStatus, NavAttachment, SourceKind, StDocument
from stnav_desktop.sync.app import attachments
from tests.books.test_returns import RETURN, configure, post_ready, stage_po_and_bills


@pytest.fixture
def setup(store, nav):
    return configure(nav)


def pdf_text(data: bytes) -> str:
    """The text drawn on the PDF's pages (content streams inflated), for checking what an auditor reads."""
    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            out.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            out.append(stream.decode("latin-1"))
    return "\n".join(out)


def attachments_in_nav(nav):
    return list(nav.company.t("documentAttachments").values())


def test_posted_invoice_gets_its_purchase_order_as_a_pdf_with_the_right_content(setup, nav):
    profile, client = setup
    stage_po_and_bills(profile)
    assert [r.outcome for r in post_ready(profile, client)] == ["posted"] * 3
    summary = attachments.attach_pending(profile, DocumentAttachments(client))
    assert (summary.attached, summary.failed) == (1, 0)

    invoice = nav.purchase_invoices()[0]
    [att] = attachments_in_nav(nav)
    assert (att["parentType"], att["parentId"], att["fileName"]) == \
        ("Purchase Invoice", invoice["id"], "ST-PO-10452-001.pdf")
    content = DocumentAttachments(client).content(att["id"])
    assert content.startswith(b"%PDF-") and att["byteSize"] == len(content)
    text = pdf_text(content)
    for expected in ("ServiceTitan purchase order 10452-001", "FLT-16x25", "CAP-45-5", "MISC-FIT", "87.50",
                     "17.74", "12.00", "251.54", "INV-88231", "Bill 10452-001-R1", "Bill 10452-001-R2", "156.72",
                     "94.82", "Prepared by", "clerk", "Approved by", "controller", invoice["number"]):
        assert expected in text, expected
    row = NavAttachment.get()
    assert row.state == "attached" and row.nav_attachment_id == att["id"]

    # exactly once: nothing left to attach; and a lost record of it finds the attachment in NAV, sends nothing
    assert attachments.attach_pending(profile, DocumentAttachments(client)).attached == 0
    NavAttachment.delete().execute()
    again = attachments.attach_pending(profile, DocumentAttachments(client))
    assert again.attached == 1 and len(attachments_in_nav(nav)) == 1


def test_return_credit_memo_gets_the_return_as_a_pdf(setup, nav):
    profile, client = setup
    stage_po_and_bills(profile)
    documents_posted = post_ready(profile, client)
    assert len(documents_posted) == 3
    from stnav_desktop.sync.app import documents
    documents.stage(profile, SourceKind.INVENTORY_RETURN, RETURN)
    assert [r.outcome for r in post_ready(profile, client)] == ["posted"]
    assert attachments.attach_pending(profile, DocumentAttachments(client)).attached == 2
    [memo] = nav.purchase_credit_memos()
    [att] = [a for a in attachments_in_nav(nav) if a["parentType"] == "Purchase Credit Memo"]
    assert att["parentId"] == memo["id"] and att["fileName"] == "ST-RET-RT-10452-001-1.pdf"
    text = pdf_text(DocumentAttachments(client).content(att["id"]))
    for expected in ("ServiceTitan vendor return RT-10452-001-1", "Purchase order", "10452-001", "35.72", "2.72",
                     "2026-10-20", "RMA-77"):
        assert expected in text, expected


def test_attach_failure_never_blocks_posting_and_is_retried(setup, nav):
    profile, client = setup
    nav.company.attachment_max_bytes = 100  # the service's request size limit, lowered
    stage_po_and_bills(profile)
    assert [r.outcome for r in post_ready(profile, client)] == ["posted"] * 3
    summary = attachments.attach_pending(profile, DocumentAttachments(client))
    assert (summary.attached, summary.failed) == (0, 1)
    assert "PO-10452-001" in summary.problems[0] and "maximum allowed is 100 bytes" in summary.problems[0]
    po = StDocument.get(StDocument.kind == SourceKind.PURCHASE_ORDER)
    assert po.status == DocStatus.POSTED  # posting stands
    row = NavAttachment.get()
    assert row.state == "pending" and row.attempts == 1 and "maximum allowed" in row.error
    nav.company.attachment_max_bytes = 10_000_000
    assert attachments.attach_pending(profile, DocumentAttachments(client)).attached == 1
    row = NavAttachment.get()
    assert row.state == "attached" and row.attempts == 2 and row.error == ""
    # the half-made attachment of the failed try (created, content refused) got its content: one file only
    [att] = attachments_in_nav(nav)
    assert att["byteSize"] == row.byte_size > 100


def test_attachments_refused_the_way_bc_refuses_them(setup, nav):
    profile, client = setup
    stage_po_and_bills(profile)
    post_ready(profile, client)
    invoice = nav.purchase_invoices()[0]
    api = DocumentAttachments(client)
    path = client.cpath("documentAttachments")
    # a second file of the same name on the document (table 1173 "File Name" OnValidate, DuplicateErr)
    client.post(path, {"fileName": "a.pdf", "parentType": "Purchase Invoice", "parentId": invoice["id"]})
    with pytest.raises(ConnectorError, match="This file is already attached to the document"):
        client.post(path, {"fileName": "A.pdf", "parentType": "Purchase Invoice", "parentId": invoice["id"]})
    # no such parent (SetDocumentAttachmentNo: FindFirst on the entity buffer by Id)
    with pytest.raises(ConnectorError, match="There is no Purch. Inv. Entity Aggregate within the filter"):
        client.post(path, {"fileName": "b.pdf", "parentType": "Purchase Invoice",
                           "parentId": "11111111-2222-3333-4444-555555555555"})
    # an invalid file name is renamed by BC (OnInsertRecord: IsValidFileName), so the app never sends one
    made = client.post(path, {"fileName": "bad:name?.pdf", "parentType": "Purchase Invoice", "parentId": invoice["id"]})
    assert made["fileName"] == "filename.txt"
    # empty content (ImportAttachment: NoDocumentAttachedErr)
    with pytest.raises(ConnectorError, match="Please attach a document first"):
        api.attach(DocKind.PURCHASE_INVOICE, invoice["id"], "c.pdf", b"")
    doc = StDocument.get(StDocument.kind == SourceKind.PURCHASE_ORDER)
    doc.number = 'PO:12/"x"'
    assert attachments.file_name(doc) == "ST-PO-PO_12_x.pdf"
