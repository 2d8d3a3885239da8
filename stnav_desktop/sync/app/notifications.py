"""NAV change notifications put to work (issue #19 item 6).

Where IT has given a notification URL (``nav.notification_url``) and the back end is Business Central's
API, the service (`stnav run`) keeps one webhook subscription per watched entity set (vendors, G/L
accounts, dimension values, purchase invoices): missing ones are created, expired ones re-created, each
renewed within a day of its 3-day expiry (the hourly ``subscriptions`` job). BC validates the URL on every
create and renew; when that fails, or no URL is set, or NAV is classic (page web services have no
webhooks), the profile is *polling*: the scheduler already re-reads the reference data every
``REFDATA_POLL`` and follows up NAV drafts at every posting run, so nothing is missed, only later.

A notification says what changed, never the data. The receiver (connectors/nav/subscriptions.py) checks the
clientState and puts the changes in the ``Inbox`` without touching the database or NAV, and answers BC at
once; the scheduler thread drains the inbox (``handle``): the reference data named is read again (a
"collection" notification, too many changes, re-reads it whole), and a purchase invoice we hold as a NAV
draft is followed up (posted in NAV -> posted with its G/L entries; deleted -> needs attention, said in
words; changed -> said on the row) by the same code every posting run uses (``Poster.follow_up_drafts``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from stnav_desktop.connectors.http import ConnectorError
from stnav_desktop.connectors.nav.subscriptions import WATCHED_SETS, NavChange, Subscription, Subscriptions
from stnav_desktop.store import audit
from stnav_desktop.store.db import db
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import DocStatus, NavChangeWatch, Profile, StDocument, WebhookSubscription

log = logging.getLogger(__name__)

NOTIFICATIONS = "notifications"
POLLING = "polling"
RENEW_BEFORE = timedelta(hours=24)  # BC subscriptions live 3 days: renewed when less than a day is left
REFDATA_POLL = timedelta(hours=6)  # the scheduler's reference-data re-read (polling, with or without webhooks)
MAX_QUEUED = 10_000  # notifications held between two scheduler passes; beyond, their sets are re-read whole
RETRY_AFTER = timedelta(minutes=1)  # NAV could not be read for a notification: tried again after this


# -- the inbox between the receiver thread and the scheduler thread ---------------------------------
class Inbox:
    """Thread-safe queue of NAV changes. ``put`` is called on the receiver's thread and only appends and
    wakes the scheduler; ``drain`` on the scheduler's thread."""

    def __init__(self, wake: Callable[[], None] | None = None, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._lock = threading.Lock()
        self._items: list[NavChange] = []
        self._overflow: set[str] = set()
        self._hold_until: datetime | None = None
        self.wake = wake
        self.clock = clock
        self.received = 0
        self.last_at: datetime | None = None

    def put(self, change: NavChange) -> None:
        with self._lock:
            if len(self._items) < MAX_QUEUED:
                self._items.append(change)
            else:  # a flood: what it names is re-read whole, as after BC's own "collection"
                self._overflow.add(change.entity_set)
            self.received += 1
            self.last_at = self.clock()
        if self.wake is not None:
            self.wake()

    def drain(self) -> list[NavChange]:
        with self._lock:
            items, self._items = self._items, []
            overflow, self._overflow = self._overflow, set()
            self._hold_until = None
        return items + [NavChange("", entity, None, "collection") for entity in sorted(overflow)]

    def put_back(self, changes: list[NavChange], not_before: datetime) -> None:
        """NAV could not be read: keep the changes for a pass after ``not_before`` (scheduler thread)."""
        with self._lock:
            self._items[:0] = changes
            self._hold_until = not_before

    def due(self) -> bool:
        """Something to do now (the scheduler asks before each pass)."""
        with self._lock:
            return bool(self._items or self._overflow) and (self._hold_until is None
                                                            or self.clock() >= self._hold_until)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items) + len(self._overflow)


@dataclass
class Work:
    """What a batch of changes asks for: reference entities to re-read, NAV document ids to follow up (or
    every draft, after a "collection")."""

    entities: set[str] = field(default_factory=set)
    nav_ids: set[str] = field(default_factory=set)
    all_drafts: bool = False

    def __bool__(self) -> bool:
        return bool(self.entities or self.nav_ids or self.all_drafts)


def plan(changes: Iterable[NavChange]) -> Work:
    work = Work()
    for change in changes:
        if change.reference_entity:
            work.entities.add(change.reference_entity)  # the list is read again whole: a rename, a new or
            # deleted vendor, a blocked account all land the same way, and many changes cost one read
        elif change.is_document:
            if change.whole_set:
                work.all_drafts = True
            elif change.record_id:
                work.nav_ids.add(change.record_id.lower())
    return work


