"""Seeding: a tarball ipnpm had to take from outside IPFS is added to the local Kubo, pinned,
so that this machine serves it to its peers from then on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import TracebackType

import requests

from ipnpm.clients.kubo import KuboClient, KuboError
from ipnpm.store.objects import StoredObject
from ipnpm.store.runlog import RunLog

# The unixfs-v1-2025 profile, spelled out so that a daemon configured otherwise still produces
# the CID ipnpm computed (checked after every add).
_PROFILE = {"cid-version": "1", "raw-leaves": "true", "chunker": "size-1048576"}


class Seeder:
    def __init__(self, client: KuboClient, log: RunLog) -> None:
        self.client = client
        self.log = log
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ipnpm-seed")

    def seed(self, stored: StoredObject, spec: str) -> None:
        """Queue ``stored`` for adding; npm does not wait for it."""
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
