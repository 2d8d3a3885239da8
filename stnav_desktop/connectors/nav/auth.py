"""Authentication for BC online (Entra ID client credentials via msal) and on-premises (Basic with a web
service access key, Windows via Negotiate/NTLM, or OAuth against the server's Entra app).

msal talks to Entra through our own ``requests.Session`` that always verifies TLS against the configured
CA bundle (or the system store). For an authority that is not a well-known Microsoft host (the local
simulator, or an ADFS/sovereign mirror) msal's instance discovery would ask login.microsoftonline.com
whether the host is a valid authority; we pass ``instance_discovery=False`` there, so msal goes straight
to ``{authority}/v2.0/.well-known/openid-configuration`` on the configured host. For Microsoft hosts the
defaults are kept (msal skips discovery for them anyway).
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from stnav_desktop.connectors.nav.config import NavConfig
from stnav_desktop.connectors.nav.errors import NavAuthError
from stnav_desktop.redact import redact, register_secret

log = logging.getLogger(__name__)

MICROSOFT_HOSTS = {"login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn",
                   "login.windows.net", "login.microsoft.com", "sts.windows.net", "login.partner.microsoftonline.cn",
                   "login.microsoftonline.de"}


class _VerifyingSession(requests.Session):
    """A session that always uses its own ``verify`` (an environment REQUESTS_CA_BUNDLE cannot replace it)."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["verify"] = self.verify
        kwargs.setdefault("timeout", (10, 60))
        return super().request(method, url, *args, **kwargs)


class MsalTokenProvider:
    """``acquire_token_for_client`` with msal's in-memory cache; ``force`` drops cached app tokens first
    (msal refuses ``force_refresh`` for this flow)."""

    def __init__(self, config: NavConfig, secret: str) -> None:
        self.config = config
        self._secret = secret
        self._app: Any = None
        self._lock = threading.Lock()

    def _build(self) -> Any:
        import msal

        session = _VerifyingSession()
        session.verify = self.config.ca_bundle or True
        authority = self.config.resolved_authority
        host = (urlsplit(authority).hostname or "").lower()
        kw: dict[str, Any] = {}
        if host not in MICROSOFT_HOSTS:
            kw["instance_discovery"] = False
        try:
            return msal.ConfidentialClientApplication(
                self.config.client_id, client_credential=self._secret, authority=authority, http_client=session,
                **kw)
        except ValueError as exc:  # tenant discovery failed (unknown tenant, wrong authority)
            raise NavAuthError(f"Could not reach the sign-in authority {authority}: {redact(str(exc))[:300]}") from None
        except requests.RequestException as exc:
            raise NavAuthError(f"Could not reach the sign-in authority {authority}: {type(exc).__name__}",
                               retryable=True) from None

    def token(self, force: bool = False) -> str:
        with self._lock:
            if self._app is None:
                self._app = self._build()
            if force:
                self._app.remove_tokens_for_client()
            result = self._app.acquire_token_for_client(scopes=[self.config.scope])
        if "access_token" not in result:
            desc = str(result.get("error_description") or result.get("error") or "no token").split("\r\n")[0]
            raise NavAuthError(f"Sign-in to Microsoft Entra ID failed: {result.get('error')}: {desc}",
                               code=str(result.get("error")), correlation_id=result.get("correlation_id"))
        token = result["access_token"]
        register_secret(token)
        return token

    def __call__(self, force: bool) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.token(force)}"}


def basic_auth(user: str, key: str) -> Callable[[bool], Mapping[str, str]]:
    """On-prem NavUserPassword: user name + web service access key (or password)."""
    try:
        raw = f"{user}:{key}".encode("ascii")
    except UnicodeEncodeError:
        raise NavAuthError("Basic authentication cannot carry non-ASCII user names or keys (a NAV limitation).") from None
    value = "Basic " + base64.b64encode(raw).decode()
    register_secret(value.split(" ", 1)[1])

    def hook(force: bool) -> Mapping[str, str]:
        return {"Authorization": value}
    return hook


def windows_auth(user: str, secret: str | None) -> requests.auth.AuthBase:
    """Windows: Negotiate with the logged-in account via SSPI when available (nothing stored); otherwise
    NTLM with ``DOMAIN\\user`` and a password from the keychain."""
    try:
        from requests_negotiate_sspi import HttpNegotiateAuth  # type: ignore[import-not-found]

        return HttpNegotiateAuth()
    except ImportError:
        pass
    from requests_ntlm import HttpNtlmAuth

    if not secret:
        raise NavAuthError("Windows authentication without SSPI (non-Windows PC) needs the account's password.")
    return HttpNtlmAuth(user, secret)