def drafts_named(profile: Profile, nav_ids: Iterable[str]) -> list[int]:
    """Our documents held in NAV as drafts whose NAV id is one of ``nav_ids`` (ids compared in lower case:
    BC sends the SystemId in lower case without braces)."""
    wanted = {i.lower() for i in nav_ids}
    if not wanted:
        return []
    rows = (StDocument.select(StDocument.id, StDocument.nav_id)
            .where((StDocument.profile == profile) & (StDocument.status == DocStatus.IN_NAV_DRAFT)
                   & StDocument.nav_id.is_null(False)))
    return [row.id for row in rows if str(row.nav_id).lower().strip("{}") in wanted]


def handle(profile: Profile, changes: list[NavChange], *,
           refresh: Callable[[set[str]], dict[str, int]],
           follow_up: Callable[[list[int] | None], dict[str, int]], now: datetime) -> str:
    """Do what a batch of NAV changes asks for (scheduler thread). ``refresh(entities)`` re-reads reference
    data; ``follow_up(document ids or None for all)`` follows up NAV drafts. Returns one line."""
    work = plan(changes)
    parts: list[str] = []
    if work.entities:
        counts = refresh(work.entities)
        parts.append("re-read " + ", ".join(f"{k} ({v})" for k, v in sorted(counts.items())))
    doc_ids: list[int] | None = None if work.all_drafts else drafts_named(profile, work.nav_ids)
    if doc_ids is None or doc_ids:
        counts = follow_up(doc_ids)
        parts.append("NAV drafts: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v) if any(counts.values())
                     else "NAV drafts: unchanged")
    with db.atomic():
        watch = _watch(profile)
        watch.last_notification_at = now
        watch.notifications = (watch.notifications or 0) + len(changes)
        watch.save()
        audit.append("nav.notified", profile=profile.name,
                     detail={"changes": len(changes), "entities": sorted(work.entities),
                             "documents": len(doc_ids) if doc_ids is not None else "all drafts"})
    return f"{len(changes)} NAV change(s): " + ("; ".join(parts) if parts else "nothing of ours")


# -- subscriptions --------------------------------------------------------------------------------
def ensure(profile: Profile, api: Subscriptions, url: str, client_state: str, now: datetime) -> str:
    """One subscription per watched entity set for ``url``: create what is missing (or expired: BC deletes
    those), renew what expires within RENEW_BEFORE (or carries another clientState), delete what this
    profile made for another URL. Raises ConnectorError when NAV refuses (the handshake failed, the limit
    of subscriptions reached): the caller then polls, saying why."""
    tracked = {row.remote_id: row for row in WebhookSubscription.select().where(
        (WebhookSubscription.profile == profile) & (WebhookSubscription.system == "nav"))}
    remote = api.list()
    for sub in remote:  # ours, made for a URL IT has since changed: BC would keep sending there
        if sub.subscription_id in tracked and sub.notification_url != url:
            api.delete(sub)
    current: dict[str, Subscription] = {}
    for sub in sorted(remote, key=lambda s: s.expiration, reverse=True):
        if sub.notification_url == url and sub.expiration > now:
            entity = api.entity_of(sub)
            if entity in WATCHED_SETS and sub.resource.rstrip("/").endswith(api.resource_for(entity)):
                if entity in current:  # a second one for the same set (two starts at once): every change
                    api.delete(sub)  # would be notified twice
                else:
                    current[entity] = sub
    created = renewed = 0
    kept: dict[str, Subscription] = {}
    polled: dict[str, str] = {}  # sets BC refused while it accepted others: polled, said why
    for entity in WATCHED_SETS:
        found = current.get(entity)
        try:
            if found is None:
                sub = api.create(entity, url, client_state)
                created += 1
            elif found.expiration - now <= RENEW_BEFORE or found.client_state != client_state:
                found.client_state = client_state
                sub = api.renew(found)
                renewed += 1
            else:
                sub = found
        except ConnectorError as exc:
            # NAV busy, or nothing validated yet in this pass (then it is the URL, not the set): the caller
            # decides; after BC validated the URL for another set, only this set is refused
            if exc.retryable or not (created or renewed):
                raise
            polled[entity] = str(exc)
            continue
        kept[sub.subscription_id] = sub
    with db.atomic():
        for remote_id, row in tracked.items():
            if remote_id not in kept:
                row.delete_instance()
        for sub in kept.values():
            row = tracked.get(sub.subscription_id) or WebhookSubscription(
                profile=profile, system="nav", remote_id=sub.subscription_id, created_at=now)
            if sub.subscription_id in tracked and row.expires_at != sub.expiration:
                row.renewed_at = now
            row.resource, row.notification_url = sub.resource, sub.notification_url
            row.expires_at, row.etag = sub.expiration, sub.etag
            row.save()
        set_mode(profile, NOTIFICATIONS, "; ".join(f"{entity} polled: BC refused its subscription ({why})"
                                                   for entity, why in polled.items()), now)
    if created or renewed:
        audit.append("nav.subscriptions", profile=profile.name,
                     detail={"created": created, "renewed": renewed, "url": url,
                             "expires": min(s.expiration for s in kept.values()).isoformat()})
    return (f"{len(kept)} NAV subscription(s): {created} created, {renewed} renewed"
            if created or renewed else f"{len(kept)} NAV subscription(s) current")


