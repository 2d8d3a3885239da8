"""Adapts the ServiceTitan connector to the sync layer: the client from the profile and the keychain,
reference data into the cache, and the "mark exported" write-back."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from stnav_desktop import credentials
from stnav_desktop.connectors.servicetitan import ServiceTitanClient, ServiceTitanConfig
from stnav_desktop.store import settings
from stnav_desktop.store.models import Profile
from stnav_desktop.sync.app import pull


class ConfigurationError(ValueError):
    pass


def config_for(profile: Profile, retry=None) -> ServiceTitanConfig:
    values = settings.all_values(profile)
    missing = [k for k in ("servicetitan.tenant", "servicetitan.client_id", "servicetitan.app_key") if not values[k]]
    if missing:
        raise ConfigurationError("ServiceTitan needs " + ", ".join(missing)
                                 + " (Settings tab or `stnav profile set servicetitan`)")
    try:
        return ServiceTitanConfig(
            tenant=values["servicetitan.tenant"], client_id=values["servicetitan.client_id"],
            app_key=values["servicetitan.app_key"], environment=values["servicetitan.environment"],
            auth_url=values["servicetitan.auth_url"] or None, api_url=values["servicetitan.api_url"] or None,
            ca_bundle=values["servicetitan.ca_bundle"] or None,
            calls_per_second=int(values["servicetitan.calls_per_second"]),
            **({"retry": retry} if retry is not None else {}))
    except ValueError as exc:
        raise ConfigurationError(f"ServiceTitan settings: {exc}") from None


def build_client(profile: Profile, retry=None) -> ServiceTitanClient:
    config = config_for(profile, retry)
    return ServiceTitanClient(config, credentials.get_secret(profile.name, "servicetitan.client_secret"))


def refresh(profile: Profile, client: ServiceTitanClient) -> dict[str, int]:
    """ServiceTitan vendors, business units, SKUs and G/L accounts into the cache (names and suggestions)."""
    counts = {
        "vendors": pull.store_st_references(profile, "vendors", (v.raw for v in client.vendors())),
        "businessUnits": pull.store_st_references(profile, "businessUnits", (b.raw for b in client.business_units())),
        "skus": pull.store_st_references(profile, "skus", (s.raw for s in client.skus())),
        "glAccounts": pull.store_st_references(profile, "glAccounts", (g.raw for g in client.gl_accounts())),
        "jobs": cache_jobs(profile, client),
    }
    pull.fill_names(profile)
    return counts


def cache_jobs(profile: Profile, client: ServiceTitanClient) -> int:
    """The jobs that documents still to be posted belong to (job number, job type, project): what the
    dimension rules and G/L descriptions need (purchase orders and returns carry only the job id)."""
    from stnav_desktop.store.models import StDocument, StReference
    from stnav_desktop.sync.app.mapping import REEVALUATE

    wanted: set[int] = set()
    for (raw,) in StDocument.select(StDocument.raw).where(
            (StDocument.profile == profile) & StDocument.status.in_(list(REEVALUATE))).tuples().iterator():
        job_id = raw.get("jobId") if isinstance(raw, dict) else None
        if isinstance(job_id, int) and not isinstance(job_id, bool) and job_id > 0:
            wanted.add(job_id)
    have = {st_id for (st_id,) in cast("Iterable[tuple[int]]", StReference.select(StReference.st_id).where(
        (StReference.profile == profile) & (StReference.entity == "jobs")).tuples())}
    missing = sorted(wanted - have)
    if not missing:
        return 0
    return pull.store_st_references(profile, "jobs", (j.raw for page in client.iter_jobs(ids=missing)
                                                      for j in page.records))


class WriteBack:
    """Marks posted bills exported in ServiceTitan; returns bill id -> error (None when done). The client
    is built on first use, so a ServiceTitan problem never stops posting to NAV: it shows on the bills
    and is retried on the next run."""

    def __init__(self, client_fn) -> None:
        self.client_fn = client_fn

    def mark_bills_exported(self, bill_ids: list[int]) -> dict[int, str | None]:
        from stnav_desktop.connectors.http import ConnectorError

        try:
            client = self.client_fn()
        except (ConfigurationError, credentials.CredentialError) as exc:
            raise ConnectorError(f"ServiceTitan is not reachable for the write-back: {exc}") from None
        results = client.mark_bills_exported(bill_ids)
        return {r.bill_id: (None if r.success else (r.error or "refused")) for r in results}
