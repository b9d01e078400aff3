"""IPNS records: the spec's six test vectors, our own records, every refusal and its message."""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnpm.ipfs import dagcbor
from ipnpm.ipfs.cid import LIBP2P_KEY, RAW, SHA2_256, Cid, identity_cid
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.ipns import (
    MAX_RECORD_SIZE,
    IpnsError,
    IpnsExpiredError,
    IpnsKeyError,
    IpnsMismatchError,
    IpnsNameError,
    IpnsRecord,
    IpnsRollbackError,
    IpnsSignatureError,
    IpnsTooLargeError,
    SequenceGuard,
    create_record,
    name_for_key,
    verify_record,
)
from ipnpm.ipfs.ipns_name import marshal_public_key, parse_name
from ipnpm.ipfs.multibase import b58_encode
from ipnpm.ipfs.protobuf import bytes_field, iter_fields, varint_field

FIXTURES = Path("/work/shared/fixtures/ipfs/ipns")
# The vectors were made in 2023 and run to 2123: a fixed "now" keeps expiry out of every verdict.
NOW = datetime(2024, 1, 1, tzinfo=UTC)
LATER = NOW + timedelta(hours=48)
TTL = 300 * 10**9  # 5 minutes, Kubo's default


def _fixture(case: str) -> tuple[str, bytes]:
    (path,) = FIXTURES.glob(f"*_{case}.ipns-record")
    return path.name.split("_")[0], path.read_bytes()


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"ipns-test-%d" % seed).digest())


KEY, OTHER_KEY = _key(1), _key(2)
NAME = name_for_key(KEY.public_key())


def _record(*, sequence: int = 7, validity: datetime = LATER, v1_compat: bool = True) -> bytes:
    return create_record(
        KEY, "/ipfs/bafkqaaa", sequence=sequence, validity=validity, ttl_ns=TTL, v1_compat=v1_compat
    )


def _data(**overrides: dagcbor.CborValue) -> dict[str, dagcbor.CborValue]:
    base: dict[str, dagcbor.CborValue] = {
        "Value": b"/ipfs/bafkqaaa",
        "Validity": b"2024-01-03T00:00:00Z",
        "ValidityType": 0,
        "Sequence": 7,
        "TTL": TTL,
    }
    return base | overrides


def _signed(
    data: bytes | dict[str, dagcbor.CborValue],
    *,
    v1: Sequence[tuple[int, int | bytes]] = (),
    key: Ed25519PrivateKey = KEY,
    extra: bytes = b"",
) -> bytes:
    """A hand-made IpnsEntry: optional V1 fields, then a valid signatureV2 over `data`."""
    blob = data if isinstance(data, bytes) else dagcbor.encode(data)
    fields = b"".join(
        varint_field(n, v) if isinstance(v, int) else bytes_field(n, v) for n, v in v1
    )
    signature = key.sign(b"ipns-signature:" + blob)
    return fields + extra + bytes_field(8, signature) + bytes_field(9, blob)


# -- the spec's test vectors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "value"),
    [
        ("v1-v2", "/ipfs/bafkqaddwgevxmmraojswg33smq"),
        (
            "v1-v2-broken-signature-v1",
            "/ipfs/bafkqahtwgevxmmrao5uxi2bamjzg623fnyqhg2lhnzqxi5lsmuqhmmi",
        ),
        ("v2", "/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi"),
    ],
)
def test_valid_vectors(case: str, value: str) -> None:
    name, raw = _fixture(case)
    record = verify_record(name, raw, now=NOW)
    assert (record.name, record.value, record.sequence, record.raw) == (name, value, 0, raw)
    assert record.validity == datetime(2123, 8, 14, 12, 17, 3, 694052, tzinfo=UTC)
    assert record.ttl_ns == 1_800_000_000_000
    assert record.ttl == timedelta(minutes=30)
    assert record.value_cid() == Cid.parse(value.removeprefix("/ipfs/"))


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("v1", IpnsSignatureError, "has no signatureV2 (V1-only records are refused)"),
        ("v1-v2-broken-v1-value", IpnsMismatchError, "the legacy V1 value '/ipfs/bafkqagl"),
        ("v1-v2-broken-signature-v2", IpnsSignatureError, "signatureV2 does not verify"),
    ],
)
def test_invalid_vectors(case: str, error: type[IpnsError], message: str) -> None:
    name, raw = _fixture(case)
    with pytest.raises(error, match=r"^IPNS record for k51") as info:
        verify_record(name, raw, now=NOW)
    assert message in str(info.value)
    assert name in str(info.value)
    assert isinstance(info.value, IpfsFormatError)


