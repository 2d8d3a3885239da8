"""A strict subset of OData ``$filter`` as Business Central accepts it.

Supported: ``eq ne gt ge lt le``, ``and``, ``or`` (same field only, like BC), parentheses,
``startswith/endswith/contains(field,'x')``, ``not`` is refused. Literals: single-quoted strings with
``''`` for a quote, numbers, GUIDs, dates, datetimes, ``true``/``false``/``null``. Anything else is a
syntax error (400), never a silently wider query.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any


class FilterError(ValueError):
    pass


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<lp>\()
  | (?P<rp>\))
  | (?P<comma>,)
  | (?P<name>[A-Za-z_][A-Za-z0-9_/]*)
""", re.VERBOSE)

_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"startswith", "endswith", "contains"}

Pred = Callable[[dict[str, Any]], bool]


def _tokenize(text: str) -> list[tuple[str, Any, int]]:
    pos = 0
    out: list[tuple[str, Any, int]] = []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise FilterError(f"Syntax error at position {pos} in '{text}'.")
        kind = m.lastgroup or ""
        raw = m.group(0)
        if kind != "ws":
            if kind == "str":
                out.append(("lit", raw[1:-1].replace("''", "'"), pos))
            elif kind == "num":
                out.append(("lit", Decimal(raw), pos))
            elif kind in ("date", "datetime"):
                out.append(("lit", raw, pos))
            elif kind == "guid":
                out.append(("lit", raw.lower(), pos))
            elif kind == "name" and raw in ("true", "false"):
                out.append(("lit", raw == "true", pos))
            elif kind == "name" and raw == "null":
                out.append(("lit", None, pos))
            else:
                out.append((kind, raw, pos))
        pos = m.end()
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    left = _norm(left)
    if isinstance(left, str) and isinstance(right, str) and _looks_guid(left) and _looks_guid(right):
        left, right = left.lower(), right.lower()
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        if op == "gt":
            return left > right
        if op == "ge":
            return left >= right
        if op == "lt":
            return left < right
        return left <= right
    except TypeError:
        return False


def _looks_guid(s: str) -> bool:
    return len(s) == 36 and s.count("-") == 4


class _Parser:
    def __init__(self, text: str, fields: set[str] | None) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.fields = fields

    def peek(self) -> tuple[str, Any, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, Any, int]:
        tok = self.peek()
        if tok is None or (kind and tok[0] != kind) or (value and tok[1] != value):
            where = tok[2] if tok else len(self.text)
            raise FilterError(f"Syntax error at position {where} in '{self.text}'.")
        self.i += 1
        return tok

    def parse(self) -> tuple[Pred, set[str]]:
        pred, fields = self.expr()
        if self.peek() is not None:
            raise FilterError(f"Syntax error at position {self.peek()[2]} in '{self.text}'.")  # type: ignore[index]
        return pred, fields

    def expr(self) -> tuple[Pred, set[str]]:
        left, lf = self.term()
        while (tok := self.peek()) and tok[0] == "name" and tok[1] == "or":
            self.take()
            right, rf = self.term()
            if len(lf | rf) > 1:
                raise FilterError("The 'OR' operator is not supported on distinct fields on an OData filter.")
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
            lf = lf | rf
        return left, lf

    def term(self) -> tuple[Pred, set[str]]:
        left, lf = self.factor()
        while (tok := self.peek()) and tok[0] == "name" and tok[1] == "and":
            self.take()
            right, rf = self.factor()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
            lf = lf | rf
        return left, lf

    def field(self) -> str:
        tok = self.take("name")
        name = tok[1]
        if name in _OPS or name in ("and", "or", "not") or name in _FUNCS:
            raise FilterError(f"Syntax error at position {tok[2]} in '{self.text}'.")
        if self.fields is not None and name not in self.fields:
            raise FilterError(f"Could not find a property named '{name}' on the entity.")
        return name

    def factor(self) -> tuple[Pred, set[str]]:
        tok = self.peek()
        if tok is None:
            raise FilterError(f"Syntax error at position {len(self.text)} in '{self.text}'.")
        if tok[0] == "lp":
            self.take()
            pred, fields = self.expr()
            self.take("rp")
            return pred, fields
        if tok[0] == "name" and tok[1] in _FUNCS:
            fn = self.take()[1]
            self.take("lp")
            name = self.field()
            self.take("comma")
            lit = self.take("lit")[1]
            self.take("rp")
            if not isinstance(lit, str):
                raise FilterError(f"Syntax error at position {tok[2]} in '{self.text}'.")
            ops = {"startswith": str.startswith, "endswith": str.endswith,
                   "contains": lambda a, b: b in a}
            f = ops[fn]
            return (lambda r: isinstance(r.get(name), str) and f(r.get(name), lit)), {name}
        name = self.field()
        op_tok = self.take("name")
        if op_tok[1] not in _OPS:
            raise FilterError(f"Syntax error at position {op_tok[2]} in '{self.text}'.")
        lit = self.take("lit")[1]
        op = op_tok[1]
        return (lambda r: _compare(op, r.get(name), lit)), {name}


def compile_filter(text: str, fields: set[str] | None = None) -> Pred:
    pred, _ = _Parser(text, fields).parse()
    return pred
