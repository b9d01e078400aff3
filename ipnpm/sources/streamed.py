"""A multi-block file read from a streamed CAR, block by block, in bounded memory.

Kubo's ``dag/export`` and a trustless gateway's ``dag-scope=entity`` CAR send a UnixFS file's
blocks depth-first, the order ``reassemble`` asks for them; so a block is usually the next one
on the wire, is verified against its CID as it is read, handed on, and forgotten. Memory is
then about one block (1 MiB) whatever the tarball's size: holding whole CARs was ipnpm's peak
RSS (BENCHMARKS.md, P6). A block that comes early is kept until asked for, up to a limit; one
asked for twice (a repeated chunk, sent once) or never sent is fetched alone with ``fetch_one``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ipnpm.clients.lazy import requests
from ipnpm.errors import reason
from ipnpm.ipfs.car import CarReader
from ipnpm.ipfs.cid import Cid
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.unixfs import reassemble
from ipnpm.sources import SourceError

STASH_LIMIT = 16 * 1024 * 1024  # bytes of early blocks kept: a sane DAG order needs none


class StreamedBlocks:
    """``get_block`` for ``reassemble`` over a CAR stream; raises KeyError for a block that
    neither the stream nor ``fetch_one`` has."""

    def __init__(
        self,
        reader: CarReader,
        fetch_one: Callable[[Cid], bytes] | None = None,
        *,
        stash_limit: int = STASH_LIMIT,
    ) -> None:
        self._blocks = iter(reader)
        self._fetch_one = fetch_one
        self._stash: dict[Cid, bytes] = {}
        self._stashed = 0
        self._limit = stash_limit
        self.streamed = 0  # bytes of blocks taken from the stream (for the size bound)

    def __call__(self, cid: Cid) -> bytes:
        block = self._stash.pop(cid, None)
        if block is not None:
            self._stashed -= len(block)
            return block
        for got, block in self._blocks:
            self.streamed += len(block)
            if got == cid:
                return block
            if got not in self._stash:
                self._stash[got] = block
                self._stashed += len(block)
                if self._stashed > self._limit:
                    raise IpfsFormatError(f"CAR blocks out of order: over {self._limit} held")
        if self._fetch_one is None:
            raise KeyError(cid)
        block = self._fetch_one(cid)
        self.streamed += len(block)
        return block


def file_chunks(root: Cid, blocks: StreamedBlocks, what: str) -> Iterator[bytes]:
    """The verified bytes of the file ``root``; any failure while streaming is a SourceError
    (the store then drops what it wrote). A file much larger than the blocks it came in is
    refused: a few blocks linked a million times over are an attack, not a tarball (gzip
    leaves no repeated 1 MiB chunks)."""
    total = 0
    try:
        for chunk in reassemble(root, blocks):
            total += len(chunk)
            if total > 2 * blocks.streamed + (1 << 20):
                raise SourceError(f"{what} is far larger than the blocks it is made of: refused")
            yield chunk
    except IpfsFormatError as exc:
        raise SourceError(f"{what}: invalid content: {exc}") from exc
    except requests.RequestException as exc:
        raise SourceError(f"{what}: cut off: {reason(exc)}") from exc
