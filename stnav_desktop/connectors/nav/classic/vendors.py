"""Vendors on classic NAV through page 26 "Vendor Card" (table 23 Vendor), the same job as
``connectors.nav.vendors.Vendors`` does over API v2.0, with the same ``VendorSpec`` in and ``NavVendor`` out.

Page 26 is a card: one record per vendor, keyed by the table's primary key ``No`` (reference §5.2), field names
are its control names (``Address_2``, ``Country_Region_Code``, ``VAT_Registration_No``...). Without a number NAV
takes the next one of the "Vendor Nos." series (table 23 OnInsert: ``PurchSetup.TESTFIELD("Vendor Nos.")``,
``NoSeriesMgt.InitSeries``); a number typed in must be allowed by that series ("Manual Nos."). NAV applies no
vendor template to a record inserted over OData, so the vendor and general business posting groups IT sets in
the connection settings are sent with it (else the accountant fills them in before posting to the vendor).

Exactly once as on the API: an existing vendor (same number; else same tax registration number; else same
name) is returned instead of a second one; a POST whose answer is lost is looked up again before one more
try. Field lengths are the server's own (``$metadata`` MaxLength: NAV 2018's Name and Address are Text[50],
Business Central's Text[100]); a value too long is refused before anything is written, naming the field.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from stnav_desktop.connectors.http import ConnectorError, TransportError
from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.classic.client import ClassicClient, Metadata
from stnav_desktop.connectors.nav.classic.config import PAGES
from stnav_desktop.connectors.nav.errors import NavError, SpecError
from stnav_desktop.connectors.nav.vendors import NavVendor, VendorSpec

log = logging.getLogger(__name__)

ROLE = "vendor_card"
# VendorSpec attribute -> page 26 control (table 23 field)
CONTROLS: dict[str, str] = {
    "number": "No", "display_name": "Name", "address_line1": "Address", "address_line2": "Address_2",
    "city": "City", "state": "County", "country": "Country_Region_Code", "postal_code": "Post_Code",
    "tax_registration_number": "VAT_Registration_No", "phone_number": "Phone_No", "email": "E_Mail",
}
_LABELS = {"number": "vendor number", "display_name": "name", "address_line1": "address line 1",
           "address_line2": "address line 2", "city": "city", "state": "state", "country": "country/region code",
           "postal_code": "postal code", "tax_registration_number": "tax registration number",
           "phone_number": "phone number", "email": "email"}
BLANK_OPTION = "_x0020_"


def nav_vendor(rec: Mapping[str, Any], *, created: bool = False) -> NavVendor:
    """A page 26 record as the ``NavVendor`` the API back end returns (no SystemId on NAV 2016-2018 pages)."""
    blocked = str(rec.get("Blocked") or BLANK_OPTION)
    return NavVendor(id=str(rec.get("Id") or ""), number=str(rec.get("No") or ""),
                     display_name=str(rec.get("Name") or ""), etag=str(rec.get("@odata.etag") or ""),
                     address_line1=str(rec.get("Address") or ""), address_line2=str(rec.get("Address_2") or ""),
                     city=str(rec.get("City") or ""), state=str(rec.get("County") or ""),
                     country=str(rec.get("Country_Region_Code") or ""), postal_code=str(rec.get("Post_Code") or ""),
                     tax_registration_number=str(rec.get("VAT_Registration_No") or ""),
                     blocked=" " if blocked == BLANK_OPTION else blocked, created=created)


class ClassicVendors:
    def __init__(self, client: ClassicClient) -> None:
        self.client = client
        self.config = client.config
        self._metadata: Metadata | None = None

    @property
    def service(self) -> str:
        return self.config.service(ROLE)

    def metadata(self) -> Metadata:
        if self._metadata is None:
            self._metadata = self.client.metadata()
        return self._metadata

    def _require_page(self) -> set[str]:
        """The card's controls; one clear line naming the page to publish when it is not published."""
        md = self.metadata()
        if self.service not in md.entity_sets:
            page = PAGES[ROLE]
            raise NavError(f"NAV publishes no service named {self.service}, so vendors cannot be created from the "
                           f"app: in NAV open Web Services, add a line: Object Type Page, Object ID {page.page_id} "
                           f"({page.caption}), Service Name {self.service}, tick Published.", status=404,
                           code="BadRequest_NotFound")
        return md.fields_of(self.service)

    # -- reads ---------------------------------------------------------------------------------
    def _find(self, control: str, value: str) -> list[NavVendor]:
        recs = self.client.iter(self.client.service_path(ROLE), {"$filter": odata.eq_filter(**{control: value})})
        return [nav_vendor(r) for r in recs if r.get(control) == value]  # exact (NAV may compare without case)

    def find_by_number(self, number: str) -> NavVendor | None:
        found = self._find("No", number.upper())  # Code[20]: NAV stores it upper-case
        return found[0] if found else None

    def record(self, number: str) -> dict[str, Any] | None:
        """The vendor in API v2.0 names (``number``, ``displayName``, ``addressLine1``...), as
        ``RefData.vendor`` gives it, for making the ServiceTitan vendor from it."""
        self._require_page()
        v = self.find_by_number(number)
        if v is None:
            return None
        return {"number": v.number, "displayName": v.display_name, "addressLine1": v.address_line1,
                "addressLine2": v.address_line2, "city": v.city, "state": v.state, "country": v.country,
                "postalCode": v.postal_code, "taxRegistrationNumber": v.tax_registration_number}

    def find_existing(self, spec: VendorSpec) -> NavVendor | None:
        if spec.number:
            found = self.find_by_number(spec.number)
            if found is not None:
                same = (found.tax_registration_number == spec.tax_registration_number
                        if spec.tax_registration_number and found.tax_registration_number
                        else found.display_name == spec.display_name)
                if not same:
                    raise SpecError(f"NAV vendor {found.number} already exists as {found.display_name!r} (tax id "
                                    f"{found.tax_registration_number or 'none'}); choose another number for "
                                    f"{spec.display_name!r} or leave the number empty.")
                return found
        if spec.tax_registration_number:
            by_tax = self._find("VAT_Registration_No", spec.tax_registration_number)
            if by_tax:
                return next((v for v in by_tax if v.display_name == spec.display_name), by_tax[0])
        by_name = self._find("Name", spec.display_name)
        return by_name[0] if by_name else None

    # -- writes --------------------------------------------------------------------------------
    def body(self, spec: VendorSpec) -> dict[str, Any]:
        """Page 26's fields for this spec, checked against the server's own controls and lengths first."""
        spec.validate()
        controls = self._require_page()
        md = self.metadata()
        limits = md.max_lengths.get(md.entity_sets.get(self.service, ""), {})
        body: dict[str, Any] = {}
        problems: list[str] = []
        for attr, control in CONTROLS.items():
            value = getattr(spec, attr)
            if value is None or (value == "" and attr != "display_name"):
                continue
            if attr == "number":
                value = value.strip().upper()
            if control not in controls:
                problems.append(f"{_LABELS[attr]} cannot be set: page {self.service} has no control {control}")
                continue
            limit = limits.get(control)
            if limit and len(value) > limit:
                problems.append(f"{_LABELS[attr]} ({control}) is {len(value)} characters long; this NAV allows at "
                                f"most {limit}: {value!r}")
                continue
            body[control] = value
        for control, value in (("Vendor_Posting_Group", self.config.vendor_posting_group),
                               ("Gen_Bus_Posting_Group", self.config.gen_bus_posting_group)):
            if value:
                if control not in controls:
                    problems.append(f"the posting group cannot be set: page {self.service} has no control {control}")
                else:
                    body[control] = value.upper()
        if problems:
            raise SpecError(f"Vendor {spec.display_name!r} cannot be created in NAV: " + "; ".join(problems) + ".")
        return body

    def create(self, spec: VendorSpec) -> NavVendor:
        """Exactly once: an existing vendor (``find_existing``) comes back with ``created=False``; otherwise one
        POST to page 26; if its outcome is unknown the vendor is looked up again before one more POST."""
        body = self.body(spec)
        existing = self.find_existing(spec)
        if existing is not None:
            log.info("vendor %s already in NAV as %s; not creating another", spec.display_name, existing.number)
            return existing
        try:
            return self._post(spec, body)
        except TransportError:
            log.warning("vendor create (page %s): outcome unknown after a transport error; reading back", self.service)
            existing = self.find_existing(spec)
            if existing is not None:
                return existing
            return self._post(spec, body)

    def _post(self, spec: VendorSpec, body: dict[str, Any]) -> NavVendor:
        try:
            rec = self.client.post(self.client.service_path(ROLE), body)
        except ConnectorError as exc:
            raise _explain(exc, spec, body) from None
        if not isinstance(rec, dict) or not rec.get("No"):  # a server answering 204: read the card back
            found = self.find_existing(spec)
            if found is None:
                raise NavError(f"Vendor {spec.display_name!r}: NAV accepted the vendor but it cannot be read back "
                               f"from {self.service}.")
            found.created = True
            return found
        return nav_vendor(rec, created=True)


