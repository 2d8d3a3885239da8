import pytest

from stnav_desktop.store import audit
from stnav_desktop.store.models import DocStatus, Mapping, NavReference, StDocument, StReference
from stnav_desktop.sync.app import mapping

from .conftest import add_nav_refs

pytestmark = pytest.mark.both_backends  # set-based SQL (issue #17): PostgreSQL too where a server is given


def reload(doc):
    return StDocument.get_by_id(doc.id)


def test_validation_against_nav_reference_data(staged, profile):
    add_nav_refs(profile, V10000=True)  # the mapped vendor is blocked in NAV
    mapping.refresh_readiness(profile)
    po = reload(staged[0])
    assert po.status == DocStatus.NEEDS_MAPPING
    assert "NAV vendor V10000 (Ferguson Enterprises LLC) is blocked" in po.problem
    NavReference.update(blocked=False).where(NavReference.key == "V10000").execute()
    NavReference.update(data={"directPosting": False}).where(NavReference.key == "6120").execute()
    NavReference.update(blocked=True).where(NavReference.key == "TERRITORY:NORTH").execute()
    mapping.refresh_readiness(profile)
    bill = reload(staged[1])
    assert "G/L account 6120 (Job materials, stock) does not allow direct posting" in bill.problem
    assert "dimension value NORTH of TERRITORY is blocked" in bill.problem


def test_suggestions_exact_then_fuzzy_and_applied_only_when_accepted(store):
    from stnav_desktop.store import settings

    profile = settings.get_profile("default")
    add_nav_refs(profile)
    NavReference.create(profile=profile, entity="dimensionValues", key="TERRITORY:SOUTH", name="South territory")
    for entity, st_id, code, name in [("vendors", 2001, "", "Ferguson Enterprises"),
                                      ("vendors", 2009, "", "Totally Unrelated Name"),
                                      ("businessUnits", 1001, "", "HVAC Service - North"),
                                      ("businessUnits", 1002, "", "HVAC Service - South"),
                                      ("skus", 3001, "1000", "Air filter 16x25x1 MERV 11")]:
        StReference.create(profile=profile, entity=entity, st_id=st_id, code=code, name=name)
    found = {(s.kind, s.source_key): s for s in mapping.suggest(profile)}
    vendor = found[("vendor", "2001")]
    # "Ferguson Enterprises" is NAV's "Ferguson Enterprises LLC": the legal form does not tell vendors apart
    assert vendor.target == "V10000" and vendor.method.startswith("same name") and vendor.score == 100
    assert ("vendor", "2009") not in found
    assert found[("business_unit", "1001")].target == "NORTH"
    assert found[("business_unit", "1002")].target == "SOUTH"
    assert found[("item", "3001")].method == "exact key"
    assert Mapping.select().count() == 0  # nothing applied on its own
    mapping.accept(profile, vendor, actor="clerk")
    row = Mapping.get(Mapping.kind == "vendor")
    assert (row.source_key, row.target, row.updated_by) == ("2001", "V10000", "clerk")
    event = next(e for e in audit.events(action="mapping.set"))
    assert "accepted suggestion (same name" in event.detail


def test_csv_round_trip_and_bad_rows_named(profile):
    text = mapping.export_csv(profile)
    assert text.splitlines()[0] == "kind,source_key,source_label,target,target_type"
    bad = ("kind,source_key,source_label,target,target_type\n"
           "vendor,2002,Johnstone,V20000,\n"
           "colour,1,x,y,\n"
           "item,3004,PEX,1030,Thing\n"
           "vendor,2003,=cmd|' /C calc'!A0,V30000,\n")
    result = mapping.import_csv(profile, bad, actor="clerk")
    assert result.imported == 0  # all or nothing: a bad row leaves every mapping as it was
    assert result.errors == ["line 3: kind: unknown mapping kind 'colour'; one of business_unit, dimension, gl_rule, item, "
                             "st_gl_account, vendor",
                             "line 4: target_type: item mapping for 3004 needs Item or Account, not 'Thing'"]
    good = "\n".join(line for line in bad.splitlines() if not line.startswith(("colour", "item")))
    assert mapping.import_csv(profile, good, actor="clerk") == mapping.ImportResult(2, [])
    exported = mapping.export_csv(profile)
    assert "'=cmd" in exported  # formulas are neutralised for Excel
    assert "vendor,2002,Johnstone,V20000," in exported


def test_a_vendor_pick_rechecks_only_the_documents_of_that_vendor(profile):
    from stnav_desktop.store.models import StDocument
    from stnav_desktop.sync.app import documents

    from .example import PO

    a = documents.stage(profile, "purchase_order", PO).document
    b = documents.stage(profile, "purchase_order", dict(PO, id=PO["id"] + 1, vendorId=9999, number="X-2")).document
    scoped = {d.id for d in mapping.documents_using(profile, "vendor", a.vendor_st_id)}
    assert a.id in scoped and b.id not in scoped
    counts = mapping.map_and_refresh(profile, "vendor", 9999, "V60000")
    assert sum(counts.values()) == 1  # only b was re-checked
    assert StDocument.get_by_id(b.id).vendor_st_id == 9999


