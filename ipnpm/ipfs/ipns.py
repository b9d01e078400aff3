"""IPNS records (ipfs/specs `ipns/ipns-record`): verify them ourselves, create them, stop rollbacks.

A record is a protobuf `IpnsEntry`; what counts is `data`, a dag-cbor map {Value, Validity,
ValidityType, Sequence, TTL}, and `signatureV2`, an Ed25519 signature over
`b"ipns-signature:" + data` by the key of the name. Legacy V1 fields (1-6) are copies that
old software reads; they are never trusted, only required to equal the signed data, so a reader
of either half sees the same record. Verification follows the spec's order and fails on the
first problem with an error that says what it was.

Everything here is pure except `SequenceGuard`, which keeps a small JSON file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ipnpm.ipfs import dagcbor
from ipnpm.ipfs.cid import Cid
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.ipns_name import (
    IpnsError,
    IpnsKeyError,
    IpnsNameError,
    format_name,
    name_for_key,
    parse_name,
    public_key_for_name,
)
from ipnpm.ipfs.protobuf import bytes_field, iter_fields, varint_field

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "MAX_RECORD_SIZE",
    "IpnsError",
    "IpnsExpiredError",
    "IpnsKeyError",
    "IpnsMismatchError",
    "IpnsNameError",
    "IpnsRecord",
    "IpnsRollbackError",
    "IpnsSignatureError",
    "IpnsTooLargeError",
    "SequenceGuard",
    "create_record",
    "format_validity",
    "name_for_key",
    "verify_record",
]

MAX_RECORD_SIZE = 10 * 1024  # the spec's limit on the serialized IpnsEntry
SIGNATURE_PREFIX = b"ipns-signature:"
VALIDITY_EOL = 0

# IpnsEntry field numbers. 1-6 are the legacy V1 copies of the signed data.
_VALUE, _SIG_V1, _VALIDITY_TYPE, _VALIDITY, _SEQUENCE, _TTL, _PUBKEY, _SIG_V2, _DATA = range(1, 10)
_BYTES_FIELDS = {_VALUE, _SIG_V1, _VALIDITY, _PUBKEY, _SIG_V2, _DATA}
_INT_FIELDS = {_VALIDITY_TYPE, _SEQUENCE, _TTL}
# V1 protobuf field -> the dag-cbor key it must equal.
_V1_COPIES = {
    _VALUE: "Value",
    _VALIDITY: "Validity",
    _VALIDITY_TYPE: "ValidityType",
    _SEQUENCE: "Sequence",
    _TTL: "TTL",
}

# RFC 3339 as Go's time.RFC3339Nano parses it. [0-9], not \d: \d also matches non-ASCII digits.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:Z|([+-])([0-9]{2}):([0-9]{2}))"
)


class IpnsTooLargeError(IpnsError):
    """A record over the spec's 10 KiB limit (refused before it is parsed)."""


class IpnsSignatureError(IpnsError):
    """No signatureV2, or one that does not verify with the name's key."""


class IpnsMismatchError(IpnsError):
    """A legacy V1 field that differs from the signed V2 data."""


class IpnsExpiredError(IpnsError):
    """A record whose Validity (end of life) is not in the future."""


class IpnsRollbackError(IpnsError):
    """A record older (lower sequence) than one already seen for the same name."""


