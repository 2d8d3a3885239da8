"""`stnav pull` into the store against the ServiceTitan simulator serving real tenants' data hazards:
no record, however malformed, stops a pull; bills that must not be booked are held back with the
reason in words until a person releases them."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal

import pytest
from peewee import fn

from stnav_desktop.cli import main
from stnav_desktop.sandbox.servicetitan import ServiceTitanSandbox
from stnav_desktop.store import audit
from stnav_desktop.store.models import AuditEvent, DocStatus, SourceKind, StDocument, SyncWatermark
from stnav_desktop.sync.app import pull
from stnav_desktop.sync.app.service import SyncService
from stnav_desktop.sync.views import review

# the page-wise staging writes raw SQL (multi-row INSERTs, executemany UPDATEs): on both store back ends
pytestmark = pytest.mark.both_backends

SURROGATE_SUMMARY = "Parts for job \ud83d cut emoji \ud800"


@pytest.fixture
def profile(st_profile):
    return st_profile


def doc(kind: str, st_id: int) -> StDocument:
    return StDocument.get((StDocument.kind == kind) & (StDocument.st_id == st_id))


def test_sandbox_serves_a_lone_surrogate_as_a_json_escape(sandbox, client):
    """The hazard on the wire: valid JSON whose text has no UTF-8 form once parsed."""
    po_id = sandbox.bad_records["purchase_orders"]["lone_surrogate"]
    raw = client.get("inventory", f"purchase-orders/{po_id}")
    assert raw["summary"] == SURROGATE_SUMMARY
    with pytest.raises(UnicodeEncodeError):
        raw["summary"].encode("utf-8")


def test_lone_surrogate_does_not_stop_the_pull_and_is_named(profile, sandbox, capsys):
    po_id = sandbox.bad_records["purchase_orders"]["lone_surrogate"]
    assert main(["pull"]) == 0, capsys.readouterr().err
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "UnicodeEncodeError" not in out + err
    # every PO and every bill landed, and both continuation tokens moved to the end of the feeds
    assert StDocument.select().where(StDocument.kind == SourceKind.PURCHASE_ORDER).count() == 60
    assert StDocument.select().where(StDocument.kind == SourceKind.INVENTORY_BILL).count() == len(sandbox.bill_ids())
    marks = {m.stream: m.token for m in SyncWatermark.select()}
    assert marks["export/purchase-orders"] and marks["export/inventory-bills"]
    # the record is stored, readable (U+FFFD where the broken character was) and its problem named
    po = doc(SourceKind.PURCHASE_ORDER, po_id)
    assert po.raw["summary"] == "Parts for job \ufffd cut emoji \ufffd"
    assert json.dumps(po.raw, ensure_ascii=False).encode("utf-8")
    named = [p for p in po.source_problems if "summary" in p and "surrogate" in p]
    assert named and named[0].startswith(f"PO {po.number}: ")
    assert po.status == DocStatus.DATA_PROBLEM and "summary" in po.problem
    # the grid, review list and audit show and export it
    row = next(r for r in review.fetch(profile, review.ReviewFilter(search=po.number)) if r.id == po.id)
    assert "surrogate" in row.problem
    assert main(["review", "list", "--limit", "500"]) == 0
    assert po.number in capsys.readouterr().out
    assert audit.verify().ok
    # a second pull does not stumble on it either: nothing new, nothing changed
    summary = SyncService(profile).pull()
    assert summary.counts.get("new", 0) == 0 and summary.counts.get("updated", 0) == 0


def test_a_record_the_parser_cannot_read_is_stored_with_its_problem_and_the_pull_goes_on(profile, sandbox):
    """Beyond the seeded hazards: wrong JSON types in a record must not stop the page either."""
    po_id = sandbox.purchase_order_ids()[1]
    sandbox.edit_purchase_order(po_id, vendorId="abc", items="n/a", date=12, total={"x": 1})
    summary = SyncService(profile).pull()
    assert summary.counts["new"] == 60 + len(sandbox.bill_ids()) + len(sandbox.return_ids())
    po = doc(SourceKind.PURCHASE_ORDER, po_id)
    assert po.status == DocStatus.NEEDS_MAPPING and po.problem
    assert any("vendorId" in p for p in po.source_problems)
    assert audit.verify().ok


def test_pulled_document_traced_end_to_end_in_audit(profile, sandbox, capsys):
    SyncService(profile).pull()
    po = doc(SourceKind.PURCHASE_ORDER, sandbox.purchase_order_ids()[0])
    ref = f"PO-{po.number}"
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.st_ref == ref)]
    assert actions and actions[0] == "document.pulled"
    assert main(["audit", "show", ref]) == 0
    assert "document.pulled" in capsys.readouterr().out
    assert pull.PullSummary  # the summary type stays importable for the UI


def test_names_filled_when_reference_data_arrives_after_the_pull(profile, sandbox):
    service = SyncService(profile)
    service.pull()
    po = doc(SourceKind.PURCHASE_ORDER, sandbox.purchase_order_ids()[0])
    assert po.vendor_name == ""  # purchase orders carry the vendor id only; the cache was empty
    from stnav_desktop.sync.app import st_gateway
    st_gateway.refresh(profile, service.st_client())
    po = doc(SourceKind.PURCHASE_ORDER, po.st_id)
    assert po.vendor_name and po.business_unit_name
    # and a pull after the reference data names new documents as it stores them
    new_id = sandbox.add_purchase_orders(1)[0]
    service.pull()
    assert doc(SourceKind.PURCHASE_ORDER, new_id).vendor_name


def test_entries_the_parser_cannot_read_never_stop_the_page(profile, sandbox, monkeypatch):
    po_id = sandbox.purchase_order_ids()[2]
    sandbox.edit_purchase_order(po_id, customFields=5)  # a shape the parser does not anticipate
    feed = sandbox.data.purchase_orders.feed

    def with_garbage(after, limit):
        rows, last, more = feed(after, limit)
        return ([None, "oops", *rows] if after == -1 else rows), last, more  # not JSON objects at all

    monkeypatch.setattr(sandbox.data.purchase_orders, "feed", with_garbage)
    summary = SyncService(profile).pull()
    assert summary.counts["new"] == 60 + len(sandbox.bill_ids()) + len(sandbox.return_ids()) and summary.counts["unreadable"] == 2
    po = doc(SourceKind.PURCHASE_ORDER, po_id)
    assert any("could not be read (TypeError" in p for p in po.source_problems)
    assert po.status in (DocStatus.NEEDS_MAPPING, DocStatus.SKIPPED) and po.problem
    unreadable = AuditEvent.select().where(AuditEvent.action == "document.unreadable").count()
    assert unreadable == 2
    assert SyncWatermark.get(SyncWatermark.stream == "export/purchase-orders").token


def test_every_seeded_hazard_lands_named_and_nothing_else_is_lost(profile, sandbox):
    SyncService(profile).pull()
    bad = sandbox.bad_records
    bills = bad["inventory_bills"]
    sep = doc(SourceKind.INVENTORY_BILL, bills["amount_with_separators"])
    assert sep.total is None and any("billAmount" in p and "," in p and "is not a number" in p
                                     for p in sep.source_problems)
    assert sep.status != DocStatus.READY
    nulls = doc(SourceKind.INVENTORY_BILL, bills["nulls"])
    assert nulls.doc_date is None and nulls.raw["summary"] is None  # stored as sent
    for kind, ids in ((SourceKind.PURCHASE_ORDER, bad["purchase_orders"]), (SourceKind.INVENTORY_BILL, bills)):
        for name, st_id in ids.items():
            d = doc(kind, st_id)
            assert d.status != DocStatus.READY or not d.source_problems, name
    assert StDocument.select().count() == 60 + len(sandbox.bill_ids()) + len(sandbox.return_ids())


def test_a_document_of_a_bulk_page_is_traced_by_audit_show(store, st_tls_dir, fake_clock, capsys):
    """Issue #17: a page of 1,000 purchase orders is staged with one multi-row audit INSERT, yet each
    document keeps its own ``document.pulled`` event named by its reference (``PO-<number>``, with its
    ServiceTitan id, total and readiness verdict): ``stnav audit show`` traces it like any other."""
    from stnav_desktop.store import settings
    from stnav_desktop.store.db import db
    from tests.servicetitan.conftest import configure_profile

    with ServiceTitanSandbox(st_tls_dir, clock=fake_clock, purchase_orders=1200, export_batch=1000) as sb:
        sb.faults.retry_after = 0
        profile = settings.get_profile("default")
        configure_profile(profile, sb)
        statements: list[str] = []
        database = db.obj  # the store's database behind the proxy (SQLite or PostgreSQL)
        execute_sql = database.execute_sql

        def counting(sql, *args, **kwargs):
            statements.append(sql)
            return execute_sql(sql, *args, **kwargs)

        database.execute_sql = counting
        try:
            summary = SyncService(profile).pull(cancel=lambda: True)  # the first page only: 1,000 POs
        finally:
            del database.execute_sql
        middle = sb.purchase_order_ids()[500]
    assert summary.pages == 1 and summary.counts["new"] == 1000
    audit_inserts = [s for s in statements if s.lstrip().upper().replace('"', "").startswith("INSERT INTO AUDIT_EVENT")]
    assert len(audit_inserts) == 2  # 1,000 events chained in memory in one INSERT; then pull.finished
    po = doc(SourceKind.PURCHASE_ORDER, middle)
    ref = f"PO-{po.number}"
    events = list(AuditEvent.select().where(AuditEvent.st_ref == ref))
    assert [e.action for e in events] == ["document.pulled"]
    detail = json.loads(events[0].detail)
    assert detail["st_id"] == middle and detail["status"] == po.status
    capsys.readouterr()
    assert main(["audit", "show", ref]) == 0
    out = capsys.readouterr().out
    assert out.count("document.pulled") == 1 and po.number in out  # its event, with the verdict it was stored with
    assert audit.verify().ok


def _changed_in_servicetitan(sandbox) -> None:
    pos, bills, returns = sandbox.purchase_order_ids(), sandbox.bill_ids(), sandbox.return_ids()
    for po in pos[:12]:
        sandbox.edit_purchase_order(po, summary="changed in ServiceTitan")  # same verdict
    sandbox.edit_purchase_order(pos[12], total="12,5O")  # a data problem now
    sandbox.edit_purchase_order(pos[13], status="Canceled")  # skipped now
    sandbox.edit_purchase_order(pos[14], summary="approved before")  # in a batch: stage_prepared's rules
    sandbox.edit_purchase_order(pos[15], summary="posted before")  # in NAV: changed after posting
    sandbox.edit_purchase_order(pos[16], summary="being posted")  # a NAV write in flight: parked
    for bill in bills[:5]:
        sandbox.edit_bill(bill, summary="changed bill")
    for ret in returns[:3]:
        sandbox.edit_return(ret, memo="changed return")


def test_changed_documents_are_staged_for_the_page_at_once_as_one_by_one(store, sandbox):
    """A delta pull where many documents changed in ServiceTitan: the page takes the new content of the
    ones readiness decides in a few statements, with the same rows and the same audit events as staging
    them one by one (documents.stage_prepared, then mapping.refresh_readiness); approved, posted and
    in-flight ones keep their rules."""
    from stnav_desktop.store import settings
    from stnav_desktop.store.models import AttemptState, PostingAttempt
    from tests.servicetitan.conftest import configure_profile

    bulk, single = settings.get_profile("bulk"), settings.get_profile("single")
    for profile in (bulk, single):
        configure_profile(profile, sandbox)
        SyncService(profile).pull()
    _changed_in_servicetitan(sandbox)
    pos = sandbox.purchase_order_ids()
    for profile in (bulk, single):
        def the(st_id, profile=profile):
            return StDocument.get((StDocument.profile == profile) & (StDocument.kind == SourceKind.PURCHASE_ORDER)
                                  & (StDocument.st_id == st_id))
        StDocument.update(status=DocStatus.APPROVED).where(StDocument.id == the(pos[14]).id).execute()
        StDocument.update(status=DocStatus.POSTED, nav_number="PI-1").where(StDocument.id == the(pos[15]).id).execute()
        PostingAttempt.create(document=the(pos[16]), idempotency_key="k", attempt_no=1, state=AttemptState.PENDING)
    first = AuditEvent.select(fn.MAX(AuditEvent.seq)).scalar()
    statements = {}
    for profile, one_by_one in ((bulk, False), (single, True)):
        pull._PageStager.one_by_one = one_by_one
        try:
            with _counting_statements() as count:
                summary = SyncService(profile).pull()
            statements[profile.name] = count[0]
        finally:
            pull._PageStager.one_by_one = False
        assert summary.counts["updated"] >= 20 and summary.counts["changed_after_posting"] == 1

    def rows(profile):
        return sorted((d.kind, d.st_id, d.status, d.problem, d.version, d.content_hash, json.dumps(d.raw, sort_keys=True),
                       d.source_problems, d.number, d.total, d.st_status, d.modified_on, d.vendor_name, d.hold_reason,
                       d.pending_raw is not None, d.batch_id)
                      for d in StDocument.select().where(StDocument.profile == profile))

    def events(profile):
        return sorted((e.action, e.st_ref, e.nav_ref, e.detail) for e in AuditEvent.select().where(
            (AuditEvent.seq > first) & (AuditEvent.profile_name == profile.name) & (AuditEvent.action != "pull.finished")))

    assert rows(bulk) == rows(single)
    assert events(bulk) == events(single)
    actions = [e[0] for e in events(bulk)]
    assert actions.count("document.updated") >= 20 and "document.data_problem" in actions
    assert "document.skipped" in actions and "document.changed_after_posting" in actions
    assert audit.verify().ok
    assert statements["bulk"] * 2 < statements["single"]  # pages of 10 here: per page, not per document


@contextlib.contextmanager
def _counting_statements():
    """Count what reaches the store's database, whatever the back end."""
    from stnav_desktop.store.db import db

    database, count = db.obj, [0]
    execute_sql = database.execute_sql

    def counting(sql, *args, **kwargs):
        count[0] += 1
        return execute_sql(sql, *args, **kwargs)
    database.execute_sql = counting
    try:
        yield count
    finally:
        del database.execute_sql


