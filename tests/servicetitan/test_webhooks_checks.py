"""Webhook signatures, the loopback receiver, and the connection test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading

from stnav_desktop.connectors.servicetitan import (
    WebhookReceiver,
    WebhookSettings,
    connection_checks,
    parse_event,
    verify_signature,
)

KEY = "k" * 40
BODY = b'{"eventId":"e1","eventType":"job.updated","tenantId":1234567,"data":{"id":5}}'


def _sig(body, key=KEY, hexa=False):
    d = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return d.hex() if hexa else base64.b64encode(d).decode()


def test_signature_accepted_and_tampered_rejected():
    assert verify_signature(BODY, {"X-ServiceTitan-Signature": _sig(BODY)}, KEY)
    assert verify_signature(BODY, {"x-servicetitan-signature": "sha256=" + _sig(BODY, hexa=True)}, KEY)
    assert verify_signature(BODY, {"ST-Signature": _sig(BODY)}, KEY)  # fallback header
    assert not verify_signature(BODY, {"ST-Signature": _sig(BODY)}, KEY, strict_header=True)
    tampered = BODY.replace(b"job.updated", b"job.deleted")
    assert not verify_signature(tampered, {"X-ServiceTitan-Signature": _sig(BODY)}, KEY)
    assert not verify_signature(BODY, {"X-ServiceTitan-Signature": _sig(BODY, key="x" * 40)}, KEY)
    assert not verify_signature(BODY, {}, KEY)
    assert not verify_signature(BODY, {"X-ServiceTitan-Signature": "%%%not-base64"}, KEY)
    assert not verify_signature(BODY, {"X-ServiceTitan-Signature": _sig(BODY, hexa=True)}, KEY, encoding="base64")


def test_parse_event():
    ev = parse_event(BODY)
    assert ev.event_type == "job.updated" and ev.wants_pull and ev.data == {"id": 5}
    assert not parse_event(b'{"eventType":"customer.created"}').wants_pull
    assert parse_event(b'{"event":"PurchaseOrder.Updated"}').wants_pull


def test_receiver_end_to_end_with_simulator(sandbox, fake_clock):
    pulled = threading.Event()
    events = []

    def on_pull(event):
        events.append(event.event_type)
        pulled.set()

    # the receiver drops events older than its window: it shares the simulator's clock
    with WebhookReceiver(on_pull, secret=KEY, settings=WebhookSettings(encoding="base64"),
                         clock=fake_clock.now) as rx:
        statuses = sandbox.send_webhook(rx.url, "invoice.created", {"id": 1}, secret=KEY, retry_delays=())
        assert statuses == [200] and pulled.wait(2)
        slept = []
        bad = sandbox.send_webhook(rx.url, "job.updated", secret="wrong-key-" * 4, retry_delays=(10, 30),
                                   sleep=slept.append)
        assert bad == [401, 401, 401] and slept == [10, 30]  # retried on the real schedule, never accepted
        assert rx.rejected == 3 and events == ["invoice.created"]


def test_connection_checks_all_green(client):
    checks = connection_checks(client)
    assert all(c.ok for c in checks), checks
    assert len(checks) == 9


def test_connection_checks_explain_failures(sandbox, make_client):
    bad_secret = connection_checks(make_client(secret="cs1.wrong-wrong-wrong"))
    assert len(bad_secret) == 1 and not bad_secret[0].ok
    assert "client id or client secret" in bad_secret[0].message and "switch the environment" in bad_secret[0].message
    no_key = connection_checks(make_client(app_key=""))
    assert not no_key[-1].ok and "app key" in no_key[-1].message.lower()
    other_tenant = connection_checks(make_client(tenant=42))
    assert other_tenant[0].ok and not other_tenant[1].ok
    assert "connect the app to this tenant" in other_tenant[1].message
