"""The upstream registry as a source of tarballs: the last resort, never used offline."""

from __future__ import annotations

from collections.abc import Iterator

from ipnpm.clients.lazy import requests
from ipnpm.clients.upstream import Upstream
from ipnpm.errors import reason
from ipnpm.sources import SourceError, Want

_CHUNK = 1 << 16


class UpstreamSource:
    name = "upstream"
    by_cid = False

    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream

    def open(self, want: Want) -> Iterator[bytes] | None:
        for url in (want.url, *want.alt_urls) if want.url else ():
            try:
                response = self._upstream.request("GET", url, stream=True)
            except requests.RequestException as exc:
                raise SourceError(self._upstream.describe_failure(exc, url)) from exc
            if response.status_code == 200:
                return _chunks(response)
            response.close()
            if response.status_code not in (404, 410):
                raise SourceError(f"upstream {url}: HTTP {response.status_code}")
        return None


def _chunks(response: requests.Response) -> Iterator[bytes]:
    # npm decodes Content-Encoding itself, so decoding here (iter_content) sees what npm sees.
    with response:
        try:
            yield from response.iter_content(_CHUNK)
        except requests.RequestException as exc:
            raise SourceError(f"upstream transfer failed: {reason(exc)}") from exc
