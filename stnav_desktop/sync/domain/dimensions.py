"""Every dimension an office uses (docs/accounting.md, *Dimensions*): rules that take a ServiceTitan
attribute of a document (business unit, job number, job type, project, budget code, inventory location,
technician) to a NAV dimension, several at once, each with a default, a *required* flag and validation
against NAV's dimension values. Pure functions; no I/O.

A rule is written ``<attribute>:<DIMENSION>[:map|:value][:required][:default=<VALUE>]`` (setting
``posting.dimension_rules``), e.g. ``job:JOB:value:required`` (the job number itself is the JOB value) or
``inventory_location:TRUCK:map:default=SHOP`` (``dimension`` mappings ``inventory_location:<id>`` → value;
many ServiceTitan values may map to one NAV value). The territory from the business unit
(``business_unit`` mappings, ``posting.territory_dimension``) is the built-in first rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stnav_desktop.store.models import MappingKind, SourceKind

ATTRIBUTES = ("business_unit", "job", "job_type", "project", "budget_code", "inventory_location", "technician")
MODES = ("map", "value")
VALUE_LEN = 20  # Dimension Value Code: Code[20]


class RuleError(ValueError):
    pass


@dataclass(frozen=True)
class DimensionRule:
    attribute: str
    dimension: str
    mode: str = "map"
    required: bool = False
    default: str = ""

    def text(self) -> str:
        parts = [self.attribute, self.dimension, self.mode]
        if self.required:
            parts.append("required")
        if self.default:
            parts.append(f"default={self.default}")
        return ":".join(parts)


def parse_rule(text: str) -> DimensionRule:
    """One rule from its text; ``RuleError`` names the rule and what is wrong."""
    parts = [p.strip() for p in str(text).split(":")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise RuleError(f"dimension rule {text!r}: write it as <attribute>:<DIMENSION>[:map|:value][:required]"
                        "[:default=<VALUE>]")
    attribute, dimension = parts[0].lower(), parts[1].upper()
    if attribute not in ATTRIBUTES:
        raise RuleError(f"dimension rule {text!r}: {attribute!r} is not one of {', '.join(ATTRIBUTES)}")
    if len(dimension) > VALUE_LEN:
        raise RuleError(f"dimension rule {text!r}: dimension code {dimension} is longer than {VALUE_LEN}")
    mode, required, default = "map", False, ""
    for flag in parts[2:]:
        low = flag.lower()
        if low in MODES:
            mode = low
        elif low == "required":
            required = True
        elif low.startswith("default="):
            default = flag.split("=", 1)[1].strip().upper()
            if len(default) > VALUE_LEN:
                raise RuleError(f"dimension rule {text!r}: default {default} is longer than {VALUE_LEN}")
        elif flag:
            raise RuleError(f"dimension rule {text!r}: {flag!r} is not map, value, required or default=<VALUE>")
    return DimensionRule(attribute, dimension, mode, required, default)


def parse_rules(texts: Any) -> list[DimensionRule]:
    rules = [parse_rule(t) for t in (texts or []) if str(t).strip()]
    seen: set[str] = set()
    for rule in rules:
        if rule.dimension in seen:
            raise RuleError(f"dimension {rule.dimension} has two rules; one value per dimension")
        seen.add(rule.dimension)
    return rules


def job_number(raw: dict[str, Any], ctx: Any) -> str:
    """The ServiceTitan job number of a document ("" when it belongs to no job or it is unknown): bills
    carry it (``jobNumber``); purchase orders and returns carry the job id, looked up in what was pulled."""
    number = raw.get("jobNumber")
    if number:
        return str(number).strip()
    job_id = raw.get("jobId")
    lookup = getattr(ctx, "job_number", None)
    if job_id and lookup is not None:
        return str(lookup(job_id) or "")
    return ""


def attribute(kind: str, raw: dict[str, Any], name: str, ctx: Any) -> tuple[str, str]:
    """(ServiceTitan key, value as NAV would take it) of one attribute; ("", "") when the document has none."""
    if name == "business_unit":
        bu = (raw.get("businessUnit") or {}).get("id") if kind == SourceKind.INVENTORY_BILL else raw.get(
            "businessUnitId")
        return ("", "") if bu is None else (str(bu), str(bu))
    if name == "job":
        job_id = raw.get("jobId")
        number = job_number(raw, ctx)
        return (str(job_id) if job_id else "", number)
    if name == "job_type":
        info = getattr(ctx, "job_info", None)
        job_type = raw.get("jobTypeId") or ((info(raw.get("jobId")) or {}).get("jobTypeId")
                                            if info and raw.get("jobId") else None)
        return ("", "") if job_type is None else (str(job_type), str(job_type))
    if name == "inventory_location" and kind == SourceKind.INVENTORY_BILL:
        # bills name the location per line (``inventoryLocation``, text): the first line's
        names = [str(i.get("inventoryLocation")) for i in raw.get("items") or [] if i.get("inventoryLocation")]
        return (names[0], names[0]) if names else ("", "")
    key = {"project": "projectId", "budget_code": "budgetCodeId", "inventory_location": "inventoryLocationId",
           "technician": "technicianId"}[name]
    value = raw.get(key)
    return ("", "") if value in (None, "", 0) else (str(value), str(value))


def apply(rules: list[DimensionRule], kind: str, raw: dict[str, Any], ctx: Any, ref: str,
          problems: list[str], dims: dict[str, str]) -> dict[str, str]:
    """``dims`` (the territory) plus one value per rule; each missing or unknown value named in ``problems``."""
    out = dict(dims)
    for rule in rules:
        if rule.dimension in out:
            continue  # the territory rule already set it (a business_unit rule for the same dimension)
        key, natural = attribute(kind, raw, rule.attribute, ctx)
        value = ""
        if rule.mode == "value":
            value = natural.upper()
            if len(value) > VALUE_LEN:
                problems.append(f"{ref}: {rule.attribute} {natural} is longer than {VALUE_LEN} characters, too long "
                                f"for a {rule.dimension} dimension value")
                continue
        elif key:
            mapped = ctx.mapped(MappingKind.DIMENSION, f"{rule.attribute}:{key}")
            if mapped and (not mapped[1] or mapped[1].upper() == rule.dimension):
                value = mapped[0]
        what = f"{rule.attribute.replace('_', ' ')} {natural or key}" if key or natural else \
            f"no {rule.attribute.replace('_', ' ')}"
        if not value and rule.default:
            value = rule.default
        if not value:
            if rule.required:
                reason = "is not mapped to" if key and rule.mode == "map" else "gives no value for"
                problems.append(f"{ref}: {what} {reason} a {rule.dimension} dimension value (required)")
            continue
        if ctx.check_dimension and (problem := ctx.check_dimension(rule.dimension, value)):
            problems.append(f"{ref}: {rule.dimension} from {what}: {problem}")
            continue
        out[rule.dimension] = value
    return out