def test_suggest_for_one_key_matches_suggest(profile):
    from stnav_desktop.store.models import StReference

    from .conftest import add_nav_refs

    add_nav_refs(profile)
    StReference.create(profile=profile, entity="vendors", st_id=4242, name="W W Grainger Inc")
    every = {s.source_key: s for s in mapping.suggest(profile) if s.kind == "vendor"}
    one = mapping.suggest_for(profile, "vendor", 4242)
    assert one is not None and one.target == every["4242"].target == "V60000"
    mapping.accept(profile, one)
    assert mapping.suggest_for(profile, "vendor", 4242) is None  # mapped: nothing to suggest


def test_statuses_in_words_data_problem_and_waiting_for_receipt(profile):
    from stnav_desktop.sync.app import documents
    from stnav_desktop.sync.views import review

    from .example import BILL_R1, PO

    partly = documents.stage(profile, "purchase_order", dict(PO, status="PartiallyReceived")).document
    bad_amount = documents.stage(profile, "inventory_bill", dict(BILL_R1, billAmount="12,5O")).document
    negative = documents.stage(profile, "inventory_bill",
                               dict(BILL_R1, id=BILL_R1["id"] + 7, referenceNumber="NEG", shippingAmount=-5)).document
    mapping.refresh_readiness(profile)
    partly, bad_amount, negative = (StDocument.get_by_id(d.id) for d in (partly, bad_amount, negative))
    assert partly.status == DocStatus.WAITING
    assert review.STATUS_LABELS[partly.status] == "Waiting for full receipt"
    assert partly.problem.startswith("waiting for full receipt") and "partly received" in partly.problem
    for doc in (bad_amount, negative):
        assert doc.status == DocStatus.DATA_PROBLEM, (doc.status, doc.problem)
        assert review.STATUS_LABELS[doc.status] == "Data problem"
        assert "Correct the record in ServiceTitan" in doc.problem
    # received later: it becomes ready without anyone touching it
    documents.stage(profile, "purchase_order", dict(PO, status="Received", modifiedOn="2026-03-01T00:00:00Z"))
    mapping.refresh_readiness(profile)
    assert StDocument.get_by_id(partly.id).status == DocStatus.READY


def test_vendor_suggestions_normalise_use_evidence_and_say_when_taken(store):
    from stnav_desktop.store import settings
    from stnav_desktop.sync.domain import matching
    assert matching.normalise("W.W. Grainger, Inc.") == matching.normalise("WW GRAINGER") == "ww grainger"
    assert matching.normalise("Smith & Sons Plbg Co") == "smith and sons plumbing"
    profile = settings.get_profile("default")
    for key, name, data in [("V100", "Johnstone Supply Dallas", {"phone": "(214) 555-0100"}),
                            ("V200", "Johnstone Supply Houston", {"phone": "713-555-0199"}),
                            ("V300", "Ferguson Enterprises LLC", {})]:
        NavReference.create(profile=profile, entity="vendors", key=key, name=name, data=data)
    for st_id, name, data in [(1, "Johnstone Supply - Dallas", {"contactInfo": {"phone": "+1 214 555 0100"}}),
                              (2, "Acme Widgets of Nowhere", {}),
                              (3, "Ferguson Enterprises, Inc.", {}),
                              (4, "Ferguson Enterprises", {})]:
        StReference.create(profile=profile, entity="vendors", st_id=st_id, name=name, data=data)
    mapping.set_mapping(profile, "vendor", 4, "V300")
    found = {s.source_key: s for s in mapping.suggest(profile) if s.kind == "vendor"}
    assert found["1"].target == "V100" and "same phone" in found["1"].method and found["1"].safe
    assert "2" not in found  # no match: nothing close, nothing offered
    taken = found["3"]
    assert taken.target == "V300" and not taken.safe
    assert "already mapped to ServiceTitan vendor 4 (Ferguson Enterprises)" in taken.warning


def test_the_period_comes_from_nav_where_nav_states_it_and_the_row_says_who_closed_it(profile):
    from stnav_desktop.store import settings
    from stnav_desktop.sync.app import documents

    from .example import PO

    doc = documents.stage(profile, "purchase_order", PO).document  # dated 2026-10
    settings.set_value(profile, "posting.allow_to", "2026-09-30")
    mapping.refresh_readiness(profile)
    problem = StDocument.get_by_id(doc.id).problem
    assert "outside the allowed posting period … to 2026-09-30 (closed by this profile's settings" in problem
    # NAV states its period (generalLedgerSetup): it wins over the settings, and the row says so
    NavReference.create(profile=profile, entity="generalLedgerSetup", key="setup",
                        data={"allowPostingFrom": "2026-10-01", "allowPostingTo": "2026-10-31"})
    assert mapping.posting_period(profile).source.startswith("NAV's General Ledger Setup")
    mapping.refresh_readiness(profile)
    assert "posting period" not in StDocument.get_by_id(doc.id).problem
    NavReference.update(data={"allowPostingFrom": "2026-11-01", "allowPostingTo": None}).execute()
    mapping.refresh_readiness(profile)
    assert "closed by NAV's General Ledger Setup" in StDocument.get_by_id(doc.id).problem


