"""``ODataClient``: what the two NAV clients share, JSON over one ``connectors.http.HttpClient``: reads with
server-driven paging, writes with a JSON body, deletes with ``If-Match``. ``NavClient`` (Business Central API
v2.0) and ``ClassicClient`` (ODataV4 page web services) add their URL shapes, sign-in and operations."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from stnav_desktop.connectors.http import HttpClient
from stnav_desktop.connectors.nav import odata


class ODataClient:
    http: HttpClient  # set by the subclass's __init__
    SEND_EXPECTED: tuple[int, ...] = (200, 201, 202, 204)  # statuses a write may answer with

    def get(self, path: str, *, params: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None) -> Any:
        resp = self.http.request("GET", path, params=params, headers=headers)
        return odata.loads(resp.content) if resp.content else None

    def iter(self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int | None = 1000
             ) -> Iterator[dict[str, Any]]:
        """Every record of a collection, following ``@odata.nextLink`` (``odata.iter_pages``)."""
        return odata.iter_pages(self, path, params, page_size=page_size)

    def _send(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None, *,
              params: Mapping[str, Any] | None = None, expected: tuple[int, ...] | None = None) -> Any:
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = odata.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        resp = self.http.request(method, path, data=data, headers=hdrs, params=params,
                                 expected=expected or self.SEND_EXPECTED)
        return odata.loads(resp.content) if resp.content else None

    def delete(self, path: str, etag: str) -> None:
        self._send("DELETE", path, headers={"If-Match": etag})
