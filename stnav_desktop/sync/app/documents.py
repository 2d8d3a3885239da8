"""Staging ServiceTitan documents in the store: the content hash, versions, and the
"changed after posting" flag with the difference. Works from the raw payload (official field names),
so it does not depend on how a connector shapes its records."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from stnav_desktop.store import audit, jsontext
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import (
    AttemptState,
    DocStatus,
    PostingAttempt,
    Profile,
    SourceKind,
    StDocument,
)
from stnav_desktop.sync.domain import lifecycle

# fields that change without the document's content changing
VOLATILE = {"modifiedOn", "syncStatus", "batch", "batchId", "postDate", "dateReconciled"}


def to_decimal(value: Any) -> Decimal | None:
    """Exact amount from a JSON string or number; None when absent. Raises ValueError when not a number."""
    if type(value) is Decimal:  # what the connector's JSON holds (parse_float=Decimal): already exact
        if value.is_finite():
            return value
        raise ValueError(f"not an amount: {value!r}")
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, float):
        value = repr(value)  # shortest text that round-trips: the number as the JSON had it
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return result


def to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    # ServiceTitan returns UTC; a stamp without an offset is UTC too
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


REPLACEMENT = "\ufffd"
_SURROGATES = re.compile("[\ud800-\udfff]")


def _scrub(value: Any, path: str, found: list[str]) -> Any:
    if isinstance(value, str):
        if _SURROGATES.search(value):
            found.append(path or "(value)")
            return _SURROGATES.sub(REPLACEMENT, value)
        return value
    if isinstance(value, dict):
        return {_scrub(k, path, found) if isinstance(k, str) else k:
                _scrub(v, f"{path}.{k}" if path else str(k), found) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


def scrub(raw: dict[str, Any], label: str) -> tuple[dict[str, Any], list[str]]:
    """Text with no UTF-8 form (a lone UTF-16 surrogate such as JSON "\\ud800", which .NET services emit
    when a string is cut inside an emoji) cannot be hashed, stored, shown or exported. Replace each such
    character with U+FFFD and name the field: ``PO 10452-001: summary contains a broken character (a
    lone UTF-16 surrogate), shown as \ufffd``."""
    found: list[str] = []
    clean = _scrub(raw, "", found)
    problems = [f"{label}: {path} contains a broken character (a lone UTF-16 surrogate), shown as {REPLACEMENT}"
                for path in dict.fromkeys(found)]
    return clean, problems


def label(kind: str, raw: dict[str, Any]) -> str:
    """How the connector names a record in a problem ("PO 10452-001", "bill 10452-001-R1")."""
    if kind == SourceKind.PURCHASE_ORDER:
        return f"PO {raw.get('number') or raw.get('id')}"
    if kind == SourceKind.INVENTORY_RETURN:
        return f"return {raw.get('number') or raw.get('id')}"
    return f"bill {raw.get('referenceNumber') or raw.get('id')}"


def _stable(raw: dict[str, Any]) -> dict[str, Any]:
    stable = {k: v for k, v in raw.items() if k not in VOLATILE}
    if stable.get("status") == "Exported":
        # a received PO becomes "Exported" once its bills are exported (ours included): same content
        stable["status"] = "Received"
    return stable


def _stable_text(raw: dict[str, Any]) -> str:
    return json.dumps(_stable(raw), sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def content_hash(raw: dict[str, Any]) -> str:
    """SHA-256 of the payload without its volatile fields. Broken characters hash as U+FFFD."""
    try:
        data = jsontext.dumps_sorted(_stable(raw))  # the bytes of _stable_text, made faster
    except UnicodeEncodeError:
        data = _SURROGATES.sub(REPLACEMENT, _stable_text(raw)).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def diff(old: Any, new: Any, path: str = "", out: list[dict[str, Any]] | None = None,
         limit: int = 50) -> list[dict[str, Any]]:
    """The fields that differ between two payloads, as [{field, before, after}]."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if key in VOLATILE:
                continue
            diff(old.get(key), new.get(key), f"{path}.{key}" if path else key, out, limit)
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            diff(old[i] if i < len(old) else None, new[i] if i < len(new) else None, f"{path}[{i}]", out, limit)
    elif _norm(old) != _norm(new):
        out.append({"field": path, "before": old, "after": new})
    return out


