"""UnixFS files: Kubo's CIDs without Kubo (vectors recorded from Kubo 0.43.1), and reassembly."""

from __future__ import annotations

import hashlib
import random

import pytest

from ipnpm.ipfs import IpfsFormatError
from ipnpm.ipfs.cid import DAG_PB, RAW, Cid, block_cid, identity_cid
from ipnpm.ipfs.dagpb import PBLink, PBNode, decode_node, encode_node
from ipnpm.ipfs.unixfs import FileCidHasher, build_file_dag, file_cid, reassemble
from ipnpm.ipfs.unixfs_data import DataType, UnixFSData, encode_unixfs

MIB = 1024 * 1024
# bytes(range(256)) * 4100 = 1 MiB + 1 KiB. Recorded with Kubo 0.43.1,
# `ipfs init --profile=test,unixfs-v1-2025` then `ipfs add --only-hash -Q [--chunker=size-1024]`.
PATTERN = bytes(range(256)) * 4100
PATTERN_CID = "bafybeiekkzawgc5a7twqkmiaacqr77cx3ya4apsrdebauoaj7lvwfpzt4a"  # 2 leaves
# With 1 KiB chunks: 1025 leaves, so two levels under 1024 links per node.
PATTERN_CID_1K = "bafybeiaa6u6qftlwjzhy7xnfinq7dxnmoehrl6but3arotx2k54bfyqkxa"
# random.Random(n).randbytes(n) for n = 2 MiB + 5 and n = 1.
RANDOM_2MIB_5 = "bafybeicjjyiw3ocr4l72sa2db2widepbs4bkxix4meb3mwyvha6dttt6qe"
RANDOM_1 = "bafkreiekgmp53zydf4z2ohq3fysx3aawny2i4ah4wf4rj5el3nl2drrqa4"


def _random(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def test_recorded_kubo_vectors() -> None:
    assert str(file_cid(PATTERN)) == PATTERN_CID
    assert str(file_cid(_random(2 * MIB + 5))) == RANDOM_2MIB_5
    assert str(file_cid(_random(1))) == RANDOM_1
    hasher = FileCidHasher(chunk_size=1024)
    hasher.update(PATTERN)
    assert str(hasher.cid()) == PATTERN_CID_1K


@pytest.mark.parametrize("size", [0, 1, 64 * 1024, MIB - 1, MIB])
def test_one_chunk_is_one_raw_block(size: int) -> None:
    data = _random(size)
    assert file_cid(data) == block_cid(RAW, data)
    assert file_cid(data).digest == hashlib.sha256(data).digest()


def test_streaming_in_odd_pieces_equals_one_shot() -> None:
    data = _random(3 * 1000 + 17)
    pieces = [data[start : start + 333] for start in range(0, len(data), 333)]
    hasher = FileCidHasher(chunk_size=1000, max_links=3)
    for piece in pieces:
        hasher.update(piece)
    assert hasher.size == len(data)
    expected = FileCidHasher(chunk_size=1000, max_links=3)
    expected.update(memoryview(data))
    assert hasher.cid() == expected.cid() == build_file_dag(data, chunk_size=1000, max_links=3)[0]
    assert build_file_dag(data, chunk_size=1000) == build_file_dag(pieces, chunk_size=1000)


def test_cid_can_be_asked_midway() -> None:
    hasher = FileCidHasher(chunk_size=4)
    hasher.update(b"abcdef")
    assert hasher.cid() == build_file_dag(b"abcdef", chunk_size=4)[0]
    hasher.update(b"gh")
    assert hasher.cid() == build_file_dag(b"abcdefgh", chunk_size=4)[0]


def test_balanced_tree_shape() -> None:
    # 10 chunks, 3 links per node: 4 parents (3+3+3+1), then 2 (3+1), then the root (2).
    root, blocks = build_file_dag(bytes(range(10)), chunk_size=1, max_links=3)
    by_cid = dict(blocks)
    assert blocks[0][0] == root
    assert len(decode_node(by_cid[root]).links) == 2
    left, right = (link.hash for link in decode_node(by_cid[root]).links)
    assert len(decode_node(by_cid[left]).links) == 3
    assert len(decode_node(by_cid[right]).links) == 1  # a one-child chain keeps depths equal
    assert sum(cid.codec == RAW for cid, _ in blocks) == 10


def test_tsize_counts_the_encoded_subtree() -> None:
    root, blocks = build_file_dag(_random(5), chunk_size=2, max_links=2)
    by_cid = dict(blocks)
    node = decode_node(by_cid[root])
    for link in node.links:
        subtree = [link.hash] + [child.hash for child in decode_node(by_cid[link.hash]).links]
        assert link.tsize == sum(len(by_cid[cid]) for cid in subtree)
        assert link.name == ""


def test_repeated_chunks_are_one_block() -> None:
    root, blocks = build_file_dag(bytes(10 * 1024), chunk_size=1024)
    assert [cid.codec for cid, _ in blocks] == [DAG_PB, RAW]
    assert b"".join(reassemble(root, dict(blocks).__getitem__)) == bytes(10 * 1024)


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 4 * 1024 * 3 + 5])
def test_build_then_reassemble_round_trips(size: int) -> None:
    data = _random(size)
    root, blocks = build_file_dag([data[:7], data[7:]], chunk_size=1024, max_links=4)
    hasher = FileCidHasher(chunk_size=1024, max_links=4)
    hasher.update(data)
    assert root == hasher.cid()
    assert b"".join(reassemble(root, dict(blocks).__getitem__)) == data


