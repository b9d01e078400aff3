"""A trustless gateway over ipnpm's store (ipfs/specs ``http-gateways/trustless-gateway``), the
public ``/ipfs/`` route of ``ipnpm ipfs serve``: another machine's ipnpm can use this server as
``--gateway`` with no Kubo anywhere.

The store keeps whole files under their root CID. A file of at most one chunk is one raw block;
a larger one is a dag-pb tree over raw leaves that exists only as the stored bytes. So the
blocks are found through an index, built with ``build_file_dag`` the first time a file is
asked for: its dag-pb nodes (links only, a few dozen bytes per MiB) stay in memory, its leaves
are byte ranges of the stored file, read and hashed against their CID at every request. The
page cache holds the bytes, so memory stays flat however many files are served.

Nothing unverified goes out: a leaf that does not hash to its CID is never sent, and
``Store.verified_path`` then re-hashes the whole object and quarantines it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from ipnpm.ipfs.cid import DAG_PB, IDENTITY, RAW, Cid
from ipnpm.ipfs.dagpb import decode_node
from ipnpm.ipfs.unixfs import CHUNK_SIZE, build_file_dag
from ipnpm.store import Store

_RESCAN_EVERY = 10.0  # seconds between store listings caused by unknown CIDs
_MULTI_BLOCK_PREFIX = "bafybei"  # how a CIDv1 dag-pb sha2-256 root reads in base32


@dataclass(frozen=True, slots=True)
class Leaf:
    """Where a raw block's bytes lie: a range of the stored file ``root``."""

    root: Cid
    offset: int
    size: int


Located = bytes | Leaf  # a dag-pb node's bytes (small, kept), or where to read a leaf


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


def _leaf_ranges(root: Cid, blocks: dict[Cid, bytes]) -> dict[Cid, Leaf]:
    # The chunker cuts fixed-size pieces, so walking the links depth-first, repeats included,
    # meets the leaves in file order; a repeated leaf keeps its first range.
    ranges: dict[Cid, Leaf] = {}
    offset, stack = 0, [root]
    while stack:
        cid = stack.pop()
        if cid.codec == RAW:
            ranges.setdefault(cid, Leaf(root, offset, len(blocks[cid])))
            offset += len(blocks[cid])
        else:
            stack.extend(link.hash for link in reversed(decode_node(blocks[cid]).links))
    return ranges


class StoreBlocks:
    """Every block of every stored file, by CID (v1). Thread-safe.

    The index only ever records facts about content (a CID's bytes never change), so it is never
    invalidated; whether the stored file is still there is checked when bytes are read.
    """

    def __init__(self, store: Store, *, rescan_every: float = _RESCAN_EVERY) -> None:
        self._store = store
        self._rescan_every = rescan_every
        self._lock = threading.Lock()  # guards the three maps and the scan clock
        self._build = threading.Lock()  # one file at a time: building holds it all in memory
        self._nodes: dict[Cid, bytes] = {}
        self._leaves: dict[Cid, Leaf] = {}
        self._indexed: set[Cid] = set()  # roots of the multi-block files in the maps
        self._next_scan = 0.0

    def block(self, cid: Cid) -> bytes | None:
        """The block's verified bytes, or ``None`` when the store cannot give them."""
        if cid.hash_code == IDENTITY:
            return cid.digest  # the content is inside the CID itself
        found = self.locate(cid)
        return self.read(cid, found) if isinstance(found, Leaf) else found

    def locate(self, cid: Cid) -> Located | None:
        found = self._locate(cid)
        if found is None and self._rescan():
            found = self._locate(cid)
        return found

    def read(self, cid: Cid, leaf: Leaf) -> bytes | None:
        """The leaf's bytes from the stored file, after hashing them against ``cid``."""
        try:
            with self._store.object_path(str(leaf.root)).open("rb") as handle:
                handle.seek(leaf.offset)
                data = handle.read(leaf.size)
        except OSError:
            return None  # quarantined or never fetched on this machine
        if len(data) == leaf.size and cid.verify(data):
            return data
        self._store.verified_path(str(leaf.root))  # re-hash the object; quarantines it if bad
        return None

    def has_file(self, leaf: Leaf) -> bool:
        return self._store.object_path(str(leaf.root)).is_file()

    def _locate(self, cid: Cid) -> Located | None:
        with self._lock:
            known = self._nodes.get(cid)
            found: Located | None = self._leaves.get(cid) if known is None else known
        if found is not None:
            return found
        path = self._store.object_path(str(cid))
        if cid.codec == RAW:  # a file of one chunk: the stored object is the block
            try:
                size = path.stat().st_size
            except OSError:
                return None
            return Leaf(cid, 0, size) if size <= CHUNK_SIZE else None
        if cid.codec == DAG_PB and self._index(cid):
            with self._lock:
                return self._nodes.get(cid)
        return None

    def _index(self, root: Cid) -> bool:
        """Add the blocks of the stored multi-block file ``root``; False when it is not here."""
        with self._build:
            with self._lock:
                if root in self._indexed:
                    return True
            path = self._store.object_path(str(root))
            try:
                built, blocks = build_file_dag(_file_chunks(path))
            except OSError:
                return False
            if built != root:
                self._store.verified_path(str(root))  # quarantines the corrupt object
                return False
            by_cid = dict(blocks)
            nodes = {cid: block for cid, block in blocks if cid.codec == DAG_PB}
            leaves = _leaf_ranges(root, by_cid)
            with self._lock:
                self._nodes.update(nodes)
                self._leaves.update(leaves)
                self._indexed.add(root)
            return True

    def _rescan(self) -> bool:
        """Index stored multi-block files not seen yet (a client may ask for a leaf before its
        root, e.g. after a restart). Throttled: a stream of unknown CIDs must not make every
        request list the store."""
        now = time.monotonic()
        with self._lock:
            if now < self._next_scan:
                return False
            self._next_scan = now + self._rescan_every
            known = {str(root) for root in self._indexed}
        added = False
        for path in (self._store.root / "objects").glob(f"*/{_MULTI_BLOCK_PREFIX}*"):
            if path.name not in known:
                added = self._index(Cid.parse(path.name)) or added
        return added

    def plan(self, root: Cid, *, dups: bool) -> list[tuple[Cid, Located]] | None:
        """The blocks under ``root`` in depth-first order (a CAR's content), or ``None`` when
        any of them is not here. Identity blocks are left out, as the spec requires."""
        order: list[tuple[Cid, Located]] = []
        seen: set[Cid] = set()
        stack = [root]
        while stack:
            cid = stack.pop()
            if cid.hash_code == IDENTITY or (cid in seen and not dups):
                continue
            seen.add(cid)
            found = self.locate(cid)
            if found is None or (isinstance(found, Leaf) and not self.has_file(found)):
                return None
            order.append((cid, found))
            if isinstance(found, bytes):
                stack.extend(link.hash for link in reversed(decode_node(found).links))
        return order


def size_of(found: Located) -> int:
    return found.size if isinstance(found, Leaf) else len(found)


__all__ = ["BaseHTTPRequestHandler", "Leaf", "Located", "StoreBlocks", "size_of"]
