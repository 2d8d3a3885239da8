"""ServiceTitan's JSON decoded with exact decimals by msgspec where it can, the standard library where it
cannot: the same objects (values, types, key order) as ``json.loads(text, parse_float=Decimal)`` for every
text, or the same refusal; and a page said to hold no float holds none."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import pytest

from stnav_desktop.connectors.servicetitan import parsing


def shape(value: Any) -> Any:
    """Values with their exact types and the order of their keys (== alone says 1 == Decimal(1))."""
    if isinstance(value, dict):
        return ("dict", [(k, shape(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [shape(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, repr(value))


def has_float(value: Any) -> bool:
    if isinstance(value, dict):
        return any(has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(has_float(v) for v in value)
    return isinstance(value, float)


def standard(text: bytes | str) -> Any:
    return json.loads(text, parse_float=Decimal)


def check(text: bytes | str) -> None:
    try:
        expected = standard(text)
    except ValueError as exc:
        with pytest.raises(ValueError):
            parsing.loads_vouched(text)
        assert type(exc).__name__ in ("JSONDecodeError", "UnicodeDecodeError")
        return
    got, vouched = parsing.loads_vouched(text)
    assert shape(got) == shape(expected), text[:80]
    assert vouched is not has_float(expected), text[:80]
    assert shape(parsing.loads(text)) == shape(expected)


def test_every_export_page_of_the_simulator_decodes_as_the_standard_library_does(sandbox, client):
    """Every feed's pages as the simulator sends them, its hazard records included (a lone surrogate
    escape: msgspec refuses it, the standard library reads it)."""
    fast_pages = 0
    for folder, feed in (("inventory", "purchase-orders"), ("accounting", "inventory-bills"),
                         ("inventory", "returns")):
        token = None
        while True:
            resp = client.http.request("GET", client.path(folder, f"export/{feed}"),
                                       params={"from": token} if token else None)
            check(resp.content)
            try:
                parsing._fast_loads(resp.content)
                fast_pages += 1
            except Exception:  # noqa: BLE001 - refused: the standard library decided (checked above)
                pass
            body = standard(resp.content)
            if not body["hasMore"]:
                break
            token = body["continueFrom"]
    assert fast_pages > 0


ODDITIES = [
    b'{"total": 2346.80, "tax": 178.10, "qty": 1, "cost": "2150.00"}', b'[1.0, 10.50, -0, -0.0, 0.000]',
    b'[1e5, 1E-7, -1.5E-3, 123.456e-2, 1e400, 1.7976931348623157e309]',
    b'{"big": 123456789012345678901234567890, "neg": -9223372036854775809, "u64": 18446744073709551616}',
    b'{"a": 1, "a": 2, "b": {"z": 1, "y": 2}}', b'{"e": "\\u00e9", "emoji": "\\ud83d\\ude00", "raw": "\xf0\x9f\x98\x80"}',
    b'{"lone": "\\ud83d cut"}', b'{"nul": "\\u0000", "ctl": "a\\tb\\n"}', b'"\xed\xa0\x80"', b'\xef\xbb\xbf{"a": 1}',
    b'{"a": NaN}', b'[Infinity, -Infinity]', b'{"a": 1} x', b'"\xff"', b'[1,]', b'{"a" 1}', b'[01]', b'[.5]',
    b'"a\tb"', b'[\n1\r\n,\t2 ]', b'[true, false, null]', b'{}', b'[]', b'', b'   ', '{"text": "as str"}',
    '{"x": 1.25}'.encode("utf-16"), '{"lone": "\ud83d in a text already decoded"}',
]


@pytest.mark.parametrize("text", ODDITIES, ids=range(len(ODDITIES)))
def test_oddities_decode_as_the_standard_library_does(text):
    check(text)


def test_a_text_with_a_nan_or_infinity_literal_is_not_vouched_float_free():
    assert parsing.loads_vouched(b'{"a": 1.5, "b": NaN}')[1] is False
    assert parsing.loads_vouched(b'[-Infinity]')[1] is False
    assert parsing.loads_vouched(b'{"a": "NaN and Infinity in a text"}') == ({"a": "NaN and Infinity in a text"}, True)