def test_vectors_are_valid_today_without_a_now() -> None:
    name, raw = _fixture("v2")
    assert verify_record(name, raw).sequence == 0


def test_name_forms_are_equivalent() -> None:
    name, raw = _fixture("v1-v2")
    cid = Cid.parse(name)
    legacy = b58_encode(cid.multihash)  # the `12D3KooW…` peer ID form
    assert legacy.startswith("12D3KooW")
    for form in (name, cid, f"/ipns/{name}", legacy, name.upper(), cid.encode("b")):
        assert verify_record(form, raw, now=NOW).name == name


@pytest.mark.parametrize(
    "bad",
    [
        "bafkqaaa",  # a raw CID, not libp2p-key
        "k51-not-base36",
        "",
        "example.com",  # DNSLink names are not record names
    ],
)
def test_not_a_name(bad: str) -> None:
    _, raw = _fixture("v2")
    with pytest.raises(IpnsNameError, match="is not an IPNS name"):
        verify_record(bad, raw, now=NOW)


def test_record_checked_against_the_wrong_name() -> None:
    _, raw = _fixture("v1-v2")
    other, _ = _fixture("v2")
    with pytest.raises(IpnsSignatureError, match=f"{other}: signatureV2 does not verify"):
        verify_record(other, raw, now=NOW)


# -- our own records -----------------------------------------------------------------------------


def test_name_for_key_is_the_k51_cid_of_the_inlined_key() -> None:
    cid = Cid.parse(NAME)
    assert NAME.startswith("k51qzi5uqu5d")
    assert (cid.version, cid.codec) == (1, LIBP2P_KEY)
    assert cid.digest == marshal_public_key(KEY.public_key())
    assert cid.digest[:4] == bytes.fromhex("08011220")


@pytest.mark.parametrize("v1_compat", [True, False])
def test_create_then_verify(v1_compat: bool) -> None:
    validity = datetime(2024, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)
    raw = _record(v1_compat=v1_compat, validity=validity, sequence=2**40)
    record = verify_record(NAME, raw, now=NOW)
    assert record == IpnsRecord(NAME, "/ipfs/bafkqaaa", 2**40, validity, TTL, raw)
    assert record.value_cid() == identity_cid(RAW, b"")
    fields = dict(iter_fields(raw))
    data = dagcbor.decode(fields[9])  # type: ignore[arg-type]
    assert data == _data(Sequence=2**40, Validity=b"2024-01-02T03:04:05.6789Z")
    assert (1 in fields and 2 in fields) is v1_compat
    if v1_compat:
        # The legacy signature is genuine: legacy readers verify value + validity + "EOL".
        KEY.public_key().verify(fields[2], fields[1] + fields[4] + b"EOL")  # type: ignore[operator, arg-type]


def test_create_uses_go_validity_format() -> None:
    eastern = datetime(2024, 1, 2, 5, 0, tzinfo=timezone(timedelta(hours=5)))
    raw = _record(validity=eastern)
    assert b"2024-01-02T00:00:00Z" in raw  # UTC, no fraction when it is zero
    assert verify_record(NAME, raw, now=NOW).validity == eastern
    with pytest.raises(ValueError, match="timezone-aware"):
        _record(validity=datetime(2030, 1, 1))


def test_value_cid_is_none_for_other_paths() -> None:
    for value in (
        "/ipns/k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w",
        "/ipfs/bafkqaaa/x",
    ):
        raw = create_record(KEY, value, sequence=0, validity=LATER, ttl_ns=0)
        assert verify_record(NAME, raw, now=NOW).value_cid() is None
    raw = create_record(KEY, "/ipfs/not-a-cid", sequence=0, validity=LATER, ttl_ns=0)
    with pytest.raises(IpnsError, match="points at a bad CID"):
        verify_record(NAME, raw, now=NOW).value_cid()


def test_extra_data_keys_are_ignored() -> None:
    raw = _signed(_data(_ipnpm={"index": b"v2"}))
    assert verify_record(NAME, raw, now=NOW).sequence == 7


