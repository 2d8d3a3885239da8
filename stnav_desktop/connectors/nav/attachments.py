"""Document attachments on purchase invoices and credit memos (API v2.0 page 30080 "APIV2 - Document
Attachments", ``documentAttachments``): the ServiceTitan source document as a PDF, so an auditor opening
the invoice in NAV sees where it came from.

Two requests, as BC wants them: ``POST documentAttachments`` with ``fileName``, ``parentType`` ("Purchase
Invoice" / "Purchase Credit Memo") and ``parentId`` (the document's id, the same for a draft and the
posted document: GraphMgtAttachmentBuffer.SetDocumentAttachmentNo looks it up in Purch. Inv. Entity
Aggregate / Purch. Cr. Memo Entity Buffer), then ``PATCH documentAttachments(<id>)/attachmentContent`` with
the bytes. Exactly once: BC refuses a second file of the same name on a document ("This file is already
attached to the document."), and ``attach`` looks the name up first; an attachment left without content
(the upload was lost) gets its content on the next try.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from stnav_desktop.connectors.http import ConnectorError
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.books import DocKind

log = logging.getLogger(__name__)

PARENT_TYPES = {DocKind.PURCHASE_INVOICE: "Purchase Invoice", DocKind.PURCHASE_CREDIT_MEMO: "Purchase Credit Memo"}


@dataclass
class Attached:
    attachment_id: str
    file_name: str
    byte_size: int
    created: bool  # False: found already attached (nothing sent again)


class DocumentAttachments:
    def __init__(self, client: Any) -> None:
        self.client = client

    def _path(self, rest: str) -> str:
        return self.client.cpath(rest)

    def find(self, kind: DocKind, parent_id: str, file_name: str) -> dict[str, Any] | None:
        """The attachment of this name on the document, or None."""
        params = {"$filter": odata.eq_filter(parentType=PARENT_TYPES[kind], parentId=odata.guid_key(parent_id))}
        body = self.client.get(self._path("documentAttachments"), params=params) or {}
        for rec in body.get("value") or []:
            if str(rec.get("fileName") or "").lower() == file_name.lower() and \
                    str(rec.get("parentId") or "").lower() == parent_id.lower():
                return rec
        return None

    def attach(self, kind: DocKind, parent_id: str, file_name: str, content: bytes) -> Attached:
        """Attach ``content`` as ``file_name`` to the purchase document ``parent_id`` exactly once. Raises
        ``ConnectorError`` (with BC's message) when NAV refuses it or cannot be reached."""
        if kind not in PARENT_TYPES:
            raise ValueError(f"documents of kind {kind} get no attachment")
        existing = self.find(kind, parent_id, file_name)
        if existing is not None and int(existing.get("byteSize") or 0) == len(content):
            return Attached(existing["id"], file_name, len(content), created=False)
        if existing is None:
            existing = self.client.post(self._path("documentAttachments"), {
                "fileName": file_name, "parentType": PARENT_TYPES[kind], "parentId": odata.guid_key(parent_id)})
        attachment_id = odata.guid_key(existing["id"])
        self.client.http.request("PATCH", self._path(f"documentAttachments({attachment_id})/attachmentContent"),
                                 data=content, headers={"If-Match": "*", "Content-Type": "application/octet-stream"},
                                 expected=(200, 204))
        return Attached(attachment_id, file_name, len(content), created=True)

    def content(self, attachment_id: str) -> bytes:
        resp = self.client.http.request(
            "GET", self._path(f"documentAttachments({odata.guid_key(attachment_id)})/attachmentContent"))
        return resp.content


__all__ = ["Attached", "ConnectorError", "DocumentAttachments", "PARENT_TYPES"]
