"""Webhook subscriptions (``{api}/subscriptions``, string key ``subscriptions('<id>')``) and a tiny HTTPS
notification receiver for sites that can expose one. BC calls ``notificationUrl?validationToken=...`` on
create AND on renew; the receiver must answer 200 with the token within 5 s. Subscriptions live 3 days.

Source: Microsoft Learn, "Working with webhooks in Dynamics 365 Business Central" (api-reference v2.0,
dynamics-subscriptions); what a notification carries: codeunit 6154 "API Webhook Notification Send".
A notification says only WHAT changed (entity set + id, or "collection": too many changes, re-read the set),
never the data: the receiver of it reads NAV again."""

from __future__ import annotations

import hmac
import json
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.client import NavClient
from stnav_desktop.connectors.receiver import GuardedHandler, GuardedServer

log = logging.getLogger(__name__)


@dataclass
class Subscription:
    subscription_id: str
    notification_url: str
    resource: str
    client_state: str
    expiration: datetime  # tz-aware
    etag: str

    @classmethod
    def from_api(cls, rec: dict[str, Any]) -> Subscription:
        return cls(rec["subscriptionId"], rec["notificationUrl"], rec["resource"], rec.get("clientState") or "",
                   odata.parse_datetime(rec["expirationDateTime"]), rec.get("@odata.etag", "*"))


