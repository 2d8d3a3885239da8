"""A small threaded HTTPS server base shared by the simulators (stdlib only).

A simulator subclasses ``JsonHandler`` and implements ``route(method, path, query)``; the server
runs on a background thread, bound to loopback, and stops cleanly.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stnav_desktop.sandbox import jsonutil
from stnav_desktop.sandbox.tls import SandboxTLS, ensure_tls

log = logging.getLogger(__name__)


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    def setup(self) -> None:
        super().setup()
        # headers and body are written separately: without NODELAY each keep-alive answer waits ~40 ms
        import socket

        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    # -- helpers -------------------------------------------------------------------------------
    def body_bytes(self) -> bytes:
        if not hasattr(self, "_body"):
            length = int(self.headers.get("Content-Length") or 0)
            self._body = self.rfile.read(length) if length else b""
        return self._body

    def body_json(self) -> Any:
        raw = self.body_bytes()
        return json.loads(raw.decode("utf-8")) if raw else None

    def split(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        return parts.path, parse_qs(parts.query, keep_blank_values=True)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None,
                  content_type: str = "application/json; charset=utf-8") -> None:
        # Decimal goes out as a JSON number with its exact text, as the real services send amounts
        body = b"" if payload is None else jsonutil.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def send_text(self, status: int, text: str, content_type: str = "text/plain; charset=utf-8",
                  headers: dict[str, str] | None = None) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def drop_connection(self) -> None:
        """Fault injection: close the socket without an answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    # -- dispatch ------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        # the handler object serves every request of a keep-alive connection: forget the last body
        self.__dict__.pop("_body", None)
        try:
            self.handle_request()
        except Exception:  # a simulator bug must show up as a 500, not a hung client
            log.exception("simulator error on %s %s", self.command, self.path)
            try:
                self.send_json(500, {"error": {"code": "InternalServerError", "message": "simulator error"}})
            except OSError:
                pass

    def handle_request(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _dispatch


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler: type[JsonHandler], state: Any, *, host: str = "127.0.0.1", port: int = 0,
                 tls: SandboxTLS | None = None) -> None:
        super().__init__((host, port), handler)
        self.state = state
        self.tls = tls
        if tls is not None:
            self.socket = tls.server_context().wrap_socket(self.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> SandboxHTTPServer:
        self._thread = threading.Thread(target=self.serve_forever, name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_server(handler: type[JsonHandler], state: Any, tls_dir: Path | None, *, port: int = 0) -> SandboxHTTPServer:
    tls = ensure_tls(tls_dir) if tls_dir is not None else None
    return SandboxHTTPServer(handler, state, port=port, tls=tls)