# -- refusals ------------------------------------------------------------------------------------


def test_expired() -> None:
    raw = _record(validity=NOW - timedelta(seconds=1))
    with pytest.raises(
        IpnsExpiredError, match=rf"^IPNS record for {NAME} expired at 2023-12-31T23"
    ):
        verify_record(NAME, raw, now=NOW)
    with pytest.raises(IpnsExpiredError):  # the end of life itself is already too late
        verify_record(NAME, _record(validity=NOW), now=NOW)
    assert verify_record(NAME, _record(validity=NOW), now=NOW - timedelta(microseconds=1))


def test_expired_by_default_clock() -> None:
    raw = _record(validity=datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(IpnsExpiredError, match="expired at"):
        verify_record(NAME, raw)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_record(NAME, _record(), now=datetime(2024, 1, 1))


def test_signed_by_another_key() -> None:
    raw = create_record(OTHER_KEY, "/ipfs/bafkqaaa", sequence=1, validity=LATER, ttl_ns=TTL)
    assert verify_record(name_for_key(OTHER_KEY.public_key()), raw, now=NOW)
    with pytest.raises(IpnsSignatureError, match="does not verify with the key of that name"):
        verify_record(NAME, raw, now=NOW)


def test_tampered_data_breaks_signature() -> None:
    fields = dict(iter_fields(_record(v1_compat=False)))
    data = fields[9].replace(b"Sequence\x07", b"Sequence\x08")  # type: ignore[union-attr]
    raw = bytes_field(8, fields[8]) + bytes_field(9, data)  # type: ignore[arg-type]
    with pytest.raises(IpnsSignatureError, match="does not verify"):
        verify_record(NAME, raw, now=NOW)


def test_size_limit() -> None:
    good = _record()
    # Pad with an unknown protobuf field (readers skip it) to exactly the limit, then one more.
    pad = MAX_RECORD_SIZE - len(good) - 3  # field tag: 1 byte, length: 2
    padded = good + bytes_field(15, b"x" * pad)
    assert len(padded) == MAX_RECORD_SIZE
    assert verify_record(NAME, padded, now=NOW).sequence == 7
    too_big = good + bytes_field(15, b"x" * (pad + 1))
    with pytest.raises(IpnsTooLargeError, match=f"has {MAX_RECORD_SIZE + 1} bytes, over the"):
        verify_record(NAME, too_big, now=NOW)


def test_create_refuses_oversized_value() -> None:
    with pytest.raises(IpnsTooLargeError, match="over 10240"):
        create_record(KEY, "/ipfs/" + "a" * 6000, sequence=0, validity=LATER, ttl_ns=0)


def test_v1_only_is_refused_even_with_a_good_v1_signature() -> None:
    v1_only = b"".join(
        bytes_field(n, v) if isinstance(v, bytes) else varint_field(n, v)
        for n, v in iter_fields(_record())
        if n not in (8, 9)
    )
    with pytest.raises(IpnsSignatureError, match="no signatureV2"):
        verify_record(NAME, v1_only, now=NOW)


def _v1_fields(**overrides: int | bytes) -> list[tuple[int, int | bytes]]:
    values: dict[str, int | bytes] = {
        "value": b"/ipfs/bafkqaaa",
        "sig": b"\0" * 64,  # never checked: only its presence matters
        "validity_type": 0,
        "validity": b"2024-01-03T00:00:00Z",
        "sequence": 7,
        "ttl": TTL,
    }
    values.update(overrides)
    return list(enumerate(values.values(), start=1))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"value": b"/ipfs/bafkqaaaa"}, "legacy V1 value '/ipfs/bafkqaaaa' differs"),
        ({"validity": b"2124-01-03T00:00:00Z"}, "legacy V1 validity '2124-01-03T00:00:00Z'"),
        ({"validity_type": 1}, "legacy V1 validitytype 1 differs from the signed ValidityType 0"),
        ({"sequence": 8}, "legacy V1 sequence 8 differs from the signed Sequence 7"),
        ({"ttl": 1}, "legacy V1 ttl 1 differs"),
    ],
)
def test_v1_v2_mismatch(override: dict[str, int | bytes], message: str) -> None:
    assert verify_record(NAME, _signed(_data(), v1=_v1_fields()), now=NOW)
    with pytest.raises(IpnsMismatchError, match=message):
        verify_record(NAME, _signed(_data(), v1=_v1_fields(**override)), now=NOW)


