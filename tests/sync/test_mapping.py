from stnav_desktop.store import audit
from stnav_desktop.store.models import DocStatus, Mapping, NavReference, StDocument, StReference
from stnav_desktop.sync import mapping

from .conftest import add_nav_refs


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
    assert vendor.target == "V10000" and vendor.method == "fuzzy name" and 70 <= vendor.score < 100
    assert ("vendor", "2009") not in found
    assert found[("business_unit", "1001")].target == "NORTH"
    assert found[("business_unit", "1002")].target == "SOUTH"
    assert found[("item", "3001")].method == "exact key"
    assert Mapping.select().count() == 0  # nothing applied on its own
    mapping.accept(profile, vendor, actor="clerk")
    row = Mapping.get(Mapping.kind == "vendor")
    assert (row.source_key, row.target, row.updated_by) == ("2001", "V10000", "clerk")
    event = next(e for e in audit.events(action="mapping.set"))
    assert "accepted suggestion (fuzzy name)" in event.detail


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
    assert result.errors == ["line 3: kind: unknown mapping kind 'colour'; one of business_unit, gl_rule, item, "
                             "st_gl_account, vendor",
                             "line 4: target_type: item mapping for 3004 needs Item or Account, not 'Thing'"]
    good = "\n".join(line for line in bad.splitlines() if not line.startswith(("colour", "item")))
    assert mapping.import_csv(profile, good, actor="clerk") == mapping.ImportResult(2, [])
    exported = mapping.export_csv(profile)
    assert "'=cmd" in exported  # formulas are neutralised for Excel
    assert "vendor,2002,Johnstone,V20000," in exported
