"""Vendors: look up and create a NAV / Business Central vendor (API v2.0 page 30010 "APIV2 - Vendors").

Creating is exactly-once: an existing vendor with the same tax registration number, or else the same display
name, is returned instead of creating another; if the POST's outcome is unknown (``TransportError``: the
connection dropped after sending) the vendor is looked up again before one more try. Only fields the API v2.0
catalog marks writable are sent (``id``/``balance``/``lastModifiedDateTime`` never). With no ``number`` BC takes
the next number of the "Vendor Nos." series; the vendor template of the company sets the posting groups.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.client import NavClient
from stnav_desktop.connectors.nav.errors import NavError, SpecError

log = logging.getLogger(__name__)

# field -> (API name, max length): Vendor table lengths (also the v1.0 OpenAPI maxLength values)
FIELDS: dict[str, tuple[str, int]] = {
    "number": ("number", 20),
    "display_name": ("displayName", 100),
    "address_line1": ("addressLine1", 100),
    "address_line2": ("addressLine2", 50),
    "city": ("city", 30),
    "state": ("state", 30),
    "country": ("country", 10),
    "postal_code": ("postalCode", 20),
    "tax_registration_number": ("taxRegistrationNumber", 20),
    "phone_number": ("phoneNumber", 30),
    "email": ("email", 80),
}
_LABELS = {"number": "vendor number", "display_name": "name", "address_line1": "address line 1",
           "address_line2": "address line 2", "city": "city", "state": "state", "country": "country/region code",
           "postal_code": "postal code", "tax_registration_number": "tax registration number",
           "phone_number": "phone number", "email": "email"}
# ServiceTitan writes countries as "USA"; NAV's Country/Region codes are ISO 3166 alpha-2
COUNTRY_ALIASES = {"USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US", "CAN": "CA",
                   "CANADA": "CA", "MEX": "MX", "MEXICO": "MX"}
_LENGTH_RE = re.compile(r"The length of the string is (\d+), but it must be less than or equal to (\d+) characters\."
                        r"(?: Value: (?P<value>.*))?$", re.S)


@dataclass
class VendorSpec:
    display_name: str  # displayName (Name, Text[100])
    number: str | None = None  # number (No., Code[20]); None = BC's "Vendor Nos." series assigns it
    address_line1: str = ""  # addressLine1 (Address, Text[100])
    address_line2: str = ""  # addressLine2 (Address 2, Text[50])
    city: str = ""  # city (Text[30])
    state: str = ""  # state (County, Text[30])
    country: str = ""  # country (Country/Region Code, Code[10]); must exist in NAV's Country/Region table
    postal_code: str = ""  # postalCode (Post Code, Code[20])
    tax_registration_number: str = ""  # taxRegistrationNumber (VAT Registration No., Text[20]); US: federal tax id
    phone_number: str | None = None  # phoneNumber (Phone No., Text[30])
    email: str | None = None  # email (E-Mail, Text[80])

    def problems(self) -> list[str]:
        out = []
        if not (self.display_name or "").strip():
            out.append("the name is empty")
        if self.number is not None and not self.number.strip():
            out.append("the vendor number is blank (leave it out to let NAV number the vendor)")
        for attr, (api, limit) in FIELDS.items():
            value = getattr(self, attr)
            if value is None:
                continue
            if not isinstance(value, str):
                out.append(f"{_LABELS[attr]} ({api}) must be text")
            elif len(value) > limit:
                out.append(f"{_LABELS[attr]} ({api}) is {len(value)} characters long; NAV allows at most {limit}: "
                           f"{value!r}")
            elif any(ord(ch) < 32 for ch in value):
                out.append(f"{_LABELS[attr]} ({api}) contains control characters")
        if self.email and "@" not in self.email:
            out.append(f"email {self.email!r} is not an email address")
        return out

    def validate(self) -> None:
        problems = self.problems()
        if problems:
            raise SpecError(f"Vendor {self.display_name!r} cannot be created in NAV: " + "; ".join(problems) + ".")

    def body(self) -> dict[str, Any]:
        """The POST body with BC's field names (blank optional fields left out)."""
        body: dict[str, Any] = {}
        for attr, (api, _limit) in FIELDS.items():
            value = getattr(self, attr)
            if value is None or (value == "" and attr != "display_name"):
                continue
            body[api] = value
        return body

    @classmethod
    def from_servicetitan(cls, vendor: Any, *, tax_registration_number: str = "", number: str | None = None
                          ) -> VendorSpec:
        """From a ServiceTitan vendor (``connectors.servicetitan.Vendor`` or its raw dict): name, address
        (street, unit, city, state, zip, country) and contact phone/email. ServiceTitan keeps no tax id on a
        vendor, so the person creating the vendor supplies it."""
        raw = vendor if isinstance(vendor, Mapping) else {
            "name": vendor.name, "address": vendor.address, "contactInfo": vendor.contact}
        addr = raw.get("address") or {}
        contact = raw.get("contactInfo") or {}
        country = _text(addr.get("country")).upper()
        return cls(display_name=_text(raw.get("name")), number=number, address_line1=_text(addr.get("street")),
                   address_line2=_text(addr.get("unit")), city=_text(addr.get("city")),
                   state=_text(addr.get("state")), country=COUNTRY_ALIASES.get(country, country),
                   postal_code=_text(addr.get("zip")), tax_registration_number=tax_registration_number.strip(),
                   phone_number=_text(contact.get("phone")) or None, email=_text(contact.get("email")) or None)


