"""UnixFS directories: verified path walks (basic and HAMT-sharded) and Kubo-identical building.

A registry index is a UnixFS directory of packument files. Small directories are one dag-pb
block (`Type=Directory`, one named link per entry, links sorted by name). Large ones are HAMT
shards (`Type=HAMTShard`): a trie keyed by murmur3-x64-64 of the entry name, `log2(fanout)`
hash bits per level taken most-significant first, `Data` a big-endian occupancy bitfield, and
link names of `%0{w}X` bucket index (upper-case hex, w = 2 for fanout 256) alone for a
sub-shard or followed by the entry name for an entry.

Gateways and daemons are not trusted: every block read here is hashed against its CID before it
is parsed, so the root CID authenticates both a hit and a miss.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ipnpm.ipfs.cid import DAG_PB, RAW, Cid, block_cid
from ipnpm.ipfs.dagpb import PBLink, PBNode, decode_node, encode_node
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.murmur3 import murmur3_x64_64
from ipnpm.ipfs.unixfs import _verified_block  # the one place blocks are checked against CIDs
from ipnpm.ipfs.unixfs_data import DataType, UnixFSData, decode_unixfs, encode_unixfs

GetBlock = Callable[[Cid], bytes]
Estimation = Literal["block", "links"]

HAMT_HASH_MURMUR3 = 0x22  # multicodec murmur3-x64-64, the only HAMT hash in use
DEFAULT_FANOUT = 256
MAX_FANOUT = 1024  # the spec's cap: a bigger fanout is a memory-exhaustion attack (CVE-2023-23625)
# Kubo's Import.UnixFSHAMTDirectorySizeThreshold; `unixfs-v1-2025` measures it in "block" mode.
DEFAULT_SHARD_THRESHOLD = 256 * 1024
_HASH_BITS = 64

_DIRECTORY_DATA = encode_unixfs(UnixFSData(DataType.DIRECTORY))  # b"\x08\x01"
_HEX = frozenset("0123456789ABCDEF")


class NoSuchEntry(IpfsFormatError):
    """The verified blocks show that `name` is not in `directory` (or that it is no directory).

    This is an authenticated miss, not corruption: every block on the way matched its CID, so
    the content behind the root CID really lacks the entry. Callers treat it as a plain "not
    found" (an npm 404) and must catch it *before* IpfsFormatError, which otherwise means
    missing or corrupt data (worth another source). It subclasses IpfsFormatError only so that
    code expecting nothing but IpfsFormatError from this package stays correct.
    """

    def __init__(self, directory: Cid, name: str, reason: str = "no such entry") -> None:
        super().__init__(f"{reason}: {name!r} in {directory}" if name else f"{reason}: {directory}")
        self.directory = directory  # the CID searched (for "not a directory", that file's)
        self.name = name


@dataclass(frozen=True, slots=True)
class DirEntry:
    cid: Cid
    tsize: int | None  # the link's Tsize: bytes of the whole DAG under it, as its writer claims


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Basic:
    cid: Cid
    links: dict[str, PBLink]  # the first link of each name: the spec's rule for duplicates


class DirectoryCache:
    """Directory nodes already fetched, verified and parsed, by CID (least recently used out).

    A CID always names the same bytes, so an entry never goes stale; sharing one cache across
    look-ups in the same index skips re-hashing and re-parsing its root and shards (a full
    256-bucket shard takes about 2 ms to parse). A cached node is not fetched again, so a
    source's completeness is only tested on nodes the cache does not hold.
    """

    def __init__(self, max_nodes: int = 256) -> None:
        self._max = max_nodes
        self._nodes: OrderedDict[Cid, _Basic | _Shard] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cid: Cid) -> _Basic | _Shard | None:
        with self._lock:
            node = self._nodes.get(cid)
            if node is not None:
                self._nodes.move_to_end(cid)
            return node

    def put(self, node: _Basic | _Shard) -> None:
        with self._lock:
            self._nodes[node.cid] = node
            while len(self._nodes) > self._max:
                self._nodes.popitem(last=False)


def resolve_path(
    root: Cid,
    segments: Sequence[str],
    get_block: GetBlock,
    *,
    cache: DirectoryCache | None = None,
) -> Cid:
    """The CID at `root/segments[0]/segments[1]/...`, every block on the way verified.

    `get_block` returns a block's bytes or raises KeyError. Segments are decoded names (a
    package `@acme/x` is `["@acme", "x"]`; `%` is an ordinary character). The target itself is
    not fetched. Raises NoSuchEntry for a name that is absent or a path through a file or
    symlink, IpfsFormatError for a missing block (named in the message) or malformed data,
    BlockHashError for a block that does not match its CID, ValueError for an empty segment or
    one containing "/".
    """
    cid = root
    for name in segments:
        cid = lookup(cid, name, get_block, cache=cache)
    return cid


def lookup(
    directory: Cid, name: str, get_block: GetBlock, *, cache: DirectoryCache | None = None
) -> Cid:
    """The CID of one entry of a basic or HAMT directory (see resolve_path for errors)."""
    encoded = _check_name(name)
    parsed = _load_directory(directory, get_block, name, cache)
    if isinstance(parsed, _Basic):
        link = parsed.links.get(name)
        if link is None:
            raise NoSuchEntry(directory, name)
        return link.hash
    return _hamt_lookup(parsed, name, encoded, get_block, cache)


def list_entries(directory: Cid, get_block: GetBlock) -> dict[str, DirEntry]:
    """Every entry of a basic or HAMT directory (all shards fetched and verified)."""
    parsed = _load_directory(directory, get_block, "", None)
    if isinstance(parsed, _Basic):
        return {name: DirEntry(link.hash, link.tsize) for name, link in parsed.links.items()}
    return dict(_walk_shard(parsed, (), get_block))


def list_directory(directory: Cid, get_block: GetBlock) -> dict[str, Cid]:
    """Name -> CID of every entry of a basic or HAMT directory."""
    return {name: entry.cid for name, entry in list_entries(directory, get_block).items()}


def _check_name(name: str) -> bytes:
    if not name or "/" in name:
        raise ValueError(f"a path segment must be a non-empty name without '/': {name!r}")
    try:
        return name.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates: no dag-pb name can equal it
        raise ValueError(f"path segment {name!r} is not valid Unicode") from exc


def _decode(cid: Cid, get_block: GetBlock) -> tuple[PBNode, UnixFSData]:
    node = decode_node(_verified_block(cid, get_block))
    if node.data is None:
        raise IpfsFormatError(f"dag-pb node {cid} has no UnixFS data")
    return node, decode_unixfs(node.data)


def _load_directory(
    cid: Cid, get_block: GetBlock, name: str, cache: DirectoryCache | None
) -> _Basic | _Shard:
    cached = cache.get(cid) if cache is not None else None
    if cached is not None:
        return cached
    if cid.codec == RAW:  # always file bytes: no need to fetch it to know
        raise NoSuchEntry(cid, name, "a raw block is a file, not a directory")
    if cid.codec != DAG_PB:
        raise IpfsFormatError(f"{cid} is not UnixFS (codec {cid.codec:#x}), cannot enter it")
    node, meta = _decode(cid, get_block)
    parsed: _Basic | _Shard
    if meta.type == DataType.DIRECTORY:
        parsed = _parse_basic(cid, node)
    elif meta.type == DataType.HAMT_SHARD:
        parsed = _Shard.parse(cid, node, meta, None)
    else:
        raise NoSuchEntry(cid, name, f"a UnixFS {meta.type.name.lower()} is not a directory")
    if cache is not None:
        cache.put(parsed)
    return parsed


def _parse_basic(cid: Cid, node: PBNode) -> _Basic:
    links: dict[str, PBLink] = {}
    for link in node.links:
        if not link.name:
            raise IpfsFormatError(f"directory {cid} has a link without a name")
        links.setdefault(link.name, link)
    return _Basic(cid, links)


# -- HAMT shards -----------------------------------------------------------------------------


def _valid_fanout(fanout: int) -> bool:
    # A power of two (whole hash bits per level), a multiple of 8 (whole bitfield bytes).
    return 8 <= fanout <= MAX_FANOUT and fanout & (fanout - 1) == 0


def _prefix_width(fanout: int) -> int:
    return len(f"{fanout - 1:X}")  # boxo: len(fmt.Sprintf("%X", fanout-1)); 2 for 256


def _bucket(hash_value: int, depth: int, bits: int) -> int:
    """The bucket at `depth`: the next `bits` hash bits, most significant first (boxo hashBits)."""
    shift = _HASH_BITS - (depth + 1) * bits
    if shift < 0:
        raise IpfsFormatError(f"HAMT deeper than its {_HASH_BITS}-bit hash allows")
    return (hash_value >> shift) & ((1 << bits) - 1)


@dataclass(frozen=True, slots=True)
class _Shard:
    cid: Cid
    fanout: int
    width: int  # hex digits of the bucket prefix in link names
    buckets: dict[int, PBLink]  # bucket index -> the one link in that bucket

    @property
    def bits(self) -> int:
        return self.fanout.bit_length() - 1

    @classmethod
    def parse(cls, cid: Cid, node: PBNode, meta: UnixFSData, fanout: int | None) -> _Shard:
        """Check a shard node; `fanout` is its parent's, which every level must share."""
        if meta.type != DataType.HAMT_SHARD:
            raise IpfsFormatError(f"{cid} is a UnixFS {meta.type.name.lower()}, not a HAMT shard")
        if meta.hash_type != HAMT_HASH_MURMUR3:
            raise IpfsFormatError(f"HAMT shard {cid} uses unsupported hash {meta.hash_type!r}")
        if meta.fanout is None or not _valid_fanout(meta.fanout):
            raise IpfsFormatError(f"HAMT shard {cid} has invalid fanout {meta.fanout!r}")
        if fanout is not None and meta.fanout != fanout:
            raise IpfsFormatError(f"HAMT shard {cid} has fanout {meta.fanout}, parent {fanout}")
        shard = cls(cid, meta.fanout, _prefix_width(meta.fanout), {})
        for link in node.links:
            index = shard.index_of(link.name)
            if shard.buckets.setdefault(index, link) is not link:
                raise IpfsFormatError(f"HAMT shard {cid} has two links in bucket {index}")
        # Readers differ: boxo maps buckets through the bitfield, others through the names.
        # Insisting they agree means every reader sees the same entries.
        bitfield = meta.data or b""
        occupied = sum(1 << index for index in shard.buckets)
        if len(bitfield) > shard.fanout // 8 or int.from_bytes(bitfield, "big") != occupied:
            raise IpfsFormatError(f"HAMT shard {cid}: bitfield disagrees with its links")
        return shard

    def index_of(self, link_name: str | None) -> int:
        prefix = (link_name or "")[: self.width]
        if len(prefix) != self.width or not _HEX.issuperset(prefix):
            raise IpfsFormatError(f"HAMT shard {self.cid} has a bad link name {link_name!r}")
        index = int(prefix, 16)
        if index >= self.fanout:
            raise IpfsFormatError(f"HAMT shard {self.cid} has bucket {index} >= {self.fanout}")
        return index

    def child(self, link: PBLink, get_block: GetBlock, cache: DirectoryCache | None) -> _Shard:
        cached = cache.get(link.hash) if cache is not None else None
        if isinstance(cached, _Shard) and cached.fanout == self.fanout:
            return cached
        if link.hash.codec != DAG_PB:
            raise IpfsFormatError(f"HAMT sub-shard {link.hash} is not dag-pb")
        node, meta = _decode(link.hash, get_block)
        child = _Shard.parse(link.hash, node, meta, self.fanout)
        if cache is not None:
            cache.put(child)
        return child


