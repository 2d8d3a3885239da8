"""What both notification receivers (ServiceTitan webhooks, NAV/BC subscriptions) share so that nobody on
the network can knock them over:

- a cap on concurrent connections (the excess is closed at once, never queued behind a slow client);
- a read timeout per connection and a deadline for the whole request (slow senders are cut off);
- TLS, when used, handshaken per connection in the connection's own thread, never in ``accept()`` (one
  idle TCP connection must not stop the server answering BC's validation call, due within 5 s);
- the body read only after its ``Content-Length`` is checked: missing, non-numeric, negative or over the
  limit is refused before a byte of it is read;
- an error in a handler is logged (to the log file) and answered, never a traceback on the console.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 16
READ_TIMEOUT_S = 5.0
REQUEST_DEADLINE_S = 10.0


class GuardedServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False  # a port in use is reported, not silently shared
    RequestHandlerClass: type[BaseHTTPRequestHandler]  # what __init__ is given (typeshed's Self-typed callable does not bind here)

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], *,
                 max_connections: int = MAX_CONNECTIONS, read_timeout: float = READ_TIMEOUT_S,
                 tls_context: ssl.SSLContext | None = None) -> None:
        super().__init__(address, handler)
        self.read_timeout = read_timeout
        self.tls_context = tls_context
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self.refused_connections = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.refused_connections += 1
            log.warning("receiver: %s concurrent connections already open; one more refused", self.max_connections)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(self.read_timeout)
        if self.tls_context is None:
            self.RequestHandlerClass(request, client_address, self)
            return
        try:  # the handshake, in this connection's thread, bounded by the read timeout
            tls = self.tls_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("receiver: TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr here; the log file gets it instead
        log.debug("receiver: request from %s failed", client_address, exc_info=True)


class GuardedHandler(BaseHTTPRequestHandler):
    """Base handler: one-shot connections, plain-text answers with ``nosniff``, guarded body reads."""

    server: GuardedServer
    max_body = 1_000_000
    deadline_s = REQUEST_DEADLINE_S

    def setup(self) -> None:
        # per connection, read by StreamRequestHandler.setup(); typeshed declares it a ClassVar
        self.timeout = self.server.read_timeout  # type: ignore[misc]
        self.started = time.monotonic()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("receiver %s: " + format, self.client_address[0], *args)

    def answer(self, status: int, text: str = "") -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def read_body(self) -> bytes | None:
        """The request body, or None after answering 400/408/411/413 (the body is then never read)."""
        if self.headers.get("Transfer-Encoding"):
            self.answer(411, "send the body with a Content-Length")
            return None
        raw = self.headers.get_all("Content-Length") or []
        if not raw:
            if self.command in ("GET", "HEAD", "DELETE"):
                return b""
            self.answer(411, "Content-Length required")
            return None
        if len(set(raw)) != 1 or not raw[0].strip().isdigit():  # "-1", "abc", "+5", two different values
            self.answer(400, "bad Content-Length")
            return None
        length = int(raw[0].strip())
        if length > self.max_body:
            self.answer(413, f"body larger than {self.max_body} bytes")
            return None
        chunks, remaining = [], length
        while remaining:
            if time.monotonic() - self.started > self.deadline_s:
                self.answer(408, "request took too long")
                return None
            try:
                chunk = self.rfile.read1(min(remaining, 65536))
            except (TimeoutError, OSError):
                self.close_connection = True
                return None
            if not chunk:  # the client went away
                self.close_connection = True
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
