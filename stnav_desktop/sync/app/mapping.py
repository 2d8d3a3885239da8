"""Mappings from ServiceTitan keys to NAV numbers: set, suggest, accept, import/export as CSV, and the
readiness check that turns them (with the cached NAV reference data) into a reason on each row.

Suggestions are never applied on their own: a person accepts one (or a rule the person set does).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from peewee import SQL, NodeList, Value
from rapidfuzz import fuzz, process

from stnav_desktop.store import audit, settings
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import (
    DocStatus,
    Mapping,
    MappingKind,
    NavReference,
    Profile,
    SourceKind,
    StDocument,
    StReference,
)
from stnav_desktop.sync.domain import accounting, dimensions, lifecycle, matching

KINDS = {k.value for k in MappingKind}
# what people read instead of the internal kind names (window, CLI, exports)
KIND_LABELS = {MappingKind.VENDOR: "Vendor", MappingKind.ITEM: "SKU → NAV item or account",
               MappingKind.BUSINESS_UNIT: "Business unit → territory", MappingKind.GL_RULE: "Bill line rule",
               MappingKind.ST_GL_ACCOUNT: "ServiceTitan G/L account"}
CSV_COLUMNS = ["kind", "source_key", "source_label", "target", "target_type"]
FUZZY_THRESHOLD = 70.0


class MappingError(ValueError):
    pass


def set_mapping(profile: Profile, kind: str, source_key: Any, target: str, *, target_type: str = "",
                source_label: str = "", actor: str | None = None, how: str = "manual",
                score: float | None = None) -> Mapping:
    if kind not in KINDS:
        raise MappingError(f"unknown mapping kind {kind!r}; one of {', '.join(sorted(KINDS))}")
    key = str(source_key).strip()
    target = str(target).strip()
    if not key:
        raise MappingError(f"{kind} mapping: the ServiceTitan key is empty")
    if not target:
        raise MappingError(f"{kind} mapping for {key}: the NAV target is empty")
    if kind == MappingKind.ITEM and target_type not in ("Item", "Account"):
        raise MappingError(f"item mapping for {key}: target_type must be Item or Account, not {target_type!r}")
    if kind == MappingKind.DIMENSION:
        attribute, _, value = key.partition(":")
        if attribute not in dimensions.ATTRIBUTES or not value:
            raise MappingError(f"dimension mapping {key!r}: the key is <attribute>:<ServiceTitan id>, attribute one of "
                               f"{', '.join(dimensions.ATTRIBUTES)}")
        if not target_type.strip():
            raise MappingError(f"dimension mapping for {key}: target_type must name the NAV dimension (e.g. JOB)")
        target_type = target_type.strip().upper()
    actor = actor or audit.current_actor()
    with db.atomic():
        existing = Mapping.get_or_none((Mapping.profile == profile) & (Mapping.kind == kind)
                                       & (Mapping.source_key == key))
        before = (existing.target, existing.target_type) if existing else None
        if existing:
            existing.target, existing.target_type = target, target_type
            existing.source_label = source_label or existing.source_label
            existing.updated_by, existing.updated_at = actor, utcnow()
            existing.save()
            row = existing
        else:
            row = Mapping.create(profile=profile, kind=kind, source_key=key, source_label=source_label,
                                 target=target, target_type=target_type, updated_by=actor)
        audit.append("mapping.set", profile=profile.name, actor=actor, st_ref=f"{kind}:{key}", nav_ref=target,
                     detail={"kind": kind, "source_key": key, "label": source_label, "target": target,
                             "target_type": target_type, "before": before, "how": how, "score": score})
    return row


def delete_mapping(profile: Profile, kind: str, source_key: str, *, actor: str | None = None) -> bool:
    with db.atomic():
        row = Mapping.get_or_none((Mapping.profile == profile) & (Mapping.kind == kind)
                                  & (Mapping.source_key == str(source_key)))
        if row is None:
            return False
        audit.append("mapping.deleted", profile=profile.name, actor=actor, st_ref=f"{kind}:{source_key}",
                     nav_ref=row.target, detail={"kind": kind, "target": row.target})
        Mapping.delete().where(Mapping.id == row.id).execute()
    return True


def mappings_dict(profile: Profile) -> dict[str, dict[str, tuple[str, str]]]:
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for row in Mapping.select().where(Mapping.profile == profile):
        out.setdefault(row.kind, {})[row.source_key] = (row.target, row.target_type)
    return out


# --- CSV ---------------------------------------------------------------------------------------

def export_csv(profile: Profile) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for row in Mapping.select().where(Mapping.profile == profile).order_by(Mapping.kind, Mapping.source_key):
        writer.writerow([_csv_safe(v) for v in (row.kind, row.source_key, row.source_label, row.target,
                                                row.target_type)])
    return buf.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(text: Any) -> str:
    # any cell starting with = + - @ (or a tab / CR) is a formula to Excel: neutralise it (OWASP CSV injection)
    text = "" if text is None else str(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_unsafe(text: str) -> str:
    """Undo ``_csv_safe`` on import: a quote put in front of a formula character is dropped."""
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_STARTS else text


@dataclass
class ImportResult:
    imported: int
    errors: list[str]


# limits of what each column may hold: NAV numbers are Code[20]; labels are for people
CSV_LIMITS = {"kind": 20, "source_key": 64, "source_label": 250, "target": 20, "target_type": 20}
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
MAX_CSV_BYTES = 20_000_000


def decode_csv(data: bytes) -> str:
    """A mapping CSV's text: UTF-8 (with or without BOM), UTF-16 (with BOM, what Excel's "Unicode text"
    writes) or Windows-1252 (Excel's default "CSV" on Windows); otherwise MappingError naming the line."""
    if len(data) > MAX_CSV_BYTES:
        raise MappingError(f"the file is larger than {MAX_CSV_BYTES // 1_000_000} MB; a mapping CSV is far smaller")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].decode("utf-16", errors="replace").count("\n") + 1
            raise MappingError(f"line {line}: not valid UTF-16 text") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                lines.append(raw.decode("cp1252"))
            except UnicodeDecodeError:
                raise MappingError(f"line {number}: not UTF-8 or Windows-1252 text; save the file as "
                                   "\"CSV UTF-8\"") from None
    return "\n".join(lines)