def _norm(value: Any) -> Any:
    try:
        return to_decimal(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else value
    except ValueError:
        return value


@dataclass
class Header:
    number: str
    vendor_st_id: int | None
    vendor_name: str
    business_unit_st_id: int | None
    business_unit_name: str
    doc_date: datetime | None
    modified_on: datetime | None
    st_status: str
    total: Decimal | None
    purchase_order_st_id: int | None


def _amount(raw: dict[str, Any], key: str, problems: list[str]) -> Decimal | None:
    value = raw.get(key)
    if type(value) is Decimal and value.is_finite():  # the connector's amounts: to_decimal's answer
        return value
    try:
        return to_decimal(value)
    except (ValueError, TypeError):
        problems.append(f"{key} {str(raw.get(key))[:40]!r} is not a number")
        return None


# to_datetime of a text, by text: a pull reads the same document dates (and often the same modifiedOn)
# thousands of times; datetimes are immutable, so a shared one is the very value parsed again
_DATES: dict[str, datetime] = {}
_DATES_MAX = 8192


def _when(raw: dict[str, Any], key: str, problems: list[str]) -> datetime | None:
    value = raw.get(key)
    if type(value) is str:
        found = _DATES.get(value)
        if found is not None:
            return found
    try:
        result = to_datetime(value)
    except (ValueError, TypeError):
        problems.append(f"{key} {str(raw.get(key))[:40]!r} is not a date")
        return None
    if result is not None and type(value) is str:
        if len(_DATES) >= _DATES_MAX:
            _DATES.clear()
        _DATES[value] = result
    return result


def _ident(value: Any, key: str, problems: list[str]) -> int | None:
    if type(value) is int:
        return value
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    problems.append(f"{key} {str(value)[:40]!r} is not an id")
    return None


def _named(raw: dict[str, Any], key: str, problems: list[str]) -> dict[str, Any]:
    value = raw.get(key)
    if value is None or isinstance(value, dict):
        return value or {}
    problems.append(f"{key} {str(value)[:40]!r} is not an object with an id and a name")
    return {}


def header(kind: str, raw: dict[str, Any]) -> tuple[Header, list[str]]:
    """The columns the review grid shows, read from the raw payload; problems instead of exceptions."""
    problems: list[str] = []
    if kind == SourceKind.PURCHASE_ORDER:
        return Header(
            number=str(raw.get("number") or raw.get("id")),
            vendor_st_id=_ident(raw.get("vendorId"), "vendorId", problems),
            vendor_name="", business_unit_st_id=_ident(raw.get("businessUnitId"), "businessUnitId", problems),
            business_unit_name="", doc_date=_when(raw, "date", problems),
            modified_on=_when(raw, "modifiedOn", problems), st_status=str(raw.get("status") or ""),
            total=_amount(raw, "total", problems), purchase_order_st_id=None), problems
    if kind == SourceKind.INVENTORY_RETURN:
        # Export_Returns (tenant-inventory-v2.json, Inventory.V2.ExportReturnsResponse): ids, not objects;
        # returnAmount is the return total including tax and shipping
        status = raw.get("status")
        return Header(
            number=str(raw.get("number") or raw.get("id")),
            vendor_st_id=_ident(raw.get("vendorId"), "vendorId", problems),
            vendor_name="", business_unit_st_id=_ident(raw.get("businessUnitId"), "businessUnitId", problems),
            business_unit_name="",
            doc_date=_when(raw, "creditReceivedOn", problems) or _when(raw, "returnDate", problems),
            modified_on=_when(raw, "modifiedOn", problems), st_status=str(status if isinstance(status, str) else ""),
            total=_amount(raw, "returnAmount", problems),
            purchase_order_st_id=_ident(raw.get("purchaseOrderId"), "purchaseOrderId", problems)), problems
    vendor = _named(raw, "vendor", problems)
    bu = _named(raw, "businessUnit", problems)
    return Header(
        number=str(raw.get("referenceNumber") or raw.get("id")),
        vendor_st_id=_ident(vendor.get("id"), "vendor.id", problems),
        vendor_name=str(vendor.get("name") or ""),
        business_unit_st_id=_ident(bu.get("id"), "businessUnit.id", problems),
        business_unit_name=str(bu.get("name") or ""), doc_date=_when(raw, "billDate", problems),
        modified_on=_when(raw, "modifiedOn", problems), st_status=str(raw.get("syncStatus") or ""),
        total=_amount(raw, "billAmount", problems),
        purchase_order_st_id=_ident(raw.get("purchaseOrderId"), "purchaseOrderId", problems)), problems


def apply_pending(doc: StDocument) -> StageResult | None:
    """After a NAV write is settled: stage the version that arrived meanwhile (a posted document then
    becomes changed-after-posting with the difference; an unposted one simply takes the new content)."""
    if doc.pending_raw is None:
        return None
    raw, doc.pending_raw = doc.pending_raw, None
    doc.save()
    return stage(doc.profile, doc.kind, raw, list(doc.source_problems or []))


@dataclass
class StageResult:
    document: StDocument
    change: str  # new, unchanged, updated, changed_after_posting


class Unreadable(ValueError):
    """A record that cannot be stored at all (no usable id): reported and skipped, never stops a pull."""


@dataclass
class Prepared:
    """A pulled record made storable: clean payload, its JSON text, content hash, grid columns, problems."""

    st_id: int
    raw: dict[str, Any]
    raw_text: str
    digest: str
    columns: dict[str, Any]
    problems: list[str]
    head: Header


def _raw_text(raw: dict[str, Any]) -> str:
    try:
        return jsontext.dumps_sorted(raw, _json_default).decode("utf-8")
    except UnicodeEncodeError:  # prepare checks the text's encoding and scrubs it
        return json.dumps(raw, sort_keys=True, separators=(",", ":"), default=_json_default, ensure_ascii=False)


def _texts(raw: dict[str, Any], float_free: bool = False) -> tuple[str, str]:
    """(JSON text to store, content hash) with one serialisation of the payload in the common case: the
    stored text is the hashed (stable) text with the volatile fields appended (same object once read).
    The bytes are ``_stable_text``'s, made by orjson where that is certain (``jsontext.dumps_sorted``), so
    the hashes of documents already stored stay comparable. Raises UnicodeEncodeError on a lone
    surrogate (prepare scrubs). ``float_free``: the connector vouches that the payload came from JSON that
    can hold no float (only dicts, lists, texts, integers, booleans, null and Decimals): the walk that
    checks the types is skipped; orjson still raises where ``json.dumps`` is needed (a big integer, a lone
    surrogate)."""
    if type(raw) is dict and (float_free or jsontext.is_plain(raw)):  # one walk for every part below
        try:
            return _plain_texts(raw)
        except TypeError:  # a non-text key, an integer beyond 64 bits, a lone surrogate: as below
            pass
    return _texts_any(raw)


def _plain_texts(raw: dict[str, Any]) -> tuple[str, str]:
    """``_texts_any`` for a payload ``jsontext.is_plain`` accepted: the same bytes, each part written by
    orjson (``jsontext.dumps_plain``: what ``dumps_sorted`` does after its walk), the payload split into
    its stable and volatile members once. TypeError where ``dumps_sorted`` would use ``json.dumps``."""
    stable = dict(raw)
    tail = {}
    for key in VOLATILE:
        if key in stable:
            tail[key] = stable.pop(key)
    if stable.get("status") == "Exported":  # as _stable: hashed as "Received"; stored whole, sorted
        whole = jsontext.dumps_plain(raw).decode("utf-8")  # _raw_text's bytes (only Decimals reach default)
        stable["status"] = "Received"
        return whole, hashlib.sha256(jsontext.dumps_plain(stable)).hexdigest()
    stable_bytes = jsontext.dumps_plain(stable)
    digest = hashlib.sha256(stable_bytes).hexdigest()
    if not tail:
        return stable_bytes.decode("utf-8"), digest
    tail_bytes = jsontext.dumps_plain(tail)
    text = (stable_bytes[:-1] + b"," + tail_bytes[1:]) if len(stable_bytes) > 2 else tail_bytes
    return text.decode("utf-8"), digest


def _texts_any(raw: dict[str, Any]) -> tuple[str, str]:
    """``_texts`` for any payload (floats, datetimes, enums, big integers, lone surrogates...)."""
    if raw.get("status") == "Exported":
        text = _raw_text(raw)
        text.encode("utf-8")  # UnicodeEncodeError on a lone surrogate, as below: prepare scrubs
        return text, content_hash(raw)
    stable = {k: v for k, v in raw.items() if k not in VOLATILE}
    stable_bytes = jsontext.dumps_sorted(stable)  # UnicodeEncodeError on a lone surrogate: prepare scrubs
    digest = hashlib.sha256(stable_bytes).hexdigest()
    stable_text = stable_bytes.decode("utf-8")
    if len(stable) == len(raw):
        return stable_text, digest
    tail = jsontext.dumps_sorted({k: raw[k] for k in VOLATILE if k in raw}).decode("utf-8")
    return (stable_text[:-1] + "," + tail[1:]) if len(stable_text) > 2 else tail, digest


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime):
        return obj.astimezone(UTC).isoformat()
    return str(obj)


