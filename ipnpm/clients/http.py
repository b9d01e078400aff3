"""requests sessions that reach a registry the way npm does: npm's trust, client certificates,
proxies and socket limit (``ipnpm.npm.network`` says what npm does; this module applies it).

The environment's own knobs for Python (``REQUESTS_CA_BUNDLE``, ``HTTP_PROXY`` read by
requests) are switched off with ``trust_env = False``: npm's settings decide, so that ipnpm
reaches exactly the registries npm reaches.
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from ipnpm.clients import is_loopback
from ipnpm.errors import NpmConfigError
from ipnpm.npm.network import ClientCert, DefaultRoots, NetworkSettings, Trust

if TYPE_CHECKING:
    from requests.adapters import _HostParams, _PoolKwargs  # the stubs' names for these dicts

logger = logging.getLogger("ipnpm.clients")
_MAX_THREADS = 64  # settings.default_jobs' ceiling, plus room for the proxy's own threads


def session_for(
    network: NetworkSettings, *, loopback_direct: bool = True, adapter: NpmAdapter | None = None
) -> requests.Session:
    """A new session applying ``network``. Not thread-safe (requests' sessions are not), but
    ``adapter`` may be shared by the sessions of many threads: its connection pools are
    urllib3's, which are, so that 32 prefetch workers keep a few warm connections (npm's
    ``maxsockets``) and one TLS context instead of one each.

    ``loopback_direct=False`` sends loopback URLs through npm's proxy too (tests use it to
    prove the tunnel with a proxy and a registry that both live on 127.0.0.1).
    """
    session = requests.Session()
    session.trust_env = False
    adapter = adapter or NpmAdapter(network, loopback_direct=loopback_direct)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def proxies_for(
    network: NetworkSettings, url: str, *, loopback_direct: bool = True
) -> dict[str, str]:
    """requests' ``proxies`` for ``url``: npm's choice, except that loopback goes direct
    (a corporate proxy cannot reach this machine's 127.0.0.1, and a dead proxy must not
    break a local registry that npm itself could reach with ``noproxy``)."""
    parts = urlsplit(url)
    if loopback_direct and is_loopback(parts.hostname or ""):
        return {}
    choice = network.proxy_for(url)
    return {parts.scheme: choice.url} if choice else {}


class NpmAdapter(HTTPAdapter):
    """Chooses the TLS context (trust + the host's client certificate) and the proxy per URL."""

    def __init__(self, network: NetworkSettings, *, loopback_direct: bool = True) -> None:
        self.network = network
        self.loopback_direct = loopback_direct
        self._contexts: dict[str | None, ssl.SSLContext] = {}  # client cert setting -> context
        self._contexts_lock = threading.Lock()
        # One pool per host, shared by every thread that uses this adapter: room for each of
        # them (the prefetch runs up to 64 workers), so that none waits for a connection and
        # none is opened only to be thrown away after its request.
        pool_size = max(network.maxsockets, _MAX_THREADS)
        super().__init__(pool_connections=10, pool_maxsize=pool_size)

    def send(  # noqa: PLR0917 - requests calls it positionally
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,  # noqa: ARG002 - npm's strict-ssl decides, not the caller
        cert: Any = None,  # noqa: ARG002 - npm's certfile/cert decide
        proxies: Mapping[str, str] | None = None,  # noqa: ARG002 - npm's proxy settings decide
    ) -> requests.Response:
        url = request.url or ""
        return super().send(
            request,
            stream=stream,
            timeout=timeout,
            verify=self.network.trust.verify,
            cert=None,
            proxies=proxies_for(self.network, url, loopback_direct=self.loopback_direct),
        )

    def build_connection_pool_key_attributes(
        self,
        request: requests.PreparedRequest,
        verify: bool | str,
        cert: str | tuple[str, str] | None = None,
    ) -> tuple[_HostParams, _PoolKwargs]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        if host_params.get("scheme") != "https":
            return host_params, pool_kwargs  # plain HTTP: no TLS context to load (or to key)
        # The context is part of urllib3's pool key: hosts with different client
        # certificates never share a connection.
        pool_kwargs["ssl_context"] = self._context(self.network.client_cert_for(request.url or ""))
        return host_params, pool_kwargs

    def _context(self, client_cert: ClientCert | None) -> ssl.SSLContext:
        # Built once per client certificate: loading a CA bundle costs milliseconds of CPU,
        # and every thread's first request would otherwise load it again.
        key = client_cert.setting if client_cert else None
        with self._contexts_lock:
            if key not in self._contexts:
                self._contexts[key] = tls_context(self.network.trust, client_cert)
            return self._contexts[key]


def tls_context(trust: Trust, client_cert: ClientCert | None = None) -> ssl.SSLContext:
    """An SSLContext trusting what Node would trust under npm's settings."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not trust.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif trust.ca is not None:
        if trust.ca:  # no certificate at all trusts nothing, as Node does with such a `ca`
            _load(context, trust.ca, trust.ca_setting or "ca")
    else:
        _load_default_roots(context, trust)
    if client_cert is not None:
        _load_client_cert(context, client_cert)
    return context


def _load(context: ssl.SSLContext, pems: tuple[str, ...], setting: str) -> None:
    try:
        context.load_verify_locations(cadata="\n".join(pems))
    except ssl.SSLError as exc:
        raise NpmConfigError(
            f"npm's {setting} holds a certificate that cannot be read: {exc.reason}",
            hint="fix the PEM text (npm would fail on it too)",
        ) from exc


def _load_default_roots(context: ssl.SSLContext, trust: Trust) -> None:
    if trust.default_roots is DefaultRoots.OPENSSL:
        context.load_default_certs()
    else:
        import certifi  # only here: loading it reads package resources

        context.load_verify_locations(cafile=certifi.where())
    if trust.extra_ca_file:
        try:
            context.load_verify_locations(cafile=trust.extra_ca_file)
        except (OSError, ssl.SSLError) as exc:
            # Node prints a warning for an unreadable NODE_EXTRA_CA_CERTS and carries on with
            # the default roots; so does ipnpm.
            logger.warning("ignoring NODE_EXTRA_CA_CERTS=%s: %s", trust.extra_ca_file, exc)


def _load_client_cert(context: ssl.SSLContext, client_cert: ClientCert) -> None:
    # ssl reads certificate chains from files only: a private temporary file, gone at once.
    with tempfile.TemporaryDirectory(prefix="ipnpm-cert-") as directory:
        os.chmod(directory, 0o700)
        cert_path, key_path = os.path.join(directory, "c.pem"), os.path.join(directory, "k.pem")
        for path, text in ((cert_path, client_cert.cert), (key_path, client_cert.key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
        try:
            context.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as exc:
            raise NpmConfigError(
                f"npm's {client_cert.setting} client certificate cannot be used: {exc.reason}",
                hint="the certificate and key must be PEM and belong together",
            ) from exc