def import_csv_bytes(profile: Profile, data: bytes, *, actor: str | None = None) -> ImportResult:
    return import_csv(profile, decode_csv(data), actor=actor)


def _field_problem(name: str, value: str) -> str | None:
    if "\x00" in value:
        return f"{name} holds a NUL character"
    if "\n" in value or "\r" in value:
        return f"{name} holds a line break"
    if any(c in BIDI_CONTROLS for c in value):
        return f"{name} holds a bidirectional control character (text that displays differently from what it is)"
    if any(ord(c) < 32 and c != "\t" for c in value):
        return f"{name} holds a control character"
    if len(value) > CSV_LIMITS[name]:
        return f"{name} is {len(value)} characters long; at most {CSV_LIMITS[name]}"
    return None


def _target_problem(profile: Profile, kind: str, target: str, target_type: str,
                    cache: dict[str, dict[str, NavReference]]) -> str | None:
    """Is the target in NAV's cached reference data (when there is some), and not blocked?"""
    if kind == MappingKind.VENDOR:
        entity, key, label = "vendors", target, "NAV vendor"
    elif kind == MappingKind.ITEM:
        entity, label = ("items", "NAV item") if target_type == "Item" else ("accounts", "G/L account")
        key = target
    elif kind in (MappingKind.ST_GL_ACCOUNT, MappingKind.GL_RULE):
        entity, key, label = "accounts", target, "G/L account"
    elif kind == MappingKind.BUSINESS_UNIT:
        dim = target_type or settings.get(profile, "posting.territory_dimension")
        entity, key, label = "dimensionValues", f"{dim}:{target}", f"dimension value of {dim}"
    elif kind == MappingKind.DIMENSION:
        if not target_type:
            return "target_type: a dimension mapping needs the NAV dimension code (e.g. JOB)"
        entity, key, label = "dimensionValues", f"{target_type}:{target}", f"dimension value of {target_type}"
    else:
        return None
    if entity not in cache:
        cache[entity] = _nav_choices(profile, entity)
    refs = cache[entity]
    if not refs:  # no reference data read yet: nothing to check against (readiness will)
        return None
    ref = refs.get(key)
    if ref is None:
        return f"target: {label} {target} is not in NAV (as last read; `stnav refdata refresh` re-reads it)"
    if ref.blocked:
        return f"target: {label} {target} ({ref.name}) is blocked in NAV"
    return None