def prepare(kind: str, raw: Any, problems: list[str] | None = None, *, float_free: bool = False) -> Prepared:
    """Everything ``stage`` needs from one record, computed without the database. Never raises on bad
    content (each oddity becomes a problem naming the record and the field); raises ``Unreadable`` only
    when the record has no usable id. ``float_free``: see ``_texts``."""
    if not isinstance(raw, dict):
        raise Unreadable(f"a {kind.replace('_', ' ')} record is not a JSON object: {str(raw)[:60]!r}")
    problems = list(problems or [])
    try:
        raw_text, digest = _texts(raw, float_free)  # UTF-8 text: raises on a lone surrogate
    except UnicodeEncodeError:
        raw, broken = scrub(raw, label(kind, raw))
        problems.extend(broken)
        raw_text, digest = _texts(raw, float_free)
    st_id = raw.get("id")
    if isinstance(st_id, str) and st_id.strip().isdigit():
        st_id = int(st_id)
    if not isinstance(st_id, int) or isinstance(st_id, bool) or st_id <= 0:
        raise Unreadable(f"{label(kind, raw)}: has no usable id ({str(raw.get('id'))[:40]!r})")
    head, parse_problems = header(kind, raw)
    problems = list(dict.fromkeys([*problems, *parse_problems])) if problems or parse_problems else []
    columns = {"number": head.number[:200], "vendor_st_id": head.vendor_st_id,
               "business_unit_st_id": head.business_unit_st_id, "doc_date": head.doc_date,
               "modified_on": head.modified_on, "st_status": head.st_status[:50], "total": head.total,
               "purchase_order_st_id": head.purchase_order_st_id, "st_active": raw.get("active") is not False}
    if head.vendor_name:
        columns["vendor_name"] = head.vendor_name[:200]
    if head.business_unit_name:
        columns["business_unit_name"] = head.business_unit_name[:200]
    return Prepared(st_id, raw, raw_text, digest, columns, problems, head)


