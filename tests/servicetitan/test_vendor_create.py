"""Create a ServiceTitan vendor (POST /inventory/v2/tenant/{tenant}/vendors): body exactly as the spec's
CreateVendorRequest, the simulator's answers as the spec's ModificationResponse / VendorResponse /
ApiErrorResponse, exactly-once by NAV number stamp or exact name, and a dropped answer settled by reading back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stnav_desktop.connectors.http import ConnectorError
from stnav_desktop.connectors.servicetitan import Vendor
from stnav_desktop.connectors.servicetitan.vendors import (
    NewVendor,
    VendorCreateError,
    create_vendor,
    find_vendors_by_name,
    get_vendor,
)
from tests.servicetitan.test_spec_conformance import check_errors, check_query, error_schema, operation

APP_GUID = "7c0c3c59-8f2b-4f6e-9a3e-2d1b5f0e9a11"
# a vendor that exists only in NAV (created there first)
NAV_VENDOR = {"number": "V70000", "displayName": "Keystone Pipe & Supply", "addressLine1": "400 Industrial Dr",
              "addressLine2": "Suite 5", "city": "Ardmore", "state": "PA", "country": "US", "postalCode": "19003",
              "phoneNumber": "610-555-0100", "email": "ap@keystone.example", "taxRegistrationNumber": "23-1346100"}


def spec_problems(sandbox) -> list[str]:
    problems = []
    for r in sandbox.requests:
        module, _template, op = operation(r.method, r.path)
        where = f"{r.method} {r.path}"
        problems += [f"{where}: {p}" for p in check_query(op, r.query)]
        if r.body is not None:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            problems += [f"{where} request: {e}" for e in check_errors(module, schema, r.body)]
        if r.status == 200:
            schema = op["responses"]["200"]["content"]["application/json"]["schema"]
            problems += [f"{where} 200: {e}" for e in check_errors(module, schema, r.response)]
        elif r.status > 0:
            problems += [f"{where} {r.status}: {e}" for e in check_errors(module, error_schema(module), r.response)]
    return problems


def posts(sandbox):
    return [r for r in sandbox.requests if r.method == "POST" and r.path.endswith("/vendors")]


def test_create_from_a_nav_vendor_matches_the_spec_and_returns_the_vendor(sandbox, client):
    new = NewVendor.from_nav(NAV_VENDOR, application_guid=APP_GUID)
    vendor = create_vendor(client, new)
    assert isinstance(vendor, Vendor) and vendor.ok, vendor.problems
    assert vendor.id > 2007 and vendor.name == "Keystone Pipe & Supply" and vendor.active
    assert vendor.address == {"street": "400 Industrial Dr", "unit": "Suite 5", "city": "Ardmore", "state": "PA",
                              "zip": "19003", "country": "USA"}
    assert vendor.contact["phone"] == "610-555-0100" and vendor.default_tax_rate == Decimal("0")
    assert vendor.raw["externalData"] == [{"key": "navVendorNumber", "value": "V70000"}]
    (post,) = posts(sandbox)
    assert post.body == {"name": "Keystone Pipe & Supply", "active": True, "isTruckReplenishment": False,
                         "taxRate": 0, "restrictedMobileCreation": False,
                         "address": {"street": "400 Industrial Dr", "unit": "Suite 5", "city": "Ardmore",
                                     "state": "PA", "zip": "19003", "country": "USA"},
                         "phone": "610-555-0100", "email": "ap@keystone.example",
                         "externalData": {"applicationGuid": APP_GUID,
                                          "externalData": [{"key": "navVendorNumber", "value": "V70000"}]}}
    assert post.response == {"id": vendor.id}
    assert spec_problems(sandbox) == []
    # it is in the vendor list now; external data only for the app that wrote it
    assert [v.id for v in find_vendors_by_name(client, "Keystone Pipe & Supply")] == [vendor.id]
    assert get_vendor(client, vendor.id).raw["externalData"] == []


def test_second_create_finds_the_first(sandbox, client):
    new = NewVendor.from_nav(NAV_VENDOR, application_guid=APP_GUID)
    first = create_vendor(client, new)
    renamed = NewVendor.from_nav({**NAV_VENDOR, "displayName": "Keystone Pipe"}, application_guid=APP_GUID)
    assert create_vendor(client, renamed).id == first.id  # same NAV number stamp
    assert create_vendor(client, NewVendor(name="Keystone Pipe & Supply")).id == first.id  # same exact name
    assert create_vendor(client, NewVendor(name="Hajoca Corporation")).id == 2007  # already in ServiceTitan
    assert len(posts(sandbox)) == 1
    assert spec_problems(sandbox) == []


def test_dropped_answer_is_read_back_not_created_twice(sandbox, client):
    new = NewVendor(name="Coastal Supply", street="1 Harbor Rd", city="Norfolk", state="VA", zip="23510",
                    country="USA", tax_rate=Decimal("0.0530"), delivery_option="EmailAsPdf")
    sandbox.set_faults(drop_after_write=1)  # the POST is carried out, its answer dropped
    vendor = create_vendor(client, new)
    assert vendor.name == "Coastal Supply" and vendor.default_tax_rate == Decimal("0.053")
    assert [v.name for v in client.vendors()].count("Coastal Supply") == 1
    assert [p.status for p in posts(sandbox)] == [-1]  # one POST, carried out, answer never seen
    assert spec_problems(sandbox) == []


def test_simulator_refuses_a_body_that_breaks_the_schema(sandbox, client):
    bad = {"name": "X", "active": True, "isTruckReplenishment": False, "taxRate": "0.05",
           "restrictedMobileCreation": False, "vendorNumber": "V1",
           "address": {"street": "1 Main", "city": "Tulsa", "state": "OK", "zip": "74103", "country": "USA"},
           "deliveryOption": "Fax"}
    with pytest.raises(ConnectorError) as err:
        client.http.request("POST", client.path("inventory", "vendors"), json_body=bad, expected=(200,))
    assert err.value.status == 400
    errors = err.value.details["errors"]
    assert any("vendorNumber" in k for k in errors) and any("taxRate" in k for k in errors)
    assert "address.unit" in errors and any("deliveryOption" in k for k in errors)
    assert len(sandbox.data.vendors) == 7
    # the checker agrees the body is off-spec, and the error answer itself is on-spec
    (post,) = posts(sandbox)
    module, _, op = operation("POST", post.path)
    assert check_errors(module, op["requestBody"]["content"]["application/json"]["schema"], post.body)
    assert check_errors(module, error_schema(module), post.response) == []


def test_local_checks_before_sending(client, sandbox):
    with pytest.raises(VendorCreateError, match="name is empty"):
        create_vendor(client, NewVendor(name="  "))
    with pytest.raises(VendorCreateError, match="application GUID"):
        NewVendor(name="A", external_data={"navVendorNumber": "V1"}).body()
    with pytest.raises(VendorCreateError, match="delivery option"):
        NewVendor(name="A", delivery_option="Fax").body()
    assert posts(sandbox) == []
