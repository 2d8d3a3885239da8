"""OData helpers: literal escaping for ``$filter``, exact-decimal JSON, server-driven paging."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_MARK = "\u0000DEC:"
_MARK_RE = re.compile(r'"\\u0000DEC:([-+0-9.Ee]+)"')


def quote_literal(value: str) -> str:
    """A string literal for ``$filter``: wrapped in single quotes, each quote doubled. The value cannot
    end the literal early, so it can never add a condition (``x' or 1 eq 1 or 'a``) to the query."""
    if not isinstance(value, str):
        raise TypeError("quote_literal needs a str")
    if any(ord(ch) < 32 for ch in value):
        raise ValueError("control characters are not allowed in a filter value")
    return "'" + value.replace("'", "''") + "'"


def literal(value: Any) -> str:
    """Any value as an OData v4 literal (strings quoted, GUIDs/numbers/dates bare)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int | Decimal):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes in filters must be timezone-aware")
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return "null"
    return quote_literal(str(value))


def eq_filter(**conditions: Any) -> str:
    """``field eq literal and ...`` for the given fields (skipping None values)."""
    return " and ".join(f"{k} eq {literal(v)}" for k, v in conditions.items() if v is not None)


def guid_key(value: str) -> str:
    """A GUID used as a key in a URL, validated (never free text)."""
    return str(uuid.UUID(str(value)))


def _prepare(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return _MARK + format(obj, "f")
    if isinstance(obj, Mapping):
        return {k: _prepare(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_prepare(v) for v in obj]
    if isinstance(obj, datetime):
        if obj.tzinfo is None:
            raise ValueError("naive datetime in a request body")
        return obj.isoformat().replace("+00:00", "Z")
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, float):
        raise TypeError("money and quantities must be Decimal, not float")
    return obj


def dumps(obj: Any) -> str:
    """JSON with Decimals written as JSON numbers with their exact text (``12.50`` stays ``12.50``)."""
    return _MARK_RE.sub(lambda m: m.group(1), json.dumps(_prepare(obj), ensure_ascii=False))


def loads(data: str | bytes) -> Any:
    return json.loads(data, parse_float=Decimal)


def parse_datetime(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value}")
    return dt


def parse_date(value: str) -> date:
    return date.fromisoformat(value[:10])


def iter_pages(client: Any, path: str, params: Mapping[str, Any] | None = None, *,
               page_size: int | None = None) -> Iterator[dict[str, Any]]:
    """Every entity of a collection: asks for ``page_size`` per page (``Prefer: odata.maxpagesize``) and
    follows ``@odata.nextLink`` verbatim (never rebuilt: the skip token is opaque)."""
    headers = {"Prefer": f"odata.maxpagesize={page_size}"} if page_size else None
    payload = client.get(path, params=params, headers=headers)
    while True:
        yield from payload.get("value", [])
        link = payload.get("@odata.nextLink")
        if not link:
            return
        payload = client.get(link, headers=headers)
