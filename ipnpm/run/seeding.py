"""Seeding: a tarball ipnpm had to take from outside IPFS is added to the local Kubo, pinned,
so that this machine serves it to its peers from then on.

A private tarball (``Store.is_private``) is not seeded: a Kubo on the public network would hand
it to anyone who asks for its CID. It is seeded only when the user says so for its scope
(``IPNPM_SEED_PRIVATE``), or when the Kubo is the user's own daemon on a private network (its
repository has a ``swarm.key``: only peers holding the key can connect to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ipnpm.clients.kubo import KuboClient, KuboError, multiaddr_to_url
from ipnpm.clients.lazy import requests
from ipnpm.errors import UsageError
from ipnpm.store.objects import Store, StoredObject
from ipnpm.store.runlog import RunLog

# The unixfs-v1-2025 profile, spelled out so that a daemon configured otherwise still produces
# the CID ipnpm computed (checked after every add).
_PROFILE = {"cid-version": "1", "raw-leaves": "true", "chunker": "size-1048576"}


def swarm_key(kubo_url: str, env: Mapping[str, str]) -> Path | None:
    """The ``swarm.key`` of the daemon at ``kubo_url`` when it is the user's own (its repo,
    ``$IPFS_PATH`` or ``~/.ipfs``, announces that address), else ``None``: a Kubo known only by
    URL is taken to be on the public network."""
    repo = Path(env.get("IPFS_PATH") or Path(env.get("HOME", "~")).expanduser() / ".ipfs")
    try:
        announced = multiaddr_to_url((repo / "api").read_text())
    except (OSError, UsageError):
        return None  # no daemon of the user's own announced there: nothing to learn
    key = repo / "swarm.key"
    return key if announced == kubo_url.rstrip("/") and key.is_file() else None


@dataclass(frozen=True)
class PrivatePolicy:
    """Which private tarballs may be seeded."""

    scopes: tuple[str, ...] = ()  # "*": all of them; "@acme": that scope's
    private_network: Path | None = None  # the daemon's swarm.key: every private tarball

    def allows(self, spec: str) -> bool:
        if self.private_network is not None or "*" in self.scopes:
            return True
        name = spec.rsplit("@", 1)[0]
        return name.startswith("@") and name.split("/", 1)[0] in self.scopes


class Seeder:
    def __init__(
        self,
        client: KuboClient,
        log: RunLog,
        store: Store | None = None,
        policy: PrivatePolicy | None = None,
    ) -> None:
        self.client = client
        self.log = log
        self.store = store
        self.policy = policy or PrivatePolicy()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ipnpm-seed")

    def seed(self, stored: StoredObject, spec: str) -> None:
        """Queue ``stored`` for adding; npm does not wait for it. A private one stays local
        unless the policy allows it."""
        if self.store is not None and self.store.is_private(stored.cid):
            if not self.policy.allows(spec):
                self.log.event("kept-local", spec=spec, cid=stored.cid)
                return
            why = "private network" if self.policy.private_network else "opted in"
            self.log.event("seed-private", spec=spec, cid=stored.cid, allowed_by=why)
        self._pool.submit(self._add, stored, spec)

    def _add(self, stored: StoredObject, spec: str) -> None:
        try:
            with stored.path.open("rb") as handle:
                options = {**_PROFILE, "pin": "true", "quieter": "true"}
                response = self.client.call("add", options=options, files={"file": handle})
            got = str(response.json()["Hash"])
        except (OSError, KuboError, requests.RequestException, ValueError, KeyError) as exc:
            self.log.event("seed-failed", spec=spec, cid=stored.cid, error=str(exc))
            return
        if got != stored.cid:
            # The daemon's import settings differ from the profile: peers asking for our CID
            # will not find it there. Say so rather than pretend it was seeded.
            self.log.event("seed-mismatch", spec=spec, cid=stored.cid, kubo_cid=got)
        else:
            self.log.event("seeded", spec=spec, cid=stored.cid)

    def pin(self, cid: str, what: str) -> None:
        """Queue a recursive pin of ``cid`` (an index root: the client keeps a copy)."""
        self._pool.submit(self._pin, cid, what)

    def _pin(self, cid: str, what: str) -> None:
        try:
            self.client.call("pin/add", cid, options={"recursive": "true"}, read_timeout=300)
        except (KuboError, requests.RequestException) as exc:
            self.log.event("pin-failed", what=what, cid=cid, error=str(exc))
            return
        self.log.event("pinned", what=what, cid=cid)

    def wait(self) -> None:
        """Let queued adds finish (each is bounded by the client's timeouts)."""
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Seeder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pool.shutdown(wait=True)
