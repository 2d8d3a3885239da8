"""Vendor matching an AP clerk can trust: names compared after normalising what does not tell two
vendors apart (legal form, ``&``/``and``, common abbreviations, punctuation, accents), then the tax id,
phone and address used as evidence where both sides have them. Answers "no match" when nothing is
close, marks a NAV vendor already mapped to another ServiceTitan vendor, and says how sure it is.

The thresholds are measured, not guessed: ``benchmarks/bench_vendor_suggestions.py`` prints precision
and recall on a labelled set of realistic vendor lists (``benchmarks/data/vendor_pairs.csv``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

SUGGEST_MIN = 80.0  # below this: "no match" (a person picks or creates the vendor)
AUTO_ACCEPT = 96.0  # at or above this (with no conflict and no other vendor mapped to it): safe to auto-accept

LEGAL_FORMS = {"inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "co", "company", "corp",
               "corporation", "plc", "pllc", "pc", "gmbh", "sa", "srl", "bv", "nv", "pty", "the"}
ABBREVIATIONS = {
    "bros": "brothers", "mfg": "manufacturing", "mfrs": "manufacturers", "svc": "service", "svcs": "services",
    "serv": "service", "intl": "international", "natl": "national", "dist": "distribution",
    "distrib": "distribution", "distr": "distribution", "sply": "supply", "sup": "supply", "supp": "supply",
    "elec": "electric", "elect": "electric", "mech": "mechanical", "htg": "heating", "plbg": "plumbing",
    "plmb": "plumbing", "assoc": "associates", "ent": "enterprises", "ents": "enterprises", "eqpt": "equipment",
    "equip": "equipment", "ind": "industries", "inds": "industries", "hdwe": "hardware", "hdw": "hardware",
    "mtl": "metal", "mtls": "metals", "ac": "air conditioning", "a/c": "air conditioning", "cntr": "center",
    "ctr": "center", "prod": "products", "prods": "products", "tech": "technologies", "sys": "systems",
    "wtr": "water", "whse": "warehouse", "n": "north", "s": "south", "e": "east", "w": "west",
}


def normalise(name: str) -> str:
    """'W.W. Grainger, Inc.' → 'ww grainger'; 'Smith & Sons Plbg Co' → 'smith and sons plumbing'."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("&", " and ").replace("+", " and ").replace("a/c", " ac ")
    text = re.sub(r"(?<=\b[a-z])\.(?=[a-z]\b)", "", text)  # W.W. → WW, A.O. → AO
    text = text.replace("'", "").replace("’", "").replace(".", " ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    tokens = text.split()
    # single letters in a row are initials: "w w grainger" → "ww grainger"
    merged: list[str] = []
    in_initials = False
    for token in tokens:
        if len(token) == 1 and token.isalpha():
            if in_initials:
                merged[-1] += token
            else:
                merged.append(token)
            in_initials = True
        else:
            merged.append(token)
            in_initials = False
    out: list[str] = []
    for token in merged:
        expanded = ABBREVIATIONS.get(token, token) if len(merged) > 1 or len(token) > 1 else token
        out.extend(expanded.split())
    while len(out) > 1 and out[-1] in LEGAL_FORMS:
        out.pop()
    while len(out) > 1 and out[0] == "the":
        out.pop(0)
    out = [t for t in out if t not in ("inc", "llc", "ltd", "corp")] or out
    return " ".join(out)


def phone_digits(value: str | None) -> str:
    digits = re.sub(r"\D", "", value or "")
    return digits[-10:] if len(digits) >= 7 else ""


def zip5(value: str | None) -> str:
    text = re.sub(r"\s", "", value or "")
    return text[:5].upper() if len(text) >= 5 else text.upper()


def street_number(value: str | None) -> str:
    found = re.match(r"\s*(\d+)", value or "")
    return found.group(1) if found else ""


def tax_key(value: str | None) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value or "").upper()


@dataclass(frozen=True)
class Facts:
    """What both sides may know about a vendor. Empty strings where a side does not know."""

    key: str
    name: str
    phone: str = ""
    postal_code: str = ""
    street: str = ""
    tax_id: str = ""
    blocked: bool = False
    norm: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.norm:  # normalised once, not on every comparison
            object.__setattr__(self, "norm", normalise(self.name))