@dataclass(frozen=True, slots=True)
class IpnsRecord:
    """A verified record: the signed V2 data, and the bytes it came from (to store or serve)."""

    name: str  # canonical `k51…` form
    value: str  # e.g. "/ipfs/bafy…"
    sequence: int
    validity: datetime  # end of life, UTC (nanoseconds truncated to microseconds)
    ttl_ns: int
    raw: bytes = field(repr=False)

    @property
    def ttl(self) -> timedelta:
        return timedelta(microseconds=self.ttl_ns // 1000)

    def value_cid(self) -> Cid | None:
        """The CID of a `/ipfs/<cid>` value; None for anything else (`/ipns/…`, sub-paths)."""
        rest = self.value.removeprefix("/ipfs/")
        if rest == self.value or "/" in rest:
            return None
        try:
            return Cid.parse(rest)
        except IpfsFormatError as exc:
            raise IpnsError(f"IPNS record for {self.name} points at a bad CID: {exc}") from exc


# -- verification ------------------------------------------------------------------------------


def verify_record(name: str | Cid, raw: bytes, *, now: datetime | None = None) -> IpnsRecord:
    """Check `raw` is a valid, unexpired record of `name` (spec "Record Verification").

    `now` (timezone-aware, default the current time) is what Validity must lie after.
    """
    now = datetime.now(UTC) if now is None else now
    if now.tzinfo is None:
        raise ValueError("`now` must be a timezone-aware datetime")
    raw = bytes(raw)  # a bytearray or memoryview is accepted, but the record keeps bytes
    name_cid = parse_name(name)
    shown = format_name(name_cid)
    if len(raw) > MAX_RECORD_SIZE:
        raise IpnsTooLargeError(
            f"IPNS record for {shown} has {len(raw)} bytes, over the {MAX_RECORD_SIZE}-byte limit"
        )
    entry = _parse_entry(raw, shown)
    signature, data = entry.get(_SIG_V2), entry.get(_DATA)
    if not signature:
        raise IpnsSignatureError(
            f"IPNS record for {shown} has no signatureV2 (V1-only records are refused)"
        )
    if not isinstance(signature, bytes) or not isinstance(data, bytes) or not data:
        raise IpnsError(f"IPNS record for {shown} has no signed data field")
    pubkey = entry.get(_PUBKEY)
    key = public_key_for_name(name_cid, pubkey if isinstance(pubkey, bytes) else None)
    # Imported here, at the first verification: cryptography's start-up is not every run's.
    from cryptography.exceptions import InvalidSignature

    # Checked before `data` is parsed, so no unauthenticated dag-cbor is ever interpreted.
    try:
        key.verify(signature, SIGNATURE_PREFIX + data)
    except InvalidSignature:
        raise IpnsSignatureError(
            f"IPNS record for {shown}: signatureV2 does not verify with the key of that name"
        ) from None
    fields = _parse_data(data, shown)
    _check_v1_copies(entry, fields, shown)
    validity_type = fields["ValidityType"]
    if validity_type != VALIDITY_EOL:
        raise IpnsError(
            f"IPNS record for {shown} has ValidityType {validity_type!r}; only 0 (EOL) exists"
        )
    validity_text = _text(fields["Validity"], "Validity", shown)
    validity = _parse_rfc3339(validity_text, shown)
    if validity <= now:
        raise IpnsExpiredError(f"IPNS record for {shown} expired at {validity_text}")
    sequence, ttl = fields["Sequence"], fields["TTL"]
    assert isinstance(sequence, int)  # checked by _parse_data
    assert isinstance(ttl, int)
    value = _text(fields["Value"], "Value", shown)
    return IpnsRecord(shown, value, sequence, validity, ttl, raw)


def _parse_entry(raw: bytes, shown: str) -> dict[int, int | bytes]:
    entry: dict[int, int | bytes] = {}
    try:
        for number, value in iter_fields(raw):
            # Protobuf says "last one wins" for a repeated scalar, but a record never repeats a
            # field; refusing it rules out readers that disagree on which copy counts.
            if number in entry:
                raise IpnsError(f"IPNS record for {shown} repeats protobuf field {number}")
            wanted = bytes if number in _BYTES_FIELDS else int if number in _INT_FIELDS else None
            if wanted is not None and not isinstance(value, wanted):
                raise IpnsError(f"IPNS record for {shown} has field {number} of the wrong type")
            entry[number] = value
    except IpnsError:
        raise
    except IpfsFormatError as exc:
        raise IpnsError(f"IPNS record for {shown} is not a protobuf IpnsEntry: {exc}") from exc
    return entry


def _parse_data(data: bytes, shown: str) -> dict[str, dagcbor.CborValue]:
    try:
        fields = dagcbor.decode(data)
    except IpfsFormatError as exc:
        raise IpnsError(f"IPNS record for {shown} has undecodable dag-cbor data: {exc}") from exc
    # Signatures cover exact bytes, so only the one canonical encoding has a single meaning.
    if not isinstance(fields, dict) or dagcbor.encode(fields) != data:
        raise IpnsError(f"IPNS record for {shown}: its data is not a canonical dag-cbor map")
    for key, kind in (("Value", bytes), ("Validity", bytes)):
        if not isinstance(fields.get(key), kind):
            raise IpnsError(f"IPNS record for {shown}: data[{key}] is missing or not bytes")
    for key in ("ValidityType", "Sequence", "TTL"):
        value = fields.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise IpnsError(
                f"IPNS record for {shown}: data[{key}] is missing or not an unsigned int"
            )
    return fields  # unknown extra keys are allowed by the spec, and ignored


def _check_v1_copies(
    entry: dict[int, int | bytes], fields: dict[str, dagcbor.CborValue], shown: str
) -> None:
    """Spec step 7: V1 fields must not say anything the signed data doesn't.

    With signatureV1 or value present (a V1+V2 record) all five copies must match, an absent one
    reading as its protobuf default, as boxo does. Without them the spec checks nothing; we
    still refuse any stray V1 copy that disagrees, as no honest publisher writes one.
    """
    full_v1 = _SIG_V1 in entry or _VALUE in entry
    for number, key in _V1_COPIES.items():
        if number not in entry and not full_v1:
            continue
        v1 = entry.get(number, b"" if number in _BYTES_FIELDS else 0)
        if v1 != fields[key]:
            raise IpnsMismatchError(
                f"IPNS record for {shown}: the legacy V1 {key.lower()} {_show(v1)} differs "
                f"from the signed {key} {_show(fields[key])}"
            )


def _show(value: dagcbor.CborValue) -> str:
    return repr(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)


def _text(value: dagcbor.CborValue, key: str, shown: str) -> str:
    assert isinstance(value, bytes)
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise IpnsError(f"IPNS record for {shown}: data[{key}] is not UTF-8 text") from None


def _parse_rfc3339(text: str, shown: str) -> datetime:
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise IpnsError(f"IPNS record for {shown}: Validity {text!r} is not an RFC 3339 time")
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    # Go writes up to 9 fraction digits; datetime keeps 6. Truncating makes a record expire
    # at most 1 µs early, never late.
    micros = int((fraction or "0").ljust(6, "0")[:6])
    try:
        offset = timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
        stamp = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, UTC
        )
        return stamp - offset if sign == "+" else stamp + offset
    except (ValueError, OverflowError) as exc:
        raise IpnsError(f"IPNS record for {shown}: Validity {text!r} is not a time: {exc}") from exc


