"""``POST /inventory/v2/tenant/{tenant}/vendors`` for the ServiceTitan simulator: the body is checked against
``Inventory.V2.CreateVendorRequest`` of tenant-inventory-v2.json (required fields, types, the delivery-option
enum, no unknown properties: every schema object is ``additionalProperties: false``), the answer is
``ModificationResponse`` ``{"id": n}``. External data is kept per application GUID and only shown to a request
that passes that GUID (``externalDataApplicationGuid``), as the real API does."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from stnav_desktop.sandbox.servicetitan.data import Collection, iso

DELIVERY_OPTIONS = ("Manual", "EmailAsExcel", "EmailAsPdf", "EmailAsPdfRollupView", "Electronic", "MarkAsSent",
                    "EmailAsExcelAndPdf", "VendorPortal")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
# (property, kind, required)
REQUEST = (("name", "str", True), ("active", "bool", True), ("memo", "str?", False), ("firstName", "str?", False),
           ("lastName", "str?", False), ("phone", "str?", False), ("email", "str?", False), ("fax", "str?", False),
           ("isTruckReplenishment", "bool", True), ("deliveryOption", "delivery?", False),
           ("taxRate", "number", True), ("restrictedMobileCreation", "bool", True),
           ("vendorQuickbooksItem", "str?", False), ("paymentTermId", "int?", False),
           ("remittanceVendorId", "int?", False), ("address", "address", True),
           ("externalData", "external?", False), ("tags", "tags?", False), ("vendorContacts", "contacts?", False))
ADDRESS = ("street", "unit", "city", "state", "zip", "country")


def _type_ok(kind: str, value: Any) -> bool:
    if kind.endswith("?"):
        if value is None:
            return True
        kind = kind[:-1]
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    if kind == "delivery":
        return value in DELIVERY_OPTIONS
    if kind in ("address", "external"):
        return isinstance(value, dict)
    if kind in ("tags", "contacts"):
        return isinstance(value, list)
    return False


def _object(errors: dict[str, list[str]], path: str, value: dict[str, Any], props: dict[str, tuple[str, bool]],
            type_name: str) -> None:
    for key in value:
        if key not in props:
            errors.setdefault(f"{path}{key}", []).append(
                f"The JSON property '{key}' could not be mapped to any .NET member contained in type '{type_name}'.")
    for key, (kind, required) in props.items():
        if key not in value or (value[key] is None and required):
            if required:
                errors.setdefault(f"{path}{key}", []).append(f"The {key} field is required.")
            continue
        if not _type_ok(kind, value[key]):
            what = "one of " + ", ".join(DELIVERY_OPTIONS) if kind.startswith("delivery") else kind.rstrip("?")
            errors.setdefault(f"$.{path}{key}", []).append(
                f"The JSON value could not be converted to {what}. Path: $.{path}{key}")


def validate_create(body: Any) -> dict[str, list[str]]:
    """ASP.NET-style validation errors (empty when the body is a valid CreateVendorRequest)."""
    if not isinstance(body, dict):
        return {"request": ["The request field is required."]}
    errors: dict[str, list[str]] = {}
    _object(errors, "", body, {k: (kind, req) for k, kind, req in REQUEST}, "CreateVendorRequest")
    if isinstance(body.get("name"), str) and not body["name"].strip():
        errors.setdefault("name", []).append("The name field is required.")
    addr = body.get("address")
    if isinstance(addr, dict):
        _object(errors, "address.", addr, {k: ("str", True) for k in ADDRESS}, "AddressRequest")
    ext = body.get("externalData")
    if isinstance(ext, dict):
        _object(errors, "externalData.", ext, {"applicationGuid": ("str", True), "externalData": ("tags", True)},
                "ExternalDataCreateRequest")
        if isinstance(ext.get("applicationGuid"), str) and not _GUID.match(ext["applicationGuid"]):
            errors.setdefault("externalData.applicationGuid", []).append("The applicationGuid must be a GUID.")
        for i, item in enumerate(ext.get("externalData") if isinstance(ext.get("externalData"), list) else []):
            if not isinstance(item, dict):
                errors.setdefault(f"externalData.externalData[{i}]", []).append("An object is required.")
                continue
            _object(errors, f"externalData.externalData[{i}].", item, {"key": ("str", True), "value": ("str", True)},
                    "ExternalDataModel")
    for name, props, type_name in (("tags", {"tagTypeId": ("int", True)}, "TagRequest"),
                                   ("vendorContacts", {"name": ("str", True), "email": ("str", True)},
                                    "CreateVendorContactRequest")):
        items = body.get(name)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                errors.setdefault(f"{name}[{i}]", []).append("An object is required.")
                continue
            _object(errors, f"{name}[{i}].", item, props, type_name)
    return errors


def create(vendors: Collection, external: dict[int, dict[str, list[dict[str, str]]]], body: dict[str, Any],
           now: datetime) -> int:
    """Insert a ``VendorResponse``-shaped record built from a valid request; returns its id."""
    with vendors.lock:
        new_id = max(vendors.records, default=0) + 1
        stamp = iso(now, 3)
        addr = body["address"]
        vendors.put({
            "id": new_id, "name": body["name"].strip(), "active": body["active"],
            "isTruckReplenishment": body["isTruckReplenishment"],
            "isMobileCreationRestricted": body["restrictedMobileCreation"], "memo": body.get("memo") or "",
            "deliveryOption": body.get("deliveryOption") or "Manual", "defaultTaxRate": body["taxRate"],
            "contactInfo": {k: body.get(k) or "" for k in ("firstName", "lastName", "phone", "email", "fax")},
            "address": {k: addr[k] for k in ADDRESS}, "createdOn": stamp, "modifiedOn": stamp,
            "externalData": [], "customFields": []})
        ext = body.get("externalData")
        if ext:
            external.setdefault(new_id, {})[ext["applicationGuid"].lower()] = [
                {"key": x["key"], "value": x["value"]} for x in ext["externalData"]]
        return new_id


def with_external(rec: dict[str, Any], external: dict[int, dict[str, list[dict[str, str]]]],
                  application_guid: str | None) -> dict[str, Any]:
    """The record as a caller with this application GUID sees it (its own external data only)."""
    if not application_guid:
        return rec
    return {**rec, "externalData": list(external.get(rec["id"], {}).get(application_guid.lower(), []))}


def matches_external(rec: dict[str, Any], key: str | None, values: list[str] | None) -> bool:
    if key is None:
        return True
    items = rec.get("externalData") or []
    return any(x["key"] == key and (values is None or x["value"] in values) for x in items)
