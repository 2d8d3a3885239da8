"""Canonical JSON text (sorted keys, compact, non-ASCII as itself) made by orjson, a C serializer, where it
gives the very bytes ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
default=str)`` gives: content hashes of stored documents and the audit chain's hashes are computed over
this text, so it must never change for data already stored.

orjson and the standard library agree byte for byte on dicts with text keys, lists, text, integers within
64 bits, booleans and null (same escapes: ``\\n``, ``\\u001f``..., non-ASCII and U+2028 left as they are;
keys sorted by code point, which is the UTF-8 byte order orjson sorts by), and on ``Decimal`` through
``default=str`` (a JSON string with the exact digits, as stored so far); subclasses of ``str`` and ``int``
(``DocStatus``) are written as their value by both. They differ on floats
(``1e-05`` / ``0.00001``, ``NaN`` / ``null``) and on other types (datetime, enum, dataclass); a payload
holding any of those, a lone surrogate, a non-text key or an integer beyond 64 bits goes through
``json.dumps`` as before. The connector's JSON holds none of them (amounts are read as ``Decimal``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

_PLAIN = frozenset({str, int, bool, type(None), Decimal})
_OPTION = orjson.OPT_SORT_KEYS


def _plain(obj: Any) -> bool:
    """Only the types both serializers write alike, at any depth. A container's own containers are checked
    in the same loop (one call per two levels: a payload's items and their objects are many and small)."""
    for value in obj.values() if type(obj) is dict else obj:
        kind = type(value)
        if kind in _PLAIN:
            continue
        if kind is dict or kind is list or kind is tuple:
            for inner in value.values() if kind is dict else value:
                kind = type(inner)
                if kind in _PLAIN:
                    continue
                if kind is dict or kind is list or kind is tuple:
                    if not _plain(inner):
                        return False
                    continue
                if isinstance(inner, str | int):  # as below
                    continue
                return False
            continue
        if isinstance(value, str | int):  # a StrEnum member (DocStatus) or an IntEnum: its value, in both
            continue
        return False
    return True


def is_plain(obj: Any) -> bool:
    """A dict or list holding, at any depth, only what orjson and ``json.dumps`` write alike (the check
    ``dumps_sorted`` makes): then ``dumps_plain`` gives ``dumps_sorted``'s bytes or raises TypeError."""
    kind = type(obj)
    return (kind is dict or kind is list) and _plain(obj)


def dumps_plain(obj: Any, default: Any = str) -> bytes:
    """orjson's half of ``dumps_sorted`` for an ``obj`` that ``is_plain`` accepted (checked once for a
    payload serialised in parts): the same bytes, or TypeError (a non-text key, an integer beyond 64 bits,
    a lone surrogate) where ``dumps_sorted`` would go through ``json.dumps``."""
    return orjson.dumps(obj, default=default, option=_OPTION)


def dumps_sorted(obj: Any, default: Any = str) -> bytes:
    """``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default)``
    encoded as UTF-8: the same bytes, made by orjson when that is certain. ``default`` must turn a
    ``Decimal`` into ``str(value)`` (as ``str`` does). Raises ``UnicodeEncodeError`` on a lone surrogate,
    as encoding the standard library's text does."""
    kind = type(obj)
    if (kind is dict or kind is list) and _plain(obj):
        try:
            return orjson.dumps(obj, default=default, option=_OPTION)
        except TypeError:  # a non-text key, an integer beyond 64 bits, a lone surrogate: as before
            pass
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=default,
                      ensure_ascii=False).encode("utf-8")


def dumps_texts(values: list[Any]) -> bytes:
    """``json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode("utf-8")`` for a flat list of
    texts and integers (a hash's fields), without ``dumps_sorted``'s walk: for those both write the same
    bytes. Raises ``UnicodeEncodeError`` on a lone surrogate, as before."""
    try:
        return orjson.dumps(values)
    except TypeError:  # a lone surrogate, an integer beyond 64 bits, a type orjson does not write
        return json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
