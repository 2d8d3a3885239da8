"""Create a ServiceTitan vendor (the reverse of "create a missing NAV vendor").

``POST /inventory/v2/tenant/{tenant}/vendors`` (operation ``Vendors_Create``, scope ``tn.inv.vendors:w``)
takes ``Inventory.V2.CreateVendorRequest`` and answers ``200 {"id": <new id>}`` (``ModificationResponse``);
the record is then read with ``GET …/vendors/{id}``. The request has NO tax id and no vendor number: the
NAV vendor number can be stamped on the vendor as ``externalData`` (per application GUID), which is also the
exactly-once key when an application GUID is given; otherwise the exact name is.

The body is exactly the schema's: required ``name``, ``active``, ``isTruckReplenishment``, ``taxRate``,
``restrictedMobileCreation``, ``address`` (``street``, ``unit``, ``city``, ``state``, ``zip``, ``country``, all
required strings); optional fields are sent only when set. ``taxRate`` is a JSON number written from a Decimal.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stnav_desktop.connectors.http import ConnectorError, HttpError, TransportError
from stnav_desktop.connectors.servicetitan import parsing
from stnav_desktop.connectors.servicetitan.client import ServiceTitanClient
from stnav_desktop.connectors.servicetitan.models import Vendor

log = logging.getLogger(__name__)

DELIVERY_OPTIONS = ("Manual", "EmailAsExcel", "EmailAsPdf", "EmailAsPdfRollupView", "Electronic", "MarkAsSent",
                    "EmailAsExcelAndPdf", "VendorPortal")  # InventoryUnsafe.PurchaseOrderDeliveryOption
NAV_NUMBER_KEY = "navVendorNumber"
_DEC = "\u0000DEC:"
_DEC_RE = re.compile(r'"\\u0000DEC:([-+0-9.Ee]+)"')


class VendorCreateError(ConnectorError):
    """The vendor to create is invalid before it reaches ServiceTitan (checked locally)."""


@dataclass
class NewVendor:
    """``Inventory.V2.CreateVendorRequest``. Address parts are required by the schema (empty strings allowed)."""

    name: str
    street: str = ""
    unit: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""
    active: bool = True
    is_truck_replenishment: bool = False
    tax_rate: Decimal = Decimal("0")  # default tax rate (a fraction, e.g. 0.0825)
    restricted_mobile_creation: bool = False
    memo: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    fax: str | None = None
    delivery_option: str | None = None  # one of DELIVERY_OPTIONS
    payment_term_id: int | None = None
    external_data: dict[str, str] = field(default_factory=dict)  # needs application_guid
    application_guid: str | None = None

    def problems(self) -> list[str]:
        out = []
        if not self.name.strip():
            out.append("the name is empty")
        if not isinstance(self.tax_rate, Decimal):
            out.append("the tax rate must be a Decimal")
        if self.delivery_option is not None and self.delivery_option not in DELIVERY_OPTIONS:
            out.append(f"delivery option {self.delivery_option!r} is not one of {', '.join(DELIVERY_OPTIONS)}")
        if self.external_data and not self.application_guid:
            out.append("external data needs the application GUID it belongs to")
        if self.application_guid:
            try:
                uuid.UUID(self.application_guid)
            except ValueError:
                out.append(f"application GUID {self.application_guid!r} is not a GUID")
        return out

    def body(self) -> dict[str, Any]:
        problems = self.problems()
        if problems:
            raise VendorCreateError(f"ServiceTitan vendor {self.name!r} cannot be created: " + "; ".join(problems)
                                    + ".")
        body: dict[str, Any] = {
            "name": self.name.strip(), "active": self.active, "isTruckReplenishment": self.is_truck_replenishment,
            "taxRate": self.tax_rate, "restrictedMobileCreation": self.restricted_mobile_creation,
            "address": {"street": self.street, "unit": self.unit, "city": self.city, "state": self.state,
                        "zip": self.zip, "country": self.country},
        }
        for key, value in (("memo", self.memo), ("firstName", self.first_name), ("lastName", self.last_name),
                           ("phone", self.phone), ("email", self.email), ("fax", self.fax),
                           ("deliveryOption", self.delivery_option), ("paymentTermId", self.payment_term_id)):
            if value is not None:
                body[key] = value
        if self.external_data:
            body["externalData"] = {"applicationGuid": self.application_guid,
                                    "externalData": [{"key": k, "value": v} for k, v in self.external_data.items()]}
        return body

    @classmethod
    def from_nav(cls, vendor: Mapping[str, Any], *, application_guid: str | None = None) -> NewVendor:
        """From a NAV vendor record (API v2.0 field names). With an application GUID the NAV vendor number is
        stamped as external data ``navVendorNumber``."""
        country = str(vendor.get("country") or "")
        nav_no = str(vendor.get("number") or "")
        return cls(name=str(vendor.get("displayName") or ""), street=str(vendor.get("addressLine1") or ""),
                   unit=str(vendor.get("addressLine2") or ""), city=str(vendor.get("city") or ""),
                   state=str(vendor.get("state") or ""), zip=str(vendor.get("postalCode") or ""),
                   country="USA" if country == "US" else country,
                   phone=vendor.get("phoneNumber") or None, email=vendor.get("email") or None,
                   application_guid=application_guid,
                   external_data={NAV_NUMBER_KEY: nav_no} if application_guid and nav_no else {})


def find_vendors_by_name(client: ServiceTitanClient, name: str) -> list[Vendor]:
    """Active and inactive vendors with exactly this name (the list has no name filter: read it all)."""
    return [v for v in client.vendors() if v.name == name]


def find_vendors_by_external_data(client: ServiceTitanClient, application_guid: str, key: str, value: str
                                  ) -> list[Vendor]:
    params = {"active": "Any", "externalDataApplicationGuid": application_guid, "externalDataKey": key,
              "externalDataValues": value}
    pages = client.iter_list("inventory", "vendors", parsing.parse_vendor, params)
    return [v for p in pages for v in p.records
            if any(x.get("key") == key and x.get("value") == value for x in v.raw.get("externalData") or [])]


def get_vendor(client: ServiceTitanClient, vendor_id: int, *, application_guid: str | None = None) -> Vendor:
    params = {"externalDataApplicationGuid": application_guid} if application_guid else None
    return parsing.parse_vendor(client.get("inventory", f"vendors/{int(vendor_id)}", params))


def find_existing(client: ServiceTitanClient, spec: NewVendor) -> Vendor | None:
    if spec.application_guid and NAV_NUMBER_KEY in spec.external_data:
        found = find_vendors_by_external_data(client, spec.application_guid, NAV_NUMBER_KEY,
                                              spec.external_data[NAV_NUMBER_KEY])
        if found:
            return found[0]
    found = find_vendors_by_name(client, spec.name.strip())
    return found[0] if found else None


def create_vendor(client: ServiceTitanClient, spec: NewVendor) -> Vendor:
    """Exactly once: an existing vendor (same NAV number stamp, else the same exact name) is returned as it
    is; otherwise one POST; if its outcome is unknown (connection dropped) the vendor is looked up again
    before one more POST. Returns the vendor as ``GET …/vendors/{id}`` parses it."""
    body = spec.body()
    existing = find_existing(client, spec)
    if existing is not None:
        log.info("ServiceTitan vendor %s already exists (id %s); not creating another", spec.name, existing.id)
        return existing
    try:
        new_id = _post(client, body)
    except TransportError:
        log.warning("ServiceTitan vendor create: outcome unknown after a transport error; reading back")
        existing = find_existing(client, spec)
        if existing is not None:
            return existing
        new_id = _post(client, body)
    return get_vendor(client, new_id, application_guid=spec.application_guid)


def _post(client: ServiceTitanClient, body: dict[str, Any]) -> int:
    resp = client.http.request("POST", client.path("inventory", "vendors"), data=dumps(body).encode("utf-8"),
                               headers={"Content-Type": "application/json"}, expected=(200,))
    try:
        answer = parsing.loads(resp.content)
        return int(answer["id"])
    except (ValueError, TypeError, KeyError):
        raise HttpError("ServiceTitan created the vendor but did not answer with its id",
                        status=resp.status_code) from None


def _prepare(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return _DEC + format(obj, "f")
    if isinstance(obj, Mapping):
        return {k: _prepare(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_prepare(v) for v in obj]
    if isinstance(obj, float):
        raise TypeError("money and rates must be Decimal, not float")
    return obj


def dumps(obj: Any) -> str:
    """JSON with Decimals as JSON numbers with their exact text."""
    return _DEC_RE.sub(lambda m: m.group(1), json.dumps(_prepare(obj), ensure_ascii=False))
