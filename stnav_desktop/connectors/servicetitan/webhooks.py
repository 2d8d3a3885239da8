"""ServiceTitan V2 webhooks: signature check, event parsing, and a tiny loopback receiver.

ServiceTitan documents that an optional 32-64 character HMAC key is shared with the app and that a
signature of the payload is "sent in the request header", but not the header name, the exact input or
the encoding. Our defaults, all configurable in ``WebhookSettings``:

- algorithm HMAC-SHA256, key = UTF-8 bytes of the HMAC key, message = the raw request body bytes;
- header ``X-ServiceTitan-Signature`` (the name most third-party receivers use; ``ST-Signature`` and
  ``X-ST-Signature`` are also looked at unless ``strict_header`` is set);
- encoding base64 (hex also accepted when ``encoding="auto"``, and an optional ``sha256=`` prefix);
- comparison in constant time (``hmac.compare_digest``).

A webhook is only a hint to pull now: polling stays authoritative, so a lost webhook loses nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from stnav_desktop.connectors.receiver import GuardedHandler, GuardedServer
from stnav_desktop.connectors.servicetitan.parsing import parse_datetime

log = logging.getLogger(__name__)

DEFAULT_HEADER = "X-ServiceTitan-Signature"
FALLBACK_HEADERS = ("ST-Signature", "X-ST-Signature")
PULL_PREFIXES = ("job.", "invoice.", "purchaseorder", "purchase-order", "purchase_order", "inventorybill",
                 "inventory-bill", "inventory_bill", "receipt", "purchasing")


@dataclass(frozen=True)
class WebhookSettings:
    header_name: str = DEFAULT_HEADER
    encoding: str = "auto"  # "base64" | "hex" | "auto" (either)
    algorithm: str = "sha256"
    strict_header: bool = False  # only look at ``header_name``
    max_body: int = 1_000_000
    path: str = "/"  # anything else is 404
    # replays: an event id seen before, or an event created longer ago than this, is dropped (answered 200
    # so the sender stops, but no pull and no record); polling stays authoritative, so nothing is lost
    max_age_seconds: int = 1800
    max_future_seconds: int = 300  # clock skew allowed for createdOn in the future
    remembered_ids: int = 10_000
    max_connections: int = 16
    read_timeout: float = 5.0


@dataclass
class WebhookEvent:
    event_type: str
    event_id: str | None
    tenant_id: str | None
    created_on: Any
    data: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def wants_pull(self) -> bool:
        t = self.event_type.lower()
        return t.startswith(PULL_PREFIXES)


def _get_header(headers: Mapping[str, str] | Any, name: str) -> str | None:
    getter = getattr(headers, "get", None)
    value = getter(name) if getter else None
    if value is None and isinstance(headers, Mapping):
        for k, v in headers.items():
            if k.lower() == name.lower():
                return v
    return value


def verify_signature(body: bytes, headers: Mapping[str, str] | Any, secret: str, *,
                     header_name: str = DEFAULT_HEADER, encoding: str = "auto", algorithm: str = "sha256",
                     strict_header: bool = False) -> bool:
    """True if the signature header holds HMAC(secret, body). Never raises on malformed input."""
    if not secret:
        return False
    names = (header_name,) if strict_header else (header_name, *FALLBACK_HEADERS)
    sent = next((v for v in (_get_header(headers, n) for n in names) if v), None)
    if not sent:
        return False
    sent = sent.strip()
    if sent.lower().startswith(f"{algorithm}="):
        sent = sent[len(algorithm) + 1:]
    try:
        digest = hmac.new(secret.encode("utf-8"), body, getattr(hashlib, algorithm)).digest()
    except AttributeError:
        raise ValueError(f"unsupported algorithm {algorithm!r}") from None
    candidates: list[bytes] = []
    if encoding in ("hex", "auto"):
        try:
            candidates.append(binascii.unhexlify(sent))
        except (binascii.Error, ValueError):
            pass
    if encoding in ("base64", "auto"):
        try:
            candidates.append(base64.b64decode(sent, validate=True))
        except (binascii.Error, ValueError):
            pass
    ok = False
    for c in candidates:  # compare every candidate (constant time each)
        ok = hmac.compare_digest(c, digest) or ok
    return ok


def parse_event(body: bytes | str) -> WebhookEvent:
    """Lenient: the V2 envelope is not published; accepts eventType/event/type and data/payload."""
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"webhook body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError("webhook body is not a JSON object")
    event_type = str(raw.get("eventType") or raw.get("event") or raw.get("type") or "")
    data = raw.get("data") if isinstance(raw.get("data"), dict) else raw.get("payload")
    try:
        created = parse_datetime(raw.get("createdOn") or raw.get("timestamp"))
    except ValueError:
        created = None
    return WebhookEvent(event_type=event_type, event_id=raw.get("eventId") or raw.get("id"),
                        tenant_id=str(raw.get("tenantId")) if raw.get("tenantId") is not None else None,
                        created_on=created, data=data if isinstance(data, dict) else {}, raw=raw)


class WebhookReceiver:
    """HTTP receiver on loopback (put a tunnel or reverse proxy in front for ServiceTitan to reach it).
    Verifies the signature (if a secret is set), drops replays, answers 200 quickly and calls
    ``on_pull(event)`` for job.*, invoice.* and purchasing events. Guarded against slow or hostile
    senders (``connectors/receiver.py``)."""

    def __init__(self, on_pull: Callable[[WebhookEvent], None], *, secret: str | None,
                 settings: WebhookSettings | None = None, host: str = "127.0.0.1", port: int = 0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the webhook receiver only listens on loopback")
        self.settings = settings or WebhookSettings()
        self.on_pull = on_pull
        self.secret = secret
        self.clock = clock
        self.received: list[WebhookEvent] = []
        self.rejected = 0
        self.replayed = 0
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_lock = threading.Lock()
        receiver = self

        class Handler(GuardedHandler):
            max_body = receiver.settings.max_body

            def do_POST(self) -> None:  # noqa: N802
                if urlsplit(self.path).path != receiver.settings.path:
                    self.answer(404)
                    return
                body = self.read_body()
                if body is None:
                    return
                self.answer(receiver.handle(body, self.headers))

            def do_GET(self) -> None:  # noqa: N802
                self.answer(404 if urlsplit(self.path).path != receiver.settings.path else 405)

            do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET  # noqa: N815

        self._server = GuardedServer((host, port), Handler, max_connections=self.settings.max_connections,
                                     read_timeout=self.settings.read_timeout)
        self._thread: threading.Thread | None = None

    def _is_replay(self, event: WebhookEvent, body: bytes) -> str:
        """Why the event is dropped as a replay, or empty when it is new."""
        s = self.settings
        created = event.created_on
        if isinstance(created, datetime):
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            age = (self.clock() - created).total_seconds()
            if age > s.max_age_seconds:
                return f"created {int(age)} s ago (older than {s.max_age_seconds} s)"
            if -age > s.max_future_seconds:
                return f"created {int(-age)} s in the future"
        key = f"id:{event.event_id}" if event.event_id not in (None, "") else \
            "body:" + hashlib.sha256(body).hexdigest()
        with self._seen_lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return "seen before"
            self._seen[key] = None
            while len(self._seen) > s.remembered_ids:
                self._seen.popitem(last=False)
        return ""

    def handle(self, body: bytes, headers: Mapping[str, str] | Any) -> int:
        s = self.settings
        if self.secret and not verify_signature(body, headers, self.secret, header_name=s.header_name,
                                                encoding=s.encoding, algorithm=s.algorithm,
                                                strict_header=s.strict_header):
            self.rejected += 1
            log.warning("webhook rejected: signature missing or wrong")
            return 401
        try:
            event = parse_event(body)
        except ValueError:
            return 400
        why = self._is_replay(event, body)
        if why:
            self.replayed += 1
            log.info("webhook %s (id %s) dropped as a replay: %s", event.event_type, event.event_id, why)
            return 200
        self.received.append(event)
        if event.wants_pull:
            try:
                self.on_pull(event)
            except Exception:  # the sender must not retry because our callback failed
                log.exception("webhook pull callback failed")
        return 200

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> WebhookReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever, name="st-webhooks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
