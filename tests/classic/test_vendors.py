"""Vendors created on classic NAV through page 26 "Vendor Card": numbered by NAV's series or given, exactly
once, refused with one line naming the vendor and the field before anything is written when the server's own
field lengths or controls say no, and NAV's own refusals (duplicate No., manual numbers off, unknown country)."""

from __future__ import annotations

import pytest

from stnav_desktop.connectors.nav.classic import ClassicClient, ClassicVendors, classic_connection_checks
from stnav_desktop.connectors.nav.errors import NavError, SpecError
from stnav_desktop.connectors.nav.vendors import VendorSpec
from stnav_desktop.sandbox.navclassic import ClassicNavSandbox

from .conftest import FAST_RETRY, basic_config


def hajoca(**kw) -> VendorSpec:
    base = dict(display_name="Hajoca Corporation", address_line1="127 Coulter Ave", city="Ardmore", state="PA",
                postal_code="19003", country="US", tax_registration_number="23-1346100",
                phone_number="610-649-1430", email="ap@hajoca.example")
    return VendorSpec(**{**base, **kw})


@pytest.fixture
def vendors(books) -> ClassicVendors:
    return ClassicVendors(books.client)


def posts(nav) -> int:
    return sum(1 for method, path in nav.requests if method == "POST" and "VendorCard" in path)


def test_vendor_numbered_by_navs_series_with_its_address(vendors, nav, books):
    created = vendors.create(hajoca())
    assert created.created and created.number == "V90001"  # the next number of No. Series VEND
    [row] = [r for r in nav.rows("Vendor") if r["No"] == "V90001"]
    assert (row["Name"], row["Address"], row["City"], row["County"], row["Post_Code"], row["Country_Region_Code"],
            row["VAT_Registration_No"], row["Phone_No"], row["E_Mail"]) == (
        "Hajoca Corporation", "127 Coulter Ave", "Ardmore", "PA", "19003", "US", "23-1346100", "610-649-1430",
        "ap@hajoca.example")
    assert "V90001" in {v["No"] for v in books.vendors()}  # the vendor list (page 27) shows it


def test_given_number_is_kept_upper_case(vendors, nav):
    created = vendors.create(hajoca(number="hj-100"))
    assert created.number == "HJ-100" and ("HJ-100",) in nav.company.t("Vendor")


def test_creating_twice_gives_the_same_vendor(vendors, nav):
    first = vendors.create(hajoca())
    again = vendors.create(hajoca())
    assert again.number == first.number and not again.created and posts(nav) == 1


def test_answer_lost_after_the_insert_is_found_not_doubled(vendors, nav):
    nav.drop_after("POST", "/VendorCard")
    created = vendors.create(hajoca())
    assert created.number == "V90001"
    assert [r["No"] for r in nav.rows("Vendor") if r["Name"] == "Hajoca Corporation"] == ["V90001"]


def test_existing_number_of_another_vendor_is_refused_before_writing(vendors, nav):
    with pytest.raises(SpecError, match="NAV vendor V10000 already exists as 'Ferguson"):
        vendors.create(hajoca(number="V10000"))
    assert posts(nav) == 0


def test_nav_refuses_a_duplicate_number_with_its_own_message(books):
    """The page itself (what another PC racing us would meet): NavCSideDuplicateKeyException."""
    client = books.client
    with pytest.raises(NavError) as info:
        client.post(client.service_path("vendor_card"), {"No": "V10000", "Name": "Someone"})
    assert info.value.code == "Internal_EntityWithSameKeyExists"
    assert info.value.nav_message == "The Vendor already exists. Identification fields and values: No.='V10000'"


def test_name_too_long_for_nav_2018_is_one_line_before_writing(vendors, nav):
    long_name = "Hajoca Corporation Plumbing Heating and Industrial Supply"  # 57 > Text[50]
    with pytest.raises(SpecError) as info:
        vendors.create(hajoca(display_name=long_name))
    message = str(info.value)
    assert "\n" not in message and "name (Name) is 57 characters long; this NAV allows at most 50" in message
    assert posts(nav) == 0


def test_business_central_on_prem_takes_100_characters(tls_dir, clock):
    with ClassicNavSandbox(tls_dir, clock=clock, version="bc") as sb:
        v = ClassicVendors(ClassicClient(basic_config(sb), sb.web_service_key, retry=FAST_RETRY))
        long_name = "Hajoca Corporation Plumbing Heating and Industrial Supply"
        assert v.create(hajoca(display_name=long_name)).display_name == long_name


def test_manual_numbers_off_in_the_series(vendors, nav):
    nav.company.t("No. Series")[("VEND",)]["Manual_Nos"] = False
    with pytest.raises(NavError) as info:
        vendors.create(hajoca(number="HJ-100"))
    assert str(info.value).startswith("Vendor 'Hajoca Corporation': NAV's vendor number series does not allow")
    assert "activate Manual Nos. in No. Series VEND" in str(info.value)
    assert vendors.create(hajoca()).number == "V90001"  # without a number NAV numbers it


def test_no_vendor_series_in_setup(vendors, nav):
    nav.company.t("Purchases & Payables Setup")[("",)]["Vendor_Nos"] = ""
    with pytest.raises(NavError, match="Vendor Nos. must have a value in Purchases & Payables Setup"):
        vendors.create(hajoca())


def test_unknown_country_names_the_field(vendors, nav):
    with pytest.raises(NavError) as info:
        vendors.create(hajoca(country="ZZ"))
    assert "Country/Region Code of table Vendor contains a value (ZZ)" in str(info.value)
    assert str(info.value).startswith("Vendor 'Hajoca Corporation'")
    assert not [r for r in nav.rows("Vendor") if r["Name"] == "Hajoca Corporation"]


def test_posting_groups_from_the_settings_are_sent(nav):
    cfg = basic_config(nav, vendor_posting_group="domestic", gen_bus_posting_group="DOMESTIC")
    created = ClassicVendors(ClassicClient(cfg, nav.web_service_key, retry=FAST_RETRY)).create(hajoca())
    row = nav.company.t("Vendor")[(created.number,)]
    assert (row["Vendor_Posting_Group"], row["Gen_Bus_Posting_Group"]) == ("DOMESTIC", "DOMESTIC")


def test_page_26_not_published_names_the_page_to_publish(vendors, nav, books):
    nav.unpublish("VendorCard")
    with pytest.raises(NavError) as info:
        vendors.create(hajoca())
    assert "Object ID 26 (Vendor Card), Service Name VendorCard" in str(info.value)
    check = {c.name: c for c in classic_connection_checks(books.client)}["service VendorCard"]
    assert check.ok and "recommended for creating vendors" in check.message  # optional: the rest works


def test_service_name_from_settings(nav):
    nav.publish("vendor_card", "Kreditorkort")
    cfg = basic_config(nav, services={"vendor_card": "Kreditorkort"})
    created = ClassicVendors(ClassicClient(cfg, nav.web_service_key, retry=FAST_RETRY)).create(hajoca())
    assert created.created and [p for m, p in nav.requests if m == "POST"][-1].endswith("/Kreditorkort")


def test_record_for_the_servicetitan_side(vendors):
    vendors.create(hajoca(number="HJ-100"))
    rec = vendors.record("hj-100")
    assert rec is not None and rec["number"] == "HJ-100" and rec["displayName"] == "Hajoca Corporation"
    assert rec["addressLine1"] == "127 Coulter Ave" and rec["postalCode"] == "19003" and rec["country"] == "US"
    assert vendors.record("NOPE") is None
