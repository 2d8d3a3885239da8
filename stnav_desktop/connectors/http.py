"""The one HTTP layer under both connectors: timeouts, retries with backoff, rate limits, TLS
settings and secret redaction. No Qt, no database.

What urllib3's ``Retry`` does well it does here (connection errors, backoff with jitter and a cap,
``Retry-After``). What it cannot know is ours: a POST/PATCH that reached the server and failed with a
5xx may have been carried out, so only idempotent methods are retried on 5xx; a 429 means the request
was refused unprocessed, so it is retried for every method and slows every thread of the tenant down.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from stnav_desktop import __version__
from stnav_desktop.connectors.ratelimit import ConcurrencyLimit, RateLimiter
from stnav_desktop.redact import redact

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
USER_AGENT = f"ml-connector-desktop/{__version__}"


class ConnectorError(Exception):
    """Base for errors a connector raises. ``str()`` is always secret-free and readable by a clerk."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 correlation_id: str | None = None, details: Any = None, retryable: bool = False) -> None:
        super().__init__(redact(message))
        self.status = status
        self.code = code
        self.correlation_id = correlation_id
        self.details = details
        self.retryable = retryable

    @property
    def message(self) -> str:
        return str(self)


class TransportError(ConnectorError):
    """No usable answer: connection refused or dropped, TLS failure, timeout. The outcome of a write
    that raised this is UNKNOWN and must be settled by reading back before writing again."""

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("retryable", True)
        super().__init__(message, **kw)


class HttpError(ConnectorError):
    """The server answered with an error status."""


class AuthError(ConnectorError):
    """Credentials were refused (wrong secret, app not connected, token revoked)."""


