"""UnixFS directories without Kubo: murmur3 vectors, the conformance CARs, hostile blocks, building.

The gateway-conformance CARs were written by Kubo, so rebuilding them byte for byte (and the
vectors recorded from Kubo 0.43.1 below) pins `build_directory` to Kubo's CIDs offline.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from ipnpm.ipfs import IpfsFormatError
from ipnpm.ipfs.car import read_car
from ipnpm.ipfs.cid import DAG_PB, RAW, Cid, block_cid
from ipnpm.ipfs.dagpb import PBLink, PBNode, decode_node, encode_node
from ipnpm.ipfs.errors import BlockHashError
from ipnpm.ipfs.murmur3 import murmur3_x64_64, murmur3_x64_128
from ipnpm.ipfs.unixfs import reassemble
from ipnpm.ipfs.unixfs_data import DataType, UnixFSData, decode_unixfs, encode_unixfs
from ipnpm.ipfs.unixfs_dir import (
    DirectoryCache,
    DirEntry,
    NoSuchEntry,
    build_directory,
    cumulative_size,
    list_directory,
    list_entries,
    lookup,
    resolve_path,
)

FIXTURES = Path("/work/shared/fixtures/ipfs/car")
Blocks = dict[Cid, bytes]

HAMT_ROOT = "bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i"
HAMT_SUBSHARD_00 = "bafybeiaebmuestgbpqhkkbrwl2qtjtvs3whkmp2trkbkimuod4yv7oygni"
MULTIBLOCK = "bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa"
HELLO = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
ASCII = "bafkreifkam6ns4aoolg3wedr4uzrs3kvq66p4pecirz6y2vlrngla62mxm"
EMPTY_DIR_V1 = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"  # UnixFS spec


def _car(name: str) -> tuple[Cid, Blocks]:
    roots, blocks = read_car((FIXTURES / name).read_bytes())
    return roots[0], blocks


def _cat(cid: Cid, blocks: Blocks) -> bytes:
    return b"".join(reassemble(cid, blocks.__getitem__))


def _entries(directory: Cid, blocks: Blocks) -> dict[str, Cid | tuple[Cid, int]]:
    """A directory's entries as build_directory takes them (with the Tsize Kubo wrote)."""
    out: dict[str, Cid | tuple[Cid, int]] = {}
    for name, entry in list_entries(directory, blocks.__getitem__).items():
        assert entry.tsize is not None
        out[name] = (entry.cid, entry.tsize)
    return out


# -- murmur3 -----------------------------------------------------------------------------------

# spaolacci/murmur3 (the Go package boxo uses) test table: seed, h1, h2, input.
MURMUR_VECTORS = [
    (0x00, 0x0000000000000000, 0x0000000000000000, ""),
    (0x00, 0xCBD8A7B341BD9B02, 0x5B1E906A48AE1D19, "hello"),
    (0x00, 0x342FAC623A5EBC8E, 0x4CDCBC079642414D, "hello, world"),
    (0x00, 0xB89E5988B737AFFC, 0x664FC2950231B2CB, "19 Jan 2038 at 3:14:07 AM"),
    (0x00, 0xCD99481F9EE902C9, 0x695DA1A38987B6E7, "The quick brown fox jumps over the lazy dog."),
    (0x01, 0x4610ABE56EFF5CB5, 0x51622DAA78F83583, ""),
    (0x01, 0xA78DDFF5ADAE8D10, 0x128900EF20900135, "hello"),
    (0x01, 0x2A929DE9C8F97B2F, 0x56A41D99AF43A2DB, "19 Jan 2038 at 3:14:07 AM"),
    (0x2A, 0xF02AA77DFA1B8523, 0xD1016610DA11CBB9, ""),
    (0x2A, 0xB91864D797CAA956, 0xD5D139A55AFE6150, "hello, world"),
    (0x2A, 0x74F33C659CDA5AF7, 0x4EC7A891CAF316F0, "The quick brown fox jumps over the lazy dog."),
]


