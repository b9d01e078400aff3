"""One short reason for a failed upstream request, naming the npm setting that fixes it.

``describe_failure`` is a pure mapping from a requests exception (and the URL it was for) to a
line a user can act on, e.g.::

    upstream https://host/pkg: TLS: certificate verify failed: self-signed certificate in
    certificate chain (set npm's cafile= to the CA bundle that signs it, or ca=)

The same line goes to the warning on stderr, the message npm shows and the run log.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

from ipnpm.clients.lazy import requests
from ipnpm.npm.network import NetworkSettings

_TRUST_HINT = "set npm's cafile= to the CA bundle that signs it, or ca="
_MAX_DETAIL = 160


def describe_failure(exc: BaseException, url: str, network: NetworkSettings | None = None) -> str:
    """``upstream <url>: <reason>`` for any exception a request to ``url`` raised (a plain
    connection failure reads ``upstream unreachable: <url>: …``)."""
    why = _reason(exc, url, network)
    if why.startswith("unreachable: "):
        return f"upstream unreachable: {_public(url)}: {why.removeprefix('unreachable: ')}"
    return f"upstream {_public(url)}: {why}"


def _reason(exc: BaseException, url: str, network: NetworkSettings | None) -> str:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason or ''}".rstrip()
    if isinstance(exc, requests.exceptions.ProxyError):
        return _proxy_reason(exc, url, network)
    tls = _tls_reason(exc, url)
    if tls is not None:
        return tls
    if isinstance(exc, requests.ConnectTimeout):
        return "timed out connecting"
    if isinstance(exc, requests.Timeout):
        return "timed out waiting for the answer"
    return f"unreachable: {_connection_reason(exc)}"


def _tls_reason(exc: BaseException, url: str) -> str | None:
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            message = cause.verify_message or str(cause)
            if "hostname mismatch" in message.lower() or "ip address mismatch" in message.lower():
                return f"TLS: {message.rstrip('.')} (the certificate does not name this host)"
            return f"TLS: certificate verify failed: {message} ({_TRUST_HINT})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS: {_ssl_error(cause, url)}"
    return None


def _ssl_error(error: ssl.SSLError, url: str) -> str:
    reason = str(error.reason or error).upper()
    # A server that demands a client certificate answers a handshake without one with an alert,
    # or (depending on timing and TLS version) by closing the connection: an EOF mid-handshake.
    eof = "EOF" in reason or "EOF OCCURRED" in str(error).upper()
    if "CERTIFICATE_REQUIRED" in reason or "HANDSHAKE_FAILURE" in reason or eof:
        dart = f"//{urlsplit(url).netloc}/"
        return (
            "the server refused the handshake; it wants a client certificate "
            f"(set npm's {dart}:certfile= and {dart}:keyfile=)"
        )
    if "WRONG_VERSION_NUMBER" in reason or "RECORD_LAYER" in reason:
        return "the server does not speak TLS there (an http:// URL?)"
    return _short(error.reason or str(error))


def _proxy_reason(
    exc: requests.exceptions.ProxyError, url: str, network: NetworkSettings | None
) -> str:
    choice = network.proxy_for(url) if network is not None else None
    proxy = f"proxy {_public(choice.url)} (npm's {choice.setting})" if choice else "proxy"
    for cause in _causes(exc):
        text = str(cause)
        if "Tunnel connection failed" in text:
            answer = text.split("Tunnel connection failed:", 1)[1].strip().rstrip("')")
            return f"{proxy} refused the tunnel: {_short(answer)}"
    return f"{proxy}: {_connection_reason(exc)}"


def _connection_reason(exc: BaseException) -> str:
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror) or "NameResolutionError" in type(cause).__name__:
            return "cannot resolve the host name"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(cause, TimeoutError):
            return "timed out"
    innermost = list(_causes(exc))[-1]
    return _short(f"{type(innermost).__name__}: {innermost}")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: urllib3's ``reason``, args, ``__cause__``."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [getattr(current, "reason", None), *current.args, current.__cause__]
        stack += [item for item in wrapped if isinstance(item, BaseException)]
        if current.__context__ is not None and not current.__suppress_context__:
            stack.append(current.__context__)


def _public(url: str) -> str:
    # No credentials or query strings in a message.
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _short(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