@dataclass
class Match:
    key: str
    name: str
    score: float
    method: str
    evidence: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    ambiguous: bool = False

    @property
    def safe_to_auto_accept(self) -> bool:
        return self.score >= AUTO_ACCEPT and not self.conflicts and not self.ambiguous


def name_score(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 100.0
    if a.replace(" ", "") == b.replace(" ", ""):
        return 99.0
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))


def _evidence(st: Facts, nav: Facts) -> tuple[float, list[str], list[str]]:
    bonus, said, conflicts = 0.0, [], []
    if tax_key(st.tax_id) and tax_key(nav.tax_id):
        if tax_key(st.tax_id) == tax_key(nav.tax_id):
            return 100.0, ["same tax id"], []
        conflicts.append("different tax id")
        bonus -= 40
    p1, p2 = phone_digits(st.phone), phone_digits(nav.phone)
    if p1 and p2:
        if p1 == p2:
            bonus += 15
            said.append("same phone")
        else:
            bonus -= 8
            conflicts.append("different phone")
    z1, z2 = zip5(st.postal_code), zip5(nav.postal_code)
    if z1 and z2:
        same_street = street_number(st.street) and street_number(st.street) == street_number(nav.street)
        if z1 == z2 and same_street:
            bonus += 12
            said.append("same address")
        elif z1 != z2:
            bonus -= 8
            conflicts.append("different postal code")
    return bonus, said, conflicts


def best_match(st: Facts, candidates: Iterable[Facts]) -> Match | None:
    """The best NAV vendor for ``st`` or None ("no match"). Blocked NAV vendors are never offered."""
    wanted = st.norm
    scored: list[tuple[float, float, Facts, list[str], list[str]]] = []
    for nav in candidates:
        if nav.blocked:
            continue
        base = name_score(wanted, nav.norm)
        bonus, said, conflicts = _evidence(st, nav)
        if bonus >= 100:  # same tax id: the same legal entity
            scored.append((100.0, base, nav, said, []))
            continue
        if base < 60 and bonus <= 0:
            continue
        scored.append((max(0.0, min(100.0, base + bonus)), base, nav, said, conflicts))
    if not scored:
        return None
    scored.sort(key=lambda s: (-s[0], -s[1], s[2].key))
    score, base, nav, said, conflicts = scored[0]
    ambiguous = len(scored) > 1 and scored[1][0] >= score - 3 and scored[1][2].norm != nav.norm
    if ambiguous:
        score -= 10
    if score < SUGGEST_MIN:
        return None
    if "same tax id" in said:
        method = "same tax id"
    elif base >= 99:
        method = "same name" + (" (legal form, punctuation ignored)" if st.name.strip() != nav.name.strip() else "")
    else:
        method = "similar name"
    if said and method != "same tax id":
        method += " + " + ", ".join(said)
    return Match(nav.key, nav.name, round(score, 1), method, said, conflicts, ambiguous)


class CandidateIndex:
    """NAV's vendor list prepared once for many lookups: normalised names for a C-speed shortlist, and
    phone / tax id indexes, so one suggestion costs milliseconds with thousands of NAV vendors."""

    SHORTLIST = 12

    def __init__(self, candidates: Iterable[Facts]) -> None:
        self.candidates = [c for c in candidates if not c.blocked]
        self.norms = [c.norm for c in self.candidates]
        self.by_phone: dict[str, list[Facts]] = {}
        self.by_tax: dict[str, list[Facts]] = {}
        for c in self.candidates:
            if phone_digits(c.phone):
                self.by_phone.setdefault(phone_digits(c.phone), []).append(c)
            if tax_key(c.tax_id):
                self.by_tax.setdefault(tax_key(c.tax_id), []).append(c)

    def shortlist(self, st: Facts) -> list[Facts]:
        picked: dict[int, Facts] = {}
        for scorer in (fuzz.ratio, fuzz.token_sort_ratio):
            for _text, _score, i in process.extract(st.norm, self.norms, scorer=scorer, limit=self.SHORTLIST,
                                                      score_cutoff=50):
                picked[i] = self.candidates[i]
        extra = self.by_phone.get(phone_digits(st.phone), []) + self.by_tax.get(tax_key(st.tax_id), [])
        out = list(picked.values())
        out.extend(c for c in extra if all(c is not p for p in out))
        return out

    def best(self, st: Facts) -> Match | None:
        return best_match(st, self.shortlist(st))
