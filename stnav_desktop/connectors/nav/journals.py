"""General journal lines into a configured journal batch, created atomically per document (one ``$batch``
atomicity group: every line with its dimensions nested, all or nothing), optional posting, and
exactly-once helpers (unposted lines by document/external number; posted ones via G/L entries)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.client import BatchRequest, NavClient
from stnav_desktop.connectors.nav.errors import SpecError
from stnav_desktop.connectors.nav.gl_entries import find_gl_entries


@dataclass
class JournalLineSpec:
    account_number: str  # accountNumber (accountType "G/L Account")
    amount: Decimal  # + debit, - credit
    posting_date: date
    document_number: str  # documentNumber, Code[20]
    external_document_number: str = ""  # Code[35]
    description: str = ""
    balancing_account_number: str | None = None  # balancingAccountNumber (G/L Account)
    dimensions: dict[str, str] = field(default_factory=dict)
    account_type: str = "G/L Account"

    def body(self) -> dict[str, Any]:
        if not isinstance(self.amount, Decimal):
            raise SpecError("Journal amounts must be Decimal.")
        if len(self.document_number) > 20 or len(self.external_document_number) > 35 or len(self.description) > 100:
            raise SpecError(f"Journal line {self.document_number}: a field is longer than NAV allows "
                            "(document no. 20, external document no. 35, description 100).")
        b: dict[str, Any] = {"accountType": self.account_type, "accountNumber": self.account_number,
                             "postingDate": self.posting_date, "documentNumber": self.document_number,
                             "externalDocumentNumber": self.external_document_number, "amount": self.amount,
                             "description": self.description}
        if self.balancing_account_number:
            b["balanceAccountType"] = "G/L Account"
            b["balancingAccountNumber"] = self.balancing_account_number
        if self.dimensions:
            b["dimensionSetLines"] = [{"code": k, "valueCode": v} for k, v in self.dimensions.items()]
        return b


class Journals:
    def __init__(self, client: NavClient) -> None:
        self.client = client
        self._ids: dict[str, str] = {}

    def journal(self, code: str | None = None) -> dict[str, Any]:
        code = code or self.client.config.journal_batch
        flt = odata.eq_filter(code=code, templateDisplayName=self.client.config.journal_template)
        found = [j for j in self.client.iter(self.client.cpath("journals"), {"$filter": flt}) if j["code"] == code]
        if not found:
            raise SpecError(f"Journal batch {code} (template {self.client.config.journal_template}) does not exist "
                            "in NAV. Create it or pick another batch in the connection settings.")
        self._ids[code] = found[0]["id"]
        return found[0]

    def journal_id(self, code: str | None = None) -> str:
        code = code or self.client.config.journal_batch
        return self._ids.get(code) or self.journal(code)["id"]

    def find_lines(self, journal: str | None = None, *, external_document_number: str | None = None,
                   document_number: str | None = None) -> list[dict[str, Any]]:
        jid = self.journal_id(journal)
        flt = odata.eq_filter(externalDocumentNumber=external_document_number, documentNumber=document_number)
        params = {"$expand": "dimensionSetLines"}
        if flt:
            params["$filter"] = flt
        return list(self.client.iter(self.client.cpath(f"journals({jid})/journalLines"), params))

    def create_lines(self, lines: list[JournalLineSpec], journal: str | None = None) -> list[dict[str, Any]]:
        """All lines in ONE atomicity group: a failure on any line leaves none of them."""
        jid = self.journal_id(journal)
        path = self.client.cpath(f"journals({jid})/journalLines")
        reqs = [BatchRequest("POST", path, ln.body(), id=str(i), atomicity_group="doc")
                for i, ln in enumerate(lines)]
        if len(reqs) > 100:
            raise SpecError("A journal document can hold at most 100 lines per atomic request.")
        responses = self.client.batch(reqs)
        bad = [r for r in responses if not r.ok and r.status != 424] or [r for r in responses if not r.ok]
        if bad:
            raise self.client.batch_error(bad[0], what=f"Journal document {lines[0].document_number}")
        return [r.body for r in responses]

    def create_lines_many(self, documents: list[list[JournalLineSpec]], journal: str | None = None
                          ) -> list[list[dict[str, Any]] | ConnectorError]:
        """Several journal documents in ``$batch`` calls: each document's lines are ONE atomicity group (all
        or nothing for that document; one bad document fails alone). Per document: the created lines, or the
        error. A ``TransportError`` for a whole call is raised (outcome unknown: read back before writing)."""
        jid = self.journal_id(journal)
        path = self.client.cpath(f"journals({jid})/journalLines")
        out: list[list[dict[str, Any]] | ConnectorError] = [[] for _ in documents]
        reqs: list[BatchRequest] = []
        owner: dict[str, int] = {}
        for d, lines in enumerate(documents):
            try:
                if not lines:
                    raise SpecError("A journal document needs at least one line.")
                if len(lines) > 100:
                    raise SpecError("A journal document can hold at most 100 lines per atomic request.")
                bodies = [ln.body() for ln in lines]
            except SpecError as exc:
                out[d] = exc
                continue
            for i, body in enumerate(bodies):
                rid = f"d{d}l{i}"
                owner[rid] = d
                reqs.append(BatchRequest("POST", path, body, id=rid, atomicity_group=f"doc{d}"))
        by_doc: dict[int, list[Any]] = {}
        for resp in self.client.batch(reqs):
            by_doc.setdefault(owner[str(resp.id)], []).append(resp)
        for d, responses in by_doc.items():
            bad = [r for r in responses if not r.ok and r.status != 424] or [r for r in responses if not r.ok]
            if bad:
                out[d] = self.client.batch_error(bad[0], what=f"Journal document {documents[d][0].document_number}")
            else:
                out[d] = [r.body for r in responses]
        return out

    def ensure_lines(self, lines: list[JournalLineSpec], journal: str | None = None) -> tuple[str, list[dict[str, Any]]]:
        """Exactly once per document: ("posted", G/L entries) if already posted, ("existing", lines) if the
        lines are already in the batch, else create them -> ("created", lines). After an unknown outcome it
        reads back before trying again."""
        first = lines[0]
        status, found = self._lookup(first, journal)
        if status:
            return status, found
        try:
            return "created", self.create_lines(lines, journal)
        except TransportError:
            status, found = self._lookup(first, journal)
            if status:
                return status, found
            return "created", self.create_lines(lines, journal)

    def _lookup(self, first: JournalLineSpec, journal: str | None) -> tuple[str, list[dict[str, Any]]]:
        existing = self.find_lines(journal, document_number=first.document_number,
                                   external_document_number=first.external_document_number or None)
        if existing:
            return "existing", existing
        posted = find_gl_entries(self.client, first.document_number, first.posting_date, with_dimensions=False)
        if posted:
            return "posted", posted
        return "", []

    def post(self, journal: str | None = None) -> None:
        """``Microsoft.NAV.post`` on the batch: posts every line in it, all or nothing."""
        jid = self.journal_id(journal)
        self.client.action(self.client.cpath(f"journals({jid})/Microsoft.NAV.post"))

    def update_line(self, line: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        return self.client.patch(self.client.cpath(f"journalLines({odata.guid_key(line['id'])})"), changes,
                                 line["@odata.etag"])
