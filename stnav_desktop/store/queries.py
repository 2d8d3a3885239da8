"""Typed views of peewee results for the type checker: ``query.tuples()`` iterates plain tuples at run
time, but peewee's stubs say model instances."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast


def rows(query: Any) -> Iterable[tuple[Any, ...]]:
    """``query`` (a ``.tuples()`` select) as the tuples it yields."""
    return cast("Iterable[tuple[Any, ...]]", query)