def import_csv(profile: Profile, text: str, *, actor: str | None = None) -> ImportResult:
    """All or nothing: every row is checked first (each bad row named by its line and field); only when all
    are good are they written, in one transaction (an error or Ctrl+C leaves the mappings as they were)."""
    if "\x00" in text:
        first = text[:text.index("\x00")].count("\n") + 1
        return ImportResult(0, [f"line {first}: holds a NUL character (not a CSV text file?)"])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise MappingError(f"line 1: not a CSV header ({exc})") from None
    header = [_csv_unsafe(h).strip().lstrip("\ufeff").lower() for h in (header or [])]
    missing = [c for c in ("kind", "source_key", "target") if c not in header]
    if missing:
        raise MappingError(f"line 1: the header lacks column(s) {', '.join(missing)}; expected "
                           f"{', '.join(CSV_COLUMNS)}")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise MappingError(f"line 1: unknown column(s) {', '.join(map(repr, unknown))}; expected "
                           f"{', '.join(CSV_COLUMNS)}")
    errors: list[str] = []
    rows: list[tuple[int, dict[str, str]]] = []
    seen: dict[tuple[str, str], int] = {}
    cache: dict[str, dict[str, NavReference]] = {}
    while True:
        line_no = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"line {line_no}: not valid CSV ({exc})")
            break
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) > len(header):
            errors.append(f"line {line_no}: {len(cells)} cells but the header has {len(header)} columns")
            continue
        row = {name: _csv_unsafe(cells[i]) if i < len(cells) else "" for i, name in enumerate(header)}
        row = {k: (v if k == "source_label" else v.strip()) for k, v in row.items()}
        problems = [p for p in (_field_problem(k, v) for k, v in row.items()) if p]
        kind, key, target = row.get("kind", ""), row.get("source_key", ""), row.get("target", "")
        target_type = row.get("target_type", "")
        if not problems:
            if kind not in KINDS:
                problems.append(f"kind: unknown mapping kind {kind!r}; one of {', '.join(sorted(KINDS))}")
            elif not key:
                problems.append("source_key: the ServiceTitan key is empty")
            elif not target:
                problems.append(f"target: the NAV target for {kind} {key} is empty")
            elif kind == MappingKind.ITEM and target_type not in ("Item", "Account"):
                problems.append(f"target_type: item mapping for {key} needs Item or Account, not {target_type!r}")
            else:
                first = seen.setdefault((kind, key), line_no)
                if first != line_no:
                    problems.append(f"source_key: {kind} {key} is already mapped on line {first}")
                else:
                    found = _target_problem(profile, kind, target, target_type, cache)
                    if found:
                        problems.append(found)
        if problems:
            errors.extend(f"line {line_no}: {p}" for p in problems)
        else:
            rows.append((line_no, row))
    if errors:
        return ImportResult(0, errors)
    with db.atomic():
        for _line_no, row in rows:
            set_mapping(profile, row["kind"], row["source_key"], row["target"],
                        target_type=row.get("target_type", ""), source_label=row.get("source_label", ""),
                        actor=actor, how="csv import")
    return ImportResult(len(rows), [])


# --- suggestions ---------------------------------------------------------------------------------

@dataclass
class Suggestion:
    kind: str
    source_key: str
    source_label: str
    target: str
    target_label: str
    score: float
    method: str  # exact key, exact name, fuzzy name; vendors: same tax id, same name, similar name + evidence
    target_type: str = ""
    warning: str = ""  # e.g. the NAV vendor is already mapped to another ServiceTitan vendor
    safe: bool = False  # proven safe to accept without a person (vendors: matching.AUTO_ACCEPT, no conflict)

    @property
    def label(self) -> str:
        return f"{self.target} {self.target_label} ({self.score:.0f}%, {self.method})" + (
            f" — {self.warning}" if self.warning else "")


def _nav_choices(profile: Profile, entity: str) -> dict[str, NavReference]:
    return {r.key: r for r in NavReference.select().where((NavReference.profile == profile)
                                                          & (NavReference.entity == entity))}


def _best(label: str, refs: dict[str, NavReference], *, code_key: str | None = None,
          key_of=lambda r: r.key) -> tuple[NavReference, float, str] | None:
    if code_key:
        for ref in refs.values():
            if key_of(ref).casefold() == code_key.casefold():
                return ref, 100.0, "exact key"
    wanted = " ".join(label.split()).casefold()
    for ref in refs.values():
        if " ".join(ref.name.split()).casefold() == wanted and wanted:
            return ref, 100.0, "exact name"
    if not wanted or not refs:
        return None
    names = {k: r.name for k, r in refs.items()}
    match = process.extractOne(label, names, scorer=fuzz.WRatio, processor=lambda s: s.casefold())
    if match and match[1] >= FUZZY_THRESHOLD:
        return refs[match[2]], round(float(match[1]), 1), "fuzzy name"
    return None


ST_ENTITY = {MappingKind.VENDOR: "vendors", MappingKind.BUSINESS_UNIT: "businessUnits", MappingKind.ITEM: "skus",
             MappingKind.ST_GL_ACCOUNT: "glAccounts"}


_VENDOR_INDEX: dict[int, tuple[tuple, matching.CandidateIndex]] = {}