def _hamt_lookup(
    shard: _Shard, name: str, encoded: bytes, get_block: GetBlock, cache: DirectoryCache | None
) -> Cid:
    root = shard.cid
    hash_value = murmur3_x64_64(encoded)
    depth = 0
    while True:
        link = shard.buckets.get(_bucket(hash_value, depth, shard.bits))
        if link is None:
            raise NoSuchEntry(root, name)
        rest = (link.name or "")[shard.width :]
        if not rest:  # the bucket's name alone: a sub-shard holding several names
            shard = shard.child(link, get_block, cache)
            depth += 1
        elif rest == name:
            return link.hash
        else:  # the bucket holds one other name
            raise NoSuchEntry(root, name)


def _walk_shard(
    shard: _Shard, path: tuple[int, ...], get_block: GetBlock
) -> Iterator[tuple[str, DirEntry]]:
    """Entries under `shard`, reached through buckets `path`; each must sit where it hashes."""
    if (len(path) + 1) * shard.bits > _HASH_BITS:  # a hostile chain of sub-shards
        raise IpfsFormatError(f"HAMT shard {shard.cid} is deeper than its hash allows")
    for index in sorted(shard.buckets):
        link = shard.buckets[index]
        where = (*path, index)
        rest = (link.name or "")[shard.width :]
        if not rest:
            yield from _walk_shard(shard.child(link, get_block, None), where, get_block)
            continue
        # An entry filed under the wrong bucket would be listed but never found by lookup.
        hash_value = murmur3_x64_64(rest.encode("utf-8"))
        if any(_bucket(hash_value, depth, shard.bits) != i for depth, i in enumerate(where)):
            raise IpfsFormatError(f"HAMT shard {shard.cid} files {rest!r} in the wrong bucket")
        yield rest, DirEntry(link.hash, link.tsize)


