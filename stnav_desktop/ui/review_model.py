"""The review grid's model: a QAbstractTableModel over ``sync.review`` that fetches rows lazily in
pages and sorts and filters in SQL, so 100,000 documents open and sort quickly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from stnav_desktop.store.models import DocStatus, Profile
from stnav_desktop.sync.views import review
from stnav_desktop.ui.qt import QAbstractTableModel, QColor, QModelIndex, Qt
from stnav_desktop.ui.text import money


@dataclass(frozen=True)
class Column:
    """One grid column, declared once: its key (the SQL filter/sort key in ``sync.review``), header,
    width, alignment and whether the header sorts it."""

    key: str
    header: str
    width: int
    right: bool = False

    @property
    def sortable(self) -> bool:
        return self.key in review.SORT_KEYS


GRID = (Column("source", "Source", 110), Column("number", "ST number", 125), Column("date", "Date", 90),
        Column("st_vendor", "ST vendor", 180), Column("nav_vendor", "NAV vendor", 90),
        Column("territory", "Territory", 160), Column("dimension", "Dimension value", 120),
        Column("amount", "Amount", 95, right=True), Column("status", "Status", 185), Column("problem", "Problem", 0))
assert tuple(c.key for c in GRID) == review.COLUMNS, "the grid and sync.review list the same columns"
HEADERS = tuple(c.header for c in GRID)


def column_index(key: str) -> int:
    return next(i for i, c in enumerate(GRID) if c.key == key)
PAGE = 200
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the ReviewRow object
SORT_ROLE = Qt.ItemDataRole.UserRole + 2

# colour AND a symbol AND text: status is never told by colour alone
STATUS_STYLE = {
    DocStatus.NEEDS_MAPPING: ("#b26a00", "⚠"), DocStatus.READY: ("#2e7d32", "✓"),
    DocStatus.APPROVED: ("#1565c0", "☑"), DocStatus.POSTING: ("#1565c0", "⟳"),
    DocStatus.POSTED: ("#1b5e20", "●"), DocStatus.FAILED: ("#c62828", "↻"),
    DocStatus.IN_NAV_DRAFT: ("#00695c", "◐"), DocStatus.UNCONFIRMED: ("#ef6c00", "?"),
    DocStatus.NEEDS_ATTENTION: ("#b71c1c", "✖"), DocStatus.REJECTED: ("#616161", "⊘"),
    DocStatus.CHANGED_AFTER_POSTING: ("#6a1b9a", "Δ"), DocStatus.SKIPPED: ("#757575", "–"),
    DocStatus.DATA_PROBLEM: ("#c62828", "⚠"), DocStatus.WAITING: ("#616161", "⏳"),
}


def format_amount(value: Decimal | None) -> str:
    return money(value, blank="")


class ReviewModel(QAbstractTableModel):
    def __init__(self, profile: Profile, parent=None, *, load: bool = True) -> None:
        super().__init__(parent)
        self.profile = profile
        self.filter = review.ReviewFilter()
        self.sort_key = "date"
        self.descending = True
        self._count = 0
        self._pages: dict[int, list[review.ReviewRow]] = {}
        self.loader: Callable[[], None] | None = None  # set by a page that loads rows off the GUI thread
        if load:
            self.reload()

    # -- data source ---------------------------------------------------------------------------
    def reload(self) -> None:
        """One reset per change of filter, sort or data (never one per row)."""
        self.beginResetModel()
        self._pages.clear()
        self._count = review.count(self.profile, self.filter)
        self.endResetModel()

    def show_loaded(self, flt: review.ReviewFilter, count: int, first_page: list[review.ReviewRow]) -> None:
        """What a worker read for ``flt`` (its count and first page): shown in one reset."""
        self.beginResetModel()
        self.filter = flt
        self._pages = {0: first_page}
        self._count = count
        self.endResetModel()

    def set_filter(self, flt: review.ReviewFilter) -> None:
        self.filter = flt
        self.reload()

    def row_at(self, row: int) -> review.ReviewRow | None:
        if not 0 <= row < self._count:
            return None
        page = row // PAGE
        if page not in self._pages:
            if len(self._pages) > 50:  # keep memory bounded while scrolling far
                self._pages.pop(next(iter(self._pages)))
            self._pages[page] = review.fetch(self.profile, self.filter, sort=self.sort_key,
                                             descending=self.descending, offset=page * PAGE, limit=PAGE)
        rows = self._pages[page]
        index = row - page * PAGE
        return rows[index] if index < len(rows) else None

    # -- Qt model API --------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802,B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802,B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return GRID[section].header
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return GRID[section].header + ("" if GRID[section].sortable else " (not sortable)")
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.row_at(index.row())
        if row is None:
            return None
        column = GRID[index.column()].key
        if role == ROW_ROLE:
            return row
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(row, column, tooltip=role == Qt.ItemDataRole.ToolTipRole)
        if role == Qt.ItemDataRole.ForegroundRole and column == "status":
            return QColor(STATUS_STYLE.get(row.status, ("#000000", ""))[0])
        if role == Qt.ItemDataRole.TextAlignmentRole and GRID[index.column()].right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, row: review.ReviewRow, column: str, *, tooltip: bool = False) -> str:
        if column == "source":
            return {"purchase_order": "Purchase order", "inventory_return": "Vendor return"}.get(row.kind,
                                                                                              "Inventory bill")
        if column == "number":
            return row.number
        if column == "date":
            return row.date.date().isoformat() if row.date else ""
        if column == "st_vendor":
            return row.st_vendor or (f"#{row.vendor_st_id}" if row.vendor_st_id else "")
        if column == "nav_vendor":
            return row.nav_vendor or ("(map…)" if not tooltip else "Not mapped: pick a NAV vendor")
        if column == "territory":
            return row.territory or (f"#{row.business_unit_st_id}" if row.business_unit_st_id else "")
        if column == "dimension":
            return row.dimension or ("(map…)" if not tooltip else "Not mapped: pick a dimension value")
        if column == "amount":
            return format_amount(row.amount)
        if column == "status":
            symbol = STATUS_STYLE.get(row.status, ("", "?"))[1]
            text = f"{symbol} {review.STATUS_LABELS.get(row.status, row.status)}"
            if row.batch_id and row.status in (DocStatus.READY, DocStatus.APPROVED):
                text += f" · batch {row.batch_id}"  # a ready document in a batch waits for its approval
            return text
        return row.problem

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if not GRID[column].sortable:
            return
        self.sort_key = GRID[column].key
        self.descending = order == Qt.SortOrder.DescendingOrder
        if self.loader is not None:
            self.loader()  # the page reads the rows on its task runner
        else:
            self.reload()
