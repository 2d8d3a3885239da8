"""The Reports tab: ServiceTitan against NAV per territory and month, as a table and a bar chart
(drawn with QPainter: no extra Qt module), with drill-down from a difference to its documents, and the
clearing account per purchase order."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from stnav_desktop.sync.views import reconcile
from stnav_desktop.ui.page import Page
from stnav_desktop.ui.qt import (
    QColor,
    QHBoxLayout,
    QLabel,
    QPushButton,
    Qt,
    QtCore,
    QtGui,
    QtWidgets,
    QVBoxLayout,
    QWidget,
)
from stnav_desktop.ui.text import money

TERRITORY_COLUMNS = [
    ("Territory", "NAV dimension value code, with the ServiceTitan business units mapped to it"),
    ("ST cost", "ServiceTitan: the posted documents that carry the cost (bills under the clearing model)"),
    ("G/L cost", "NAV G/L: debit − credit on cost accounts (all but clearing and payables) for this territory"),
    ("Δ cost", "ServiceTitan cost − G/L cost"),
    ("ST invoiced", "ServiceTitan: the posted purchase orders (they create the payable)"),
    ("G/L payables", "NAV G/L: credit − debit on the payables account our purchase invoices credited"),
    ("Δ payables", "ServiceTitan invoiced − G/L payables"),
    ("G/L clearing", "NAV G/L: net movement on the purchases clearing account (0 when every PO is invoiced)"),
    ("Not yet in NAV", "ServiceTitan cost of this month's documents not posted yet"),
]


class BarChart(QWidget):
    """Two bars per territory (ServiceTitan, NAV); a difference is marked in red."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, Decimal, Decimal]] = []
        self.setMinimumHeight(150)
        self.setAccessibleName("ServiceTitan against NAV per territory, bar chart")

    def set_rows(self, rows: list[tuple[str, Decimal, Decimal]]) -> None:
        self.rows = rows
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        if not self.rows:
            painter.setPen(palette.text().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No data for this month")
            return
        top = max(max(st, nav) for _, st, nav in self.rows) or Decimal(1)
        margin, label_h = 18, 36
        width = self.width() - 2 * margin
        height = self.height() - margin - label_h
        slot = width / len(self.rows)
        bar = max(4.0, slot * 0.35)
        for i, (name, st, nav) in enumerate(self.rows):
            x = margin + i * slot + slot * 0.1
            for j, (value, colour) in enumerate(((st, QColor("#1565c0")), (nav, QColor("#2e7d32")))):
                h = float(value / top) * height
                painter.fillRect(QtCore.QRectF(x + j * bar, margin + height - h, bar - 2, h), colour)
            painter.setPen(QColor("#b71c1c") if st != nav else palette.text().color())
            painter.drawText(QtCore.QRectF(x - 4, margin + height + 2, slot, label_h),
                             Qt.AlignmentFlag.AlignLeft, f"{name}\n{'≠ ' if st != nav else ''}{st:,.2f}")
        # the legend in the series' own colours
        legend = (("ServiceTitan cost (posted)", QColor("#1565c0")), ("Cost on cost accounts (G/L)", QColor("#2e7d32")))
        metrics = painter.fontMetrics()
        x = margin + width - sum(metrics.horizontalAdvance(t) + 34 for t, _ in legend)
        for text, colour in legend:
            painter.fillRect(QtCore.QRectF(x, 3, 10, 10), colour)
            painter.setPen(colour)
            painter.drawText(QtCore.QRectF(x + 14, 0, metrics.horizontalAdvance(text) + 4, 16),
                             Qt.AlignmentFlag.AlignLeft, text)
            x += metrics.horizontalAdvance(text) + 34


class ReportsPage(Page):
    def __init__(self, profile, runner, service_fn, parent=None) -> None:
        super().__init__(profile, parent, runner=runner, service_fn=service_fn)
        self.report: reconcile.Report | None = None
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.month = QtWidgets.QDateEdit(self, calendarPopup=True)
        self.month.setDisplayFormat("yyyy-MM")
        self.month.setDate(QtCore.QDate.currentDate())
        self.month.setAccessibleName("Month")
        self.run_button = QPushButton("&Reconcile", self)
        self.export_button = QPushButton("Export…", self)
        for w in (QLabel("Month", self), self.month, self.run_button, self.export_button):
            top.addWidget(w)
        top.addStretch(1)
        layout.addLayout(top)
        self.summary = QLabel(self)
        layout.addWidget(self.summary)
        self.chart = BarChart(self)
        layout.addWidget(self.chart)
        self.totals = QtWidgets.QTableWidget(0, len(TERRITORY_COLUMNS), self)
        self.totals.setObjectName("reconcileTotals")
        self.totals.setAccessibleName("Territories tied to the G/L")
        self.totals.setHorizontalHeaderLabels([c[0] for c in TERRITORY_COLUMNS])
        for c, (_title, tip) in enumerate(TERRITORY_COLUMNS):
            self.totals.horizontalHeaderItem(c).setToolTip(tip)
        self.totals.horizontalHeader().setStretchLastSection(True)
        self.totals.verticalHeader().setVisible(False)
        self.totals.verticalHeader().setDefaultSectionSize(22)
        self.totals.setWordWrap(False)
        for column, width in enumerate((280, 100, 100, 80, 100, 100, 80, 100)):
            self.totals.setColumnWidth(column, width)
        self.totals.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.totals.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        layout.addWidget(self.totals)
        layout.addWidget(QLabel("Documents behind the selected row (differences first)", self))
        self.details = QtWidgets.QTableWidget(0, 6, self)
        self.details.setObjectName("reconcileDetails")
        self.details.setAccessibleName("Documents of the selected territory")
        self.details.setHorizontalHeaderLabels(["ServiceTitan", "Vendor", "ServiceTitan amount", "NAV amount",
                                                "NAV document", "Explanation"])
        self.details.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.details.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((170, 190, 150, 110, 120)):
            self.details.setColumnWidth(column, width)
        layout.addWidget(self.details)
        self.clearing = QtWidgets.QTableWidget(0, 5, self)
        self.clearing.setAccessibleName("Clearing account per purchase order")
        self.clearing.setHorizontalHeaderLabels(["Purchase order", "Credited by bills", "Debited by invoice",
                                                 "Balance", "Explanation"])
        self.clearing.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((170, 150, 150, 110)):
            self.clearing.setColumnWidth(column, width)
        layout.addWidget(self.clearing)
        for table in (self.details, self.clearing):
            table.verticalHeader().setVisible(False)
            table.verticalHeader().setDefaultSectionSize(22)
            table.setWordWrap(False)
            table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.run_button.clicked.connect(self.run)
        self.export_button.clicked.connect(lambda: self.export())
        self.totals.currentCellChanged.connect(lambda row, *_: self.drill(row))

    def month_text(self) -> str:
        return self.month.date().toString("yyyy-MM")

    def run(self) -> None:
        month = self.month_text()
        self.summary.setText(f"Reading NAV's G/L entries for {month}…")
        self.run_busy([self.run_button, self.export_button], lambda: self.service_fn().reconcile(month),
                      self.show_report, on_error=lambda msg: self.summary.setText(f"Reconciliation failed: {msg}"))

    def show_report(self, report: reconcile.Report) -> None:
        self.report = report
        rows = report.territories
        self.chart.set_rows([(t.code, t.st_cost, t.gl_cost) for t in rows])
        self.totals.setRowCount(len(rows))
        for r, t in enumerate(rows):
            values = [t.label, t.st_cost, t.gl_cost, t.cost_difference, t.st_payables, t.gl_payables,
                      t.payables_difference, t.gl_clearing, t.not_posted]
            for c, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(money(value) if isinstance(value, Decimal) else str(value))
                if isinstance(value, Decimal):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c in (3, 6) and value != 0:
                    item.setForeground(QColor("#b71c1c"))
                if c == 0:
                    item.setToolTip("G/L documents: " + " ".join(sorted(t.documents)) if t.documents else t.label)
                self.totals.setItem(r, c, item)
        self.clearing.setRowCount(len(report.clearing))
        for r, line in enumerate(report.clearing):
            for c, value in enumerate([line.po_ref, money(line.credited_by_bills), money(line.debited_by_invoice),
                                       money(line.balance), line.explanation]):
                self.clearing.setItem(r, c, QtWidgets.QTableWidgetItem(value))
        diffs = len(report.differences)
        self.summary.setText(f"{report.month} ({report.model} model): {len(report.lines)} documents, "
                             f"{diffs} with a difference, "
                             f"{sum(1 for c in report.clearing if c.balance)} purchase orders with a clearing balance")
        if rows:
            self.totals.selectRow(0)
            self.drill(0)

    def drill(self, row: int) -> None:
        if self.report is None or row < 0:
            return
        rows = self.report.territories
        if row >= len(rows):
            return
        territory = rows[row].code
        lines = sorted((d for d in self.report.lines if (d.territory or reconcile.NO_TERRITORY) == territory),
                       key=lambda d: (d.difference == 0, d.st_ref))
        self.details.setRowCount(len(lines))
        for r, d in enumerate(lines):
            for c, value in enumerate([d.st_ref, d.vendor, money(d.st_amount), money(d.nav_amount),
                                       d.nav_document, d.explanation]):
                self.details.setItem(r, c, QtWidgets.QTableWidgetItem(value))

    def export(self, path: str | None = None) -> None:
        if self.report is None:
            return
        if not path:
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export reconciliation",
                                                            f"reconcile-{self.report.month}.xlsx",
                                                            "Excel (*.xlsx);;CSV (*.csv)")
        if path:
            reconcile.write(self.report, Path(path), "csv" if path.endswith(".csv") else "xlsx")
            self.say(f"Reconciliation exported to {path}")
