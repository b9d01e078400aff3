"""Talking to a running Kubo daemon over its RPC API, found the way every Kubo client finds it.

ipnpm never opens a Kubo repository itself: a daemon holds the repo lock, and a second opener
is what made a predecessor clash with users' running IPFS nodes. Everything goes over HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ipnpm.clients.lazy import requests
from ipnpm.errors import KuboUnavailableError, UsageError, reason

_local = threading.local()


def multiaddr_to_url(multiaddr: str) -> str:
    """``/ip4/127.0.0.1/tcp/5001`` -> ``http://127.0.0.1:5001`` (the forms an ``api`` file has)."""
    parts = multiaddr.strip().split("/")
    if len(parts) >= 5 and parts[1] in ("ip4", "ip6", "dns", "dns4", "dns6") and parts[3] == "tcp":
        host = f"[{parts[2]}]" if parts[1] == "ip6" else parts[2]
        return f"http://{host}:{parts[4]}"
    raise UsageError(
        f"cannot use the Kubo API address {multiaddr!r}",
        hint="pass --ipnpm-kubo=http://127.0.0.1:PORT (or IPNPM_KUBO_API)",
    )


def discover(setting: str, env: Mapping[str, str]) -> str | None:
    """The Kubo RPC URL: explicit, or from ``$IPFS_PATH/api``, else ``~/.ipfs/api``."""
    if setting == "off":
        return None
    if setting != "auto":
        return setting
    repo = Path(env.get("IPFS_PATH") or Path(env.get("HOME", "~")).expanduser() / ".ipfs")
    try:
        return multiaddr_to_url((repo / "api").read_text())
    except OSError:
        return None  # no daemon announced: nothing to use, and nothing to complain about


class KuboError(KuboUnavailableError):
    """Kubo answered with an error (its RPC uses HTTP 500 with a JSON ``Message``), or the
    request to it failed; the message says which and why."""


class KuboUnreachableError(KuboError):
    """No connection to Kubo's API: the daemon is stopped, or the address is wrong."""


class KuboTimeoutError(KuboError):
    """Kubo did not answer within ipnpm's own time limit (not Kubo's `timeout` option, whose
    expiry Kubo reports itself, as an error message)."""


_HINT = "start `ipfs daemon`, or point IPNPM_KUBO_API at a running one (off: no Kubo)"


class KuboClient:
    """A minimal Kubo RPC client: POST ``/api/v0/<command>?arg=…``."""

    def __init__(self, api_url: str, *, timeout: float = 30.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(_local, "kubo_session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # the daemon is local: never through an HTTP proxy
            _local.kubo_session = session
        return session

    def call(
        self,
        command: str,
        *args: str,
        options: Mapping[str, str] | None = None,
        files: Mapping[str, Any] | None = None,
        stream: bool = False,
        read_timeout: float | None = None,
    ) -> requests.Response:
        """`options` are Kubo's (`offline`, `timeout`, `pin`…); HTTP timeouts are ours."""
        params = [("arg", arg) for arg in args] + list((options or {}).items())
        try:
            response = self._session().post(
                f"{self.api_url}/api/v0/{command}",
                params=params,
                files=files,
                stream=stream,
                timeout=(5.0, read_timeout or self.timeout),
            )
        except requests.ConnectionError as exc:
            raise KuboUnreachableError(
                f"Kubo at {self.api_url}: {reason(exc)}", hint=_HINT
            ) from exc
        except requests.Timeout as exc:
            raise KuboTimeoutError(
                f"Kubo at {self.api_url}: {command}: no answer in time ({reason(exc)})", hint=_HINT
            ) from exc
        except requests.RequestException as exc:
            raise KuboError(
                f"Kubo at {self.api_url}: {command}: {reason(exc)}", hint=_HINT
            ) from exc
        if response.status_code != 200:
            raise KuboError(f"Kubo {command}: {_message(response)}")
        return response

    def version(self) -> str:
        return str(self.call("version", read_timeout=5.0).json().get("Version", "?"))


def _message(response: requests.Response) -> str:
    try:
        return str(response.json().get("Message") or response.status_code)
    except ValueError:
        return f"HTTP {response.status_code}"