def test_a_missing_block_fails() -> None:
    root, blocks = build_file_dag(_random(3000), chunk_size=1000)
    store = dict(blocks)
    del store[blocks[2][0]]
    with pytest.raises(IpfsFormatError, match="missing"):
        b"".join(reassemble(root, store.__getitem__))


def test_a_corrupt_block_fails() -> None:
    root, blocks = build_file_dag(_random(3000), chunk_size=1000)
    store = dict(blocks)
    leaf = blocks[1][0]
    store[leaf] = b"x" + store[leaf][1:]
    with pytest.raises(IpfsFormatError, match="does not match"):
        b"".join(reassemble(root, store.__getitem__))


def _node_cid(store: dict[Cid, bytes], links: list[PBLink], meta: UnixFSData) -> Cid:
    block = encode_node(PBNode(tuple(links), encode_unixfs(meta)))
    cid = block_cid(DAG_PB, block)
    store[cid] = block
    return cid


def test_inline_data_and_identity_leaves_are_read() -> None:
    store: dict[Cid, bytes] = {}
    leaf = identity_cid(RAW, b"world")  # never asked of get_block
    meta = UnixFSData(DataType.FILE, b"hello ", 11, (5,))
    root = _node_cid(store, [PBLink(leaf, "", 5)], meta)
    assert b"".join(reassemble(root, store.__getitem__)) == b"hello world"


@pytest.mark.parametrize(
    ("meta", "name", "message"),
    [
        (UnixFSData(DataType.FILE, None, 3, (3, 1)), "", "links but"),
        (UnixFSData(DataType.FILE, None, 3, (4,)), "", "its parent says"),
        (UnixFSData(DataType.FILE, None, 9, (3,)), "", "claims filesize"),
        (UnixFSData(DataType.FILE, None, 3, (3,)), "a.txt", "named link"),
        (UnixFSData(DataType.DIRECTORY), "a.txt", "not a file"),
    ],
)
def test_inconsistent_file_nodes_fail(meta: UnixFSData, name: str, message: str) -> None:
    store: dict[Cid, bytes] = {}
    leaf = block_cid(RAW, b"abc")
    store[leaf] = b"abc"
    root = _node_cid(store, [PBLink(leaf, name, 3)], meta)
    with pytest.raises(IpfsFormatError, match=message):
        b"".join(reassemble(root, store.__getitem__))


def test_unknown_codec_is_not_a_file() -> None:
    cid = block_cid(0x71, b"\xa0")  # an empty dag-cbor map
    with pytest.raises(IpfsFormatError, match="neither raw nor dag-pb"):
        list(reassemble(cid, {cid: b"\xa0"}.__getitem__))
