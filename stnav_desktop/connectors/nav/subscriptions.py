"""Webhook subscriptions (``{api}/subscriptions``, string key ``subscriptions('<id>')``) and a tiny HTTPS
notification receiver for sites that can expose one. BC calls ``notificationUrl?validationToken=...`` on
create AND on renew; the receiver must answer 200 with the token within 5 s. Subscriptions live 3 days."""

from __future__ import annotations

import hmac
import json
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.client import NavClient

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
    """HTTPS endpoint: echoes ``validationToken``; accepts notifications whose clientState matches and
    hands each item to ``on_notification``; anything else gets 401 (BC then drops the subscription)."""

    def __init__(self, client_state: str, on_notification: Callable[[dict[str, Any]], None], *,
                 certfile: str, keyfile: str, host: str = "127.0.0.1", port: int = 0) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug("receiver: " + format, *args)

            def _answer(self, status: int, text: str = "") -> None:
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                self.do_POST()

            def do_POST(self) -> None:  # noqa: N802
                query = parse_qs(urlsplit(self.path).query)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if "validationToken" in query:
                    return self._answer(200, query["validationToken"][0])
                try:
                    items = json.loads(raw.decode("utf-8-sig")).get("value", [])
                except (ValueError, AttributeError):
                    return self._answer(400)
                for item in items:
                    if not hmac.compare_digest(str(item.get("clientState", "")), receiver.client_state):
                        log.warning("notification with a wrong clientState refused")
                        return self._answer(401)
                for item in items:
                    receiver.on_notification(item)
                return self._answer(202)

        self.client_state = client_state
        self.on_notification = on_notification
        self.server = ThreadingHTTPServer((host, port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}/bc-webhook"

    def start(self) -> NotificationReceiver:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
