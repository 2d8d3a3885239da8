"""Numbers as the user's locale writes them (thousands separators, decimal mark), from Decimal without
ever going through float; quantities never in exponent form (``1E+1`` is 10)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from stnav_desktop.ui.qt import QtCore


def _marks() -> tuple[str, str]:
    locale = QtCore.QLocale()
    return locale.groupSeparator() or ",", locale.decimalPoint() or "."


def _localise(text: str) -> str:
    group, point = _marks()
    return text.replace(",", "\0").replace(".", point).replace("\0", group)


def money(value, *, blank: str = "?") -> str:
    """12345.6 → '12,345.60' (en-US) or '12.345,60' (de-DE)."""
    if value is None or value == "":
        return blank
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    return _localise(f"{amount:,.2f}")


def quantity(value, *, blank: str = "") -> str:
    """Decimal('1E+1') → '10'; Decimal('2.500') → '2.5'; thousands grouped."""
    if value is None or value == "":
        return blank
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if number == number.to_integral_value():
        return _localise(f"{number.to_integral_value():,.0f}")
    text = f"{number.normalize():,f}"
    return _localise(text)
