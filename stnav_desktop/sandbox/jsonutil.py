"""JSON with exact decimals: parse numbers as Decimal, write Decimal as a JSON number with its exact text."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_MARK = "\u0000DEC:"
_MARK_RE = re.compile(r'"\\u0000DEC:([-+0-9.Ee]+)"')


def _prepare(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return _MARK + format(obj, "f")
    if isinstance(obj, dict):
        return {k: _prepare(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_prepare(v) for v in obj]
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    return obj


def dumps(obj: Any) -> str:
    return _MARK_RE.sub(lambda m: m.group(1), json.dumps(_prepare(obj), ensure_ascii=False))


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)