def vendor_index(profile: Profile) -> matching.CandidateIndex:
    """NAV's vendors prepared for matching, kept until the cached list changes."""
    from peewee import fn

    query = NavReference.select(fn.COUNT(NavReference.id), fn.MAX(NavReference.refreshed_at)).where(
        (NavReference.profile == profile) & (NavReference.entity == "vendors")).tuples()
    stamp = tuple(cast("tuple[Any, ...]", query.get()))
    cached = _VENDOR_INDEX.get(profile.id)
    if cached is None or cached[0] != stamp:
        cached = (stamp, matching.CandidateIndex(nav_vendor_facts(v) for v in _nav_choices(profile, "vendors").values()))
        _VENDOR_INDEX[profile.id] = cached
    return cached[1]


def nav_vendor_facts(ref: NavReference) -> matching.Facts:
    data = ref.data or {}
    return matching.Facts(ref.key, ref.name, phone=data.get("phone") or "", postal_code=data.get("postalCode") or "",
                          street=data.get("street") or "", tax_id=data.get("taxRegistrationNumber") or "",
                          blocked=ref.blocked)


def st_vendor_facts(ref: StReference) -> matching.Facts:
    data = ref.data or {}
    address = data.get("address") or {}
    contact = data.get("contactInfo") or data.get("primaryContact") or {}
    return matching.Facts(str(ref.st_id), ref.name, phone=contact.get("phone") or data.get("phone") or "",
                          postal_code=address.get("zip") or "", street=address.get("street") or "",
                          tax_id=data.get("taxId") or "")


def suggest_for(profile: Profile, kind: str, source_key: Any) -> Suggestion | None:
    """The suggestion for ONE unmapped key (the detail pane of one document): the matching runs for
    this key only, never over every key in the database. None when mapped or nothing is close."""
    if Mapping.select().where((Mapping.profile == profile) & (Mapping.kind == kind)
                              & (Mapping.source_key == str(source_key))).exists():
        return None
    entity = ST_ENTITY.get(kind)  # type: ignore[call-overload]
    try:
        st_id = int(str(source_key))
    except ValueError:
        return None
    if entity is None or not StReference.select().where(
            (StReference.profile == profile) & (StReference.entity == entity) & (StReference.st_id == st_id)).exists():
        return None
    found = suggest(profile, only=(kind, st_id))
    return found[0] if found else None


def suggest(profile: Profile, *, only: tuple[str, int] | None = None) -> list[Suggestion]:
    """Suggestions for every unmapped ServiceTitan vendor, business unit, SKU and G/L account seen (or for
    the one ``only`` names)."""
    current = mappings_dict(profile)
    out: list[Suggestion] = []
    wanted_kinds = {only[0]} if only else set(ST_ENTITY)
    items = _nav_choices(profile, "items") if MappingKind.ITEM in wanted_kinds else {}
    accounts = _nav_choices(profile, "accounts") if MappingKind.ST_GL_ACCOUNT in wanted_kinds else {}
    dim = settings.get(profile, "posting.territory_dimension")
    dim_values = ({k: r for k, r in _nav_choices(profile, "dimensionValues").items() if k.startswith(dim + ":")}
                  if MappingKind.BUSINESS_UNIT in wanted_kinds else {})

    def unmapped(kind: str, entity: str):
        if kind not in wanted_kinds:
            return
        done = current.get(kind, {})
        query = StReference.select().where((StReference.profile == profile) & (StReference.entity == entity))
        if only:
            query = query.where(StReference.st_id == only[1])
        for ref in query:
            if str(ref.st_id) not in done:
                yield ref

    index = vendor_index(profile) if MappingKind.VENDOR in wanted_kinds else None
    taken = {target: key for key, (target, _t) in current.get(MappingKind.VENDOR, {}).items()}
    for ref in unmapped(MappingKind.VENDOR, "vendors"):
        found = index.best(st_vendor_facts(ref)) if index else None
        if found is None:
            continue  # "no match": a person picks the vendor or creates it in NAV
        suggestion = Suggestion(MappingKind.VENDOR, str(ref.st_id), ref.name, found.key, found.name, found.score,
                                found.method, safe=found.safe_to_auto_accept)
        if found.conflicts:
            suggestion.warning = ", ".join(found.conflicts)
        if found.ambiguous:
            suggestion.warning = ", ".join(filter(None, [suggestion.warning, "another NAV vendor is as close"]))
        if found.key in taken:
            other = taken[found.key]
            label = StReference.get_or_none((StReference.profile == profile) & (StReference.entity == "vendors")
                                            & (StReference.st_id == int(other))) if other.isdigit() else None
            suggestion.warning = ", ".join(filter(None, [suggestion.warning, (
                f"already mapped to ServiceTitan vendor {other}" + (f" ({label.name})" if label else ""))]))
            suggestion.safe = False
        out.append(suggestion)
    for ref in unmapped(MappingKind.BUSINESS_UNIT, "businessUnits"):
        # "HVAC Service - North" ~ "North territory": match on the words after the last dash too
        label = ref.name.split(" - ")[-1] if " - " in ref.name else ref.name
        candidates = {k: v for k, v in dim_values.items() if not v.blocked}
        best = _best(label, candidates, code_key=label, key_of=lambda r: r.key.split(":", 1)[1]) or \
            _best(ref.name, candidates)
        if best:
            out.append(Suggestion(MappingKind.BUSINESS_UNIT, str(ref.st_id), ref.name, best[0].key.split(":", 1)[1],
                                  best[0].name, best[1], best[2], target_type=dim))
    for ref in unmapped(MappingKind.ITEM, "skus"):
        best = _best(ref.name, items, code_key=ref.code)
        if best:
            out.append(Suggestion(MappingKind.ITEM, str(ref.st_id), f"{ref.code} {ref.name}", best[0].key,
                                  best[0].name, best[1], best[2], target_type="Item"))
    for ref in unmapped(MappingKind.ST_GL_ACCOUNT, "glAccounts"):
        postable = {k: v for k, v in accounts.items() if not v.blocked and (v.data or {}).get("directPosting", True)}
        best = _best(ref.name, postable, code_key=ref.code)
        if best:
            out.append(Suggestion(MappingKind.ST_GL_ACCOUNT, str(ref.st_id), f"{ref.code} {ref.name}", best[0].key,
                                  best[0].name, best[1], best[2]))
    return out


