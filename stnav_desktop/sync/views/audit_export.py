"""Audit log export (CSV or Excel) and the chain of one ServiceTitan document, for people and files.
Details are stored redacted; they are redacted again on the way out."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path

from stnav_desktop.redact import redact
from stnav_desktop.store import audit
from stnav_desktop.store.models import AuditEvent

COLUMNS = ["seq", "time (UTC)", "actor", "action", "profile", "ServiceTitan", "NAV", "detail", "hash"]


def rows(events: Iterable[AuditEvent]) -> Iterable[list[str]]:
    for e in events:
        yield [str(e.seq), e.ts.isoformat(timespec="seconds"), e.actor, e.action, e.profile_name, e.st_ref,
               e.nav_ref, redact(e.detail), e.hash]


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export(path: Path, fmt: str, *, st_ref: str | None = None, action: str | None = None) -> int:
    events = list(audit.events(st_ref=st_ref, action=action))
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            for row in rows(events):
                writer.writerow([_cell(c) for c in row])
    elif fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Audit log")
        ws.append(COLUMNS)
        for row in rows(events):
            ws.append([_cell(c) for c in row])
        wb.save(path)
    else:
        raise ValueError(f"unknown format {fmt!r}: csv or xlsx")
    return len(events)


def chain(st_ref: str) -> list[str]:
    """Pull → mapping → approval → attempts → NAV document → G/L entries, one line each."""
    out = []
    for e in audit.events(st_ref=st_ref):
        detail = json.loads(e.detail or "{}")
        extra = ""
        if e.action == "document.posted":
            gl = [str(n) for n in detail.get("gl_entries") or [] if n is not None]
            extra = f" → NAV {detail.get('nav_kind')} {detail.get('nav_number')}" + (
                f", G/L entries {', '.join(gl)}" if gl else "")
        elif detail.get("reason"):
            extra = f" — {detail['reason']}"
        out.append(f"{e.ts.isoformat(timespec='seconds')}  {e.actor:<14} {e.action}{extra}")
    return out


def to_text(lines: list[str]) -> str:
    buf = io.StringIO()
    for line in lines:
        buf.write(redact(line) + "\n")
    return buf.getvalue()