def stage(profile: Profile, kind: str, raw: dict[str, Any], problems: list[str] | None = None) -> StageResult:
    """Insert or update one pulled document. Never re-posts: a posted document whose content changed is
    flagged changed-after-posting with the difference, and stays posted in NAV as it was."""
    prepared = prepare(kind, raw, problems)
    return stage_prepared(profile, kind, prepared)


def stage_prepared(profile: Profile, kind: str, prepared: Prepared) -> StageResult:
    raw, digest, columns, head, st_id = (prepared.raw, prepared.digest, prepared.columns, prepared.head,
                                         prepared.st_id)
    problems = prepared.problems
    with db.atomic():
        doc = StDocument.get_or_none((StDocument.profile == profile) & (StDocument.kind == kind)
                                     & (StDocument.st_id == st_id))
        if doc is None:
            doc = StDocument.create(profile=profile, kind=kind, st_id=st_id, raw=raw, content_hash=digest,
                                    source_problems=problems or None, **columns)
            audit.append("document.pulled", st_ref=lifecycle.st_ref(doc), profile=profile.name,
                         detail={"st_id": st_id, "kind": kind, "modifiedOn": raw.get("modifiedOn"),
                                 "total": head.total, "problems": problems})
            return StageResult(doc, "new")
        if doc.content_hash == digest:
            if head.modified_on and doc.modified_on != head.modified_on:
                doc.modified_on = head.modified_on
                doc.raw = raw
                doc.save()
            return StageResult(doc, "unchanged")
        changes = diff(doc.raw, raw)
        if doc.status in (DocStatus.POSTED, DocStatus.IN_NAV_DRAFT, DocStatus.CHANGED_AFTER_POSTING):
            # in NAV (posted or as a draft): keep the posted payload; record the new one beside it for the correction proposal
            doc.source_problems = problems or None
            doc.save()
            reason = ("changed in ServiceTitan after posting: "
                      + ", ".join(c["field"] for c in changes[:5]) + ("…" if len(changes) > 5 else ""))
            if doc.status in (DocStatus.POSTED, DocStatus.IN_NAV_DRAFT):
                lifecycle.transition(doc, DocStatus.CHANGED_AFTER_POSTING, reason=reason,
                                     detail={"changes": changes, "new_payload_hash": digest, "new_payload": raw})
            else:
                audit.append("document.changed_again", st_ref=lifecycle.st_ref(doc), profile=profile.name,
                             detail={"changes": changes, "new_payload_hash": digest, "new_payload": raw})
            return StageResult(doc, "changed_after_posting")
        # an attempt whose outcome is unknown must be settled against NAV before anything else moves:
        # keep the payload being posted, park the new one, and decide once NAV has answered
        in_flight = doc.status == DocStatus.POSTING or doc.attempts.where(
            PostingAttempt.state == AttemptState.PENDING).exists()
        if in_flight:
            doc.pending_raw = raw
            doc.save()
            audit.append("document.changed_while_posting", st_ref=lifecycle.st_ref(doc), profile=profile.name,
                         detail={"changes": changes, "new_payload_hash": digest})
            return StageResult(doc, "updated")
        for key, value in columns.items():
            setattr(doc, key, value)
        doc.raw = raw
        doc.content_hash = digest
        doc.version += 1
        doc.source_problems = problems or None
        doc.updated_at = utcnow()
        doc.save()
        audit.append("document.updated", st_ref=lifecycle.st_ref(doc), profile=profile.name,
                     detail={"version": doc.version, "changes": changes})
        if doc.status in (DocStatus.APPROVED, DocStatus.FAILED, DocStatus.NEEDS_ATTENTION):
            # an approval covered the old content: the new content needs a fresh review
            lifecycle.transition(doc, DocStatus.READY, reason="changed in ServiceTitan since approval",
                                 batch=None)
        return StageResult(doc, "updated")