def accept(profile: Profile, suggestion: Suggestion, *, actor: str | None = None) -> Mapping:
    return set_mapping(profile, suggestion.kind, suggestion.source_key, suggestion.target,
                       target_type=suggestion.target_type, source_label=suggestion.source_label, actor=actor,
                       how=f"accepted suggestion ({suggestion.method})", score=suggestion.score)


# --- readiness ---------------------------------------------------------------------------------------

def _parse_date(text: Any) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class PostingPeriod:
    start: date | None
    end: date | None
    source: str  # who closed the period: NAV's General Ledger Setup, or the profile's settings

    def words(self) -> str:
        return f"{self.start or '…'} to {self.end or '…'}"


NAV_SOURCE = "NAV's General Ledger Setup (allow posting from/to)"
SETTINGS_SOURCE = "this profile's settings (posting.allow_from/to; NAV does not publish its period)"


def nav_posting_period(profile: Profile) -> tuple[date | None, date | None] | None:
    """The allowed posting period NAV states, or None where the server does not publish it (older BC,
    classic NAV). Read from the reference-data cache, which the NAV connector fills from API v2.0's
    read-only ``generalLedgerSetup`` entity (AL page 30087 "APIV2 - G/L Setup"). One function so a
    test or another back end can stand in for it."""
    setup = NavReference.get_or_none((NavReference.profile == profile) & (NavReference.entity == "generalLedgerSetup"))
    if setup is None:
        return None
    data = setup.data or {}
    return _parse_date(data.get("allowPostingFrom")), _parse_date(data.get("allowPostingTo"))


def posting_period(profile: Profile, values: dict[str, Any] | None = None) -> PostingPeriod:
    """NAV's period where NAV states one; the settings where it does not."""
    stated = nav_posting_period(profile)
    if stated is not None:
        return PostingPeriod(stated[0], stated[1], NAV_SOURCE)
    values = values if values is not None else settings.all_values(profile)
    start, end = _parse_date(values["posting.allow_from"]), _parse_date(values["posting.allow_to"])
    return PostingPeriod(start, end, SETTINGS_SOURCE if (start or end) else "")


