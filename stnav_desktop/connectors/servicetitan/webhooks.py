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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
    Verifies the signature (if a secret is set), answers 200 quickly and calls ``on_pull(event)`` for
    job.*, invoice.* and purchasing events."""

    def __init__(self, on_pull: Callable[[WebhookEvent], None], *, secret: str | None,
                 settings: WebhookSettings | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the webhook receiver only listens on loopback")
        self.settings = settings or WebhookSettings()
        self.on_pull = on_pull
        self.secret = secret
        self.received: list[WebhookEvent] = []
        self.rejected = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug("webhook %s", format % args)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                if length > receiver.settings.max_body:
                    self._answer(413)
                    return
                body = self.rfile.read(length)
                self._answer(receiver.handle(body, self.headers))

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

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
        return f"http://{host}:{port}/"

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
