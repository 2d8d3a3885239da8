"""The Review tab: the grid of staged documents with filters, the mapping pickers, and a detail pane
with the document's lines and the exact NAV document that will be created."""

from __future__ import annotations

from datetime import UTC, datetime, time

from stnav_desktop.store.models import DocStatus, MappingKind, Profile, SourceKind, StDocument
from stnav_desktop.sync.app import batches, mapping, refdata
from stnav_desktop.sync.views import preview, review
from stnav_desktop.ui.page import Page
from stnav_desktop.ui.pickers import NavPicker, PickerDelegate
from stnav_desktop.ui.qt import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QTableView,
    QtCore,
    QtWidgets,
    QVBoxLayout,
    QWidget,
    Signal,
)
from stnav_desktop.ui.review_model import GRID, PAGE, ROW_ROLE, ReviewModel, column_index
from stnav_desktop.ui.tasks import InlineRunner
from stnav_desktop.ui.text import money, quantity

LINE_COLUMNS = ("#", "SKU", "Description", "Qty", "Received", "Unit cost", "Amount", "NAV item / G/L account")

STATUS_FILTERS = [("All statuses", [])] + [(label, [status]) for status, label in review.STATUS_LABELS.items()]
SOURCE_FILTERS = [("All sources", None), ("Purchase orders", SourceKind.PURCHASE_ORDER),
                  ("Inventory bills", SourceKind.INVENTORY_BILL), ("Vendor returns", SourceKind.INVENTORY_RETURN)]
COL_NAV_VENDOR, COL_DIMENSION = column_index("nav_vendor"), column_index("dimension")


