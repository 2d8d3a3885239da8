"""OAuth2 client credentials against ServiceTitan's token endpoint, cached in memory.

- the token is reused until ``refresh_margin`` seconds (60) before ``expires_in`` runs out;
- one refresh at a time across threads (a lock); threads that waited reuse the fresh token;
- ``force=True`` (HttpClient's 401 path) fetches a new token unless another thread already replaced
  the one this thread used;
- client secret and tokens are registered with ``redact`` so they never reach logs or messages.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from stnav_desktop.connectors.http import AuthError, CallCounter, HttpClient, HttpSettings
from stnav_desktop.connectors.servicetitan.errors import token_error
from stnav_desktop.redact import register_secret

log = logging.getLogger(__name__)


class TokenProvider:
    def __init__(self, token_url: str, client_id: str, client_secret: str, *, settings: HttpSettings,
                 clock: Callable[[], float], refresh_margin: float = 60.0,
                 counter: CallCounter | None = None) -> None:
        if not client_id:
            raise AuthError("ServiceTitan client id is empty: enter the client id from the tenant's "
                            "API Application Access page.")
        if not client_secret:
            raise AuthError("ServiceTitan client secret is empty: store it in the keychain first.")
        register_secret(client_secret)
        self.token_url = token_url
        self._client_id = client_id
        self._secret = client_secret
        self._clock = clock
        self._margin = refresh_margin
        self._http = HttpClient(token_url, settings=settings, error_parser=token_error, counter=counter)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._local = threading.local()
        self.refreshes = 0

    def __call__(self, force: bool = False) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.token(force)}"}

    def token(self, force: bool = False) -> str:
        with self._lock:
            seen = getattr(self._local, "token", None)
            if self._token:
                if not force and self._clock() < self._expires_at - self._margin:
                    return self._remember(self._token)
                if force and seen is not None and self._token != seen:
                    # another thread refreshed after this thread's request went out: use its token
                    return self._remember(self._token)
            return self._remember(self._fetch())

    def _remember(self, token: str) -> str:
        self._local.token = token
        return token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None
            self._expires_at = 0.0

    @property
    def expires_at(self) -> float:
        return self._expires_at

    def _fetch(self) -> str:
        form = {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._secret}
        resp = self._http.request("POST", self.token_url, data=form, expected=(200,),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            body: Any = resp.json()
            token = body["access_token"]
            expires_in = float(body.get("expires_in") or 900)
        except (ValueError, KeyError, TypeError):
            raise AuthError("ServiceTitan's token endpoint answered without an access token; check the "
                            "auth URL.") from None
        register_secret(token)
        self._token = token
        self._expires_at = self._clock() + expires_in
        self.refreshes += 1
        log.info("ServiceTitan token obtained (valid %.0f s)", expires_in)
        return token