# -- building --------------------------------------------------------------------------------


def cumulative_size(cid: Cid, block: bytes) -> int:
    """The Tsize a parent writes for a link to `block`: its length plus its links' Tsizes."""
    if cid.codec != DAG_PB:
        return len(block)
    return len(block) + sum(link.tsize or 0 for link in decode_node(block).links)


def build_directory(
    entries: Mapping[str, Cid | tuple[Cid, int]],
    *,
    shard_threshold: int | None = DEFAULT_SHARD_THRESHOLD,
    estimation: Estimation = "block",
    fanout: int = DEFAULT_FANOUT,
) -> tuple[Cid, list[tuple[Cid, bytes]]]:
    """The directory's CIDv1 and its blocks, root first, depth-first (as gateways send them).

    Identical to what Kubo's `unixfs-v1-2025` profile writes (MFS or `ipfs add`) when each
    entry is `(cid, tsize)` with Kubo's Tsize (a raw file: its length; a dag-pb DAG:
    `cumulative_size` of its root). A bare CID gets a link without Tsize, which readers accept
    but Kubo never writes. Shards into a HAMT when the size estimate exceeds `shard_threshold`
    (strictly, as Kubo >= 0.40): "block" is the encoded basic-directory block (the profile),
    "links" the legacy sum of name and CID lengths; None never shards. The entries' own blocks
    are not included.
    """
    if not _valid_fanout(fanout):
        raise ValueError(f"fanout must be a power of two between 8 and {MAX_FANOUT}: {fanout}")
    # Python orders str by code point, which is UTF-8 byte order: Go's strings.Compare.
    links = [_entry_link(name, entries[name]) for name in sorted(entries)]
    basic = encode_node(PBNode(tuple(links), _DIRECTORY_DATA))
    if shard_threshold is None or _estimate(basic, links, estimation) <= shard_threshold:
        cid = block_cid(DAG_PB, basic)
        return cid, [(cid, basic)]
    hashed = [(murmur3_x64_64(_name(link).encode("utf-8")), link) for link in links]
    cid, _, blocks = _build_shard(hashed, 0, fanout)
    return cid, blocks


