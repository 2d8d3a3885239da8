"""A frozen copy of ``store/jsontext.dumps_sorted`` as it was before the staging and audit speed-ups: the
oracle both equivalence tests (staging, audit) compare the new code's bytes with."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

_REF_PLAIN = frozenset({str, int, bool, type(None), Decimal})


def ref_plain(obj: Any) -> bool:
    for value in obj.values() if type(obj) is dict else obj:
        kind = type(value)
        if kind in _REF_PLAIN:
            continue
        if kind is dict or kind is list or kind is tuple:
            if not ref_plain(value):
                return False
            continue
        if isinstance(value, str | int):
            continue
        return False
    return True


def ref_dumps_sorted(obj: Any, default: Any = str) -> bytes:
    kind = type(obj)
    if (kind is dict or kind is list) and ref_plain(obj):
        try:
            return orjson.dumps(obj, default=default, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            pass
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=default,
                      ensure_ascii=False).encode("utf-8")