# -- creation ----------------------------------------------------------------------------------


def format_validity(validity: datetime) -> str:
    """RFC 3339 in UTC as Go's time.RFC3339Nano writes it (fraction without trailing zeros)."""
    if validity.tzinfo is None:
        raise ValueError("validity must be a timezone-aware datetime")
    t = validity.astimezone(UTC)
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    if t.microsecond:
        text += f".{t.microsecond:06d}".rstrip("0")
    return text + "Z"


def create_record(
    private_key: Ed25519PrivateKey,
    value: str,
    *,
    sequence: int,
    validity: datetime,
    ttl_ns: int,
    v1_compat: bool = True,
) -> bytes:
    """Sign a record of `value` with `private_key`, as Kubo does: V1+V2 by default, or V2 only.

    V1 copies cost ~150 bytes and let legacy readers resolve the name; verification ignores
    their signature either way.
    """
    if sequence < 0 or ttl_ns < 0:
        raise ValueError("sequence and ttl_ns must be non-negative")
    validity_bytes = format_validity(validity).encode("ascii")
    value_bytes = value.encode("utf-8")
    data = dagcbor.encode(
        {
            "Value": value_bytes,
            "Validity": validity_bytes,
            "ValidityType": VALIDITY_EOL,
            "Sequence": sequence,
            "TTL": ttl_ns,
        }
    )
    v1 = b""
    if v1_compat:
        # The legacy signature covers value + validity + the enum's *name*: Go formats the
        # ValidityType enum with its String() method, "EOL" (checked against the spec vectors).
        signature_v1 = private_key.sign(value_bytes + validity_bytes + b"EOL")
        v1 = (
            bytes_field(_VALUE, value_bytes)
            + bytes_field(_SIG_V1, signature_v1)
            + varint_field(_VALIDITY_TYPE, VALIDITY_EOL)
            + bytes_field(_VALIDITY, validity_bytes)
            + varint_field(_SEQUENCE, sequence)
            + varint_field(_TTL, ttl_ns)
        )
    signature_v2 = private_key.sign(SIGNATURE_PREFIX + data)
    raw = v1 + bytes_field(_SIG_V2, signature_v2) + bytes_field(_DATA, data)
    if len(raw) > MAX_RECORD_SIZE:
        raise IpnsTooLargeError(
            f"an IPNS record of this value would have {len(raw)} bytes, over {MAX_RECORD_SIZE}"
        )
    return raw


# -- rollback protection -----------------------------------------------------------------------


class SequenceGuard:
    """Remembers the highest sequence seen per name in a JSON file; refuses older records.

    The spec leaves rollback protection to clients: an attacker who replays an old but still
    valid record (e.g. one pointing at a vulnerable package index) passes verification, so we
    refuse any sequence lower than one already accepted. Equal is fine (a re-fetch).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def highest(self, name: str | Cid) -> int | None:
        return self._load().get(format_name(parse_name(name)))

    def check(self, name: str | Cid, record: IpnsRecord) -> None:
        """Raise IpnsRollbackError if `record` is older than one seen before; else remember it."""
        shown = format_name(parse_name(name))
        if record.name != shown:
            raise IpnsError(f"IPNS record for {record.name} checked against name {shown}")
        state = self._load()
        highest = state.get(shown)
        if highest is not None and record.sequence < highest:
            raise IpnsRollbackError(
                f"IPNS record for {shown} has sequence {record.sequence}, older than sequence "
                f"{highest} already seen: refusing a rollback"
            )
        if highest is None or record.sequence > highest:
            # Re-read just before writing so a concurrent process's higher value is kept.
            state = self._load()
            state[shown] = max(record.sequence, state.get(shown, -1))
            self._save(state)

    def _load(self) -> dict[str, int]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            state = json.loads(text)
        except ValueError:
            state = None
        # A damaged file must not silently reset protection to "nothing seen yet".
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and type(v) is int for k, v in state.items()
        ):
            raise IpnsError(
                f"IPNS sequence file {self.path} is damaged; delete it to start over "
                "(this forgets which sequences were seen)"
            )
        return state

    def _save(self, state: dict[str, int]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(state, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)  # readers see the old file or the new one, never half
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
