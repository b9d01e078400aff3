"""What serve mode lets its clients do, and which Host names it answers to.

A serve client holds only the server's token, yet every request it sends goes upstream with the
operator's credentials. So a client may read what an install needs, and nothing else: no
publish, unpublish, dist-tag or owner change, no token or account route. The operator may pass
writes on, as themself, only with ``ipnpm ipfs serve --allow-writes-as-operator``.

The Host check is what stops DNS rebinding: a browser page whose name was re-pointed at
127.0.0.1 sends its own name as Host, so only the served address is answered.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from urllib.parse import unquote, urlsplit

from ipnpm.clients import is_loopback

READS = frozenset({"GET", "HEAD"})
# Routes under "/-/" a read may use: everything else there is an account, token, team, org,
# hook or access route (`npm whoami` answers with the operator's user name).
_READ_ROUTES = re.compile(r"^/-/(?:ping|v1/search|package/(?:@[^/]+/)?[^/]+/dist-tags)(?:/|$)")
# `npm install` and `npm audit` post the dependency tree (names and versions) to ask for
# advisories: a read, with nothing of the operator's in the answer, so it is passed on.
_AUDIT_ROUTES = re.compile(r"^/-/npm/v1/security/(?:advisories/bulk|audits(?:/quick)?)$")
_WILDCARDS = frozenset({"0.0.0.0", "::"})


def refusal(method: str, raw_path: str) -> str | None:
    """Why a read-only server refuses ``method raw_path``, or ``None`` when it may answer."""
    path = unquote(urlsplit(raw_path).path)
    if method in READS and (not path.startswith("/-/") or _READ_ROUTES.match(path)):
        return None
    if method == "POST" and _AUDIT_ROUTES.match(path):
        return None
    return (
        f"ipnpm ipfs serve is read-only for its clients: {method} {path[:100]} would act "
        "upstream as the server's operator (the operator can allow it with "
        "--allow-writes-as-operator)"
    )


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _host_port(header: str | None) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit(f"//{header}")
        return (parts.hostname, parts.port) if header and parts.hostname else None
    except ValueError:
        return None  # "[::1", a port that is no number: no address of anyone's


def host_allowed(header: str | None, bound: str, port: int, names: Collection[str] = ()) -> bool:
    """Whether a request's ``Host`` names this server: the address it is bound to (any IP
    literal when bound to every interface: a rebinding attack always sends a DNS name),
    ``localhost`` for a loopback server, or one of ``names`` (e.g. a reverse proxy's)."""
    parsed = _host_port(header)
    if parsed is None or parsed[1] != (port if parsed[1] is not None or port != 80 else None):
        return False
    hostname = parsed[0]
    address = _ip(hostname)
    if hostname in {name.lower() for name in (*names, bound)}:
        return True
    if bound in _WILDCARDS:
        return address is not None
    if is_loopback(bound) and (hostname == "localhost" or (address and address.is_loopback)):
        return True
    return address is not None and address == _ip(bound)