def plan_context(profile: Profile, *, validate: bool = True) -> accounting.PlanContext:
    """Everything a plan needs: settings, mappings, and checks against the cached NAV reference data."""
    values = settings.all_values(profile)
    # NAV's reference data is looked up per number, on demand, and remembered for this context: a check
    # of one document costs a few indexed lookups, a re-check of 10,000 documents one per distinct number
    seen: dict[tuple[str, str], NavReference | None] = {}

    def ref_of(entity: str, key: str) -> NavReference | None:
        if (entity, key) not in seen:
            seen[(entity, key)] = NavReference.get_or_none((NavReference.profile == profile)
                                                           & (NavReference.entity == entity)
                                                           & (NavReference.key == key))
        return seen[(entity, key)]
    period = posting_period(profile, values)
    allow_from, allow_to = period.start, period.end
    have_refs = NavReference.select().where((NavReference.profile == profile)
                                            & NavReference.entity.in_(["vendors", "accounts"])).exists()

    def check(entity: str, label: str, number: str) -> str | None:
        ref = ref_of(entity, str(number))
        if ref is None:
            return f"{label} {number} does not exist in NAV"
        if ref.blocked:
            return f"{label} {number} ({ref.name}) is blocked"
        if entity == "accounts" and not (ref.data or {}).get("directPosting", True):
            return f"{label} {number} ({ref.name}) does not allow direct posting"
        return None

    def check_vendor(number: str) -> str | None:
        return check("vendors", "NAV vendor", number)

    def check_account(number: str) -> str | None:
        return check("accounts", "G/L account", number)

    def check_item(number: str) -> str | None:
        return check("items", "NAV item", number)

    def check_dimension(code: str, value: str) -> str | None:
        ref = ref_of("dimensionValues", f"{code}:{value}")
        if ref is None:
            return f"dimension value {value} does not exist for dimension {code}"
        if ref.blocked:
            return f"dimension value {value} of {code} is blocked"
        return None

    use_checks = validate and have_refs
    lookups = _lookups(profile)
    rules_error = ""
    try:
        rules = dimensions.parse_rules(values.get("posting.dimension_rules"))
    except dimensions.RuleError as exc:
        rules, rules_error = [], str(exc)  # every row names it: nothing posts with half its dimensions
    ctx = accounting.PlanContext(
        dimension_rules=rules, dimension_rules_error=rules_error, apply_returns=bool(values["posting.apply_returns"]),
        **lookups,
        model=values["posting.model"], clearing_account=values["posting.clearing_account"],
        tax_account=values["posting.tax_account"], freight_account=values["posting.freight_account"],
        other_account=values["posting.other_account"],
        default_expense_account=values["posting.default_expense_account"],
        territory_dimension=values["posting.territory_dimension"],
        postable_po_statuses=tuple(values["posting.postable_po_statuses"]), date_rule=values["posting.date_rule"],
        allow_from=allow_from, allow_to=allow_to, mappings=mappings_dict(profile),
        check_vendor=check_vendor if use_checks else None, check_account=check_account if use_checks else None,
        check_item=check_item if use_checks else None, check_dimension=check_dimension if use_checks else None)
    ctx.period_source = period.source  # type: ignore[attr-defined]  # said on the row that it closes
    return ctx


# ServiceTitan PO statuses that mean "not received yet": the PO waits, it is not refused
NOT_YET_RECEIVED = ("Pending", "Sent", "PartiallyReceived")
# what the plan says about the record itself (fixed in ServiceTitan), as opposed to a missing mapping
DATA_MARKERS = ("is not a number", "is missing", "is negative", "has no items", "add up to",
                "does not exist in ServiceTitan", "is not a date", "control character", "NUL")


def _lookups(profile: Profile) -> dict[str, Any]:
    """What returns and dimension rules look up in what was pulled and posted (sync/domain/returns.py,
    sync/domain/dimensions.py): each a query when called, so a plan sees what an earlier plan of the same run posted."""

    def bills_of_po(po_st_id: Any) -> list[dict[str, Any]]:
        return [d.raw for d in StDocument.select(StDocument.raw).where(
            (StDocument.profile == profile) & (StDocument.kind == SourceKind.INVENTORY_BILL)
            & (StDocument.purchase_order_st_id == int(po_st_id))).order_by(StDocument.id)]

    def purchase_order(po_st_id: Any) -> dict[str, Any] | None:
        doc = StDocument.get_or_none((StDocument.profile == profile) & (StDocument.kind == SourceKind.PURCHASE_ORDER)
                                     & (StDocument.st_id == int(po_st_id)))
        return doc.raw if doc else None

    def posted_invoice(po_st_id: Any, vendor_number: str) -> str | None:
        """The NAV number of the PO's POSTED purchase invoice (what BC's Applies-to Doc. No. takes)."""
        doc = StDocument.get_or_none((StDocument.profile == profile) & (StDocument.kind == SourceKind.PURCHASE_ORDER)
                                     & (StDocument.st_id == int(po_st_id)) & (StDocument.status == DocStatus.POSTED))
        if doc is None or not doc.nav_number:
            return None
        vendor = mappings_dict(profile).get(MappingKind.VENDOR, {}).get(str(doc.raw.get("vendorId")))
        return doc.nav_number if vendor and vendor[0] == vendor_number else None

    def job_info(job_id: Any) -> dict[str, Any] | None:
        ref = StReference.get_or_none((StReference.profile == profile) & (StReference.entity == "jobs")
                                      & (StReference.st_id == int(job_id)))
        return (ref.data or {}) if ref else None

    from_bills: dict[int, str] | None = None

    def job_number(job_id: Any) -> str | None:
        nonlocal from_bills
        info = job_info(job_id)
        if info and info.get("jobNumber"):
            return str(info["jobNumber"])
        if from_bills is None:  # bills carry the job number of the job they were bought for: read once
            from_bills = {}
            for (raw,) in cast("Iterable[tuple[Any]]", StDocument.select(StDocument.raw).where(
                    (StDocument.profile == profile) & (StDocument.kind == SourceKind.INVENTORY_BILL)).tuples()):
                if isinstance(raw, dict) and isinstance(raw.get("jobId"), int) and raw.get("jobNumber"):
                    from_bills[raw["jobId"]] = str(raw["jobNumber"])
        try:
            return from_bills.get(int(job_id))
        except (TypeError, ValueError):
            return None

    return {"bills_of_po": bills_of_po, "purchase_order": purchase_order, "posted_invoice": posted_invoice, "job_info": job_info,
            "job_number": job_number}