@dataclass
class NavVendor:
    id: str
    number: str
    display_name: str
    etag: str
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    country: str = ""
    postal_code: str = ""
    tax_registration_number: str = ""
    blocked: str = " "
    created: bool = False  # False when an existing vendor was found (exactly-once)

    @classmethod
    def from_api(cls, rec: Mapping[str, Any], *, created: bool = False) -> NavVendor:
        return cls(id=rec["id"], number=rec["number"], display_name=rec.get("displayName") or "",
                   etag=rec.get("@odata.etag", ""), address_line1=rec.get("addressLine1") or "",
                   address_line2=rec.get("addressLine2") or "", city=rec.get("city") or "",
                   state=rec.get("state") or "", country=rec.get("country") or "",
                   postal_code=rec.get("postalCode") or "",
                   tax_registration_number=rec.get("taxRegistrationNumber") or "",
                   blocked=rec.get("blocked") or " ", created=created)


class Vendors:
    def __init__(self, client: NavClient) -> None:
        self.client = client

    def _find(self, **condition: str) -> list[NavVendor]:
        ((field, value),) = condition.items()
        recs = self.client.iter(self.client.cpath("vendors"), {"$filter": odata.eq_filter(**condition)})
        # exact match client-side too (BC string comparison may ignore case)
        return [NavVendor.from_api(r) for r in recs if r.get(field) == value]

    # -- reads ---------------------------------------------------------------------------------
    def find_by_number(self, number: str) -> NavVendor | None:
        found = self._find(number=number)
        return found[0] if found else None

    def find_by_name(self, display_name: str) -> list[NavVendor]:
        """Vendors whose display name is exactly this one (the value is an escaped OData literal, so an
        apostrophe as in "O'Brien" is matched, never able to change the filter)."""
        return self._find(displayName=display_name)

    def find_by_tax_id(self, tax_registration_number: str) -> list[NavVendor]:
        if not tax_registration_number:
            return []
        return self._find(taxRegistrationNumber=tax_registration_number)

    def find_existing(self, spec: VendorSpec) -> NavVendor | None:
        """The vendor this spec describes if NAV already has it: by number (when given), else by tax
        registration number, else by exact name."""
        if spec.number:
            found = self.find_by_number(spec.number.upper())
            if found is not None:
                if not _same_vendor(found, spec):
                    raise SpecError(f"NAV vendor {found.number} already exists as {found.display_name!r} (tax id "
                                    f"{found.tax_registration_number or 'none'}); choose another number for "
                                    f"{spec.display_name!r} or leave the number empty.")
                return found
        by_tax = self.find_by_tax_id(spec.tax_registration_number)
        if by_tax:
            return next((v for v in by_tax if v.display_name == spec.display_name), by_tax[0])
        by_name = self.find_by_name(spec.display_name)
        return by_name[0] if by_name else None

    # -- writes --------------------------------------------------------------------------------
    def create(self, spec: VendorSpec) -> NavVendor:
        """Exactly once: an existing vendor (see ``find_existing``) is returned with ``created=False``;
        otherwise one POST; if its outcome is unknown the vendor is looked up again before one more POST."""
        spec.validate()
        existing = self.find_existing(spec)
        if existing is not None:
            log.info("vendor %s already in NAV as %s; not creating another", spec.display_name, existing.number)
            return existing
        try:
            return self._post(spec)
        except TransportError:
            log.warning("vendor create: outcome unknown after a transport error; reading back")
            existing = self.find_existing(spec)
            if existing is not None:
                return existing
            return self._post(spec)

    def _post(self, spec: VendorSpec) -> NavVendor:
        body = spec.body()
        try:
            rec = self.client.post(self.client.cpath("vendors"), body)
        except ConnectorError as exc:
            raise _explain(exc, spec, body) from None
        return NavVendor.from_api(rec, created=True)


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _same_vendor(found: NavVendor, spec: VendorSpec) -> bool:
    if spec.tax_registration_number and found.tax_registration_number:
        return found.tax_registration_number == spec.tax_registration_number
    return found.display_name == spec.display_name


def _explain(exc: ConnectorError, spec: VendorSpec, body: Mapping[str, Any]) -> ConnectorError:
    """BC's errors in clerk terms, naming the field (BC's own length error only quotes the value)."""
    if isinstance(exc, TransportError) or not isinstance(exc, NavError):
        return exc
    what = f"Vendor {spec.display_name!r}"
    text = str(exc)
    m = _LENGTH_RE.search(exc.nav_message)
    if m:
        value = m.group("value")
        fields = [k for k, v in body.items() if isinstance(v, str) and (value is None or v == value.strip()
                                                                        or v == value)]
        named = f" ({', '.join(fields)})" if fields else ""
        text = (f"a value{named} is {m.group(1)} characters long; NAV allows at most {m.group(2)} characters for "
                f"that field")
    elif exc.code == "Internal_EntityWithSameKeyExists":
        text = f"NAV already has a vendor with number {body.get('number') or '(from the number series)'}"
    elif exc.code == "Internal_InvalidTableRelation" and "Country/Region" in exc.nav_message:
        text = f"country/region code {body.get('country')!r} does not exist in NAV"
    return type(exc)(f"{what}: {text}", nav_message=exc.nav_message, status=exc.status, code=exc.code,
                     correlation_id=exc.correlation_id, details=exc.details, retryable=exc.retryable)
