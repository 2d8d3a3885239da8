"""The two notification receivers under hostile or careless senders (issue 16 items 7 and 8). Every test is
bounded in time (socket timeouts of a few seconds) and size (nothing over a few KiB is sent)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from stnav_desktop.connectors.nav.subscriptions import NotificationReceiver
from stnav_desktop.connectors.servicetitan.webhooks import WebhookReceiver, WebhookSettings
from stnav_desktop.sandbox.tls import ensure_tls

KEY = "k" * 40
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _event(event_id="e-1", created=NOW, event_type="purchaseorder.updated"):
    return json.dumps({"eventId": event_id, "eventType": event_type, "tenantId": 1,
                       "createdOn": created.isoformat().replace("+00:00", "Z"), "data": {"id": 5}}).encode()


def _sig(body: bytes) -> str:
    return base64.b64encode(hmac.new(KEY.encode(), body, hashlib.sha256).digest()).decode()


def _raw(port, data: bytes, *, timeout=3.0, wrap=None) -> bytes:
    """Send raw bytes, return everything the server answers until it closes (bounded by ``timeout``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        s = wrap(sock) if wrap else sock
        s.sendall(data)
        chunks = []
        try:
            while chunk := s.recv(4096):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError, ssl.SSLError):
            pass
        return b"".join(chunks)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def _post(path: str, body: bytes, *, headers: dict[str, str] | None = None, length: str | None = None) -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    if length is not False:
        head.append(f"Content-Length: {len(body) if length is None else length}")
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@pytest.fixture
def st_rx():
    pulls = []
    settings = WebhookSettings(encoding="base64", max_body=4096, max_connections=4, read_timeout=0.5)
    with WebhookReceiver(pulls.append, secret=KEY, settings=settings, clock=lambda: NOW) as rx:
        rx.pulls = pulls
        rx.port = rx._server.server_address[1]
        yield rx


def _signed(body: bytes, **kw) -> bytes:
    return _post("/", body, headers={"X-ServiceTitan-Signature": _sig(body)}, **kw)


# --- ServiceTitan webhooks ---------------------------------------------------------------------------

@pytest.mark.parametrize("length, expected", [("-1", 400), ("abc", 400), ("+5", 400), ("1e3", 400), ("", 400),
                                              ("99999999999", 413), ("5000", 413)])
def test_bad_content_length_is_refused_before_reading(st_rx, length, expected):
    body = _event()
    started = time.monotonic()
    answer = _raw(st_rx.port, _post("/", body, headers={"X-ServiceTitan-Signature": _sig(body)}, length=length))
    assert _status(answer) == expected
    assert time.monotonic() - started < 2.5
    assert st_rx.pulls == [] and st_rx.received == []


def test_missing_length_and_chunked_bodies_are_refused(st_rx):
    body = _event()
    assert _status(_raw(st_rx.port, _post("/", body, length=False))) == 411
    chunked = _post("/", b"", headers={"Transfer-Encoding": "chunked"}, length=False) + b"5\r\nhello\r\n0\r\n\r\n"
    assert _status(_raw(st_rx.port, chunked)) == 411
    assert st_rx.pulls == []