def test_v1_record_missing_a_copy_is_a_mismatch() -> None:
    # With signatureV1 present, an absent ttl reads as 0, as in boxo and Kubo.
    fields = [f for f in _v1_fields() if f[0] != 6]
    with pytest.raises(IpnsMismatchError, match="legacy V1 ttl 0 differs"):
        verify_record(NAME, _signed(_data(), v1=fields), now=NOW)


def test_stray_v1_copy_in_a_v2_record_must_match() -> None:
    assert verify_record(NAME, _signed(_data(), v1=[(5, 7)]), now=NOW)
    with pytest.raises(IpnsMismatchError, match="sequence 6 differs"):
        verify_record(NAME, _signed(_data(), v1=[(5, 6)]), now=NOW)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_data(ValidityType=1), r"ValidityType 1; only 0 \(EOL\) exists"),
        (_data(Sequence=-1), r"data\[Sequence\] is missing or not an unsigned int"),
        (_data(TTL=True), r"data\[TTL\] is missing or not an unsigned int"),
        ({k: v for k, v in _data().items() if k != "Value"}, r"data\[Value\] is missing"),
        (_data(Validity="2024-01-03T00:00:00Z"), r"data\[Validity\] is missing or not bytes"),
        (_data(Value=b"\xff"), r"data\[Value\] is not UTF-8 text"),
        ([1, 2], "not a canonical dag-cbor map"),
        # Unsorted keys: parseable, signed, but not the one canonical encoding.
        (b"\xa2eValue\x40cTTL\x00", "not a canonical dag-cbor map"),
        (b"\xa1cTTL\x18\x05", "not a canonical dag-cbor map"),  # a non-minimal integer
        (b"\xa1cTTL", "undecodable dag-cbor data: truncated"),
    ],
)
def test_bad_signed_data(data: bytes | dict[str, dagcbor.CborValue], message: str) -> None:
    with pytest.raises(IpnsError, match=message):
        verify_record(NAME, _signed(data), now=NOW)