def _explain(exc: ConnectorError, spec: VendorSpec, body: Mapping[str, Any]) -> ConnectorError:
    """NAV's refusal in clerk terms, one line naming the vendor (and the field where NAV's text does not)."""
    if isinstance(exc, TransportError) or not isinstance(exc, NavError):
        return exc
    text = str(exc)
    if exc.code == "Internal_EntityWithSameKeyExists":
        text = (f"NAV already has a vendor with number {body.get('No') or '(the next number of the series)'}; "
                "choose another number or leave it empty")
    elif exc.code == "Application_StringExceededLength":
        value = exc.nav_message.rpartition("Value: ")[2].strip()
        fields = [k for k, v in body.items() if isinstance(v, str) and v.strip() == value]
        text = f"{', '.join(fields) or 'a value'} is too long for NAV: {exc.nav_message}"
    elif "Manual Nos." in exc.nav_message:
        text = (f"NAV's vendor number series does not allow typed-in numbers ({exc.nav_message}); leave the "
                "vendor number empty so NAV numbers the vendor")
    return type(exc)(f"Vendor {spec.display_name!r}: {text}", nav_message=exc.nav_message, status=exc.status,
                     code=exc.code, correlation_id=exc.correlation_id, details=exc.details, retryable=exc.retryable)