# --- a mapping change re-checks only the documents using the key, set-based (issue #17) -----------------

def _head_seq() -> int:
    from stnav_desktop.store.db import db

    return db.execute_sql("SELECT seq FROM audit_head WHERE id = 1").fetchone()[0]


def _three_pos(profile):
    """A PO with SKUs 3001/3002/3008 (vendor 2001), one from unmapped vendor 2002 with SKU 30011 only
    (a longer id starting like 3001), one from vendor 2001 with SKU 3002 only."""
    from stnav_desktop.sync.app import documents

    from .example import PO

    line = dict(PO["items"][0], skuId=30011, skuCode="OTHER")
    a = documents.stage(profile, "purchase_order", PO).document
    b = documents.stage(profile, "purchase_order", dict(PO, id=PO["id"] + 1, number="X-2", vendorId=2002,
                                                        items=[line], total=87.5 + 17.74 + 12)).document
    c = documents.stage(profile, "purchase_order", dict(PO, id=PO["id"] + 2, number="X-3",
                                                        items=[dict(PO["items"][1])], total=56.8 + 17.74 + 12)).document
    mapping.refresh_readiness(profile)
    return reload(a), reload(b), reload(c)


def test_an_item_mapping_change_rechecks_only_documents_holding_that_sku(profile):
    a, b, c = _three_pos(profile)
    assert {d.id for d in mapping.documents_using(profile, "item", "3001")} == {a.id}  # not 30011
    assert {d.id for d in mapping.documents_using(profile, "item", "3002")} == {a.id, c.id}
    assert {d.id for d in mapping.documents_using(profile, "item", "30011")} == {b.id}
    assert {d.id for d in mapping.documents_using(profile, "vendor", "2002")} == {b.id}
    assert {d.id for d in mapping.documents_using(profile, "gl_rule", "sku_type:Material")} == set()  # POs: no rule
    before = {d.id: (d.status, d.problem, d.updated_at) for d in (a, b, c)}
    NavReference.create(profile=profile, entity="items", key="1020", name="Other part")
    mapping.delete_mapping(profile, "item", "3001")
    counts = mapping.map_and_refresh(profile, "item", "3001", "1020", target_type="Item")
    assert sum(counts.values()) == 1
    for doc in (b, c):  # not using SKU 3001: not read, not written, not audited
        assert (reload(doc).status, reload(doc).problem, reload(doc).updated_at) == before[doc.id]


def test_a_vendor_mapping_change_moves_its_documents_in_one_go_and_audits_each(profile, capsys):
    from stnav_desktop.cli import main

    a, b, c = _three_pos(profile)
    assert b.status == DocStatus.NEEDS_MAPPING and "2002" in b.problem
    untouched = {d.id: reload(d).updated_at for d in (a, c)}
    seq = _head_seq()
    assert main(["map", "set", "vendor", "2002", "V60000"]) == 0  # the CLI: only the vendor's documents
    assert "documents using it: 1 ready" in capsys.readouterr().out
    assert reload(b).status == DocStatus.READY and reload(b).problem == ""
    assert {d.id: reload(d).updated_at for d in (a, c)} == untouched
    assert _head_seq() - seq == 2  # mapping.set, then document.ready for X-2 alone
    [event] = [e for e in audit.events(st_ref="PO-X-2") if e.action == "document.ready"][-1:]
    assert '"from":"needs_mapping"' in event.detail and '"to":"ready"' in event.detail
    assert audit.verify().ok


def test_refresh_updates_the_objects_given_and_refuses_a_forbidden_move(profile):
    from stnav_desktop.sync.domain import lifecycle

    a, b, c = _three_pos(profile)
    mapping.delete_mapping(profile, "vendor", "2001")
    counts = mapping.refresh_readiness(profile, documents=[a, c])
    assert counts == {DocStatus.NEEDS_MAPPING: 2}
    assert a.status == c.status == DocStatus.NEEDS_MAPPING and "2001" in a.problem  # in place, as before
    StDocument.update(status=DocStatus.POSTED).where(StDocument.id == b.id).execute()
    seq = _head_seq()
    with pytest.raises(lifecycle.TransitionError, match="cannot go from posted"):
        mapping.refresh_readiness(profile, documents=[reload(c), reload(b)])
    assert _head_seq() == seq and reload(b).status == DocStatus.POSTED
