"""CIDs: parsing every text form we meet, binary round trips, verification."""

from __future__ import annotations

import hashlib

import pytest

from ipnpm.ipfs import IpfsFormatError
from ipnpm.ipfs.cid import (
    DAG_PB,
    IDENTITY,
    LIBP2P_KEY,
    RAW,
    SHA2_256,
    Cid,
    block_cid,
    identity_cid,
    raw_cid_from_sha256,
)
from ipnpm.ipfs.varint import decode_varint, encode_varint

EMPTY_RAW = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"  # sha256(b"")
# The same digest as dag-pb, in both versions (the CID conversion example of the IPFS docs).
V0 = "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"
V0_AS_V1 = "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
IPNS_NAME = "k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w"  # from the fixtures


def test_raw_cid_of_empty_file_is_sha256_of_nothing() -> None:
    cid = raw_cid_from_sha256(hashlib.sha256(b"").digest())
    assert str(cid) == EMPTY_RAW
    assert cid == Cid.parse(EMPTY_RAW) == block_cid(RAW, b"")
    assert (cid.version, cid.codec, cid.hash_code) == (1, RAW, SHA2_256)
    assert cid.digest == hashlib.sha256(b"").digest()


def test_cidv0_stays_base58_and_converts_to_v1() -> None:
    cid = Cid.parse(V0)
    assert (cid.version, cid.codec) == (0, DAG_PB)
    assert str(cid) == V0
    assert cid.bytes == cid.multihash
    assert len(cid.bytes) == 34
    assert str(cid.to_v1()) == V0_AS_V1
    assert cid.to_v1().digest == cid.digest


@pytest.mark.parametrize("base", ["b", "z", "k"])
def test_every_multibase_round_trips(base: str) -> None:
    cid = Cid.parse(V0_AS_V1)
    text = cid.encode(base)  # type: ignore[arg-type]
    assert text[0] == base
    assert Cid.parse(text) == cid


def test_upper_case_base32_parses() -> None:
    assert Cid.parse("B" + V0_AS_V1[1:].upper()) == Cid.parse(V0_AS_V1)


def test_ipns_name_is_an_identity_libp2p_key() -> None:
    cid = Cid.parse(IPNS_NAME)
    assert (cid.codec, cid.hash_code) == (LIBP2P_KEY, IDENTITY)
    assert cid.encode("k") == IPNS_NAME
    assert len(cid.digest) == 36  # protobuf PublicKey{Type: Ed25519, Data: 32 bytes}


def test_identity_cid_carries_its_content() -> None:
    empty = Cid.parse("bafkqaaa")  # the gateway probe CID
    assert empty == identity_cid(RAW, b"")
    assert empty.bytes == bytes.fromhex("01550000")
    assert empty.verify(b"")
    assert not empty.verify(b"x")
    hello = identity_cid(RAW, b"hello")
    assert Cid.parse(str(hello)).digest == b"hello"


def test_from_bytes_reports_consumed_length() -> None:
    v1, v0 = Cid.parse(EMPTY_RAW), Cid.parse(V0)
    buf = b"junk" + v1.bytes + v0.bytes + b"tail"
    first, used1 = Cid.from_bytes(buf, 4)
    second, used0 = Cid.from_bytes(buf, 4 + used1)
    assert (first, used1, second, used0) == (v1, 36, v0, 34)


def test_verify_checks_the_sha256() -> None:
    cid = block_cid(RAW, b"tarball bytes")
    assert cid.verify(b"tarball bytes")
    assert cid.verify(memoryview(b"tarball bytes"))
    assert not cid.verify(b"tarball bytez")


def test_cids_are_hashable_values() -> None:
    same = {Cid.parse(EMPTY_RAW), Cid.parse(EMPTY_RAW.upper()), Cid.parse(EMPTY_RAW).to_v1()}
    assert same == {Cid.parse(EMPTY_RAW)}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bafkrei",  # truncated multihash
        "x" + EMPTY_RAW[1:],  # unknown multibase
        "b!!!!",  # not base32
        "zIl0",  # not base58
        "Qm" + "0" * 44,  # base58 has no 0
        "bafkqaaab",  # trailing bytes
    ],
)
def test_malformed_text_is_refused(text: str) -> None:
    with pytest.raises(IpfsFormatError):
        Cid.parse(text)


def test_cidv0_must_be_dag_pb_sha256() -> None:
    with pytest.raises(IpfsFormatError):
        Cid(0, RAW, Cid.parse(V0).multihash)
    with pytest.raises(IpfsFormatError):
        Cid(2, RAW, Cid.parse(V0).multihash)


def test_short_sha256_digest_is_refused() -> None:
    with pytest.raises(IpfsFormatError):
        Cid(1, RAW, bytes((SHA2_256, 31)) + b"\0" * 31)


def test_unsupported_hash_cannot_be_verified() -> None:
    blake3 = Cid(1, RAW, encode_varint(0x1E) + bytes((32,)) + b"\0" * 32)
    with pytest.raises(IpfsFormatError, match="unsupported multihash"):
        blake3.verify(b"")


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32, 2**63, 2**64 - 1])
def test_varint_round_trip(value: int) -> None:
    raw = encode_varint(value)
    assert decode_varint(raw + b"\xff") == (value, len(raw))


@pytest.mark.parametrize("raw", [b"", b"\x80", b"\x80\x00", b"\xff" * 10 + b"\x01"])
def test_bad_varints_are_refused(raw: bytes) -> None:
    with pytest.raises(IpfsFormatError):
        decode_varint(raw)
