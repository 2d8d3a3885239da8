"""OData mechanics of the simulator: URL segments, query options, envelopes, paging."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote, urlencode

from stnav_desktop.sandbox.nav.filters import FilterError, compile_filter
from stnav_desktop.sandbox.nav.schema import ENTITY_TYPE, FIELDS
from stnav_desktop.sandbox.nav.store import ApiError, etag_for

_SEG = re.compile(r"^(?P<name>[A-Za-z$][A-Za-z0-9_.$]*)(?:\((?P<key>[^)]*)\))?$")


def split_segments(path: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for raw in [p for p in path.split("/") if p]:
        m = _SEG.match(raw)
        if not m:
            raise ApiError(404, "BadRequest_NotFound", f"No HTTP resource was found that matches the request URI "
                           f"'{path}'.")
        key = m.group("key")
        if key is not None:
            key = key.strip()
            if key.startswith("'") and key.endswith("'"):
                key = key[1:-1].replace("''", "'")
            key = key.lower() if len(key) == 36 and key.count("-") == 4 else key
        out.append((m.group("name"), key))
    return out


def public(rec: dict[str, Any]) -> dict[str, Any]:
    out = {"@odata.etag": etag_for(rec)}
    out.update({k: v for k, v in rec.items() if not k.startswith("_")})
    return out


def split_top_level(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts]


def parse_expand(text: str) -> dict[str, dict[str, str]]:
    """``a($expand=b),c`` -> {"a": {"$expand": "b"}, "c": {}}"""
    out: dict[str, dict[str, str]] = {}
    for item in split_top_level(text):
        m = re.match(r"^([A-Za-z]+)(?:\((.*)\))?$", item, re.S)
        if not m:
            raise ApiError(400, "BadRequest", f"Syntax error in $expand '{text}'.")
        opts: dict[str, str] = {}
        if m.group(2):
            for opt in _split_semicolons(m.group(2)):
                k, _, v = opt.partition("=")
                opts[k.strip()] = v.strip()
        out[m.group(1)] = opts
    return out


def _split_semicolons(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == ";" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return parts


def apply_query(entity: str, records: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    fields = set(FIELDS[entity])
    if query.get("$filter"):
        try:
            pred = compile_filter(query["$filter"], fields)
        except FilterError as exc:
            raise ApiError(400, "BadRequest", str(exc).replace("on the entity", f"on type 'Microsoft.NAV."
                                                                  f"{ENTITY_TYPE[entity]}'")) from None
        records = [r for r in records if pred(r)]
    if query.get("$orderby"):
        for clause in reversed(query["$orderby"].split(",")):
            name, _, direction = clause.strip().partition(" ")
            if name not in fields:
                raise ApiError(400, "BadRequest", f"Could not find a property named '{name}' on type "
                               f"'Microsoft.NAV.{ENTITY_TYPE[entity]}'.")
            records = sorted(records, key=lambda r, n=name: (r.get(n) is None, r.get(n)),
                             reverse=direction.strip().lower() == "desc")
    return records


def check_select(entity: str, select: str | None) -> list[str] | None:
    if not select:
        return None
    names = [s.strip() for s in select.split(",") if s.strip()]
    for n in names:
        if n not in FIELDS[entity]:
            raise ApiError(400, "BadRequest", f"Could not find a property named '{n}' on type "
                           f"'Microsoft.NAV.{ENTITY_TYPE[entity]}'.")
    return names


def int_option(query: dict[str, str], name: str) -> int | None:
    if name not in query:
        return None
    try:
        value = int(query[name])
    except ValueError:
        raise ApiError(400, "BadRequest", f"Invalid value '{query[name]}' for {name} query option found.") from None
    if value < 0:
        raise ApiError(400, "BadRequest", f"Invalid value '{query[name]}' for {name} query option found.")
    return value


def skiptoken(offset: int) -> str:
    return base64.urlsafe_b64encode(f"off:{offset}".encode()).decode().rstrip("=")


def parse_skiptoken(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if not raw.startswith("off:"):
            raise ValueError
        return int(raw[4:])
    except ValueError:
        raise ApiError(400, "BadRequest", "The skip token is not valid.") from None


def next_link(url_base: str, path: str, query: dict[str, str], offset: int) -> str:
    q = {k: v for k, v in query.items() if k != "$skiptoken"}
    q["$skiptoken"] = skiptoken(offset)
    return url_base + quote(path, safe="/()$'") + "?" + urlencode(q, quote_via=quote, safe="$(),'")
