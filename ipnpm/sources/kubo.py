"""A Kubo daemon as a source: single blocks with ``block/get``, larger files as a CAR from
``dag/export``, streamed into the store block by block; every block is verified here even
though Kubo verified it too."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import BinaryIO, cast

from ipnpm.clients.kubo import (
    KuboClient,
    KuboError,
    KuboTimeoutError,
    KuboUnreachableError,
)
from ipnpm.clients.lazy import requests
from ipnpm.errors import reason
from ipnpm.ipfs.car import CarReader
from ipnpm.ipfs.cid import RAW, Cid
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.sources import SourceError, Want
from ipnpm.sources.streamed import StreamedBlocks, file_chunks

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
            chunks = self._fetch(cid)
        except (KuboUnreachableError, requests.ConnectionError) as exc:
            self._down.set()  # a stopped daemon: do not pay for it again on every package
            raise SourceError(
                f"Kubo at {self.client.api_url} is unreachable: {reason(exc)}"
            ) from exc
        except requests.RequestException as exc:
            raise SourceError(f"Kubo request failed: {reason(exc)}") from exc
        except IpfsFormatError as exc:
            raise SourceError(f"Kubo served invalid content for {cid}: {exc}") from exc
        return chunks

    def _fetch(self, cid: Cid) -> Iterator[bytes] | None:
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

    def _get(self, cid: Cid, options: dict[str, str]) -> Iterator[bytes]:
        if cid.codec == RAW:
            return iter((self._block(cid, options),))
        return self._car(cid, options)

    def _block(self, cid: Cid, options: dict[str, str]) -> bytes:
        block = self.client.call("block/get", str(cid), options=options).content
        if not cid.verify(block):
            raise SourceError(f"Kubo served a block that does not hash to {cid}")
        return block

    def _car(self, cid: Cid, options: dict[str, str]) -> Iterator[bytes]:
        response = self.client.call("dag/export", str(cid), options=options, stream=True)
        try:
            reader = CarReader(cast(BinaryIO, response.raw))  # the header: a bad answer fails now
        except BaseException:
            response.close()
            raise
        blocks = StreamedBlocks(reader, lambda missing: self._one_more(missing, options))
        return _closing(file_chunks(cid, blocks, f"the file {cid} from Kubo"), response)

    def _one_more(self, cid: Cid, options: dict[str, str]) -> bytes:
        try:
            return self._block(cid, options)
        except KuboError as exc:  # mid-stream: the fetcher expects a SourceError
            raise SourceError(f"Kubo: block {cid}: {exc}") from exc


def _closing(chunks: Iterator[bytes], response: requests.Response) -> Iterator[bytes]:
    """``chunks``, with the HTTP response closed when they end, fail or are abandoned."""
    try:
        yield from chunks
    finally:
        response.close()