class ReviewPage(Page):
    def __init__(self, profile: Profile, parent=None, *, runner=None, service_fn=None) -> None:
        super().__init__(profile, parent, runner=runner, service_fn=service_fn)
        self.model = ReviewModel(profile, self, load=False)  # rows load on the runner (refresh)
        self._generation = 0
        self.loading = False
        self.model.loader = lambda: None  # the header's first sort: refresh() below reads the rows
        layout = QVBoxLayout(self)
        tools = QHBoxLayout()
        self.pull_button = QPushButton("&Pull now", self)
        self.pull_button.setShortcut("F5")
        self.pull_button.setToolTip("Pull new and changed documents from ServiceTitan (F5)")
        self.refdata_button = QPushButton("Refresh &reference data", self)
        self.refdata_button.setToolTip("Read NAV vendors, items, accounts and dimension values for the pickers")
        self.busy_label = QLabel(self)
        for button in (self.pull_button, self.refdata_button):
            button.setAccessibleName(button.text().replace("&", ""))
            tools.addWidget(button)
        tools.addWidget(self.busy_label, 1)
        layout.addLayout(tools)
        self.pull_button.clicked.connect(self.pull_now)
        self.refdata_button.clicked.connect(self.refresh_refdata)

        bar = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search number, vendor, territory, problem…  (Ctrl+F)")
        self.search.setAccessibleName("Search documents")
        self.search.setClearButtonEnabled(True)
        self.status_filter = self._combo([label for label, _ in STATUS_FILTERS], "Status filter")
        self.source_filter = self._combo([label for label, _ in SOURCE_FILTERS], "Source filter")
        self.vendor_filter = self._combo(["All vendors"], "Vendor filter")
        self.territory_filter = self._combo(["All territories"], "Territory filter")
        self.use_dates = QtWidgets.QCheckBox("Dates", self)
        self.date_from = QtWidgets.QDateEdit(self, calendarPopup=True)
        self.date_to = QtWidgets.QDateEdit(self, calendarPopup=True)
        for edit, name in ((self.date_from, "From date"), (self.date_to, "To date")):
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setAccessibleName(name)
            edit.setEnabled(False)
        today = QtCore.QDate.currentDate()
        self.date_from.setDate(today.addMonths(-1))
        self.date_to.setDate(today)
        for widget in (self.search, self.status_filter, self.source_filter, self.vendor_filter,
                       self.territory_filter, self.use_dates, self.date_from, self.date_to):
            bar.addWidget(widget)
        layout.addLayout(bar)

        split = QtWidgets.QSplitter(Qt.Orientation.Vertical, self)
        self.table = QTableView(split)
        self.table.setObjectName("reviewGrid")
        self.table.setAccessibleName("Review grid")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(column_index("date"), Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QTableView.EditTrigger.DoubleClicked | QTableView.EditTrigger.EditKeyPressed
                                   | QTableView.EditTrigger.SelectedClicked)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, spec in enumerate(GRID):
            if spec.width:
                self.table.setColumnWidth(column, spec.width)
        self.table.setItemDelegateForColumn(COL_NAV_VENDOR, PickerDelegate(
            lambda: refdata.choices(self.profile, "vendors"), self._commit_vendor, self, name="NAV vendor picker"))
        self.table.setItemDelegateForColumn(COL_DIMENSION, PickerDelegate(
            self._dimension_choices, self._commit_dimension, self, name="Dimension value picker"))
        self.detail = DetailPane(profile, split, runner=self.runner, service_fn=service_fn)
        self.detail.changed.connect(self.refresh)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout.addWidget(split)

        actions = QHBoxLayout()
        self.count_label = QLabel(self)
        self.batch_selected = QPushButton("Create batch from &selection", self)
        self.batch_ready = QPushButton("Create batch from all &ready", self)
        for button in (self.batch_selected, self.batch_ready):
            button.setAccessibleName(button.text().replace("&", ""))
        actions.addWidget(self.count_label)
        actions.addStretch(1)
        actions.addWidget(self.batch_selected)
        actions.addWidget(self.batch_ready)
        layout.addLayout(actions)

        self._debounce = QtCore.QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.apply_filter)
        self.search.textChanged.connect(lambda _: self._debounce.start())
        for combo in (self.status_filter, self.source_filter, self.vendor_filter, self.territory_filter):
            combo.currentIndexChanged.connect(lambda _: self.apply_filter())
        self.use_dates.toggled.connect(self._dates_toggled)
        self.date_from.dateChanged.connect(lambda _: self.apply_filter())
        self.date_to.dateChanged.connect(lambda _: self.apply_filter())
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.batch_selected.clicked.connect(self.create_batch_from_selection)
        self.batch_ready.clicked.connect(lambda: self._create_batch(None))
        self.model.loader = lambda: self._load(lists=False)
        self.refresh()

    # -- network actions (on a worker; the window stays responsive) ------------------------------
    def _run(self, label: str, fn, done) -> None:
        if self.service_fn is None:
            return
        self.busy_label.setText(label)

        def finished(result):
            self.busy_label.setText(done(result))
            self.say(self.busy_label.text())
            self.refresh()

        def failed(message):
            self.busy_label.setText(f"⚠ {message}")
            self.say(message)

        self.run_busy([self.pull_button, self.refdata_button], fn, finished, on_error=failed)

    def pull_now(self) -> None:
        self._run("Pulling from ServiceTitan…", lambda: self.service_fn().pull(),
                  lambda summary: f"Pulled: {summary.line()}")

    def refresh_refdata(self) -> None:
        self._run("Reading reference data…", lambda: self.service_fn().refresh_refdata(),
                  lambda counts: "Reference data: " + ", ".join(f"{v} {k.split('.', 1)[1]}" for k, v in
                                                                counts.items()))

    def _combo(self, items: list[str], name: str) -> QComboBox:
        combo = QComboBox(self)
        combo.addItems(items)
        combo.setAccessibleName(name)
        return combo

    def _dates_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self.apply_filter()

    def _dimension_choices(self):
        from stnav_desktop.store import settings

        return refdata.choices(self.profile, "dimensionValues",
                               prefix=settings.get(self.profile, "posting.territory_dimension"))

    # -- filtering -----------------------------------------------------------------------------
    def current_filter(self) -> review.ReviewFilter:
        flt = review.ReviewFilter(statuses=STATUS_FILTERS[self.status_filter.currentIndex()][1],
                                  kind=SOURCE_FILTERS[self.source_filter.currentIndex()][1],
                                  search=self.search.text())
        if self.vendor_filter.currentIndex() > 0:
            flt.vendor = self.vendor_filter.currentText()
        if self.territory_filter.currentIndex() > 0:
            flt.territory = self.territory_filter.currentText()
        if self.use_dates.isChecked():
            start = self.date_from.date().toPython()
            end = self.date_to.date().toPython()
            flt.date_from = datetime.combine(start, time.min, tzinfo=UTC)
            flt.date_to = datetime.combine(end, time.max, tzinfo=UTC)
        return flt

    def apply_filter(self) -> None:
        self._load(lists=False)

    def refresh(self) -> None:
        """Reload after data changed (pull, mapping, posting); keeps filters and the current row."""
        self._load(lists=True)

    def _load(self, *, lists: bool) -> None:
        """Count, the first page of rows, the status counts (and the filter lists) are read on the task
        runner: they grow with the store. The newest request wins; an older answer is dropped."""
        self._generation += 1
        generation = self._generation
        profile, flt = self.profile, self.current_filter()
        sort, descending = self.model.sort_key, self.model.descending
        current_id = self.detail.document.id if self.detail.document else None
        self.loading = True
        if not self.model.rowCount():
            self.count_label.setText("Loading…")

        def work() -> dict:
            out: dict = {"count": review.count(profile, flt),
                         "first": review.fetch(profile, flt, sort=sort, descending=descending, offset=0,
                                               limit=PAGE),
                         "counts": review.status_counts(profile)}
            if lists:
                out["vendor"] = review.distinct_values(profile, "vendor")
                out["territory"] = review.distinct_values(profile, "territory")
            if current_id is not None:
                out["current"] = review.document(current_id)
            return out

        def done(result: dict) -> None:
            if generation != self._generation:
                return
            self._loaded(flt, sort, descending, result, current_id)

        def failed(message: str) -> None:
            if generation == self._generation:
                self.loading = False
                self.count_label.setText(f"Documents could not be read: {message}")
                self.say(message)

        self.runner.submit(work, done, failed)

    def _loaded(self, flt, sort, descending, result: dict, current_id: int | None) -> None:
        for combo, column, first in ((self.vendor_filter, "vendor", "All vendors"),
                                     (self.territory_filter, "territory", "All territories")):
            if column not in result:
                continue
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([first, *result[column]])
            combo.setCurrentIndex(max(0, combo.findText(current)))
            combo.blockSignals(False)
        if (sort, descending) == (self.model.sort_key, self.model.descending):
            self.model.show_loaded(flt, result["count"], result["first"])
        else:  # the user sorted meanwhile: the model reads its first page itself
            self.model.set_filter(flt)
        self.loading = False
        self._update_count(result["counts"])
        if current_id is not None:
            self.detail.show_document(result.get("current"))
        if "vendor" in result:
            self.changed.emit()

    def _update_count(self, counts: dict | None = None) -> None:
        counts = review.status_counts(self.profile) if counts is None else counts
        attention = sum(counts.get(s, 0) for s in (DocStatus.NEEDS_ATTENTION, DocStatus.NEEDS_MAPPING,
                                                   DocStatus.DATA_PROBLEM))
        self.count_label.setText(f"{self.model.rowCount()} shown · {counts.get(DocStatus.READY, 0)} ready · "
                                 f"{attention} need a look")

    def _current_changed(self, current, _previous) -> None:
        row = self.model.data(self.model.index(current.row(), 0), ROW_ROLE) if current.isValid() else None
        self.detail.show_document(review.document(row.id) if row else None)

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)
        self.table.setCurrentIndex(self.model.index(row, 0))

    # -- pickers in the grid -------------------------------------------------------------------
    def _commit_vendor(self, row: int, key: str) -> None:
        doc = self.model.row_at(row)
        if doc and doc.vendor_st_id:
            self.map_in_background(MappingKind.VENDOR, doc.vendor_st_id, key, source_label=doc.st_vendor)

    def map_in_background(self, kind: str, source_key, target: str, **kwargs) -> None:
        """Set a mapping and re-check the documents that use it on a worker; the grid reloads after."""
        profile = self.profile
        self.busy_label.setText("Applying the mapping…")

        def done(counts) -> None:
            self.busy_label.setText("Mapping applied: " + ", ".join(
                f"{n} {review.STATUS_LABELS.get(k, k).lower()}" for k, n in sorted(counts.items())))
            self.refresh()

        def failed(message: str) -> None:
            self.busy_label.setText(f"⚠ {message}")
            QtWidgets.QMessageBox.warning(self, "Mapping", message)

        self.runner.submit(lambda: mapping.map_and_refresh(profile, kind, source_key, target, **kwargs), done, failed)

    def _commit_dimension(self, row: int, key: str) -> None:
        from stnav_desktop.store import settings

        doc = self.model.row_at(row)
        if doc and doc.business_unit_st_id:
            self.map_in_background(MappingKind.BUSINESS_UNIT, doc.business_unit_st_id, key,
                                   target_type=settings.get(self.profile, "posting.territory_dimension"),
                                   source_label=doc.territory)

    # -- batches -------------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return [r.id for r in (self.model.row_at(row) for row in sorted(rows)) if r]

    def create_batch_from_selection(self) -> None:
        self._create_batch(self.selected_ids())

    def _create_batch(self, ids: list[int] | None) -> None:
        """On the task runner (7,500 ready documents move in ~0.1 s: more than the window may freeze)."""
        profile = self.profile

        def work() -> tuple[int, int]:
            batch = batches.create_batch(profile, ids)
            return batch.id, batch.documents.count()

        def done(result: tuple[int, int]) -> None:
            self.status_message.emit(f"Batch {result[0]} prepared with {result[1]} documents; "
                                     "approve it on the Batches & posting tab.")
            self.refresh()

        def failed(message: str) -> None:  # BatchError's words: which documents and why
            self.status_message.emit(message)
            QtWidgets.QMessageBox.information(self, "Create batch", message)

        self.run_busy([self.batch_selected, self.batch_ready], work, done, on_error=failed)


