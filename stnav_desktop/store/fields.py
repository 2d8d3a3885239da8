"""Column types that keep money exact and time zones explicit in SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from peewee import TextField


class MoneyField(TextField):
    """A ``Decimal`` stored as its exact text (SQLite's NUMERIC affinity would turn it into a float)."""

    field_type = "TEXT"

    def db_value(self, value):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, not float")
        try:
            return str(Decimal(value))
        except InvalidOperation:
            raise ValueError(f"not an amount: {value!r}") from None

    def python_value(self, value):
        return None if value is None else Decimal(value)


class UtcDateTimeField(TextField):
    """A timezone-aware datetime stored as ISO 8601 in UTC (sorts as text). Naive values are refused."""

    field_type = "TEXT"

    def db_value(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            raise ValueError(f"naive datetime refused: {value!r} (dates carry a time zone)")
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def python_value(self, value):
        return None if value is None else datetime.fromisoformat(value)


class JsonField(TextField):
    field_type = "TEXT"

    def db_value(self, value):
        if value is None:
            return None
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default,
                          ensure_ascii=False)

    def python_value(self, value):
        return None if value is None else json.loads(value, parse_float=Decimal)


def _json_default(obj):
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime):
        if obj.tzinfo is None:
            raise ValueError(f"naive datetime refused: {obj!r}")
        return obj.astimezone(UTC).isoformat()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def utcnow() -> datetime:
    return datetime.now(UTC)
