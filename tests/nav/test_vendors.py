"""Vendors: create a missing NAV vendor from a ServiceTitan vendor (exactly once), look vendors up, and the
simulator's BC rules for POST vendors (read-only/unknown fields, lengths, number series, duplicate number)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from stnav_desktop.connectors.http import TransportError
from stnav_desktop.connectors.nav import NavError, SpecError, Vendors, VendorSpec
from stnav_desktop.connectors.nav.gl_entries import find_gl_entries
from stnav_desktop.connectors.nav.purchase_invoices import (
    InvoiceLineSpec,
    PurchaseInvoices,
    PurchaseInvoiceSpec,
)
from stnav_desktop.connectors.nav.vendors import NavVendor

D = Decimal

# the ServiceTitan-only vendor of the seeded catalog, as the ServiceTitan API returns it
HAJOCA_ST = {"id": 2007, "name": "Hajoca Corporation", "active": True,
             "address": {"street": "127 Coulter Ave", "unit": None, "city": "Ardmore", "state": "PA",
                         "zip": "19003", "country": "USA"},
             "contactInfo": {"firstName": "Accounts", "lastName": "Receivable", "phone": "555-0100",
                             "email": "ar@hajoca.example", "fax": ""}}


def hajoca(**changes) -> VendorSpec:
    spec = VendorSpec.from_servicetitan(HAJOCA_ST, tax_registration_number="23-1346100")
    for k, v in changes.items():
        setattr(spec, k, v)
    return spec


def invoice(vendor_number: str, vin: str = "HJ-1001") -> PurchaseInvoiceSpec:
    return PurchaseInvoiceSpec(vendor_number=vendor_number, vendor_invoice_number=vin, invoice_date=date(2026, 11, 2),
                               posting_date=date(2026, 11, 2), dimensions={},
                               lines=[InvoiceLineSpec("Item", "1000", D("10"), D("8.75"), "Air filters")])


def vendors_in_nav(client) -> list[dict]:
    return list(client.iter(client.cpath("vendors")))


def test_servicetitan_vendor_is_mapped_to_writable_bc_fields():
    spec = hajoca()
    assert spec.body() == {"displayName": "Hajoca Corporation", "addressLine1": "127 Coulter Ave", "city": "Ardmore",
                           "state": "PA", "country": "US", "postalCode": "19003",
                           "taxRegistrationNumber": "23-1346100", "phoneNumber": "555-0100",
                           "email": "ar@hajoca.example"}


def test_create_from_servicetitan_vendor_lists_it_and_an_invoice_for_it_posts(client, nav_onprem):
    created = Vendors(client).create(hajoca())
    assert isinstance(created, NavVendor) and created.created
    assert created.number == "V70000"  # next number of the "Vendor Nos." series (V10000..V60000 exist)
    assert created.display_name == "Hajoca Corporation" and created.id and created.etag.startswith('W/"')
    listed = {v["number"]: v for v in vendors_in_nav(client)}
    assert listed["V70000"]["taxRegistrationNumber"] == "23-1346100" and listed["V70000"]["country"] == "US"
    assert listed["V70000"]["balance"] == 0 and listed["V70000"]["blocked"] == " "

    res = PurchaseInvoices(client).create(invoice(created.number), post=True)
    assert res.posted and res.vendor_number == "V70000"
    payable = [e for e in find_gl_entries(client, res.number, date(2026, 11, 2)) if e["accountNumber"] == "5410"]
    assert [e["creditAmount"] for e in payable] == [D("87.50")]


def test_second_create_finds_the_first(client, nav_onprem):
    vendors = Vendors(client)
    first = vendors.create(hajoca())
    again = vendors.create(hajoca())
    assert not again.created and again.id == first.id and again.number == first.number
    # the same tax id under the NAV name is the same vendor, too
    renamed = vendors.create(hajoca(display_name="Hajoca Corp. (Ardmore)"))
    assert renamed.id == first.id
    assert [v["displayName"] for v in vendors_in_nav(client)].count("Hajoca Corporation") == 1


def test_existing_seeded_vendor_is_found_by_tax_id_not_duplicated(client, nav_onprem):
    before = len(vendors_in_nav(client))
    found = Vendors(client).create(VendorSpec(display_name="Ferguson Enterprises", tax_registration_number="54-1234567"))
    assert found.number == "V10000" and not found.created
    assert len(vendors_in_nav(client)) == before


def test_dropped_connection_after_the_write_leaves_one_vendor(client, nav_onprem):
    nav_onprem.faults.drop_after_commit(method="POST", path_contains="vendors")
    vendors = Vendors(client)
    with pytest.raises(TransportError):
        vendors._post(hajoca())  # the raw POST: the outcome is unknown to the caller
    assert [v["displayName"] for v in vendors_in_nav(client)].count("Hajoca Corporation") == 1

    nav_onprem.faults.drop_after_commit(method="POST", path_contains="vendors")
    settled = vendors.create(hajoca(display_name="Hajoca West", tax_registration_number="23-9999999"))
    assert settled.display_name == "Hajoca West" and not settled.created  # read back after the dropped answer
    names = [v["displayName"] for v in vendors_in_nav(client)]
    assert names.count("Hajoca Corporation") == 1 and names.count("Hajoca West") == 1


def test_too_long_city_is_a_clear_error_naming_the_field(client, nav_onprem):
    long_city = "Lower Merion Township of Montgomery"  # 35 > 30
    with pytest.raises(SpecError) as err:
        Vendors(client).create(hajoca(city=long_city))
    assert "city (city)" in str(err.value) and "at most 30" in str(err.value)
    # BC's own answer (if a server differs from our lengths) is explained with the field, too
    with pytest.raises(NavError) as bc_err:
        Vendors(client)._post(hajoca(city=long_city))
    assert bc_err.value.code == "Application_StringExceededLength"
    assert "(city)" in str(bc_err.value) and "at most 30" in str(bc_err.value)
    assert "Hajoca Corporation" not in [v["displayName"] for v in vendors_in_nav(client)]


def test_name_with_an_apostrophe_is_found_exactly(client, nav_onprem):
    vendors = Vendors(client)
    found = vendors.find_by_name("O'Brien Plumbing Supply Co")
    assert [v.number for v in found] == ["V40'00"]
    assert vendors.find_by_name("O'Brien Plumbing Supply") == []  # exact, not a prefix
    assert vendors.find_by_name("x' or displayName ne 'y") == []  # the quote cannot add a condition
    assert vendors.find_by_number("V40'00").display_name == "O'Brien Plumbing Supply Co"
    assert [v.number for v in vendors.find_by_tax_id("36-4412019")] == ["V40'00"]
    assert vendors.find_by_number("V99999") is None


def test_given_number_is_used_and_a_taken_number_is_refused(client, nav_onprem):
    vendors = Vendors(client)
    made = vendors.create(hajoca(number="v-hajoca"))
    assert made.number == "V-HAJOCA"  # Code[20]: upper-cased by BC
    with pytest.raises(SpecError, match="already exists as 'Ferguson Enterprises LLC'"):
        vendors.create(VendorSpec(display_name="Someone Else", number="V10000", tax_registration_number="11-1111111"))


# -- the simulator's POST vendors rules (BC's answers) ------------------------------------------------------
def raw_post(client, body):
    return client.post(client.cpath("vendors"), body)


def test_simulator_number_series_and_duplicate_number(client, nav_onprem):
    assert raw_post(client, {"displayName": "A"})["number"] == "V70000"
    assert raw_post(client, {"displayName": "B"})["number"] == "V80000"
    with pytest.raises(NavError) as err:
        raw_post(client, {"number": "V10000", "displayName": "C"})
    assert err.value.status == 400 and err.value.code == "Internal_EntityWithSameKeyExists"
    assert err.value.nav_message == "The record in table Vendor already exists. Identification fields and values: No.='V10000'"
    assert err.value.correlation_id


@pytest.mark.parametrize(("body", "code", "text"), [
    ({"displayName": "X", "fax": "1"}, "BadRequest", "The property 'fax' does not exist on type 'Microsoft.NAV.vendor'"),
    ({"displayName": "X", "id": "not-a-guid"}, "Application_InvalidGUID", "Invalid GUID"),
    ({"displayName": "X", "balance": 5}, "BadRequest_InvalidOperation", "Control 'balance' is read-only."),
    ({"displayName": "X", "lastModifiedDateTime": "2026-01-01T00:00:00Z"}, "BadRequest_InvalidOperation",
     "Control 'lastModifiedDateTime' is read-only."),
    ({"displayName": "X" * 101}, "Application_StringExceededLength", "must be less than or equal to 100"),
    ({"displayName": "X", "state": "S" * 31}, "Application_StringExceededLength", "less than or equal to 30"),
    ({"displayName": "X", "postalCode": "9" * 21}, "Application_StringExceededLength", "less than or equal to 20"),
    ({"displayName": "X", "taxRegistrationNumber": "1" * 21}, "Application_StringExceededLength",
     "less than or equal to 20"),
    ({"displayName": "X", "addressLine1": "A" * 101}, "Application_StringExceededLength", "less than or equal to 100"),
    ({"displayName": "X", "country": "USA"}, "Internal_InvalidTableRelation", "related table (Country/Region)"),
    ({"displayName": "X", "email": "not an email"}, "Application_DialogException", "is not valid"),
    ({"displayName": "X", "blocked": "Yes"}, "BadRequest", "Microsoft.NAV.vendorBlocked"),
])
def test_simulator_refuses_what_bc_refuses(client, nav_onprem, body, code, text):
    before = len(vendors_in_nav(client))
    with pytest.raises(NavError) as err:
        raw_post(client, body)
    assert err.value.status == 400 and err.value.code == code and text in err.value.nav_message
    assert len(vendors_in_nav(client)) == before


def test_vendor_without_posting_group_cannot_post(client, nav_onprem):
    nav_onprem.company.vendor_template_posting_group = None  # a company with no vendor template
    made = Vendors(client).create(hajoca())
    with pytest.raises(NavError, match="no Vendor Posting Group"):
        PurchaseInvoices(client).create(invoice(made.number), post=True)
