"""Signed webhook sender of the simulator (V2-webhook style: JSON POST to a callback URL, HMAC-SHA256
over the raw body, signature in a header; retries after 10, 30, 60 and 300 s on non-2xx)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

DEFAULT_HEADER = "X-ServiceTitan-Signature"
RETRY_DELAYS = (10, 30, 60, 300)


def sign(body: bytes, secret: str, encoding: str = "base64") -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode("ascii")


def build_event(event_type: str, tenant: int, data: dict[str, Any] | None, when: datetime) -> bytes:
    return json.dumps({"eventId": str(uuid.uuid4()), "eventType": event_type, "tenantId": tenant,
                       "createdOn": when.isoformat().replace("+00:00", "Z"), "data": data or {}},
                      separators=(",", ":")).encode("utf-8")


def send_webhook(url: str, body: bytes, *, secret: str | None, header_name: str = DEFAULT_HEADER,
                 encoding: str = "base64", retry_delays: tuple[float, ...] = RETRY_DELAYS,
                 sleep: Callable[[float], None] = time.sleep, verify: Any = True, timeout: float = 10.0
                 ) -> list[int]:
    """POST ``body``; on a non-2xx answer or a connection error retry after each of ``retry_delays``.
    Returns the statuses seen (0 = no answer)."""
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[header_name] = sign(body, secret, encoding)
    statuses: list[int] = []
    for delay in (0, *retry_delays):
        if delay:
            sleep(delay)
        try:
            status = requests.post(url, data=body, headers=headers, timeout=timeout, verify=verify).status_code
        except requests.RequestException:
            status = 0
        statuses.append(status)
        if 200 <= status < 300:
            break
    return statuses
