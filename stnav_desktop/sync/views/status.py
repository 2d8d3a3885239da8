"""What the status bar shows, in one query-side function (widgets never touch the store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from peewee import fn

from stnav_desktop.store import settings
from stnav_desktop.store.models import DocStatus, NavReference, Profile, SchedulerJob, SyncWatermark
from stnav_desktop.sync.views import review


@dataclass
class Status:
    configured: bool
    servicetitan: str
    nav: str
    last_pull: datetime | None
    schedule: str
    attention: int


def company_name(profile: Profile, company_id: str) -> str:
    ref = NavReference.get_or_none((NavReference.profile == profile) & (NavReference.entity == "companies")
                                   & (NavReference.key == company_id))
    return ref.name if ref else ""


def remember_companies(profile: Profile, companies: list[dict[str, str]]) -> None:
    """Keep the names NAV gave for its companies, so the status bar names the company, not its id."""
    from stnav_desktop.sync.app import refdata
    refdata.replace(profile, "companies", [{"key": c["id"], "name": c.get("name") or ""} for c in companies])


def summary(profile: Profile) -> Status:
    values = settings.all_values(profile)
    configured = bool(values["servicetitan.tenant"] or values["nav.company_id"] or values["nav.api_url"])
    st = (f"tenant {values['servicetitan.tenant']} ({values['servicetitan.environment']})"
          if values["servicetitan.tenant"] else "not configured")
    company = values["nav.company_id"]
    name = company_name(profile, company) if company else ""
    if name:
        nav = f"{name} ({'Business Central online' if values['nav.deployment'] == 'online' else 'on-premises'})"
    elif company or values["nav.api_url"]:
        nav = f"{values['nav.deployment']} company {company[:8]}…" if company else values["nav.api_url"][:40]
    else:
        nav = "not configured"
    last_pull = SyncWatermark.select(fn.MAX(SyncWatermark.updated_at)).where(
        SyncWatermark.profile == profile).scalar()
    if isinstance(last_pull, str):
        last_pull = datetime.fromisoformat(last_pull)
    job = SchedulerJob.get_or_none((SchedulerJob.profile == profile) & (SchedulerJob.name == "pull"))
    if not values["schedule.enabled"]:
        schedule = "Schedule: off"
    elif job and job.skipped_reason:
        schedule = f"Paused: {job.skipped_reason}"
    elif job and job.next_due_at:
        schedule = f"Next run: {job.next_due_at.astimezone():%H:%M}"
    else:
        schedule = f"Schedule: every {values['schedule.interval_minutes']} min"
    counts = review.status_counts(profile)
    attention = sum(counts.get(s, 0) for s in (DocStatus.NEEDS_ATTENTION, DocStatus.CHANGED_AFTER_POSTING,
                                                 DocStatus.FAILED, DocStatus.DATA_PROBLEM))
    return Status(configured, st, nav, last_pull, schedule, attention)
