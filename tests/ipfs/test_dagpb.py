"""dag-pb nodes and UnixFS Data: byte-exact encoding (CIDs depend on it) and strict decoding."""

from __future__ import annotations

import pytest

from ipnpm.ipfs import IpfsFormatError
from ipnpm.ipfs.cid import RAW, block_cid
from ipnpm.ipfs.dagpb import PBLink, PBNode, decode_node, encode_node
from ipnpm.ipfs.protobuf import bytes_field, varint_field
from ipnpm.ipfs.unixfs_data import DataType, UnixFSData, decode_unixfs, encode_unixfs

LEAF = block_cid(RAW, b"leaf")

# The root block Kubo 0.43.1 wrote for a 1 MiB + 1 byte file (`ipfs block get`), rebuilt
# from its parts: two links with an *empty* Name, Tsize, then Data
# {Type: File, filesize: 1048577, blocksizes: [1048576, 1]}.
KUBO_LINK_TAIL = bytes.fromhex("1200 18808040")  # Name "", Tsize 1048576
KUBO_DATA = bytes.fromhex("0802 18818040 20808040 2001")


def test_links_are_written_before_data() -> None:
    node = PBNode((PBLink(LEAF, "", 4),), b"\x08\x02")
    raw = encode_node(node)
    assert raw[0] == 0x12  # field 2 (Links), length-delimited
    assert raw.endswith(b"\x0a\x02\x08\x02")  # field 1 (Data) last
    assert decode_node(raw) == node


def test_empty_name_is_written_as_kubo_does() -> None:
    link = encode_node(PBNode((PBLink(LEAF, "", 1048576),)))
    assert link.endswith(bytes_field(1, LEAF.bytes) + KUBO_LINK_TAIL)


def test_absent_name_and_tsize_are_omitted() -> None:
    raw = encode_node(PBNode((PBLink(LEAF),)))
    assert raw == bytes_field(2, bytes_field(1, LEAF.bytes))
    assert decode_node(raw).links[0] == PBLink(LEAF, None, None)


def test_data_first_order_is_read_too() -> None:
    # Kubo can write Data first (Import.UnixFSPBNodeFieldOrder=data-first) and reads both.
    link = bytes_field(1, LEAF.bytes)
    raw = bytes_field(1, b"data") + bytes_field(2, link)
    assert decode_node(raw) == PBNode((PBLink(LEAF),), b"data")


@pytest.mark.parametrize(
    "raw",
    [
        bytes_field(1, b"a") + bytes_field(1, b"b"),  # Data twice
        varint_field(3, 1),  # unknown field
        bytes_field(2, bytes_field(2, b"name")),  # link without Hash
        bytes_field(2, bytes_field(2, b"n") + bytes_field(1, LEAF.bytes)),  # link fields reordered
        bytes_field(2, bytes_field(1, LEAF.bytes + b"x")),  # trailing bytes after the CID
        bytes_field(2, bytes_field(1, LEAF.bytes) + bytes_field(2, b"\xff")),  # name not UTF-8
        b"\x0a\x05ab",  # Data overruns the node
        b"\x0d\x00\x00\x00\x00",  # fixed32 wire type
    ],
)
def test_malformed_nodes_are_refused(raw: bytes) -> None:
    with pytest.raises(IpfsFormatError):
        decode_node(raw)


def test_unixfs_file_data_matches_kubo_bytes() -> None:
    meta = UnixFSData(DataType.FILE, filesize=1048577, blocksizes=(1048576, 1))
    assert encode_unixfs(meta) == KUBO_DATA
    assert decode_unixfs(KUBO_DATA) == meta


def test_unixfs_round_trip_with_every_field() -> None:
    meta = UnixFSData(DataType.HAMT_SHARD, b"\xff", 3, (1, 2), 0x22, 256)
    assert decode_unixfs(encode_unixfs(meta)) == meta


def test_packed_blocksizes_are_accepted() -> None:
    packed = varint_field(1, DataType.FILE) + bytes_field(4, bytes([1, 0x80, 0x01]))
    assert decode_unixfs(packed).blocksizes == (1, 128)


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # no Type
        varint_field(1, 9),  # unknown Type
        varint_field(1, 2) + varint_field(3, 1) + varint_field(3, 2),  # filesize twice
        varint_field(1, 2) + bytes_field(3, b"x"),  # filesize as bytes
        varint_field(1, 2) + varint_field(9, 1),  # unknown field
    ],
)
def test_malformed_unixfs_data_is_refused(raw: bytes) -> None:
    with pytest.raises(IpfsFormatError):
        decode_unixfs(raw)
