"""HTTP clients: the upstream registry, Kubo's RPC, trustless gateways."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost`` or a loopback address); kept here, out of
    the modules that import requests, because the proxy asks it for every connection."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