class _Retry(Retry):
    """urllib3 Retry that retries 429 for any method but 5xx only for idempotent methods."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if self.total is not None and self.total <= 0:  # pragma: no cover - urllib3 guards this too
            return False
        if status_code == 429:
            return True
        return super().is_retry(method, status_code, has_retry_after)


@dataclass
class RetryPolicy:
    total: int = 6
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    backoff_jitter: float = 0.5
    status_forcelist: tuple[int, ...] = (429, 500, 502, 503, 504)

    def build(self) -> Retry:
        return _Retry(
            total=self.total,
            connect=self.total,
            read=0,  # a read error after sending may mean the write happened: the caller settles it
            status=self.total,
            other=0,
            backoff_factor=self.backoff_factor,
            backoff_max=self.backoff_max,
            backoff_jitter=self.backoff_jitter,
            status_forcelist=self.status_forcelist,
            allowed_methods=IDEMPOTENT,
            respect_retry_after_header=True,
            raise_on_status=False,
        )


@dataclass
class HttpSettings:
    timeout: tuple[float, float] = (10.0, 60.0)  # connect, read
    ca_bundle: str | None = None  # extra CA (on-premises servers with an internal CA)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    proxies: Mapping[str, str] | None = None
    pool_size: int = 10


def build_session(settings: HttpSettings) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=settings.retry.build(), pool_connections=settings.pool_size,
                          pool_maxsize=settings.pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    # TLS verification is never switched off: either the system/certifi store or the given bundle
    session.verify = settings.ca_bundle or True
    if settings.proxies:
        session.proxies.update(settings.proxies)
    return session


class CallCounter:
    """Counts requests, the peak per wall-clock second, and operations: BC's limits count each operation
    inside a ``$batch``, not the HTTP request that carries them (benchmarks, tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.total = 0
        self.operations = 0
        self.per_second: dict[int, int] = {}

    def hit(self) -> None:
        with self._lock:
            self.total += 1
            self.operations += 1
            sec = int(self._clock())
            self.per_second[sec] = self.per_second.get(sec, 0) + 1

    def batched(self, operations: int) -> None:
        """A ``$batch`` request (already counted by ``hit``) carried ``operations`` operations."""
        with self._lock:
            self.operations += operations - 1

    @property
    def peak_per_second(self) -> int:
        with self._lock:
            return max(self.per_second.values(), default=0)


AuthHook = Callable[[bool], Mapping[str, str]]
"""Returns the auth headers for a request; called with ``True`` to force a token refresh after 401."""


class HttpClient:
    """JSON over HTTPS for one system and tenant.

    - every request waits for the shared rate limiter and the concurrency limit;
    - a 401 triggers one forced token refresh and one retry;
    - a 429 that survived urllib3's retries holds back every thread via ``RateLimiter.penalize``;
    - errors become ``HttpError``/``AuthError``/``TransportError`` with secret-free messages,
      shaped by ``error_parser`` (each system has its own error body).
    """

    def __init__(self, base_url: str, *, settings: HttpSettings | None = None,
                 auth: AuthHook | None = None, limiter: RateLimiter | None = None,
                 concurrency: ConcurrencyLimit | None = None,
                 error_parser: Callable[[requests.Response], ConnectorError] | None = None,
                 default_headers: Mapping[str, str] | None = None,
                 counter: CallCounter | None = None,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.settings = settings or HttpSettings()
        self.session = session or build_session(self.settings)
        self.auth = auth
        self.limiter = limiter
        self.concurrency = concurrency
        self.error_parser = error_parser or default_error
        self.default_headers = dict(default_headers or {})
        self.counter = counter

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path  # e.g. @odata.nextLink, followed verbatim
        return self.base_url + path.lstrip("/")

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, data: Any = None, headers: Mapping[str, str] | None = None,
                expected: tuple[int, ...] = (200, 201, 202, 204), timeout: tuple[float, float] | None = None,
                ) -> requests.Response:
        method = method.upper()
        url = self.url(path)
        refreshed = False
        while True:
            hdrs = dict(self.default_headers)
            if self.auth is not None:
                hdrs.update(self.auth(refreshed))
            if headers:
                hdrs.update(headers)
            body = data
            if json_body is not None:
                body = json.dumps(json_body, default=str)
                hdrs.setdefault("Content-Type", "application/json")
            resp = self._send(method, url, params=params, data=body, headers=hdrs, timeout=timeout)
            if resp.status_code == 401 and self.auth is not None and not refreshed:
                refreshed = True
                log.info("%s %s: 401, refreshing the token once", method, _short(url))
                continue
            if resp.status_code == 429 and self.limiter is not None:
                self.limiter.penalize(_retry_after(resp) or 1.0)
            if resp.status_code not in expected:
                raise self.error_parser(resp)
            return resp

    def _send(self, method: str, url: str, **kw: Any) -> requests.Response:
        if self.limiter is not None:
            self.limiter.acquire()
        if self.counter is not None:
            self.counter.hit()
        kw["timeout"] = kw.get("timeout") or self.settings.timeout
        # explicit, so an environment REQUESTS_CA_BUNDLE cannot silently replace the configured CA
        kw["verify"] = self.session.verify
        try:
            if self.concurrency is not None:
                with self.concurrency:
                    return self.session.request(method, url, **kw)
            return self.session.request(method, url, **kw)
        except requests.exceptions.SSLError as exc:
            raise TransportError(
                f"TLS check failed for {_short(url)}: {exc}. If the server uses an internal certificate "
                "authority, set the connection's CA bundle.", retryable=False) from None
        except requests.exceptions.RetryError as exc:
            raise TransportError(f"{method} {_short(url)} kept failing after retries: {exc}") from None
        except requests.exceptions.Timeout:
            raise TransportError(f"{method} {_short(url)} timed out") from None
        except requests.exceptions.ConnectionError as exc:
            raise TransportError(f"{method} {_short(url)}: connection failed ({_reason(exc)})") from None

    def get_json(self, path: str, **kw: Any) -> Any:
        resp = self.request("GET", path, **kw)
        return resp.json() if resp.content else None


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _short(url: str) -> str:
    return redact(url.split("?", 1)[0])


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Connection aborted", "RemoteDisconnected", "Name or service not known",
                   "timed out", "Connection reset"):
        if marker in text:
            return marker
    return redact(text)[:200]


def default_error(resp: requests.Response) -> ConnectorError:
    try:
        body = resp.json()
    except ValueError:
        body = None
    message = None
    if isinstance(body, dict):
        message = body.get("title") or body.get("message") or body.get("error_description")
        if isinstance(body.get("error"), dict):
            message = body["error"].get("message") or message
    message = message or (resp.text[:200] if resp.text else resp.reason)
    cls = AuthError if resp.status_code in (401, 403) else HttpError
    return cls(f"HTTP {resp.status_code}: {message}", status=resp.status_code,
               retryable=resp.status_code in (429, 500, 502, 503, 504), details=body)
