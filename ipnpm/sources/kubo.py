"""A Kubo daemon as a source: single blocks with ``block/get``, larger files as a CAR from
``dag/export``; every block is verified here even though Kubo verified it too."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import requests

from ipnpm.clients.kubo import (
    KuboClient,
    KuboError,
    KuboTimeoutError,
    KuboUnreachableError,
)
from ipnpm.errors import reason
from ipnpm.ipfs.car import CarReader
from ipnpm.ipfs.cid import RAW, Cid
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.unixfs import reassemble
from ipnpm.sources import SourceError, Want, bounded

NETWORK_TIMEOUT = 15.0  # how long Kubo may search its peers for content it does not hold


def _not_found(message: str) -> bool:
    lowered = message.lower()
    return "not found" in lowered or "deadline exceeded" in lowered or "timeout" in lowered


class KuboSource:
    name = "kubo"
    by_cid = True

    def __init__(self, api_url: str, *, timeout: float = NETWORK_TIMEOUT) -> None:
        self.client = KuboClient(api_url, timeout=timeout + 5.0)
        self.timeout = timeout
        self._down = threading.Event()

    def open(self, want: Want) -> Iterator[bytes] | None:
        if want.cid is None:
            return None
        if self._down.is_set():
            raise SourceError(f"Kubo at {self.client.api_url} is unreachable (earlier in this run)")
        cid = Cid.parse(want.cid)
        try:
            data = self._fetch(cid)
        except (KuboUnreachableError, requests.ConnectionError) as exc:
            self._down.set()  # a stopped daemon: do not pay for it again on every package
            raise SourceError(
                f"Kubo at {self.client.api_url} is unreachable: {reason(exc)}"
            ) from exc
        except requests.RequestException as exc:
            raise SourceError(f"Kubo request failed: {reason(exc)}") from exc
        except IpfsFormatError as exc:
            raise SourceError(f"Kubo served invalid content for {cid}: {exc}") from exc
        return None if data is None else iter((data,))

    def _fetch(self, cid: Cid) -> bytes | None:
        # One call: Kubo answers from its own blocks at once and asks its peers only for what
        # it lacks, within the timeout, so content nobody has costs seconds, not a hung install.
        # (An offline-first call would double the requests for content that is on a peer.)
        try:
            return self._get(cid, {"timeout": f"{self.timeout:g}s"})
        except KuboUnreachableError:
            raise  # open() marks the daemon down
        except KuboTimeoutError as exc:
            raise SourceError(str(exc)) from exc  # slow is a failure, not a miss
        except KuboError as exc:
            if _not_found(str(exc)):
                return None
            raise SourceError(f"Kubo: {exc}") from exc

    def _get(self, cid: Cid, options: dict[str, str]) -> bytes:
        return self._block(cid, options) if cid.codec == RAW else self._car(cid, options)

    def _block(self, cid: Cid, options: dict[str, str]) -> bytes:
        block = self.client.call("block/get", str(cid), options=options).content
        if not cid.verify(block):
            raise SourceError(f"Kubo served a block that does not hash to {cid}")
        return block

    def _car(self, cid: Cid, options: dict[str, str]) -> bytes:
        response = self.client.call("dag/export", str(cid), options=options)
        car = response.content
        blocks = dict(CarReader(io.BytesIO(car)))  # verifies every block
        # A real tarball is never much larger than the blocks it is made of (gzip leaves no
        # repeated 1 MiB chunks); a DAG that links one block a million times is an attack.
        limit = 2 * len(car) + (1 << 20)
        return b"".join(bounded(reassemble(cid, blocks.__getitem__), limit, f"the file {cid}"))