def evaluate(doc: StDocument, ctx: accounting.PlanContext) -> tuple[str, str]:
    """(status, reason) for a document not yet in a batch: ready; a data problem in the ServiceTitan
    record (fixed there); needs mapping (with why); waiting for full receipt; or not posted by rule."""
    given = doc.source_problems
    data = list(dict.fromkeys(given)) if given else []
    problems: list[str] = []
    try:
        accounting.plan_document(doc.kind, doc.raw, ctx)
    except accounting.NotPostable as exc:
        status = doc.st_status or ""
        if doc.kind == SourceKind.PURCHASE_ORDER and status in NOT_YET_RECEIVED \
                and status not in ctx.postable_po_statuses:
            what = "partly received" if status == "PartiallyReceived" else f"{status.lower()}, not received yet"
            return DocStatus.WAITING, (f"waiting for full receipt: {lifecycle.st_ref(doc)} is {what} in "
                                       "ServiceTitan; it is checked again when ServiceTitan says Received")
        return DocStatus.SKIPPED, str(exc)
    except accounting.PlanError as exc:
        for problem in exc.problems:
            for marker in DATA_MARKERS:
                if marker in problem:
                    data.append(problem)
                    break
            else:
                problems.append(problem)
    source = getattr(ctx, "period_source", "")
    if source:  # say which source closed the period
        problems = [p.replace("is outside NAV's allowed posting period", "is outside the allowed posting period")
                    + (f" (closed by {source})" if "allowed posting period" in p else "") for p in problems]
    if data:
        rest = [p for p in dict.fromkeys(problems) if p not in data]
        return DocStatus.DATA_PROBLEM, ("data problem in ServiceTitan: " + "; ".join(data)
                                        + ". Correct the record in ServiceTitan; the next pull checks it again."
                                        + (" Also: " + "; ".join(rest) if rest else ""))
    if problems:
        return DocStatus.NEEDS_MAPPING, "; ".join(dict.fromkeys(problems))
    return DocStatus.READY, ""


REEVALUATE = (DocStatus.NEEDS_MAPPING, DocStatus.READY, DocStatus.SKIPPED, DocStatus.DATA_PROBLEM,
              DocStatus.WAITING)
# what a readiness check reads of a document (``evaluate`` and the audit event of a change): no grid columns
CHECK_COLUMNS = (StDocument.id, StDocument.kind, StDocument.st_id, StDocument.number, StDocument.status,
                 StDocument.problem, StDocument.raw, StDocument.source_problems, StDocument.st_status,
                 StDocument.version, StDocument.nav_number)


def _like_any(texts: list[str]):
    """``raw`` (canonical JSON text: sorted keys, no spaces) contains one of the texts: LIKE with the
    pattern passed as it is (not through the JSON column's converter) and its wildcards escaped."""
    condition: Any = None  # a NodeList, then an OR of them
    for text in texts:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # written out: peewee turns LIKE into GLOB on SQLite; SQLite's LIKE ignores ASCII case (a superset)
        term = NodeList((StDocument.raw, SQL("LIKE"), Value(pattern, converter=False), SQL("ESCAPE"),
                         Value("\\", converter=False)))
        condition = term if condition is None else (condition | term)
    return condition


