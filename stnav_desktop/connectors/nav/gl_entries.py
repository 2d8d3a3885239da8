"""G/L entries (read-only): how a posted journal or invoice is traced (no externalDocumentNumber on them)."""

from __future__ import annotations

from datetime import date
from typing import Any

from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.client import NavClient


def find_gl_entries(client: NavClient, document_number: str, posting_date: date | None = None, *,
                    with_dimensions: bool = True) -> list[dict[str, Any]]:
    """Entries with this documentNumber (and postingDate), each with its ``dimensionSetLines`` expanded."""
    flt = odata.eq_filter(documentNumber=document_number, postingDate=posting_date)
    params = {"$filter": flt}
    if with_dimensions:
        params["$expand"] = "dimensionSetLines"
    return list(client.iter(client.cpath("generalLedgerEntries"), params))