@pytest.mark.parametrize(
    ("validity", "expected"),
    [
        ("2026-12-01T00:00:00.123456789Z", datetime(2026, 12, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2026-12-01T00:00:00.5Z", datetime(2026, 12, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("2026-12-01T00:00:00Z", datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12-01T02:30:00+02:30", datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-11-30T22:00:00-02:00", datetime(2026, 12, 1, tzinfo=UTC)),
    ],
)
def test_validity_formats(validity: str, expected: datetime) -> None:
    record = verify_record(NAME, _signed(_data(Validity=validity.encode())), now=NOW)
    assert record.validity == expected


@pytest.mark.parametrize(
    "validity",
    [
        "2026-12-01 00:00:00Z",
        "2026-12-01T00:00:00",  # no offset
        "2026-12-01",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-12-01T00:00:00.1234567890Z",  # over nanosecond precision
        "2026-12-01t00:00:00z",
        "\uff12\uff10\uff12\uff16-12-01T00:00:00Z",  # fullwidth digits, which \d matches
        "",
    ],
)
def test_bad_validity(validity: str) -> None:
    with pytest.raises(IpnsError, match=r"Validity .* is not"):
        verify_record(NAME, _signed(_data(Validity=validity.encode())), now=NOW)


def test_repeated_or_mistyped_protobuf_fields() -> None:
    good = _record(v1_compat=False)
    with pytest.raises(IpnsError, match="repeats protobuf field 9"):
        verify_record(NAME, good + bytes_field(9, b"\xa0"), now=NOW)
    with pytest.raises(IpnsError, match="field 5 of the wrong type"):
        verify_record(NAME, bytes_field(5, b"7") + good, now=NOW)
    with pytest.raises(IpnsError, match="has no signed data field"):
        verify_record(NAME, bytes_field(8, b"\0" * 64), now=NOW)


# -- keys in the record --------------------------------------------------------------------------


def test_embedded_pubkey_must_be_the_names_key() -> None:
    own = bytes_field(7, marshal_public_key(KEY.public_key()))
    assert verify_record(NAME, _signed(_data(), extra=own), now=NOW)
    other = bytes_field(7, marshal_public_key(OTHER_KEY.public_key()))
    with pytest.raises(IpnsKeyError, match=f"the record's pubKey is not the key of {NAME}"):
        verify_record(NAME, _signed(_data(), key=OTHER_KEY, extra=other), now=NOW)


def test_hashed_key_name_needs_a_pubkey_and_ed25519() -> None:
    fake_rsa = varint_field(1, 0) + bytes_field(2, b"\x30" * 270)  # Type=RSA, DER-ish body
    digest = hashlib.sha256(fake_rsa).digest()
    name = Cid(1, LIBP2P_KEY, bytes((SHA2_256, 32)) + digest)
    with pytest.raises(IpnsKeyError, match="is not inlined in the name"):
        verify_record(name, _record(), now=NOW)
    with pytest.raises(IpnsKeyError, match="uses an RSA key; ipnpm verifies only Ed25519"):
        verify_record(name, _signed(_data(), extra=bytes_field(7, fake_rsa)), now=NOW)
    assert parse_name(b58_encode(name.multihash)) == name  # the legacy `Qm…` peer ID form


def test_inlined_non_ed25519_key_is_refused() -> None:
    secp = varint_field(1, 2) + bytes_field(2, b"\x02" * 33)
    name = identity_cid(LIBP2P_KEY, secp)
    with pytest.raises(IpnsKeyError, match="uses an Secp256k1 key"):
        verify_record(name, _record(), now=NOW)


# -- never anything but an IpfsFormatError on garbage -------------------------------------------


def _only_format_errors(name: str, raw: bytes) -> None:
    with contextlib.suppress(IpfsFormatError):
        verify_record(name, raw, now=NOW)


def test_every_truncation_is_refused_cleanly() -> None:
    name, good = _fixture("v1-v2")
    for size in range(len(good)):
        with pytest.raises(IpfsFormatError):
            verify_record(name, good[:size], now=NOW)


def test_random_corruption_never_escapes_as_another_exception() -> None:
    name, good = _fixture("v1-v2")
    rng = random.Random(1234)
    for _ in range(2000):
        raw = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        _only_format_errors(name, bytes(raw))
    for _ in range(500):
        _only_format_errors(name, rng.randbytes(rng.randrange(0, 400)))


# -- rollback protection -------------------------------------------------------------------------


def test_sequence_guard(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ipns-sequences.json"
    guard = SequenceGuard(path)
    assert guard.highest(NAME) is None
    records = {seq: verify_record(NAME, _record(sequence=seq), now=NOW) for seq in (3, 5)}
    guard.check(NAME, records[3])
    guard.check(NAME, records[5])
    guard.check(NAME, records[5])  # the same record again is fine
    assert json.loads(path.read_text()) == {NAME: 5}
    # A new process (a new guard on the same file) still remembers.
    again = SequenceGuard(path)
    assert again.highest(Cid.parse(NAME)) == 5
    with pytest.raises(
        IpnsRollbackError,
        match=rf"^IPNS record for {NAME} has sequence 3, older than sequence 5 already seen",
    ):
        again.check(NAME, records[3])
    assert again.highest(NAME) == 5
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp files left


def test_sequence_guard_keeps_names_apart(tmp_path: Path) -> None:
    guard = SequenceGuard(tmp_path / "seq.json")
    other_name = name_for_key(OTHER_KEY.public_key())
    other = create_record(OTHER_KEY, "/ipfs/bafkqaaa", sequence=1, validity=LATER, ttl_ns=0)
    guard.check(NAME, verify_record(NAME, _record(sequence=9), now=NOW))
    guard.check(other_name, verify_record(other_name, other, now=NOW))
    assert (guard.highest(NAME), guard.highest(other_name)) == (9, 1)
    with pytest.raises(IpnsError, match="checked against name"):
        guard.check(other_name, verify_record(NAME, _record(sequence=10), now=NOW))


@pytest.mark.parametrize("content", ["{not json", '{"k51": "5"}', "[1]"])
def test_sequence_guard_refuses_a_damaged_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "seq.json"
    path.write_text(content)
    with pytest.raises(IpnsError, match="is damaged; delete it to start over"):
        SequenceGuard(path).check(NAME, verify_record(NAME, _record(), now=NOW))