class DetailPane(QWidget):
    """The selected document: its mapping pickers with suggestions, its lines, and the NAV preview."""

    changed = Signal()

    def __init__(self, profile: Profile, parent=None, *, runner=None, service_fn=None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.runner = runner or InlineRunner()
        self.service_fn = service_fn
        self.document: StDocument | None = None
        self._choices_stamp: tuple | None = None
        outer = QHBoxLayout(self)
        left = QVBoxLayout()
        self.title = QLabel("Select a document", self)
        self.title.setObjectName("detailTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.setObjectName("detailProblem")
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.vendor_picker = NavPicker([], self, accessible_name="NAV vendor for this ServiceTitan vendor")
        self.vendor_apply = QPushButton("Map vendor", self)
        self.vendor_apply.setToolTip("Applies to every document from this ServiceTitan vendor")
        self.vendor_suggestion = QPushButton(self)
        self.vendor_suggestion.setObjectName("vendorSuggestion")
        self.vendor_suggestion.setVisible(False)
        self.vendor_create = QPushButton("Create in NAV…", self)
        self.vendor_create.setToolTip("Create this ServiceTitan vendor in NAV (name and address) and map it")
        row = QHBoxLayout()
        for widget in (self.vendor_picker, self.vendor_apply, self.vendor_create):
            row.addWidget(widget)
        form.addRow("NAV vendor", row)
        form.addRow("", self.vendor_suggestion)  # its own line: the whole name and score stay readable
        self.dim_picker = NavPicker([], self, accessible_name="Territory dimension value")
        self.dim_apply = QPushButton("Map territory", self)
        self.dim_suggestion = QPushButton(self)
        self.dim_suggestion.setVisible(False)
        row = QHBoxLayout()
        for widget in (self.dim_picker, self.dim_apply):
            row.addWidget(widget)
        form.addRow("Territory", row)
        form.addRow("", self.dim_suggestion)
        self.lines = QtWidgets.QTableWidget(0, len(LINE_COLUMNS), self)
        self.lines.setHorizontalHeaderLabels(list(LINE_COLUMNS))
        self.lines.setAccessibleName("ServiceTitan lines, charges and total")
        self.lines.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.lines.verticalHeader().setVisible(False)
        self.lines.verticalHeader().setDefaultSectionSize(22)
        self.lines.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((24, 72, 140, 40, 62, 68, 80)):
            self.lines.setColumnWidth(column, width)
        buttons = QHBoxLayout()
        self.reject_button = QPushButton("Reject…", self)
        self.reopen_button = QPushButton("Reopen", self)
        self.correct_button = QPushButton("Correct in NAV…", self)
        self.correct_button.setToolTip("Changed in ServiceTitan after posting: propose the reversal and the corrected "
                                       "document, in a correction batch that must be approved before posting")
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.reopen_button)
        buttons.addWidget(self.correct_button)
        buttons.addStretch(1)
        for widget in (self.title, self.problem):
            left.addWidget(widget)
        left.addLayout(form)
        left.addWidget(self.lines)
        left.addLayout(buttons)
        right = QVBoxLayout()
        self.preview_title = QLabel("NAV document preview", self)
        self.preview_header = QLabel(self)
        self.preview_header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview_lines = QtWidgets.QTableWidget(0, 0, self)
        self.preview_lines.setAccessibleName("NAV document preview lines")
        self.preview_lines.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview_lines.horizontalHeader().setStretchLastSection(True)
        for widget in (self.preview_title, self.preview_header, self.preview_lines):
            right.addWidget(widget)
        outer.addLayout(left, 1)
        outer.addLayout(right, 1)
        self.vendor_apply.clicked.connect(self._apply_vendor)
        self.dim_apply.clicked.connect(self._apply_dimension)
        self.vendor_suggestion.clicked.connect(lambda: self._accept(self.vendor_suggestion))
        self.dim_suggestion.clicked.connect(lambda: self._accept(self.dim_suggestion))
        # clicked(bool) would pass its `checked` flag as the tax id: ask for the tax id instead
        self.vendor_create.clicked.connect(lambda _checked=False: self._create_vendor())
        self.reject_button.clicked.connect(self._reject)
        self.reopen_button.clicked.connect(self._reopen)
        self.correct_button.clicked.connect(lambda _checked=False: self.propose_correction())
        self.setEnabled(False)

    def show_document(self, doc: StDocument | None) -> None:
        from stnav_desktop.store import settings

        self.document = doc
        self.setEnabled(doc is not None)
        if doc is None:
            self.title.setText("Select a document")
            self.problem.clear()
            self.lines.setRowCount(0)
            self.preview_lines.setRowCount(0)
            self.preview_header.clear()
            return
        kind = {SourceKind.PURCHASE_ORDER: "Purchase order", SourceKind.INVENTORY_RETURN: "Vendor return"}.get(
            doc.kind, "Inventory bill")
        total = money(doc.total)
        self.title.setText(f"<b>{kind} {doc.number}</b> · {doc.vendor_name or doc.vendor_st_id} · "
                           f"{doc.business_unit_name or doc.business_unit_st_id} · {total} · "
                           f"{review.STATUS_LABELS.get(doc.status, doc.status)}")
        problem = "\n".join(p for p in (doc.problem, doc.st_export_error) if p)
        self.problem.setText(problem)
        self.problem.setStyleSheet("color: #b71c1c" if problem else "")
        current = mapping.mappings_dict(self.profile)
        dim = settings.get(self.profile, "posting.territory_dimension")
        # the pickers' lists are reloaded only when NAV's reference data changed, not on every row selected
        stamp = (dim, tuple(sorted((k, str(v)) for k, v in refdata.last_refresh(self.profile).items())))
        if stamp != self._choices_stamp:
            self.vendor_picker.set_choices(refdata.choices(self.profile, "vendors"))
            self.dim_picker.set_choices(refdata.choices(self.profile, "dimensionValues", prefix=dim))
            self._choices_stamp = stamp
        self.vendor_picker.select_key(current.get(MappingKind.VENDOR, {}).get(str(doc.vendor_st_id), ("",))[0])
        self.dim_picker.select_key(current.get(MappingKind.BUSINESS_UNIT, {}).get(str(doc.business_unit_st_id),
                                                                                   ("",))[0])
        for button, key in ((self.vendor_suggestion, (MappingKind.VENDOR, doc.vendor_st_id)),
                            (self.dim_suggestion, (MappingKind.BUSINESS_UNIT, doc.business_unit_st_id))):
            # this document's two keys only: never every fuzzy suggestion in the database per click
            suggestion = mapping.suggest_for(self.profile, *key) if key[1] else None
            unmapped = bool(key[1]) and str(key[1]) not in current.get(key[0], {})
            button.setVisible(suggestion is not None or unmapped)
            button.setEnabled(suggestion is not None)
            button.setProperty("suggestion", suggestion)
            if suggestion is None and unmapped:  # "no match": said, not guessed
                what = "vendor" if key[0] == MappingKind.VENDOR else "dimension value"
                button.setText(f"No close match in NAV: pick a {what}"
                               + (" or create it in NAV" if key[0] == MappingKind.VENDOR else ""))
                button.setToolTip("Nothing in NAV's list is close enough to suggest safely")
            if suggestion:
                button.setText(("⚠ " if suggestion.warning else "") + f"Accept suggestion: {suggestion.target} "
                               f"{suggestion.target_label} ({suggestion.score:.0f}%)")
                button.setToolTip(f"{suggestion.label}. Applies to every document of this ServiceTitan "
                                  "vendor / business unit.")
                button.setAccessibleName(f"Accept suggested mapping {suggestion.target}")
        unmapped_vendor = bool(doc.vendor_st_id) and str(doc.vendor_st_id) not in current.get(MappingKind.VENDOR, {})
        self.vendor_create.setVisible(unmapped_vendor and self.service_fn is not None)
        self._show_lines(doc)
        shown = preview.preview(doc)
        self.preview_title.setText(f"<b>{shown.title}</b> (what will be created in NAV)")
        header = [f"{k}: {v}" for k, v in shown.header] + [f"⚠ {p}" for p in shown.problems]
        if shown.note:
            header.append(shown.note)
        self.preview_header.setText("\n".join(header))
        self.preview_lines.setColumnCount(len(shown.columns))
        self.preview_lines.setHorizontalHeaderLabels(shown.columns)
        self.preview_lines.setRowCount(len(shown.lines))
        for r, values in enumerate(shown.lines):
            for c, value in enumerate(values):
                self.preview_lines.setItem(r, c, QtWidgets.QTableWidgetItem(value))
        self.reject_button.setEnabled(doc.status in (DocStatus.NEEDS_MAPPING, DocStatus.DATA_PROBLEM,
                                                     DocStatus.WAITING, DocStatus.READY, DocStatus.APPROVED,
                                                     DocStatus.NEEDS_ATTENTION, DocStatus.FAILED))
        self.reopen_button.setEnabled(doc.status == DocStatus.REJECTED or (
            doc.batch_id is not None and doc.status in (DocStatus.READY, DocStatus.APPROVED,
                                                        DocStatus.NEEDS_ATTENTION)))
        self.correct_button.setVisible(doc.status == DocStatus.CHANGED_AFTER_POSTING)
        self.reopen_button.setToolTip("Undo the rejection" if doc.status == DocStatus.REJECTED else
                                      "Take this document out of its batch and check it again")

    def _show_lines(self, doc: StDocument) -> None:
        """Each line with its amount, then the charges and a total that must equal ServiceTitan's header."""
        lines = preview.source_lines(doc)
        totals = preview.source_totals(doc, lines)
        rows: list[tuple[list[str], bool]] = []
        for line in lines:
            qty = quantity(line.quantity, blank=line.raw_quantity or "?")
            received = quantity(line.received, blank="") if doc.kind == SourceKind.PURCHASE_ORDER else ""
            rows.append(([str(line.index), line.sku_code, line.description, qty, received,
                          money(line.cost, blank=line.raw_cost or "?"), money(line.amount),
                          f"{line.mapped_type or '—'} {line.mapped_to}".strip()
                          + (f"  ({line.rule})" if line.rule else "")], False))
        rows.append((["", "", "Lines", "", "", "", money(totals.lines), ""], True))
        for label, value in totals.charges:
            rows.append((["", "", label, "", "", "", money(value), ""], True))
        rows.append((["", "", "Total", "", "", "", money(totals.total), ""], True))
        if totals.difference:
            rows.append((["", "", "ServiceTitan header total", "", "", "", money(totals.st_total),
                          f"⚠ differs by {money(totals.difference)}"], True))
        self.lines.setRowCount(len(rows))
        bold = self.lines.font()
        bold.setBold(True)
        for r, (values, is_total) in enumerate(rows):
            for c, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(value)
                if c in (3, 4, 5, 6):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if is_total:
                    item.setFont(bold)
                if value.startswith("⚠"):
                    item.setForeground(Qt.GlobalColor.darkRed)
                self.lines.setItem(r, c, item)

    def _apply_vendor(self) -> None:
        key = self.vendor_picker.current_key()
        if self.document and key:
            self._map(self.vendor_apply, lambda p, d: mapping.map_and_refresh(
                p, MappingKind.VENDOR, d.vendor_st_id, key, source_label=d.vendor_name))

    def _apply_dimension(self) -> None:
        from stnav_desktop.store import settings

        key = self.dim_picker.current_key()
        if self.document and key:
            dim = settings.get(self.profile, "posting.territory_dimension")
            self._map(self.dim_apply, lambda p, d: mapping.map_and_refresh(
                p, MappingKind.BUSINESS_UNIT, d.business_unit_st_id, key, target_type=dim,
                source_label=d.business_unit_name))

    def _accept(self, button) -> None:
        suggestion = button.property("suggestion")
        if suggestion is not None:
            self._map(button, lambda p, _d: mapping.accept_and_refresh(p, suggestion))

    def _map(self, button, work) -> None:
        """Mapping work (set + re-check the documents using the key) on the worker; the pane reloads after."""
        profile, doc = self.profile, self.document
        button.setEnabled(False)

        def done(_counts) -> None:
            button.setEnabled(True)
            self._changed()

        def failed(message: str) -> None:
            button.setEnabled(True)
            self.problem.setText(f"Mapping not saved: {message}")

        self.runner.submit(lambda: work(profile, doc), done, failed)

    def _create_vendor(self, tax_id: str | None = None) -> None:
        if self.document is None or self.runner is None:
            return
        if tax_id is None:
            tax_id, ok = QtWidgets.QInputDialog.getText(
                self, "Create vendor in NAV", f"Tax id for {self.document.vendor_name} (ServiceTitan has none; "
                "leave empty to add it in NAV later):")
            if not ok:
                return
        st_id = self.document.vendor_st_id
        self.vendor_create.setEnabled(False)

        def done(created):
            self.vendor_create.setEnabled(True)
            self._changed()  # re-shows the document: the outcome goes on top of what it says now
            said = (f"NAV vendor {created.number} ({created.display_name}) "
                    f"{'created' if created.created else 'found'} and mapped.")
            self.problem.setText("\n".join(p for p in (said, self.problem.text()) if p))

        def failed(message):
            self.vendor_create.setEnabled(True)
            self.problem.setText(f"Could not create the vendor in NAV: {message}")

        self.runner.submit(lambda: self.service_fn().create_nav_vendor(st_id, tax_id=tax_id.strip()), done, failed)

    def _reject(self) -> None:
        if self.document is None:
            return
        reason, ok = QtWidgets.QInputDialog.getText(self, "Reject document", "Reason (kept with the document):")
        if ok and reason.strip():
            batches.reject(self.document, reason.strip())
            self._changed()

    def _reopen(self) -> None:
        if self.document is not None:
            try:
                batches.reopen_document(self.document)
            except batches.BatchError as exc:
                QtWidgets.QMessageBox.information(self, "Reopen", str(exc))
                return
            self._changed()

    def propose_correction(self) -> None:
        """Show what the correction will post; on OK it goes into a correction batch for approval."""
        from stnav_desktop.sync.app import corrections
        if self.document is None:
            return
        try:
            proposal = corrections.propose(self.document)
        except corrections.CorrectionError as exc:
            QtWidgets.QMessageBox.information(self, "Correct in NAV", str(exc))
            return
        changes = ", ".join(f"{c.get('field')}: {c.get('before')} → {c.get('after')}" for c in proposal.changes[:6])
        text = ("ServiceTitan changed " + (changes or "this document") + " after it was posted.\n\n"
                + "\n".join(proposal.summary())
                + "\n\nPut this correction in a batch? It is posted only after someone approves the batch.")
        answer = QtWidgets.QMessageBox.question(self, "Correct in NAV", text)
        if answer != QtWidgets.QMessageBox.StandardButton.Yes:
            return
        try:
            batch = batches.create_correction_batch(self.profile, [self.document.id])
        except batches.BatchError as exc:
            QtWidgets.QMessageBox.warning(self, "Correct in NAV", str(exc))
            return
        self.problem.setText(f"Correction batch {batch.id} prepared: approve it on the Batches & posting tab.")

    def _changed(self) -> None:
        # whatever changed re-checked the documents it affects itself: reload this one and tell the grid
        self._choices_stamp = None  # e.g. a vendor just created in NAV joins the picker's list
        if self.document is not None:
            self.document = review.document(self.document.id)
        self.changed.emit()
