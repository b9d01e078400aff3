"""UnixFS files: the root CID Kubo's `unixfs-v1-2025` profile gives, and verified reassembly.

The profile (`ipfs add --cid-version=1 --raw-leaves --chunker=size-1048576`, at most 1024 links
per node, balanced layout, sha2-256) makes a file of at most one chunk a single raw block, so
most npm tarballs are named by `sha256(tarball)` alone. Larger files get raw leaves under dag-pb
`File` nodes, all leaves at the same depth, every node but the last full at each level.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass

from ipnpm.ipfs.cid import DAG_PB, IDENTITY, RAW, Cid, block_cid, raw_cid_from_sha256
from ipnpm.ipfs.dagpb import PBLink, PBNode, decode_node, encode_node
from ipnpm.ipfs.errors import BlockHashError, IpfsFormatError
from ipnpm.ipfs.unixfs_data import DataType, UnixFSData, decode_unixfs, encode_unixfs

CHUNK_SIZE = 1024 * 1024
MAX_LINKS = 1024
_MAX_DEPTH = 32  # 1024**32 chunks is far beyond any file; deeper means a hostile DAG

BlockSink = Callable[[Cid, bytes], None]


@dataclass(frozen=True, slots=True)
class _Child:
    cid: Cid
    size: int  # file bytes under this node (a `blocksizes` entry)
    tsize: int  # encoded bytes of the whole subtree (a link's Tsize)


def _parent(children: list[_Child]) -> tuple[_Child, bytes]:
    sizes = tuple(child.size for child in children)
    data = encode_unixfs(UnixFSData(DataType.FILE, filesize=sum(sizes), blocksizes=sizes))
    # Kubo (boxo) sets Name = "" on file links rather than leaving it out; the empty field is
    # part of the bytes, so omitting it would change every parent CID.
    links = tuple(PBLink(child.cid, "", child.tsize) for child in children)
    block = encode_node(PBNode(links, data))
    tsize = len(block) + sum(child.tsize for child in children)
    return _Child(block_cid(DAG_PB, block), sum(sizes), tsize), block


def _build_tree(leaves: list[_Child], max_links: int, sink: BlockSink | None) -> Cid:
    # Grouping bottom-up, max_links at a time, gives the same tree as boxo's balanced builder,
    # which grows the root upward and fills each new subtree left to right.
    level = leaves
    while len(level) > 1:
        parents = []
        for start in range(0, len(level), max_links):
            node, block = _parent(level[start : start + max_links])
            if sink is not None:
                sink(node.cid, block)
            parents.append(node)
        level = parents
    return level[0].cid


class FileCidHasher:
    """Streaming root-CID computation: memory grows with the number of chunks, not bytes."""

    def __init__(self, *, chunk_size: int = CHUNK_SIZE, max_links: int = MAX_LINKS) -> None:
        if chunk_size < 1 or max_links < 2:
            raise ValueError("chunk_size must be >= 1 and max_links >= 2")
        self._chunk_size = chunk_size
        self._max_links = max_links
        self._hash = hashlib.sha256()
        self._filled = 0
        self._leaves: list[_Child] = []
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        self.size += len(view)
        while view:
            take = min(len(view), self._chunk_size - self._filled)
            self._hash.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == self._chunk_size:
                self._leaves.append(self._leaf(self._hash, self._filled))
                self._hash, self._filled = hashlib.sha256(), 0

    @staticmethod
    def _leaf(hasher: hashlib._Hash, size: int) -> _Child:
        return _Child(raw_cid_from_sha256(hasher.digest()), size, size)

    def cid(self) -> Cid:
        """The root CID of everything fed so far (the hasher stays usable)."""
        leaves = self._leaves
        if self._filled or not leaves:  # the trailing partial chunk, or the empty file
            leaves = [*leaves, self._leaf(self._hash.copy(), self._filled)]
        return _build_tree(leaves, self._max_links, None)


def file_cid(data: bytes | bytearray | memoryview) -> Cid:
    hasher = FileCidHasher()
    hasher.update(data)
    return hasher.cid()


def _chunks(data: bytes | Iterable[bytes], chunk_size: int) -> Iterator[bytes]:
    # Slice through memoryviews and keep at most one partial chunk: no quadratic copying.
    pieces = (data,) if isinstance(data, bytes | bytearray | memoryview) else data
    pending = bytearray()
    emitted = False
    for piece in pieces:
        view = memoryview(piece).cast("B")
        if pending:
            take = chunk_size - len(pending)
            pending += view[:take]
            view = view[take:]
            if len(pending) == chunk_size:
                yield bytes(pending)
                pending.clear()
                emitted = True
        while len(view) >= chunk_size:
            yield bytes(view[:chunk_size])
            view = view[chunk_size:]
            emitted = True
        pending += view
    if pending or not emitted:  # the last partial chunk, or the empty file's one empty leaf
        yield bytes(pending)


def build_file_dag(
    data: bytes | Iterable[bytes],
    *,
    chunk_size: int = CHUNK_SIZE,
    max_links: int = MAX_LINKS,
) -> tuple[Cid, list[tuple[Cid, bytes]]]:
    """Every block of the file's DAG, root first in depth-first order (as gateways send CARs).

    Repeated chunks (e.g. runs of zeros) are one block, listed once.
    """
    blocks: dict[Cid, bytes] = {}
    leaves = []
    for chunk in _chunks(data, chunk_size):
        cid = block_cid(RAW, chunk)
        blocks[cid] = chunk
        leaves.append(_Child(cid, len(chunk), len(chunk)))
    root = _build_tree(leaves, max_links, blocks.__setitem__)
    return root, _depth_first(root, blocks)


def _depth_first(root: Cid, blocks: dict[Cid, bytes]) -> list[tuple[Cid, bytes]]:
    ordered, seen, stack = [], set(), [root]
    while stack:
        cid = stack.pop()
        if cid in seen:
            continue
        seen.add(cid)
        ordered.append((cid, blocks[cid]))
        if cid.codec == DAG_PB:
            stack.extend(link.hash for link in reversed(decode_node(blocks[cid]).links))
    return ordered


def _verified_block(cid: Cid, get_block: Callable[[Cid], bytes]) -> bytes:
    if cid.hash_code == IDENTITY:
        return cid.digest  # the content is inside the CID itself
    try:
        block = get_block(cid)
    except KeyError:
        raise IpfsFormatError(f"block {cid} is missing") from None
    if not cid.verify(block):
        raise BlockHashError(f"block {cid} does not match its hash")
    return block


def reassemble(root: Cid, get_block: Callable[[Cid], bytes]) -> Iterator[bytes]:
    """Yield the bytes of the UnixFS file `root`, verifying every block against its CID.

    `get_block` raises KeyError for a block it does not have. Any missing, corrupt or
    inconsistent block raises IpfsFormatError; bytes already yielded must then be discarded.
    """
    yield from _walk(root, get_block, 0)


def _file_node(cid: Cid, block: bytes) -> tuple[PBNode, UnixFSData]:
    node = decode_node(block)
    meta = decode_unixfs(node.data or b"")
    if meta.type not in (DataType.FILE, DataType.RAW):
        raise IpfsFormatError(f"{cid} is a UnixFS {meta.type.name.lower()}, not a file")
    if len(meta.blocksizes) != len(node.links):
        raise IpfsFormatError(f"{cid} has {len(node.links)} links but {len(meta.blocksizes)} sizes")
    return node, meta


def _walk(cid: Cid, get_block: Callable[[Cid], bytes], depth: int) -> Generator[bytes, None, int]:
    if depth > _MAX_DEPTH:
        raise IpfsFormatError(f"UnixFS file nested deeper than {_MAX_DEPTH} levels at {cid}")
    block = _verified_block(cid, get_block)
    if cid.codec == RAW:
        yield block
        return len(block)
    if cid.codec != DAG_PB:
        raise IpfsFormatError(f"{cid} is neither raw nor dag-pb (codec {cid.codec:#x})")
    node, meta = _file_node(cid, block)
    total = len(meta.data or b"")
    if meta.data:
        yield meta.data
    for link, expected in zip(node.links, meta.blocksizes, strict=True):
        if link.name:
            raise IpfsFormatError(f"{cid} is a file but has a named link {link.name!r}")
        got = yield from _walk(link.hash, get_block, depth + 1)
        if got != expected:
            raise IpfsFormatError(f"{link.hash} holds {got} bytes, its parent says {expected}")
        total += got
    if meta.filesize is not None and meta.filesize != total:
        raise IpfsFormatError(f"{cid} holds {total} bytes but claims filesize {meta.filesize}")
    return total