def documents_using(profile: Profile, kind: str, source_key: Any):
    """The open documents a change of this one mapping can affect (a superset: re-checking one more document
    changes nothing), as a streamed query of the columns a re-check needs. A vendor or business unit is a
    column of the document (indexed); a SKU, a SKU type or a ServiceTitan G/L account sits inside the lines
    (the payload is searched for it, in SQL); vendor returns, which read their PO and bills, are always
    included for those; a dimension (it can come from a job's details) re-checks every open document."""
    query = StDocument.select(*CHECK_COLUMNS).where((StDocument.profile == profile)
                                                    & StDocument.status.in_(list(REEVALUATE)))
    key = str(source_key).strip()
    column = {MappingKind.VENDOR: StDocument.vendor_st_id,
              MappingKind.BUSINESS_UNIT: StDocument.business_unit_st_id}.get(kind)  # type: ignore[call-overload]
    returns = StDocument.kind == SourceKind.INVENTORY_RETURN
    bills = StDocument.kind == SourceKind.INVENTORY_BILL
    try:
        if column is not None:
            return query.where(column == int(key))
        if kind == MappingKind.ITEM:
            number = int(key)
            return query.where(_like_any([f'"skuId":{number},', f'"skuId":{number}}}']) | returns)
        if kind == MappingKind.GL_RULE:
            attribute, _sep, value = key.partition(":")
            if attribute == "sku_type":
                text = json.dumps(value, ensure_ascii=False)
                return query.where((bills & _like_any([f'"skuType":{text}'])) | returns)
            if attribute == "business_unit":
                return query.where((bills & (StDocument.business_unit_st_id == int(value))) | returns)
        if kind == MappingKind.ST_GL_ACCOUNT:
            return query.where(bills | returns)
    except ValueError:
        pass
    return query


def map_and_refresh(profile: Profile, kind: str, source_key: Any, target: str, **kwargs: Any) -> dict[str, int]:
    """Set one mapping and re-check only the documents that use it (the window's worker and ``stnav map set``)."""
    set_mapping(profile, kind, source_key, target, **kwargs)
    return refresh_readiness(profile, documents=documents_using(profile, kind, source_key))


def accept_and_refresh(profile: Profile, suggestion: Suggestion, *, actor: str | None = None) -> dict[str, int]:
    accept(profile, suggestion, actor=actor)
    return refresh_readiness(profile, documents=documents_using(profile, suggestion.kind, suggestion.source_key))


def refresh_readiness(profile: Profile, *, documents=None, actor: str | None = None) -> dict[str, int]:
    """Re-check every document not yet approved (or the ``documents`` given: a query or a list of them);
    returns counts per resulting status.

    Set-based: one transaction (so nothing moves a document between its check and its update); the
    documents streamed, each checked in memory; the changed ones written with one UPDATE per (status,
    reason) and 900 ids, and audited with one ``append_many`` (one event per document, naming it, as
    ``lifecycle.transition`` writes). Model objects passed in are updated in place."""
    ctx = plan_context(profile)
    counts: dict[str, int] = {}
    groups: dict[tuple[str, str], list[int]] = {}
    events: list[dict[str, Any]] = []
    now = utcnow()
    with db.atomic():
        if documents is None:
            documents = StDocument.select(*CHECK_COLUMNS).where(
                (StDocument.profile == profile) & (StDocument.status.in_(list(REEVALUATE))))
        rows = documents.iterator() if hasattr(documents, "iterator") else documents
        for doc in rows:
            status, reason = evaluate(doc, ctx)
            counts[status] = counts.get(status, 0) + 1
            old = doc.status
            if status == old and reason == doc.problem:
                continue
            if status not in lifecycle.ALLOWED.get(old, set()):
                raise lifecycle.TransitionError(f"{lifecycle.st_ref(doc)}: cannot go from {old} to {status}")
            problem = "" if status == DocStatus.READY else reason  # what lifecycle.transition keeps
            groups.setdefault((status, problem), []).append(doc.id)
            doc.status, doc.problem, doc.updated_at = status, problem, now
            if old != status or reason:
                events.append({"action": f"document.{status}", "st_ref": lifecycle.st_ref(doc),
                               "nav_ref": doc.nav_number or "",
                               "detail": {"from": old, "to": status, "reason": reason, "version": doc.version}})
        for (status, problem), ids in groups.items():
            for start in range(0, len(ids), 900):
                StDocument.update(status=status, problem=problem, updated_at=now).where(
                    StDocument.id.in_(ids[start:start + 900])).execute()
        audit.append_many(events, actor=actor, profile=profile.name)
    return counts


def kind_label(kind: str) -> str:
    labels: dict[str, str] = {SourceKind.PURCHASE_ORDER: "purchase order",
                              SourceKind.INVENTORY_RETURN: "vendor return"}
    return labels.get(kind, "inventory bill")


def all_mappings(profile: Profile, search: str = "") -> list[Mapping]:
    text = search.casefold()
    rows = Mapping.select().where(Mapping.profile == profile).order_by(Mapping.kind, Mapping.source_key)
    return [m for m in rows if not text or text in f"{m.kind} {m.source_key} {m.source_label} {m.target}".casefold()]
