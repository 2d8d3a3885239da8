"""The sync service for one profile: builds the connectors from the profile's settings and the keychain,
and offers every action the CLI and the GUI drive (test, pull, reference data, post, reconcile,
scheduler). Blocking: callers in the GUI run it on a worker thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stnav_desktop import credentials
from stnav_desktop.connectors.http import ConnectorError
from stnav_desktop.connectors.nav.books import NavBooks
from stnav_desktop.connectors.nav.bulk import ApiBooks, ReadRetry
from stnav_desktop.store import settings
from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import Batch, Profile
from stnav_desktop.sync.app import notifications, posting, refdata
from stnav_desktop.sync.app.scheduler import Job, JobNews
from stnav_desktop.sync.app.st_gateway import ConfigurationError
from stnav_desktop.sync.views import reconcile

log = logging.getLogger(__name__)

CheckLine = tuple[str, str, bool, str]  # system, check, ok, message


class PostingLock:
    """One process of this PC posts correction batches at a time (a lock file beside the database);
    ordinary posting needs none: it claims its documents in the store."""

    def __init__(self, folder: Path) -> None:
        from filelock import FileLock

        self.path = folder / "posting.lock"
        self._lock = FileLock(str(self.path), timeout=0)

    def __enter__(self) -> PostingLock:
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout:
            raise ConfigurationError("another ml-connector window or `stnav` command is posting corrections for "
                                     "this database right now; this one will not (try again when it has finished)"
                                     ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class SyncService:
    def __init__(self, profile: Profile | str = "default", *, clock: Callable[[], datetime] = utcnow,
                 retry=None) -> None:
        self.profile = settings.get_profile(profile) if isinstance(profile, str) else profile
        self.clock = clock
        self.retry = retry  # an http.RetryPolicy for both connectors (None: their defaults)
        self._st = None
        self._nav = None
        self._lock = threading.Lock()
        self.inbox: notifications.Inbox | None = None  # NAV notifications queued by the receiver (`stnav run`)

    def reset(self) -> None:
        """Forget the built connectors (settings or secrets changed)."""
        with self._lock:
            self._st = None
            self._nav = None

    # -- connectors ----------------------------------------------------------------------------
    def value(self, key: str) -> Any:
        return settings.get(self.profile, key)

    def nav_config(self):
        from stnav_desktop.connectors.nav import NavConfig

        deployment = self.value("nav.deployment")
        if deployment == "online" and not (self.value("nav.tenant") and self.value("nav.client_id")):
            raise ConfigurationError("NAV online needs nav.tenant and nav.client_id (Settings tab or "
                                     "`stnav profile set nav`)")
        if deployment == "onprem" and not self.value("nav.api_url"):
            raise ConfigurationError("NAV on-premises needs nav.api_url (Settings tab or `stnav profile set nav`)")
        try:
            return NavConfig(
                deployment=deployment, company_id=self.value("nav.company_id"), tenant=self.value("nav.tenant"),
                environment=self.value("nav.environment"), client_id=self.value("nav.client_id"),
                authority=self.value("nav.authority") or None, api_url=self.value("nav.api_url") or None,
                auth=self.value("nav.auth") if deployment == "onprem" else "oauth", user=self.value("nav.user"),
                ca_bundle=self.value("nav.ca_bundle") or None, post_mode=self.value("posting.mode"),
                journal_batch=self.value("posting.journal_batch"))
        except ValueError as exc:
            raise ConfigurationError(f"NAV settings: {exc}") from None

    def nav_secret(self, config) -> str | None:
        if config.uses_oauth:
            return credentials.get_secret(self.profile.name, "nav.client_secret")
        if config.auth == "basic":
            return credentials.get_secret(self.profile.name, "nav.web_service_key")
        return None  # Windows authentication: the signed-in user, nothing stored

    def nav_client(self):
        with self._lock:
            if self._nav is None:
                if self.value("nav.deployment") == "classic":
                    self._nav = self._classic_client()
                else:
                    from stnav_desktop.connectors.nav import NavClient

                    config = self.nav_config()
                    self._nav = NavClient(config, self.nav_secret(config), retry=self.retry)
            return self._nav

    def _classic_client(self):
        """NAV 2016-2018 / BC on-premises through ODataV4 page web services (``nav.deployment = classic``)."""
        from stnav_desktop.connectors.nav.classic import SECRET_FIELD, ClassicClient, classic_config

        try:
            config = classic_config(settings.all_values(self.profile))
        except ValueError as exc:
            raise ConfigurationError(f"NAV settings: {exc}") from None
        field = SECRET_FIELD[config.auth]
        secret = credentials.get_secret(self.profile.name, field) if field else None
        return ClassicClient(config, secret, retry=self.retry)

    def _classic(self):
        """The classic page web services client, or None on the API back end."""
        from stnav_desktop.connectors.nav.classic import ClassicClient

        client = self.nav_client()
        return client if isinstance(client, ClassicClient) else None

    def st_client(self):
        with self._lock:
            if self._st is None:
                from stnav_desktop.sync.app import st_gateway
                self._st = st_gateway.build_client(self.profile, retry=self.retry)
            return self._st

    def nav_books(self) -> NavBooks:
        """The NAV back end posting and reconciliation talk to (API v2.0, or classic page web services)."""
        classic = self._classic()
        if classic is not None:
            from stnav_desktop.connectors.nav.classic import ClassicBooks

            return ClassicBooks(classic)
        read_retry = ReadRetry(base=self.retry.backoff_factor, cap=self.retry.backoff_max) if self.retry else None
        return ApiBooks(self.nav_client(), read_retry=read_retry)

    # -- actions -------------------------------------------------------------------------------
    def test_connections(self) -> list[CheckLine]:
        lines: list[CheckLine] = []
        for system, build, checks in (("ServiceTitan", self.st_client, "stnav_desktop.connectors.servicetitan"),
                                      ("NAV", self.nav_client, "stnav_desktop.connectors.nav")):
            try:
                client = build()
                import importlib

                module = importlib.import_module(checks)
                for check in module.connection_checks(client):
                    lines.append((system, check.name, check.ok, check.message))
            except (ConfigurationError, credentials.CredentialError, ConnectorError) as exc:
                lines.append((system, "configuration", False, str(exc)))
        return lines

    def refresh_refdata(self) -> dict[str, int]:
        from stnav_desktop.connectors.nav import RefData
        from stnav_desktop.sync.app import st_gateway
        classic = self._classic()
        if classic is not None:
            from stnav_desktop.connectors.nav.classic import ClassicBooks, ClassicRefData

            source: Any = ClassicRefData(ClassicBooks(classic))
        else:
            source = RefData(self.nav_client())
        counts = {f"nav.{k}": v for k, v in refdata.refresh_nav(self.profile, source).items()}
        counts.update({f"servicetitan.{k}": v for k, v in st_gateway.refresh(self.profile, self.st_client()).items()})
        from stnav_desktop.sync.app import mapping
        mapping.refresh_readiness(self.profile)
        return counts

    def pull(self, cancel: Callable[[], bool] = lambda: False):
        from stnav_desktop.sync.app import pull
        return pull.pull(self.profile, self.st_client(), cancel=cancel)

    def post(self, batch: Batch | None = None, *, cancel: Callable[[], bool] = lambda: False,
             progress: Callable | None = None) -> list[posting.PostResult]:
        from stnav_desktop.paths import app_paths
        from stnav_desktop.sync.app import batches, st_gateway

        # an unapproved batch is refused before anything is sent; a finished one has nothing to send
        if batch is not None and not batches.require_postable(batch):
            return []
        if batch is not None and batch.kind == batches.CORRECTIONS:  # reversal + corrected, approved batch only
            with PostingLock(app_paths().data):  # corrections are few and not claimed: one poster at a time
                return batches.post_correction_batch(batch, self.nav_books(), progress=progress)
        # no lock: the scheduler's retries and a person's Post (this PC's or another's) run side by side;
        # each chunk is claimed in the store first, so each document goes to exactly one of them, and a
        # document another poster holds is reported "being posted by user@PC#pid"
        poster = posting.Poster(self.profile, self.nav_books(),
                                write_back=st_gateway.WriteBack(self.st_client), clock=self.clock)
        results = poster.post_batch(batch, cancel=cancel, progress=progress)
        self.attach_sources()  # after posting, never blocking it (issue #15: source PDFs in NAV)
        if batch is None:  # retries across batches (the scheduler): close the batches they finished
            batches.close_finished(results)
        return results

    def attach_sources(self):
        """The ServiceTitan source PDF on every posted invoice / credit memo that has none yet; a failure is
        recorded on the document and retried next run, never raised."""
        from stnav_desktop.connectors.nav.attachments import DocumentAttachments
        from stnav_desktop.sync.app import attachments
        if self._classic() is not None:  # pages have no attachments API: the PDF stays in the app
            return attachments.AttachSummary()
        try:
            return attachments.attach_pending(self.profile, DocumentAttachments(self.nav_client()))
        except Exception as exc:  # a bug here must never turn a posting run into a failure
            log.warning("attaching source documents failed: %s", exc, exc_info=True)
            return attachments.AttachSummary(problems=[str(exc)])

    def create_nav_vendor(self, st_vendor_id: int, *, tax_id: str = "", number: str | None = None):
        from stnav_desktop.sync.app import vendors
        return vendors.create_nav_vendor(self.profile, self.nav_client(), st_vendor_id, tax_id=tax_id, number=number)

    def create_st_vendor(self, nav_number: str):
        from stnav_desktop.sync.app import vendors
        return vendors.create_st_vendor(self.profile, self.st_client(), self.nav_client(), nav_number)

    def companies(self) -> list[dict[str, str]]:
        """The companies NAV offers (for the company picker): id and name."""
        return [{"id": c.get("id", ""), "name": c.get("displayName") or c.get("name", "")}
                for c in self.nav_client().companies()]

    def reconcile(self, month: str) -> reconcile.Report:
        start, end = reconcile.month_bounds(month)
        return reconcile.reconcile(self.profile, month, self.nav_books().gl_entries_between(start, end))

    # -- NAV change notifications (issue #19 item 6; sync/app/notifications.py) ---------------------
    def notifications_unavailable(self) -> str:
        """Why this profile polls NAV instead of being notified ('' when notifications can be used)."""
        if self.value("nav.deployment") == "classic":
            return "classic NAV has no webhooks (page web services)"
        url = self.value("nav.notification_url")
        if not url:
            return "no notification URL is set (nav.notification_url, see the IT guide)"
        if urlsplit(url).path.strip("/") == "":
            return f"the notification URL {url} needs a path, e.g. {url.rstrip('/')}/bc-webhook/{self.profile.name}"
        return ""

    def _client_state(self) -> str:
        """The clientState BC echoes in every notification: a secret in the keychain, made once."""
        import secrets

        try:
            return credentials.get_secret(self.profile.name, "nav.webhook_client_state")
        except credentials.CredentialNotFound:
            state = secrets.token_urlsafe(32)  # BC's clientState holds up to 250 characters
            credentials.set_secret(self.profile.name, "nav.webhook_client_state", state)
            return state

    def nav_receiver(self, scheduler):
        """The receiver of NAV notifications for `stnav run` (None, with the reason recorded, when this profile
        polls): listens on nav.notification_bind:port at the path of nav.notification_url, answers BC's
        validation, checks the clientState, and queues each change for the scheduler thread, which it wakes."""
        from stnav_desktop.connectors.nav.subscriptions import NotificationReceiver, parse_notification

        now = self.clock()
        reason = self.notifications_unavailable()
        if reason:
            notifications.set_mode(self.profile, notifications.POLLING, reason, now)
            return None
        url = urlsplit(self.value("nav.notification_url"))
        port = int(self.value("nav.notification_port") or 0) or url.port or 443
        cert, key = self.value("nav.notification_cert") or None, self.value("nav.notification_key") or None
        inbox = notifications.Inbox(scheduler.wake, clock=self.clock)

        def on_item(item) -> None:  # the receiver's thread: parse and queue, nothing else
            change = parse_notification(item)
            if change is not None:
                inbox.put(change)

        try:
            receiver = NotificationReceiver(self._client_state(), on_item, certfile=cert, keyfile=key or cert,
                                            host=self.value("nav.notification_bind") or "0.0.0.0", port=port,
                                            path=url.path)
        except (OSError, ValueError) as exc:  # port in use, no permission, unreadable certificate
            reason = f"the notification receiver could not listen on port {port}: {exc}"
            notifications.set_mode(self.profile, notifications.POLLING, reason, now)
            log.warning("NAV notifications not available, polling: %s", reason)
            return None
        self.inbox = inbox
        scheduler.add_job(Job("nav-changes", lambda: notifications.REFDATA_POLL, self.handle_nav_changes,
                              pending=inbox.due))
        return receiver

    def nav_receiver_stopped(self) -> None:
        """`stnav run` is stopping: until it runs again NAV changes are found by polling (BC's subscriptions
        stay until they expire; the next start renews them)."""
        self.inbox = None
        notifications.set_mode(self.profile, notifications.POLLING,
                               "the service (`stnav run`) is stopped; it subscribes again when it starts", self.clock())

    def handle_nav_changes(self, now: datetime) -> str:
        """Scheduler thread: what the queued NAV notifications ask for (reference data, drafts)."""
        changes = self.inbox.drain() if self.inbox is not None else []
        if not changes:
            return "no NAV change notified"

        def refresh(entities: set[str]) -> dict[str, int]:
            from stnav_desktop.connectors.nav import RefData
            from stnav_desktop.sync.app import mapping

            counts = refdata.refresh_nav(self.profile, RefData(self.nav_client()), only=entities)
            mapping.refresh_readiness(self.profile)
            return counts

        def follow_up(document_ids: list[int] | None) -> dict[str, int]:
            from stnav_desktop.sync.app import st_gateway

            poster = posting.Poster(self.profile, self.nav_books(), write_back=st_gateway.WriteBack(self.st_client),
                                    clock=self.clock)
            return poster.follow_up_drafts(document_ids)

        try:
            return notifications.handle(self.profile, changes, refresh=refresh, follow_up=follow_up, now=now)
        except ConnectorError:  # NAV unreachable or busy: the same changes again in a minute
            if self.inbox is not None:
                self.inbox.put_back(changes, now + notifications.RETRY_AFTER)
            raise

    def renew_subscriptions(self, now: datetime) -> str:
        """The hourly job: NAV webhook subscriptions for vendors, G/L accounts, dimension values and purchase
        invoices exist and are renewed within a day of their 3-day expiry; polling, with the reason, when
        they cannot be (no URL, classic NAV, BC could not validate the URL)."""
        from stnav_desktop.connectors.nav import Subscriptions

        reason = self.notifications_unavailable()
        if reason:
            notifications.set_mode(self.profile, notifications.POLLING, reason, now)
            return "polling: " + reason
        if self.inbox is None:  # a window's scheduler: the receiver (and so the subscriptions) are the service's
            return "NAV notifications are the service's (`stnav run`); nothing to do in this process"
        url = self.value("nav.notification_url")
        try:
            return notifications.ensure(self.profile, Subscriptions(self.nav_client()), url, self._client_state(), now)
        except ConnectorError as exc:
            return notifications.refused(self.profile, url, exc, now)

    def refresh_tokens(self, now: datetime) -> str:
        """Keep both OAuth tokens fresh ahead of expiry (each provider refreshes only when its token is
        close to expiring), so a scheduled pull or post never starts with a stale token."""
        done = []
        for name, build in (("ServiceTitan", self.st_client), ("NAV", self.nav_client)):
            try:
                client = build()
            except (ConfigurationError, credentials.CredentialError) as exc:
                done.append(f"{name}: {exc}")
                continue
            provider = getattr(client, "auth", None) or getattr(getattr(client, "http", None), "auth", None)
            if provider is not None and hasattr(provider, "token"):
                provider.token()
                done.append(f"{name} token fresh")
        return "; ".join(done) or "no OAuth connection"

    def webhook_receiver(self, scheduler, port: int):
        """The optional ServiceTitan webhook receiver (loopback; a tunnel or reverse proxy in front):
        job.*, invoice.* and purchasing events make the next pull due now. Polling stays the default."""
        from stnav_desktop.connectors.servicetitan import WebhookReceiver

        try:
            secret = credentials.get_secret(self.profile.name, "servicetitan.webhook_secret")
        except credentials.CredentialNotFound:
            raise ConfigurationError("store the ServiceTitan webhook signing key first: "
                                     "stnav credentials set default servicetitan.webhook_secret") from None
        return WebhookReceiver(lambda event: scheduler.run_soon("pull", f"webhook {event.event_type}"),
                               secret=secret, port=port)

    def scheduler(self, *, on_event: Callable[[JobNews], None] | None = None, tick_seconds: float = 15.0):
        from stnav_desktop.sync.app.scheduler import Scheduler, pull_interval

        def pull_job(now):
            summary = self.pull()
            return JobNews("pull", True, summary.line(), new_for_review=bool(
                summary.counts.get("new") or summary.counts.get("updated")
                or summary.counts.get("changed_after_posting")))

        def retries_job(now):
            results = self.post(None)
            bad = sum(1 for r in results if r.outcome.bad)
            return JobNews("retries", True, f"{len(results)} document(s) posted or retried" if results
                           else "nothing due", needs_attention=bad)

        jobs = [Job("pull", pull_interval(self.profile), pull_job, business_hours=True),
                Job("retries", lambda: timedelta(minutes=1), retries_job),
                Job("subscriptions", lambda: timedelta(hours=1), self.renew_subscriptions),
                Job("tokens", lambda: timedelta(minutes=5), self.refresh_tokens),
                Job("refdata", lambda: notifications.REFDATA_POLL,
                    lambda now: f"refreshed {sum(self.refresh_refdata().values())}")]
        return Scheduler(self.profile, jobs, clock=self.clock, tick_seconds=tick_seconds, on_event=on_event)