@pytest.mark.parametrize(("seed", "h1", "h2", "text"), MURMUR_VECTORS)
def test_murmur3_vectors(seed: int, h1: int, h2: int, text: str) -> None:
    assert murmur3_x64_128(text.encode(), seed) == (h1, h2)


def test_murmur3_smhasher_verification_value() -> None:
    # SMHasher's self-test: hash keys 0..255 bytes long (every tail length, many seeds),
    # hash the concatenated little-endian digests, and compare the low 32 bits.
    digests = b""
    for length in range(256):
        h1, h2 = murmur3_x64_128(bytes(range(length)), 256 - length)
        digests += h1.to_bytes(8, "little") + h2.to_bytes(8, "little")
    assert murmur3_x64_128(digests)[0] & 0xFFFFFFFF == 0x6384BA69


def test_murmur3_unixfs_spec_example() -> None:
    # The UnixFS spec: "470.txt" sits in bucket 0x00, then 0x6E, of the HAMT fixture.
    assert murmur3_x64_64(b"470.txt").to_bytes(8, "big").hex() == "006e88df5847e67c"


# -- basic directories from the conformance fixtures -------------------------------------------


def test_nested_directory() -> None:
    root, blocks = _car("subdir-with-two-single-block-files.car")
    hello = resolve_path(root, ["subdir", "hello.txt"], blocks.__getitem__)
    assert str(hello) == HELLO
    assert _cat(hello, blocks) == b"hello world\n"
    ascii_cid = resolve_path(root, ["subdir", "ascii.txt"], blocks.__getitem__)
    assert _cat(ascii_cid, blocks) == b"hello application/vnd.ipld.car\n"
    assert resolve_path(root, [], blocks.__getitem__) == root
    with pytest.raises(NoSuchEntry):
        resolve_path(root, ["hello.txt"], blocks.__getitem__)
    with pytest.raises(NoSuchEntry):  # a raw block has no entries: it need not even be fetched
        resolve_path(root, ["subdir", "hello.txt", "x"], _without(blocks, HELLO).__getitem__)


def test_flat_directory_lists_and_rebuilds_exactly() -> None:
    root, blocks = _car("dir-with-files.car")
    assert {k: str(v) for k, v in list_directory(root, blocks.__getitem__).items()} == {
        "ascii-copy.txt": ASCII,
        "ascii.txt": ASCII,
        "hello.txt": HELLO,
        "multiblock.txt": MULTIBLOCK,
    }
    multiblock = resolve_path(root, ["multiblock.txt"], blocks.__getitem__)
    assert len(_cat(multiblock, blocks)) == 1026
    # Kubo wrote this block: same entries and Tsizes must give the same bytes.
    cid, built = build_directory(_entries(root, blocks))
    assert cid == root
    assert built == [(root, blocks[root])]
    assert cumulative_size(root, blocks[root]) == 1572  # the spec's worked Tsize example


def test_percent_encoded_and_unicode_name() -> None:
    root, blocks = _car("dir-with-percent-encoded-filename.car")
    name = "Portugal%2C+España=Peninsula Ibérica.txt"
    cid = resolve_path(root, [name], blocks.__getitem__)
    assert _cat(cid, blocks) == b"hello from a percent encoded filename\n"
    for decoded in (
        "Portugal,+España=Peninsula Ibérica.txt",
        "Portugal%2C España=Peninsula Ibérica.txt",
    ):
        with pytest.raises(NoSuchEntry):
            resolve_path(root, [decoded], blocks.__getitem__)
    assert build_directory(_entries(root, blocks))[0] == root


def test_cidv0_directory_with_symlink() -> None:
    root, blocks = _car("symlink.car")
    assert root.version == 0
    foo = resolve_path(root, ["foo"], blocks.__getitem__)
    assert foo.version == 0
    assert _cat(foo, blocks) == b"content\n"
    assert str(resolve_path(root, ["bar"], blocks.__getitem__)) == (
        "QmTB8BaCJdCH5H3k7GrxJsxgDNmNYGGR71C58ERkivXoj5"
    )
    for through in (["bar", "x"], ["foo", "x"]):  # symlinks are not followed, files end paths
        with pytest.raises(NoSuchEntry, match="not a directory"):
            resolve_path(root, through, blocks.__getitem__)