def refused(profile: Profile, url: str, exc: ConnectorError, now: datetime) -> str:
    """NAV refused a subscription (the handshake failed, the limit reached): polling, and why in words. NAV
    busy or unreachable (429, 5xx, no answer) changes nothing: the subscriptions made stay, and the hourly
    job asks again."""
    if exc.retryable:
        log.warning("NAV subscriptions not checked this time: %s", exc)
        return f"NAV subscriptions not checked this time ({exc}); asked again within the hour"
    reason = (f"Business Central refused the subscriptions for {url}: {exc}. If BC could not reach that URL, "
              "check that the service is running, the firewall lets BC reach the port, and the reverse proxy "
              "forwards the path")
    set_mode(profile, POLLING, reason, now)
    log.warning("NAV notifications not available, polling: %s", reason)
    return "polling: " + reason


# -- the state every window and `stnav service status` show ----------------------------------------
def _watch(profile: Profile) -> NavChangeWatch:
    row, _ = NavChangeWatch.get_or_create(profile=profile)
    return row


def set_mode(profile: Profile, mode: str, reason: str, now: datetime) -> None:
    watch = _watch(profile)
    if watch.mode != mode or watch.reason != reason:
        audit.append("nav.changes_mode", profile=profile.name, detail={"mode": mode, "reason": reason})
    watch.mode, watch.reason, watch.checked_at = mode, reason, now
    watch.save()


def status_line(profile: Profile, now: datetime | None = None) -> str:
    """"NAV changes: notifications (4 subscriptions, next expiry …)" or "NAV changes: polling every N min
    (reason)"."""
    now = now or utcnow()
    watch = NavChangeWatch.get_or_none(NavChangeWatch.profile == profile)
    subs = list(WebhookSubscription.select().where((WebhookSubscription.profile == profile)
                                                   & (WebhookSubscription.system == "nav")
                                                   & (WebhookSubscription.expires_at > now)))
    if watch is not None and watch.mode == NOTIFICATIONS and subs:
        soonest = min(s.expires_at for s in subs)
        line = (f"NAV changes: notifications ({len(subs)} subscription{'s' if len(subs) != 1 else ''}, next expiry "
                f"{soonest.astimezone().strftime('%Y-%m-%d %H:%M %Z')})")
        if watch.last_notification_at:
            line += f"; last notification {watch.last_notification_at.astimezone().strftime('%Y-%m-%d %H:%M')}"
        if watch.reason:  # some sets refused: those are polled
            line += f"; {watch.reason}"
        return line
    minutes = int(REFDATA_POLL.total_seconds() // 60)
    if watch is None:
        reason = "the service (`stnav run`) has not set up notifications yet"
    elif watch.mode == NOTIFICATIONS:  # the service set them up, but none is alive now
        reason = "the NAV subscriptions have expired: is the service (`stnav run`) running?"
    else:
        reason = watch.reason or "the service (`stnav run`) has not set up notifications yet"
    return f"NAV changes: polling every {minutes} min ({reason}); NAV drafts are followed up at every posting run"


def subscription_lines(profile: Profile, now: datetime | None = None) -> list[str]:
    """One line per live NAV subscription: what it watches and when it expires (local time)."""
    from stnav_desktop.connectors.nav.subscriptions import entity_set_of

    now = now or utcnow()
    rows = (WebhookSubscription.select().where((WebhookSubscription.profile == profile)
                                               & (WebhookSubscription.system == "nav")
                                               & (WebhookSubscription.expires_at > now))
            .order_by(WebhookSubscription.expires_at))
    return [f"{entity_set_of(r.resource)[0]}: expires {r.expires_at.astimezone().strftime('%Y-%m-%d %H:%M %Z')}"
            + (f", renewed {r.renewed_at.astimezone().strftime('%Y-%m-%d %H:%M')}" if r.renewed_at else "")
            for r in rows]