def _notification_items(body: bytes) -> list[dict[str, Any]] | None:
    """The notifications of a BC webhook body, or None when it is not ``{"value": [{...}, ...]}``."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return None
    items = data.get("value") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return None
    return items


# The entity sets this app watches, each one BC accepts a subscription for (documented list, plus
# dimensionValues: page 30040 over the real "Dimension Value" table, keyed by SystemId)
WATCHED_SETS = ("vendors", "accounts", "dimensionValues", "purchaseInvoices")
# entity set -> the reference-data cache entity it refreshes (sync/app/refdata.py); documents are followed up
REFERENCE_SETS = {"vendors": "vendors", "accounts": "accounts", "dimensionValues": "dimensionValues"}
DOCUMENT_SETS = ("purchaseInvoices",)
CHANGE_TYPES = ("created", "updated", "deleted", "collection")


@dataclass(frozen=True)
class NavChange:
    """One notification: ``entity_set`` (one of WATCHED_SETS, or another set name), the record's id (None for
    "collection"), and the change type as BC names it."""

    subscription_id: str
    entity_set: str
    record_id: str | None
    change: str

    @property
    def whole_set(self) -> bool:
        return self.change == "collection" or self.record_id is None

    @property
    def reference_entity(self) -> str | None:
        """The reference-data cache entity this change makes stale, or None."""
        return REFERENCE_SETS.get(self.entity_set)

    @property
    def is_document(self) -> bool:
        return self.entity_set in DOCUMENT_SETS


def entity_set_of(resource: str) -> tuple[str, str | None]:
    """(entity set, record id or None) of a subscription or notification ``resource``:
    ``…/companies(<cid>)/vendors(<id>)`` → ("vendors", id); ``…/vendors?$filter=…`` → ("vendors", None)."""
    path = resource.split("?", 1)[0].rstrip("/")
    last = path.rsplit("/", 1)[-1]
    name, _, rest = last.partition("(")
    record = rest[:-1].strip("'") if rest.endswith(")") else None
    return name, (record.lower() if record else None)


def parse_notification(item: dict[str, Any]) -> NavChange | None:
    """The typed change of one notification item, or None when it is not one (logged, never raised)."""
    resource, change = item.get("resource"), str(item.get("changeType") or "").lower()
    if not isinstance(resource, str) or change not in CHANGE_TYPES:
        log.warning("NAV notification without a resource or with an unknown changeType ignored")
        return None
    entity, record = entity_set_of(resource)
    return NavChange(str(item.get("subscriptionId") or ""), entity, None if change == "collection" else record,
                     change)


def _key(sub_id: str) -> str:
    return "subscriptions(" + odata.quote_literal(sub_id) + ")"


class Subscriptions:
    def __init__(self, client: NavClient) -> None:
        self.client = client

    def resource_for(self, entity_set: str) -> str:
        return f"/api/v2.0/{self.client.company_path}{entity_set}"

    def create(self, entity_set: str, notification_url: str, client_state: str) -> Subscription:
        rec = self.client.post("subscriptions", {"notificationUrl": notification_url,
                                                 "resource": self.resource_for(entity_set), "clientState": client_state})
        return Subscription.from_api(rec)

    def entity_of(self, sub: Subscription) -> str:
        return entity_set_of(sub.resource)[0]

    def list(self) -> list[Subscription]:
        return [Subscription.from_api(r) for r in self.client.get("subscriptions").get("value", [])]

    def renew(self, sub: Subscription) -> Subscription:
        rec = self.client.patch(_key(sub.subscription_id), {"notificationUrl": sub.notification_url,
                                                            "resource": sub.resource, "clientState": sub.client_state},
                                sub.etag)
        return Subscription.from_api(rec)

    def delete(self, sub: Subscription) -> None:
        self.client.delete(_key(sub.subscription_id), sub.etag)


class NotificationReceiver:
    """HTTPS endpoint at ``path`` (default ``/bc-webhook``; the service uses one path per profile): echoes
    ``validationToken`` (as ``text/plain; charset=utf-8``, ``nosniff``); accepts notifications whose
    clientState matches and hands each item to ``on_notification``, then answers 202 at once (BC wants a
    quick answer: whatever the items ask for is done later, on another thread); a wrong clientState gets 401
    (BC then drops the subscription), a malformed body 400, any other path 404. TLS is handshaken per
    connection in its own thread and connections are capped and timed out (``connectors/receiver.py``), so
    one idle client cannot stop BC's validation call. Without ``certfile`` it speaks plain HTTP: only behind
    a reverse proxy that terminates TLS (BC sends to https:// URLs only)."""

    PATH = "/bc-webhook"
    MAX_TOKEN = 1024

    def __init__(self, client_state: str, on_notification: Callable[[dict[str, Any]], None], *,
                 certfile: str | None, keyfile: str | None, host: str = "127.0.0.1", port: int = 0,
                 max_connections: int = 16, read_timeout: float = 4.0, path: str | None = None) -> None:
        receiver = self
        self.path = "/" + (path or self.PATH).strip("/")

        class Handler(GuardedHandler):
            max_body = 1_000_000

            def do_GET(self) -> None:  # noqa: N802
                self.do_POST()

            def do_POST(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path.rstrip("/") != receiver.path:
                    return self.answer(404)
                body = self.read_body()
                if body is None:
                    return None
                query = parse_qs(parts.query)
                if "validationToken" in query:
                    token = query["validationToken"][0]
                    if len(token) > receiver.MAX_TOKEN or any(not c.isprintable() for c in token):
                        return self.answer(400, "bad validationToken")
                    return self.answer(200, token)
                items = _notification_items(body)
                if items is None:
                    return self.answer(400, "expected a JSON object with a value list of notifications")
                for item in items:
                    if not hmac.compare_digest(str(item.get("clientState", "")).encode(),
                                               receiver.client_state.encode()):
                        log.warning("notification with a wrong clientState refused")
                        return self.answer(401)
                for item in items:
                    try:
                        receiver.on_notification(item)
                    except Exception:  # noqa: BLE001 - polling stays authoritative; BC must not retry for us
                        log.exception("notification callback failed")
                return self.answer(202)

        self.client_state = client_state
        self.on_notification = on_notification
        ctx = None
        if certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(certfile, keyfile)
        self.server = GuardedServer((host, port), Handler, max_connections=max_connections,
                                    read_timeout=read_timeout, tls_context=ctx)
        self._thread: threading.Thread | None = None
        self.tls = ctx is not None
        self.port = int(self.server.server_address[1])

    @property
    def url(self) -> str:
        """The loopback URL of this receiver (tests; BC is given the URL IT configured)."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{self.path}"

    def start(self) -> NotificationReceiver:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