def test_dag_cbor_is_a_target_but_not_a_directory() -> None:
    root, blocks = _car("dir-with-dag-cbor-with-links.car")
    document = resolve_path(root, ["document"], blocks.__getitem__)
    assert document.codec == 0x71
    with pytest.raises(IpfsFormatError, match="not UnixFS") as caught:
        resolve_path(root, ["document", "files"], blocks.__getitem__)
    assert not isinstance(caught.value, NoSuchEntry)


def test_path_through_a_file_is_a_miss() -> None:
    root, blocks = _car("file-3k-and-3-blocks-missing-block.car")
    assert resolve_path(root, [], blocks.__getitem__) == root
    with pytest.raises(NoSuchEntry, match="file is not a directory"):
        resolve_path(root, ["x"], blocks.__getitem__)
    with pytest.raises(IpfsFormatError, match="is missing"):  # and it cannot be read either
        _cat(root, blocks)


@pytest.mark.parametrize("segment", ["", "a/b", "/", "\udc80"])
def test_invalid_segments_are_caller_errors(segment: str) -> None:
    root, blocks = _car("dir-with-files.car")
    with pytest.raises(ValueError, match="segment") as caught:
        resolve_path(root, [segment], blocks.__getitem__)
    assert not isinstance(caught.value, IpfsFormatError)


# -- the HAMT fixture --------------------------------------------------------------------------


def test_hamt_lists_and_resolves_every_entry() -> None:
    root, blocks = _car("single-layer-hamt-with-multi-block-files.car")
    assert str(root) == HAMT_ROOT
    listing = list_directory(root, blocks.__getitem__)
    assert set(listing) == {f"{n}.txt" for n in range(1, 1001)}
    assert set(listing.values()) == {Cid.parse(MULTIBLOCK)}
    cache = DirectoryCache()
    for name, cid in listing.items():
        assert resolve_path(root, [name], blocks.__getitem__, cache=cache) == cid
    assert _cat(listing["742.txt"], blocks).startswith(b"Lorem ipsum")


def test_hamt_lookup_walks_the_spec_example() -> None:
    root, blocks = _car("single-layer-hamt-with-multi-block-files.car")
    fetched: list[str] = []

    def get_block(cid: Cid) -> bytes:
        fetched.append(str(cid))
        return blocks[cid]

    assert str(lookup(root, "470.txt", get_block)) == MULTIBLOCK
    assert fetched == [HAMT_ROOT, HAMT_SUBSHARD_00]  # root, bucket 00, entry "6E470.txt"


@pytest.mark.parametrize("name", ["0.txt", "1001.txt", "470.TXT", "470.txt ", "@acme%2fx", "ü"])
def test_hamt_misses(name: str) -> None:
    root, blocks = _car("single-layer-hamt-with-multi-block-files.car")
    with pytest.raises(NoSuchEntry) as caught:
        resolve_path(root, [name], blocks.__getitem__)
    assert (caught.value.directory, caught.value.name) == (root, name)


def test_random_misses_are_no_such_entry() -> None:
    rng = random.Random(7)
    root, blocks = _car("single-layer-hamt-with-multi-block-files.car")
    basic, basic_blocks = _car("dir-with-files.car")
    cache = DirectoryCache()
    alphabet = "abc.-_@%2fü包 XYZ0123456789"
    for _ in range(300):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        if name.endswith(".txt") or name in ("ascii.txt", "hello.txt"):
            continue
        with pytest.raises(NoSuchEntry):
            resolve_path(root, [name], blocks.__getitem__, cache=cache)
        with pytest.raises(NoSuchEntry):
            resolve_path(basic, [name, "more"], basic_blocks.__getitem__)


