"""HTTP client for the upstream registries: credentials, npm's proxy settings, timeouts.

npm sends no upstream credentials once it talks to the proxy, so they are attached here, from
the npmrc files, and only to the upstream they were configured for.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests

from ipnpm.errors import reason
from ipnpm.npm.config import NpmConfig

TIMEOUT = (10.0, 60.0)  # connect, read: a hanging upstream must not stall npm forever
_local = threading.local()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _no_proxy_match(host: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        bare = pattern.lstrip("*").lstrip(".").split(":", 1)[0]
        if pattern == "*" or host == bare or (bare and host.endswith("." + bare)):
            return True
    return False


class Upstream:
    """Sends requests to upstream registries the way npm would (proxies, auth)."""

    def __init__(self, config: NpmConfig, env: Mapping[str, str]) -> None:
        self.config = config
        self._env_proxy = {
            "http": env.get("HTTP_PROXY") or env.get("http_proxy"),
            "https": env.get("HTTPS_PROXY") or env.get("https_proxy"),
        }
        no_proxy = env.get("NO_PROXY") or env.get("no_proxy") or ""
        self._no_proxy = config.noproxy or tuple(p.strip() for p in no_proxy.split(",") if p)

    def _session(self) -> requests.Session:
        # requests' Session is not thread-safe; one per proxy worker thread keeps keep-alive.
        session: requests.Session | None = getattr(_local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # proxies come from npm's configuration, see _proxies
            _local.session = session
        return session

    def _proxies(self, url: str) -> dict[str, str]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        # A corporate proxy cannot reach this machine's loopback, so loopback goes direct.
        if is_loopback(host) or _no_proxy_match(host, self._no_proxy):
            return {}
        configured = self.config.https_proxy if parts.scheme == "https" else None
        proxy = configured or self.config.proxy or self._env_proxy.get(parts.scheme)
        return {parts.scheme: proxy} if proxy else {}

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """One upstream request with the configured credential for ``url`` attached."""
        sent = dict(headers or {})
        credential = self.config.credentials.for_url(url)
        if credential is not None:
            sent["Authorization"] = credential.header
        return self._session().request(
            method,
            url,
            headers=sent,
            data=body,
            stream=stream,
            timeout=TIMEOUT,
            proxies=self._proxies(url),
            allow_redirects=True,
        )

    def describe_failure(self, exc: BaseException, url: str) -> str:
        """Why a request to ``url`` failed, as one line for npm's output and the run log."""
        return f"upstream unreachable: {url}: {reason(exc)}"
