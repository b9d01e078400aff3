"""HTTP client for the upstream registries: credentials, timeouts; TLS and proxies as npm.

npm sends no upstream credentials once it talks to the proxy, so they are attached here, from
the npmrc files, and only to the upstream they were configured for. Trust, client certificates
and proxies come from npm's configuration too (``ipnpm.clients.http``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from ipnpm.clients.failures import describe_failure
from ipnpm.clients.lazy import requests
from ipnpm.npm.config import NpmConfig
from ipnpm.npm.loglevel import warn

if TYPE_CHECKING:
    from ipnpm.clients.http import NpmAdapter

TIMEOUT = (10.0, 60.0)  # connect, read: a hanging upstream must not stall npm forever
logger = logging.getLogger("ipnpm.upstream")


class Readable(Protocol):
    """A request body sent as it is read (the proxy's pass-through streams npm's bodies)."""

    def read(self, size: int = -1, /) -> bytes: ...


class Upstream:
    """Sends requests to upstream registries the way npm would (TLS, proxies, auth)."""

    def __init__(self, config: NpmConfig, env: Mapping[str, str]) -> None:
        self.config = config
        self.env = env  # npm's environment; the network settings were computed from it
        self._reported: set[str] = set()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._adapter: NpmAdapter | None = None

    def _session(self) -> requests.Session:
        # requests' Session is not thread-safe; one per proxy worker thread keeps keep-alive.
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            # Imported here: a run that never asks the upstream never loads requests.
            from ipnpm.clients.http import NpmAdapter, session_for

            with self._lock:  # one adapter (connection pools, TLS context) for every thread
                if self._adapter is None:
                    self._adapter = NpmAdapter(self.config.network)
                adapter = self._adapter
            session = self._local.session = session_for(self.config.network, adapter=adapter)
        return session

    @property
    def _read_timeout(self) -> float:
        # npm gives up on the proxy after its fetch-timeout: the proxy must have answered (with
        # the reason) before that, so a shorter fetch-timeout shortens ipnpm's wait too.
        return min(TIMEOUT[1], 0.75 * self.config.network.fetch_timeout)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | Readable | Iterable[bytes] | None = None,  # streamed as it is read
        stream: bool = False,
        quiet: bool = False,
        redirects: bool = True,
    ) -> requests.Response:
        """One upstream request with the configured credential for ``url`` attached.

        A failure is reported once per distinct reason (stderr, at warning level; not when
        ``quiet``: the caller reports it itself) and raised.
        """
        sent = dict(headers or {})
        credential = self.config.credentials.for_url(url)
        if credential is not None:
            sent["Authorization"] = credential.header
        try:
            return self._session().request(
                method,
                url,
                headers=sent,
                data=body,
                stream=stream,
                timeout=(TIMEOUT[0], self._read_timeout),
                allow_redirects=redirects,
            )
        except requests.RequestException as exc:
            if not quiet:
                self._report(exc, url)
            raise

    def describe_failure(self, exc: BaseException, url: str) -> str:
        """The short reason for ``exc`` (see ``ipnpm.clients.failures``)."""
        return describe_failure(exc, url, self.config.network)

    def _report(self, exc: requests.RequestException, url: str) -> None:
        reason = self.describe_failure(exc, url)
        # The same cause for every tarball of a run is one line, not hundreds.
        key = f"{urlsplit(url).netloc} {reason.rsplit(': ', 1)[-1]}"
        with self._lock:
            if key in self._reported:
                return
            self._reported.add(key)
        warn(reason)