def test_the_collector_is_paused_during_pages_and_restored_after_the_pull(profile, sandbox, monkeypatch):
    """The cyclic garbage collector is off while pages are staged and comes back afterwards, also when a
    pull fails, and is left off when something else had turned it off before the pull."""
    import gc

    seen: list[bool] = []
    stage_page = pull._PageStager.stage_page

    def watching(self, kind, records, *args):
        seen.append(gc.isenabled())
        return stage_page(self, kind, records, *args)

    monkeypatch.setattr(pull._PageStager, "stage_page", watching)
    assert gc.isenabled()
    SyncService(profile).pull()
    assert seen and not any(seen) and gc.isenabled()

    def failing(self, kind, records, *args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pull._PageStager, "stage_page", failing)
    sandbox.add_purchase_orders(1)
    with pytest.raises(RuntimeError):
        pull.pull(profile, SyncService(profile).st_client())
    assert gc.isenabled()
    gc.disable()
    try:
        monkeypatch.setattr(pull._PageStager, "stage_page", stage_page)
        pull.pull(profile, SyncService(profile).st_client())
        assert not gc.isenabled()  # as it was before the pull
    finally:
        gc.enable()


def test_export_pages_say_whether_their_json_can_hold_a_float(sandbox, client):
    """Read with exact decimals, ServiceTitan's JSON yields a float only for a NaN/Infinity literal: a page
    without one is vouched float-free (staging then skips its type walk), a page with one is not."""
    first = next(iter(client.iter_export_purchase_orders()))
    assert first.records and first.float_free is True
    po_id = first.records[0].raw["id"]
    sandbox.edit_purchase_order(po_id, shipping=float("nan"))  # moved to the end of the feed
    pages = list(client.iter_export_purchase_orders(first.continue_from))
    with_nan = [p for p in pages if any(r.raw.get("id") == po_id for r in p.records)]
    assert len(with_nan) == 1 and with_nan[0].float_free is False
    assert all(p.float_free for p in pages if p is not with_nan[0])


def test_a_record_with_a_nan_literal_is_stored_as_every_release_stored_it(profile, sandbox, capsys):
    """The page holding it is not vouched float-free, so its text is json.dumps's (``NaN``), not orjson's
    (``null``): the stored text and content hash stay those of earlier releases, and the amount is a
    data problem named on the record."""
    po_id = sandbox.purchase_order_ids()[5]
    sandbox.edit_purchase_order(po_id, shipping=float("nan"))
    assert main(["pull"]) == 0, capsys.readouterr().err
    po = doc(SourceKind.PURCHASE_ORDER, po_id)
    from stnav_desktop.store.db import db
    from stnav_desktop.sync.app import documents

    (text,) = db.execute_sql(f"SELECT raw FROM st_document WHERE id = {db.param}", [po.id]).fetchone()
    assert '"shipping":NaN' in text  # orjson would have written null
    assert po.content_hash == documents.content_hash(json.loads(text, parse_float=Decimal))
    assert any("shipping" in p for p in po.source_problems or [])