def test_hamt_rebuilds_exactly() -> None:
    root, blocks = _car("single-layer-hamt-with-multi-block-files.car")
    entries = _entries(root, blocks)
    cid, built = build_directory(entries, shard_threshold=1024)
    assert cid == root
    assert built[0] == (root, blocks[root])  # root first, then depth-first
    assert all(blocks[block_cid] == block for block_cid, block in built)
    shards = {c for c, b in blocks.items() if c.codec == DAG_PB and _is_shard(b)}
    assert {c for c, _ in built} == shards
    # Under the default 256 KiB threshold the same 1000 entries (about 60 KB) stay basic.
    default_cid, default_blocks = build_directory(entries)
    assert len(default_blocks) == 1
    assert decode_unixfs(decode_node(default_blocks[0][1]).data or b"").type == DataType.DIRECTORY
    assert list_directory(default_cid, dict(default_blocks).__getitem__) == list_directory(
        root, blocks.__getitem__
    )


def _is_shard(block: bytes) -> bool:
    return decode_unixfs(decode_node(block).data or b"").type == DataType.HAMT_SHARD


# -- missing, lying and hostile blocks ---------------------------------------------------------


def _without(blocks: Blocks, cid: str) -> Blocks:
    return {c: b for c, b in blocks.items() if str(c) != cid}


def test_missing_shard_is_not_a_miss() -> None:
    root, blocks = _car("single-layer-hamt-with-multi-block-files.car")
    partial = _without(blocks, HAMT_SUBSHARD_00)
    with pytest.raises(IpfsFormatError, match=HAMT_SUBSHARD_00) as caught:
        resolve_path(root, ["470.txt"], partial.__getitem__)
    assert not isinstance(caught.value, NoSuchEntry)
    # Names in other buckets never needed that block.
    assert str(resolve_path(root, ["1.txt"], partial.__getitem__)) == MULTIBLOCK
    with pytest.raises(IpfsFormatError, match=HAMT_ROOT):
        resolve_path(root, ["1.txt"], _without(blocks, HAMT_ROOT).__getitem__)
    with pytest.raises(IpfsFormatError, match=HAMT_SUBSHARD_00):
        list_directory(root, partial.__getitem__)


def test_a_lying_source_is_caught() -> None:
    root, blocks = _car("single-layer-hamt-with-multi-block-files.car")
    for victim in (root, Cid.parse(HAMT_SUBSHARD_00)):
        forged = dict(blocks)
        forged[victim] = blocks[victim][:-1] + bytes([blocks[victim][-1] ^ 1])
        with pytest.raises(BlockHashError):
            resolve_path(root, ["470.txt"], forged.__getitem__)


def _mutations(block: bytes, rng: random.Random) -> list[bytes]:
    cut = rng.randrange(len(block))
    flipped = bytearray(block)
    for _ in range(rng.randint(1, 4)):
        flipped[rng.randrange(len(block))] ^= 1 << rng.randrange(8)
    spliced = block[:cut] + rng.randbytes(rng.randint(0, 8)) + block[cut + rng.randint(0, 8) :]
    return [block[:cut], bytes(flipped), spliced]


@pytest.mark.parametrize(
    "fixture",
    ["single-layer-hamt-with-multi-block-files.car", "dir-with-files.car", "symlink.car"],
)
def test_garbled_blocks_raise_only_format_errors(fixture: str) -> None:
    """A truncated or garbled directory block, even one that hashes to the CID asked for."""
    rng = random.Random(fixture)
    root, blocks = _car(fixture)
    names = [*sorted(list_directory(root, blocks.__getitem__))[:5], "nope"]
    targets = [c for c, b in blocks.items() if c.codec == DAG_PB and _is_directory_like(b)]
    for _ in range(30):
        victim = root if rng.random() < 0.4 else rng.choice(targets)  # re-keying needs the root
        for garbled in _mutations(blocks[victim], rng):
            if garbled == blocks[victim]:  # two flips of one bit
                continue
            # Served under the old CID: the hash check must stop it.
            lying = {**blocks, victim: garbled}
            _expect_only_format_errors(root, names, lying.__getitem__, must_fail=victim == root)
            # Re-keyed as a new root: the parser must reject it cleanly or read it.
            if victim == root:
                new_root = block_cid(DAG_PB, garbled)
                rekeyed = {**blocks, new_root: garbled}
                _expect_only_format_errors(new_root, names, rekeyed.__getitem__, must_fail=False)


