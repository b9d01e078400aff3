"""CAR files: the gateway-conformance fixtures, verification on read, v2 wrapping, writing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ipnpm.ipfs import IpfsFormatError, dagcbor
from ipnpm.ipfs.car import CarReader, read_car, write_car
from ipnpm.ipfs.cid import DAG_PB, Cid
from ipnpm.ipfs.dagpb import decode_node
from ipnpm.ipfs.unixfs import build_file_dag, reassemble
from ipnpm.ipfs.varint import encode_varint

FIXTURES = Path("/work/shared/fixtures/ipfs/car")
ALL_FIXTURES = sorted(FIXTURES.glob("*.car"))
MISSING_BLOCK = FIXTURES / "file-3k-and-3-blocks-missing-block.car"


def _child(blocks: dict[Cid, bytes], directory: Cid, name: str) -> Cid:
    links = decode_node(blocks[directory]).links
    return next(link.hash for link in links if link.name == name)


def test_fixtures_are_present() -> None:
    assert len(ALL_FIXTURES) == 9


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda path: path.stem)
def test_every_fixture_reads_and_round_trips(path: Path) -> None:
    raw = path.read_bytes()
    roots, blocks = read_car(raw)
    assert len(roots) == 1
    # Our writer reproduces the file byte for byte: same header encoding, same sections.
    assert write_car(roots, blocks.items()) == raw


def test_multi_block_file_in_a_directory() -> None:
    roots, blocks = read_car((FIXTURES / "dir-with-files.car").read_bytes())
    hello = _child(blocks, roots[0], "hello.txt")
    assert b"".join(reassemble(hello, blocks.__getitem__)) == b"hello world\n"
    multiblock = _child(blocks, roots[0], "multiblock.txt")
    assert multiblock.codec == DAG_PB
    text = b"".join(reassemble(multiblock, blocks.__getitem__))
    assert len(text) == 1026
    assert text.startswith(b"Lorem ipsum dolor sit amet")


def test_cidv0_file_with_inline_data() -> None:
    roots, blocks = read_car((FIXTURES / "symlink.car").read_bytes())
    assert roots[0].version == 0
    foo = _child(blocks, roots[0], "foo")
    assert b"".join(reassemble(foo, blocks.__getitem__)) == b"content\n"


def test_missing_block_fixture_never_yields_the_whole_file() -> None:
    roots, blocks = read_car(MISSING_BLOCK.read_bytes())
    with pytest.raises(IpfsFormatError, match="is missing"):
        b"".join(reassemble(roots[0], blocks.__getitem__))


def test_a_corrupt_block_fails_while_reading() -> None:
    raw = bytearray((FIXTURES / "dir-with-files.car").read_bytes())
    raw[-1] ^= 0xFF  # last byte of the last block
    reader = CarReader(io.BytesIO(bytes(raw)))
    with pytest.raises(IpfsFormatError, match="does not match its hash"):
        list(reader)


@pytest.mark.parametrize("cut", [1, 5, 60, -1])
def test_truncated_car_fails(cut: int) -> None:
    raw = (FIXTURES / "dir-with-files.car").read_bytes()
    with pytest.raises(IpfsFormatError):
        read_car(raw[:cut])


def _carv2(inner: bytes, padding: int = 7) -> bytes:
    pragma = bytes.fromhex("0aa16776657273696f6e02")
    header = bytes(16) + (51 + padding).to_bytes(8, "little") + len(inner).to_bytes(8, "little")
    return pragma + header + bytes(8) + bytes(padding) + inner + b"index bytes ignored"


def test_carv2_wraps_a_carv1() -> None:
    root, blocks = build_file_dag(b"a" * 3000 + b"b" * 10, chunk_size=1000)
    v1 = write_car([root], blocks)
    roots, read = read_car(_carv2(v1))
    assert roots == [root]
    assert read == dict(blocks)


def test_write_car_header_is_canonical_dag_cbor() -> None:
    root, blocks = build_file_dag(b"tarball")
    car = write_car([root], blocks)
    header_len = car[0]
    assert dagcbor.decode(car[1 : 1 + header_len]) == {"roots": [root], "version": 1}
    assert car[1:8] == bytes.fromhex("a265726f6f7473")  # map(2), "roots" (shorter key first)
    section = car[1 + header_len :]
    assert section[: len(encode_varint(36 + 7))] == encode_varint(36 + 7)


def test_unsupported_version_is_refused() -> None:
    header = dagcbor.encode({"roots": [], "version": 3})
    with pytest.raises(IpfsFormatError, match="version"):
        read_car(encode_varint(len(header)) + header)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        23,
        24,
        2**64 - 1,
        -1,
        -(2**64),
        1.5,
        b"",
        b"\x00",
        "",
        "é",
        [],
        [1, [2]],
        {"a": 1, "bb": {"c": None}},
    ],
)
def test_dagcbor_round_trip(value: dagcbor.CborValue) -> None:
    assert dagcbor.decode(dagcbor.encode(value)) == value


@pytest.mark.parametrize(
    "raw",
    ["", "1f", "5f", "c001", "a1 01 01", "a2 6161 01 6161 02", "d82a 41 01", "f7", "00 00"],
)
def test_dagcbor_refuses_what_dag_cbor_forbids(raw: str) -> None:
    with pytest.raises(IpfsFormatError):
        dagcbor.decode(bytes.fromhex(raw))
