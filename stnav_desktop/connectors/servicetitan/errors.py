"""ServiceTitan error bodies -> ConnectorError with a clerk-readable, secret-free message and the fix.

API errors follow RFC 7807 (``ApiErrorResponse``: type, title, status, traceId, errors, data); the
token endpoint (IdentityServer) answers ``{"error": "invalid_client"}``; the gateway may answer 401/429
with its own text. Everything is parsed defensively."""

from __future__ import annotations

from typing import Any

import requests

from stnav_desktop.connectors.http import AuthError, ConnectorError, HttpError

RETRYABLE = (429, 500, 502, 503, 504)

TOKEN_ERRORS = {
    "invalid_client": (
        "ServiceTitan refused the client id or client secret (invalid_client). Check both values against "
        "the tenant's Settings > Integrations > API Application Access page (they are per tenant), and "
        "that the environment (production or integration) is the one they were generated in."),
    "unauthorized_client": (
        "the app is not allowed to use the client-credentials grant (unauthorized_client). Re-check the app "
        "registration in the ServiceTitan developer portal."),
    "unsupported_grant_type": "the token endpoint did not accept grant_type=client_credentials.",
    "invalid_scope": "the requested scopes are not granted to this app (invalid_scope).",
}


def _body(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def token_error(resp: requests.Response) -> ConnectorError:
    body = _body(resp)
    code = body.get("error") if isinstance(body, dict) else None
    status = resp.status_code
    if code in TOKEN_ERRORS:
        return AuthError(f"ServiceTitan sign-in failed: {TOKEN_ERRORS[code]}", status=status, code=code,
                         details=body)
    if status == 404:
        return AuthError("ServiceTitan sign-in failed: the token URL was not found (HTTP 404). Check the "
                         "environment setting or the auth URL override.", status=status)
    if status in RETRYABLE:
        return HttpError(f"ServiceTitan sign-in is unavailable (HTTP {status}); try again shortly.",
                         status=status, retryable=True)
    text = (body.get("error_description") or code) if isinstance(body, dict) else (resp.text or resp.reason)
    return AuthError(f"ServiceTitan sign-in failed (HTTP {status}): {str(text)[:200]}", status=status,
                     code=code, details=body)


def api_error(resp: requests.Response) -> ConnectorError:
    body = _body(resp)
    status = resp.status_code
    title = None
    trace = resp.headers.get("traceparent") or resp.headers.get("x-correlation-id")
    errors: dict[str, Any] = {}
    if isinstance(body, dict):
        title = body.get("title") or body.get("message") or body.get("error")
        trace = body.get("traceId") or trace
        errors = found if isinstance(found := body.get("errors"), dict) else {}
    title = str(title or (resp.text[:200] if resp.text else resp.reason or "error"))
    detail = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in errors.items())
    message = f"ServiceTitan API HTTP {status}: {title}" + (f" ({detail})" if detail else "")
    kw: dict[str, Any] = {"status": status, "correlation_id": trace, "details": body,
                          "retryable": status in RETRYABLE}
    if status == 401:
        if "app-key" in title.lower() or "app key" in title.lower():
            return AuthError(message + ". Fix: enter the app's ST-App-Key (developer portal > My Apps).",
                             code="app_key", **kw)
        return AuthError(message + ". The access token was refused even after a refresh; check the client id "
                         "and secret and that the app is still connected to the tenant.", code="token", **kw)
    if status == 403:
        return AuthError(message + ". Fix: connect the app to this tenant (Settings > Integrations > API "
                         "Application Access) with the needed scopes, and check the tenant id.",
                         code="forbidden", **kw)
    if status == 404:
        return HttpError(message + ". Check the tenant id and the environment (production or integration).",
                         code="not_found", **kw)
    return HttpError(message, **kw)