def _is_directory_like(block: bytes) -> bool:
    kind = decode_unixfs(decode_node(block).data or b"").type
    return kind in (DataType.DIRECTORY, DataType.HAMT_SHARD)


def _expect_only_format_errors(
    root: Cid, names: list[str], get_block: Callable[[Cid], bytes], *, must_fail: bool
) -> None:
    try:
        list_directory(root, get_block)
        assert not must_fail, "a garbled root block was listed"
    except IpfsFormatError:
        pass
    for name in names:
        try:
            resolve_path(root, [name], get_block)
            assert not must_fail, "a garbled root block was walked"
        except IpfsFormatError:
            pass


# Hand-made hostile shards: each must be refused, never mis-read.


def _shard_block(
    links: list[PBLink], *, fanout: int = 256, hash_type: int = 0x22, bitfield: bytes | None = None
) -> bytes:
    if bitfield is None:
        width = len(f"{fanout - 1:X}")
        occupied = sum(1 << int((link.name or "")[:width], 16) for link in links)
        bitfield = occupied.to_bytes(fanout // 8, "big")
    meta = UnixFSData(DataType.HAMT_SHARD, bitfield, hash_type=hash_type, fanout=fanout)
    return encode_node(PBNode(tuple(links), encode_unixfs(meta)))


def _bucket0(name: str) -> str:
    return f"{murmur3_x64_64(name.encode()) >> 56:02X}"


FILE = block_cid(RAW, b"x")


def _store(*blocks: bytes) -> tuple[Cid, Blocks]:
    store = {block_cid(DAG_PB, block): block for block in blocks}
    return block_cid(DAG_PB, blocks[0]), store


HOSTILE_SHARDS: dict[str, Callable[[], tuple[Cid, Blocks]]] = {
    "fanout too big": lambda: _store(
        _shard_block([PBLink(FILE, "000a", 1)], fanout=2048, bitfield=b"\x01")
    ),
    "fanout not a power of two": lambda: _store(
        _shard_block([PBLink(FILE, "00a", 1)], fanout=24, bitfield=b"\x01")
    ),
    "unknown hash": lambda: _store(
        _shard_block([PBLink(FILE, _bucket0("a") + "a", 1)], hash_type=0x12)
    ),
    "lower-case prefix": lambda: _store(
        _shard_block([PBLink(FILE, "ab" + "x", 1)], bitfield=(1 << 0xAB).to_bytes(32, "big"))
    ),
    "bitfield disagrees": lambda: _store(
        _shard_block([PBLink(FILE, _bucket0("a") + "a", 1)], bitfield=b"\x01")
    ),
    "two links in a bucket": lambda: _store(
        _shard_block([PBLink(FILE, "00a", 1), PBLink(FILE, "00b", 1)])
    ),
    "unnamed link": lambda: _store(_shard_block([PBLink(FILE, None, 1)], bitfield=b"")),
    "sub-shard with another fanout": lambda: _store(
        _shard_block([PBLink(block_cid(DAG_PB, _shard_block([], fanout=16)), _bucket0("a"), 1)]),
        _shard_block([], fanout=16),
    ),
    "sub-shard that is a basic directory": lambda: _store(
        _shard_block([PBLink(block_cid(DAG_PB, b"\x0a\x02\x08\x01"), _bucket0("a"), 1)]),
        b"\x0a\x02\x08\x01",
    ),
    "sub-shard that is a raw block": lambda: _store(
        _shard_block([PBLink(FILE, _bucket0("a"), 1)]), b"x"
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_SHARDS))
def test_hostile_shards_are_refused(case: str) -> None:
    root, store = HOSTILE_SHARDS[case]()
    store[FILE] = b"x"
    with pytest.raises(IpfsFormatError) as looked_up:
        resolve_path(root, ["a"], store.__getitem__)
    with pytest.raises(IpfsFormatError) as listed:
        list_directory(root, store.__getitem__)
    assert not isinstance(looked_up.value, NoSuchEntry)
    assert not isinstance(listed.value, NoSuchEntry)


def test_listing_refuses_an_entry_in_the_wrong_bucket() -> None:
    wrong = f"{(int(_bucket0('a'), 16) + 1) % 256:02X}"
    root, store = _store(_shard_block([PBLink(FILE, wrong + "a", 1)]))
    with pytest.raises(NoSuchEntry):  # lookup hashes "a" to its real bucket: empty
        resolve_path(root, ["a"], store.__getitem__)
    with pytest.raises(IpfsFormatError, match="wrong bucket"):
        list_directory(root, store.__getitem__)


def test_a_chain_of_sub_shards_deeper_than_the_hash_is_refused() -> None:
    blocks = [_shard_block([PBLink(FILE, "00a", 1)])]
    for _ in range(8):  # 9 levels of 8 bits: more than 64
        blocks.insert(0, _shard_block([PBLink(block_cid(DAG_PB, blocks[0]), "00", 1)]))
    root, store = _store(*blocks)
    with pytest.raises(IpfsFormatError, match="deeper") as caught:
        list_directory(root, store.__getitem__)
    assert not isinstance(caught.value, NoSuchEntry)


def test_basic_directory_duplicates_take_the_first() -> None:
    first, second = block_cid(RAW, b"1"), block_cid(RAW, b"2")
    block = encode_node(
        PBNode(
            (PBLink(first, "a", 1), PBLink(second, "a", 1)),
            encode_unixfs(UnixFSData(DataType.DIRECTORY)),
        )
    )
    root, store = _store(block)
    assert resolve_path(root, ["a"], store.__getitem__) == first
    assert list_directory(root, store.__getitem__) == {"a": first}


def test_cache_skips_refetching_and_agrees() -> None:
    root, blocks = _car("single-layer-hamt-with-multi-block-files.car")
    cache = DirectoryCache(max_nodes=2)
    fetched: list[Cid] = []

    def get_block(cid: Cid) -> bytes:
        fetched.append(cid)
        return blocks[cid]

    for _ in range(3):
        assert str(resolve_path(root, ["470.txt"], get_block, cache=cache)) == MULTIBLOCK
    assert len(fetched) == 2
    for name in ("1.txt", "2.txt", "3.txt"):  # evicts the oldest: still correct
        assert resolve_path(root, [name], get_block, cache=cache) == Cid.parse(MULTIBLOCK)


# -- building ----------------------------------------------------------------------------------

# Recorded from Kubo 0.43.1 (`ipfs init --profile=test,unixfs-v1-2025`, config
# Import.UnixFSHAMTDirectorySizeThreshold = "4KiB"), MFS: files/mkdir --cid-version=1, then
# files/write --create --cid-version=1 --raw-leaves for each entry.
KUBO_BASIC_NAMES = ["@acme%2fsecret", "left-pad", "ünïcödé-包", "a b", "@types"]
KUBO_BASIC_CID = "bafybeigd7oe3ua36vs7a5ljot74l45tuar7c44ekbg2j52fdx4d3thor5a"
KUBO_HAMT_CID = "bafybeiaxvkva3m24huo7vc2juon4jtypza4pygko2xbastvepu6wzsfswq"  # pkg-0..pkg-299


def _raw_entry(content: bytes) -> tuple[Cid, int]:
    return block_cid(RAW, content), len(content)


def test_recorded_kubo_directories() -> None:
    basic = {
        name: _raw_entry(f"content {i}".encode() * (i + 1))
        for i, name in enumerate(KUBO_BASIC_NAMES)
    }
    assert str(build_directory(basic, shard_threshold=4096)[0]) == KUBO_BASIC_CID
    hamt = {f"pkg-{i}": _raw_entry(f"x{i}".encode()) for i in range(300)}
    cid, blocks = build_directory(hamt, shard_threshold=4096)
    assert str(cid) == KUBO_HAMT_CID
    assert len(blocks) > 1


def test_empty_directory() -> None:
    cid, blocks = build_directory({})
    assert str(cid) == EMPTY_DIR_V1
    assert list_directory(cid, dict(blocks).__getitem__) == {}


def test_links_are_sorted_by_utf8_bytes() -> None:
    names = ["b", "a", "é", "Z", "_", "包", "@scope", "a b", "ab", "\U0001f600", "ﬀ"]
    cid, blocks = build_directory({name: FILE for name in names}, shard_threshold=None)
    written = [link.name for link in decode_node(dict(blocks)[cid]).links]
    assert written == sorted(names, key=lambda name: name.encode("utf-8"))


def _names(rng: random.Random, count: int) -> list[str]:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-._@%~ü包"
    names: set[str] = set()
    while len(names - {".", ".."}) < count:
        names.add("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))))
    return sorted(names - {".", ".."})


@pytest.mark.parametrize("fanout", [8, 16, 256, 1024])
def test_hamt_round_trip(fanout: int) -> None:
    rng = random.Random(fanout)
    entries = {name: _raw_entry(name.encode()) for name in _names(rng, 700)}
    cid, blocks = build_directory(entries, shard_threshold=0, fanout=fanout)
    store = dict(blocks)
    assert _is_shard(store[cid])
    assert len(store) == len(blocks)  # every shard block once
    assert list_entries(cid, store.__getitem__) == {
        name: _dir_entry(value) for name, value in entries.items()
    }
    cache = DirectoryCache()
    for name, (entry, _) in entries.items():
        assert resolve_path(cid, [name], store.__getitem__, cache=cache) == entry
    with pytest.raises(NoSuchEntry):
        resolve_path(cid, ["not-there"], store.__getitem__)


def _dir_entry(value: tuple[Cid, int]) -> DirEntry:
    return DirEntry(*value)


def test_tsizes_add_up() -> None:
    entries = {f"n{i}": _raw_entry(bytes(i)) for i in range(400)}
    cid, blocks = build_directory(entries, shard_threshold=0)
    store = dict(blocks)
    total = sum(len(block) for block in store.values()) + sum(size for _, size in entries.values())
    assert cumulative_size(cid, store[cid]) == total
    basic, basic_blocks = build_directory(entries, shard_threshold=None)
    assert cumulative_size(basic, basic_blocks[0][1]) == len(basic_blocks[0][1]) + sum(
        size for _, size in entries.values()
    )


def test_threshold_is_strictly_greater_than_the_block_size() -> None:
    entries: dict[str, Cid | tuple[Cid, int]] = {
        f"entry-{i}": _raw_entry(b"x" * i) for i in range(30)
    }
    size = len(build_directory(entries, shard_threshold=None)[1][0][1])
    assert len(build_directory(entries, shard_threshold=size)[1]) == 1  # at the threshold: basic
    assert _is_shard(build_directory(entries, shard_threshold=size - 1)[1][0][1])
    # "links" counts only names and CIDs: 30 * (len("entry-N") + 36) bytes, far below the block.
    links_estimate = sum(len(name) + 36 for name in entries)
    assert len(build_directory(entries, shard_threshold=links_estimate, estimation="links")[1]) == 1
    assert (
        len(build_directory(entries, shard_threshold=links_estimate - 1, estimation="links")[1]) > 1
    )


def test_bare_cids_get_links_without_tsize() -> None:
    cid, blocks = build_directory({"a": FILE, "b": (FILE, 1)})
    links = decode_node(blocks[0][1]).links
    assert [(link.name, link.tsize) for link in links] == [("a", None), ("b", 1)]
    assert list_directory(cid, dict(blocks).__getitem__) == {"a": FILE, "b": FILE}


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "/"])
def test_invalid_entry_names(name: str) -> None:
    with pytest.raises(ValueError, match="entry name"):
        build_directory({name: FILE})


@pytest.mark.parametrize("fanout", [0, 4, 12, 2048])
def test_invalid_fanout(fanout: int) -> None:
    with pytest.raises(ValueError, match="fanout"):
        build_directory({"a": FILE}, fanout=fanout)