def test_off_path_is_404_and_get_is_not_allowed(st_rx):
    body = _event()
    assert _status(_raw(st_rx.port, _signed(body).replace(b"POST / ", b"POST /admin "))) == 404
    assert _status(_raw(st_rx.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")) == 405
    assert _status(_raw(st_rx.port, b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")) == 404
    assert st_rx.pulls == []


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe\x00", b""])
def test_malformed_json_is_400_not_a_dropped_connection(st_rx, body):
    answer = _raw(st_rx.port, _signed(body))
    assert _status(answer) == 400
    assert b"nosniff" in answer.lower()


def test_unsigned_and_wrongly_signed_events_are_401(st_rx):
    body = _event()
    assert _status(_raw(st_rx.port, _post("/", body))) == 401
    assert _status(_raw(st_rx.port, _post("/", body, headers={"X-ServiceTitan-Signature": _sig(b"other")}))) == 401
    assert st_rx.rejected == 2 and st_rx.pulls == []


def test_a_replayed_event_pulls_once(st_rx):
    body = _event("evt-42")
    statuses = [_status(_raw(st_rx.port, _signed(body))) for _ in range(100)]
    assert statuses == [200] * 100  # the sender is told to stop...
    assert len(st_rx.pulls) == 1 and st_rx.replayed == 99  # ...but only the first one pulls


@pytest.mark.parametrize("created", [NOW - timedelta(hours=2), NOW - timedelta(days=40), NOW + timedelta(hours=1)])
def test_an_old_or_future_signed_event_is_dropped(st_rx, created):
    assert _status(_raw(st_rx.port, _signed(_event("evt-old", created)))) == 200
    assert st_rx.pulls == [] and st_rx.replayed == 1


def test_an_event_without_id_is_deduplicated_by_its_body(st_rx):
    body = json.dumps({"eventType": "purchaseorder.created", "data": {"id": 9}}).encode()
    for _ in range(3):
        assert _status(_raw(st_rx.port, _signed(body))) == 200
    assert len(st_rx.pulls) == 1


def test_a_slow_sender_is_cut_off_and_others_are_served(st_rx):
    slow = socket.create_connection(("127.0.0.1", st_rx.port), timeout=3)
    try:
        slow.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789")  # 90 bytes never come
        assert _status(_raw(st_rx.port, _signed(_event("evt-1")))) == 200  # served meanwhile
        started = time.monotonic()
        try:
            data = slow.recv(4096)  # the server gives up on it after its read timeout
        except ConnectionResetError:
            data = b""
        assert data == b"" or _status(data) == 408
        assert time.monotonic() - started < 2.5
    finally:
        slow.close()
    assert len(st_rx.pulls) == 1


def test_idle_connections_are_capped_and_timed_out(st_rx):
    idle = [socket.create_connection(("127.0.0.1", st_rx.port), timeout=3) for _ in range(6)]
    try:
        time.sleep(0.1)
        assert st_rx._server.refused_connections >= 2  # 4 allowed, the rest closed at once
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # the slots come back once the idle ones time out or close
        if _status(_raw(st_rx.port, _signed(_event("evt-after")))) == 200:
            break
        time.sleep(0.1)
    assert len(st_rx.pulls) == 1


# --- NAV / BC notifications --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return ensure_tls(tmp_path_factory.mktemp("rx-tls"))


@pytest.fixture
def nav_rx(tls):
    got = []
    rx = NotificationReceiver("state-1", got.append, certfile=str(tls.cert_pem), keyfile=str(tls.key_pem),
                              max_connections=4, read_timeout=1.0).start()
    rx.got = got
    rx.port = rx.server.server_address[1]
    yield rx
    rx.stop()


def _tls(tls):
    ctx = ssl.create_default_context(cafile=str(tls.ca_pem))
    return lambda sock: ctx.wrap_socket(sock, server_hostname="127.0.0.1")


def test_validation_answered_while_an_idle_tcp_connection_is_open(nav_rx, tls):
    idle = socket.create_connection(("127.0.0.1", nav_rx.port), timeout=5)  # never starts TLS
    try:
        started = time.monotonic()
        answer = _raw(nav_rx.port, b"POST /bc-webhook?validationToken=abc-123 HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Length: 0\r\n\r\n", wrap=_tls(tls))
        assert time.monotonic() - started < 2  # BC wants it within 5 s
    finally:
        idle.close()
    assert _status(answer) == 200 and answer.endswith(b"\r\n\r\nabc-123")
    head = answer.split(b"\r\n\r\n")[0].lower()
    assert b"content-type: text/plain; charset=utf-8" in head and b"x-content-type-options: nosniff" in head


@pytest.mark.parametrize("path, body, expected", [
    ("/elsewhere", b"{}", 404),
    ("/bc-webhook", b"{not json", 400),
    ("/bc-webhook", b"[]", 400),
    ("/bc-webhook", b'{"value": 5}', 400),
    ("/bc-webhook", b'{"value": [1, 2]}', 400),
    ("/bc-webhook", b'{"value": [{"clientState": "wrong"}]}', 401),
    ("/bc-webhook", b'{"value": [{"clientState": "state-1", "resource": "x"}]}', 202),
])
def test_notification_bodies(nav_rx, tls, path, body, expected):
    answer = _raw(nav_rx.port, _post(path, body), wrap=_tls(tls))
    assert _status(answer) == expected
    assert len(nav_rx.got) == (1 if expected == 202 else 0)


@pytest.mark.parametrize("length", ["-1", "x", "2000000"])
def test_notification_bad_length(nav_rx, tls, length):
    answer = _raw(nav_rx.port, _post("/bc-webhook", b'{"value": []}', length=length), wrap=_tls(tls))
    assert _status(answer) in (400, 413)


def test_validation_token_too_long_or_with_control_characters(nav_rx, tls):
    long = b"POST /bc-webhook?validationToken=" + b"a" * 2000 + b" HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
    assert _status(_raw(nav_rx.port, long, wrap=_tls(tls))) == 400
    ctl = b"POST /bc-webhook?validationToken=a%0d%0aSet-Cookie:x HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
    assert _status(_raw(nav_rx.port, ctl, wrap=_tls(tls))) == 400


def test_idle_tls_clients_cannot_exhaust_the_receiver(nav_rx, tls):
    idle = [socket.create_connection(("127.0.0.1", nav_rx.port), timeout=5) for _ in range(8)]
    try:
        time.sleep(1.5)  # past the read timeout: the handshakes that never came are given up
        ok = threading.Event()

        def validate():
            answer = _raw(nav_rx.port, b"GET /bc-webhook?validationToken=t HTTP/1.1\r\n\r\n", wrap=_tls(tls))
            if _status(answer) == 200:
                ok.set()

        worker = threading.Thread(target=validate)
        worker.start()
        worker.join(4)
        assert ok.is_set()
    finally:
        for sock in idle:
            sock.close()
