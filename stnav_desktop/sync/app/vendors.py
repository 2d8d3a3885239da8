"""Reference data both ways, when a person asks: a NAV vendor made from a ServiceTitan vendor (and
mapped to it), or a ServiceTitan vendor made from a NAV vendor. Both audited; both exactly once."""

from __future__ import annotations

from stnav_desktop.store import audit
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import MappingKind, NavReference, Profile, StReference
from stnav_desktop.sync.app import mapping, pull


class VendorError(ValueError):
    pass


def _nav_vendors(nav_client):
    """The vendor writer of the NAV back end: API v2.0 ``vendors``, or page 26 "Vendor Card" on classic NAV."""
    from stnav_desktop.connectors.nav import Vendors
    from stnav_desktop.connectors.nav.classic import ClassicClient, ClassicVendors

    return ClassicVendors(nav_client) if isinstance(nav_client, ClassicClient) else Vendors(nav_client)


def create_nav_vendor(profile: Profile, nav_client, st_vendor_id: int, *, tax_id: str = "",
                      number: str | None = None, actor: str | None = None):
    """Create the NAV vendor for a ServiceTitan vendor (name, address, the tax id the person typed),
    cache it for the pickers, and map the ServiceTitan vendor to it."""
    from stnav_desktop.connectors.nav import VendorSpec

    ref = StReference.get_or_none((StReference.profile == profile) & (StReference.entity == "vendors")
                                  & (StReference.st_id == int(st_vendor_id)))
    if ref is None:
        raise VendorError(f"ServiceTitan vendor {st_vendor_id} is not in the reference data; refresh it first")
    spec = VendorSpec.from_servicetitan(ref.data or {"name": ref.name}, tax_registration_number=tax_id,
                                        number=number)
    created = _nav_vendors(nav_client).create(spec)
    NavReference.insert(profile=profile, entity="vendors", key=created.number, name=created.display_name,
                        blocked=False, data={"id": created.id}, refreshed_at=utcnow()).on_conflict(
        conflict_target=[NavReference.profile, NavReference.entity, NavReference.key],
        update={NavReference.name: created.display_name}).execute()
    audit.append("vendor.created_in_nav", profile=profile.name, actor=actor, st_ref=f"vendor:{st_vendor_id}",
                 nav_ref=created.number, detail={"name": created.display_name, "created": created.created,
                                                 "tax_id_given": bool(tax_id)})
    mapping.set_mapping(profile, MappingKind.VENDOR, st_vendor_id, created.number, source_label=ref.name,
                        actor=actor, how="created in NAV")
    mapping.refresh_readiness(profile)
    return created


def create_st_vendor(profile: Profile, st_client, nav_client, nav_number: str, *, actor: str | None = None):
    """Create the ServiceTitan vendor for a NAV vendor (stamped with the NAV number) and map it."""
    from stnav_desktop.connectors.nav import RefData
    from stnav_desktop.connectors.nav.classic import ClassicClient
    from stnav_desktop.connectors.servicetitan.vendors import NewVendor, create_vendor

    record = (_nav_vendors(nav_client).record(nav_number) if isinstance(nav_client, ClassicClient)
              else RefData(nav_client).vendor(nav_number))
    if record is None:
        raise VendorError(f"NAV vendor {nav_number} does not exist")
    created = create_vendor(st_client, NewVendor.from_nav(record))
    pull.store_st_references(profile, "vendors", [created.raw])
    audit.append("vendor.created_in_servicetitan", profile=profile.name, actor=actor, st_ref=f"vendor:{created.id}",
                 nav_ref=nav_number, detail={"name": created.name})
    mapping.set_mapping(profile, MappingKind.VENDOR, created.id, nav_number, source_label=created.name,
                        actor=actor, how="created in ServiceTitan")
    return created