def _entry_link(name: str, value: Cid | tuple[Cid, int]) -> PBLink:
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"not a valid directory entry name: {name!r}")
    if isinstance(value, Cid):
        return PBLink(value, name, None)
    cid, tsize = value
    if tsize < 0:
        raise ValueError(f"negative Tsize {tsize} for {name!r}")
    return PBLink(cid, name, tsize)


def _name(link: PBLink) -> str:
    assert link.name is not None  # every link _entry_link makes has one
    return link.name


def _estimate(basic: bytes, links: list[PBLink], estimation: Estimation) -> int:
    if estimation == "block":
        return len(basic)
    return sum(len(_name(link).encode("utf-8")) + len(link.hash.bytes) for link in links)


def _build_shard(
    items: list[tuple[int, PBLink]], depth: int, fanout: int
) -> tuple[Cid, int, list[tuple[Cid, bytes]]]:
    """One shard (and its sub-shards): (cid, Tsize, blocks root first).

    boxo's trie is canonical: a bucket holding one name keeps the entry, a bucket holding more
    becomes a sub-shard split on the next hash bits, whatever the insertion order.
    """
    bits = fanout.bit_length() - 1
    if (depth + 1) * bits > _HASH_BITS:
        names = sorted(_name(link) for _, link in items)
        raise ValueError(f"names share all {_HASH_BITS} hash bits: {names}")
    groups: dict[int, list[tuple[int, PBLink]]] = {}
    for hash_value, link in items:
        groups.setdefault(_bucket(hash_value, depth, bits), []).append((hash_value, link))
    width = _prefix_width(fanout)
    links: list[PBLink] = []
    below: list[tuple[Cid, bytes]] = []
    for index in sorted(groups):  # fixed-width hex prefixes: index order is name order
        prefix = f"{index:0{width}X}"
        group = groups[index]
        if len(group) == 1:
            entry = group[0][1]
            links.append(PBLink(entry.hash, prefix + _name(entry), entry.tsize))
        else:
            child, tsize, blocks = _build_shard(group, depth + 1, fanout)
            links.append(PBLink(child, prefix, tsize))
            below.extend(blocks)
    occupied = sum(1 << index for index in groups)
    # go-bitfield's Bytes(): big-endian with leading zero bytes dropped (none at all if empty).
    bitfield = occupied.to_bytes((occupied.bit_length() + 7) // 8, "big")
    meta = UnixFSData(
        DataType.HAMT_SHARD, bitfield or None, hash_type=HAMT_HASH_MURMUR3, fanout=fanout
    )
    block = encode_node(PBNode(tuple(links), encode_unixfs(meta)))
    cid = block_cid(DAG_PB, block)
    tsize = len(block) + sum(link.tsize or 0 for link in links)
    return cid, tsize, [(cid, block), *below]
