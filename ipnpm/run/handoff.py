"""Verified tarballs handed to npm's own cache before npm asks for them.

For a lockfile entry with ``resolved`` and ``integrity``, the content file under its integrity
is all npm needs: pacote reads it by digest and never sends a request. An entry lacking either
(common in real lockfiles) makes npm fetch the packument and then the tarball by URL, through
its HTTP cache, whose key is that URL: on this run's proxy, whose port is new every run, so it
is never found and npm downloads, verifies and writes every such tarball again. For those the
hand-off also writes the HTTP cache entry for the exact URL npm will request, once the proxy's
address is known.

Before such a tarball npm fetches its packument, through the same cache, from the same proxy.
Where the proxy answers packuments from the lockfile (``ci``), the hand-off writes that very
answer into npm's cache as well, on a thread of its own once the port is known: npm reads it as
it reads a packument it cached itself, instead of one request per package (npm's CPU for
those requests is what an online ``npm ci`` with a warm cache spends over ``npm ci --offline``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from ipnpm.npm.cacache import put_bytes, put_content, put_request_entry
from ipnpm.npm.lockfile import LockedTarball
from ipnpm.npm.names import registry_tarball
from ipnpm.proxy.packuments import from_lockfile
from ipnpm.store.objects import StoredObject

_Pending = tuple[str, StoredObject]  # spec, object
RegistryFor = Callable[[str], str]  # package name -> its upstream registry URL
# The Accept headers of pacote's packument requests (lib/registry.js): abbreviated, and full.
_PACOTE_ACCEPTS = (
    "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*",
    "application/json",
)


class NpmCacheHandoff:
    def __init__(
        self,
        cache: Path,
        locked: Iterable[LockedTarball],
        registry_for: RegistryFor,
        *,
        packuments: Mapping[str, list[LockedTarball]] | None = None,
    ) -> None:
        self.cache = cache
        locked = list(locked)
        self.registry_for = registry_for
        # name -> its locked versions (the lockfile's, as the proxy answers from them), for
        # the packuments npm asks for: those of entries without ``resolved``, which pacote
        # resolves through the registry.
        wanted = {t.name for t in locked if not t.resolved}
        self._packuments = {n: v for n, v in (packuments or {}).items() if n in wanted}
        self._writer: threading.Thread | None = None
        # spec -> the tarball URL npm will take from the lockfile or the packument, for the
        # entries pacote cannot read by digest alone.
        self._by_url = {
            t.spec: t.resolved or registry_tarball(registry_for(t.name), t.name, t.version)
            for t in locked
            if not (t.resolved and t.integrity)
        }
        self._lock = threading.Lock()
        self._origin: str | None = None
        self._replace_host: str | None = None
        self._pending: list[_Pending] = []

    def reads_by_digest(self, spec: str) -> bool:
        """Whether npm reads the tarball ``spec`` by the lockfile's integrity (else by URL)."""
        return spec not in self._by_url

    def hand(self, spec: str, stored: StoredObject, integrity: str | None) -> bool:
        """Put ``stored`` into npm's cache (content under ``integrity``, else the computed
        sha512); the URL entry now or as soon as the proxy's address is known."""
        if not put_content(self.cache, integrity or stored.sha512, stored.path):
            return False
        if spec in self._by_url:
            with self._lock:
                if self._origin is None:
                    self._pending.append((spec, stored))
                    return True
            self._put_entry(spec, stored)
        return True

    def serve_at(self, proxy_url: str, replace_host: str | None) -> None:
        """The proxy is up: write the URL entries for what was handed before."""
        parts = urlsplit(proxy_url)
        with self._lock:
            self._origin = f"{parts.scheme}://{parts.netloc}"
            self._replace_host = replace_host
            pending, self._pending = self._pending, []
        for spec, stored in pending:
            self._put_entry(spec, stored)
        if self._packuments:
            self._writer = threading.Thread(
                target=self._put_packuments, name="handoff-packuments", daemon=True
            )
            self._writer.start()

    def _put_packuments(self) -> None:
        """The proxy's answer for each packument npm will ask for, as npm's cached response
        for that URL on this run's proxy (pacote's ``registry/<escaped name>``)."""
        origin = self._origin
        for name, locked in self._packuments.items():
            body = from_lockfile(name, locked, self.registry_for(name))
            integrity = put_bytes(self.cache, body)
            if integrity is None:
                return  # npm's cache cannot be written: npm asks the proxy, as before
            escaped = name.replace("/", "%2f")  # npm-package-arg's escapedName, byte for byte
            put_request_entry(
                self.cache,
                f"{origin}/{escaped}",
                integrity,
                len(body),
                content_type="application/json",
                accepts=_PACOTE_ACCEPTS,
            )

    def __enter__(self) -> NpmCacheHandoff:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._writer is not None:
            self._writer.join()

    def _put_entry(self, spec: str, stored: StoredObject) -> None:
        url = self._requested_url(self._by_url[spec])
        if url is not None:
            put_request_entry(self.cache, url, stored.sha512, stored.size)

    def _requested_url(self, tarball: str) -> str | None:
        """The URL npm requests for ``tarball``: pacote's RemoteFetcher puts the path on the
        registry (this proxy) when replace-registry-host matches the host, else asks the host
        itself, which this run's cache entry must not stand in for."""
        parts = urlsplit(tarball)
        if self._replace_host not in ("always", parts.netloc):
            return None
        return f"{self._origin}{parts.path}"
