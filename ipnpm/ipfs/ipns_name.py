"""IPNS names and the libp2p public keys they stand for, and the IpnsError every check raises.

An IPNS name is a multihash of a protobuf `PublicKey {Type = 1; Data = 2}`: inlined with the
identity hash when the serialized key is at most 42 bytes (every Ed25519 key: 36 bytes), else
its sha2-256. It is written as a CIDv1 with codec libp2p-key (0x72), base36 `k51…` by default,
or as a legacy bare base58btc multihash (`12D3KooW…` inlined, `Qm…` hashed).

Only Ed25519 keys can be used to verify records here: they are the IPFS default and the only
type the IPNS spec requires. Other key types are refused with a message that says so.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from ipnpm.errors import ExitCode
from ipnpm.ipfs.cid import IDENTITY, LIBP2P_KEY, SHA2_256, Cid, identity_cid
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.multibase import b58_decode
from ipnpm.ipfs.protobuf import bytes_field, iter_fields, varint_field
from ipnpm.ipfs.varint import encode_varint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ED25519 = 1
_KEY_TYPES = {0: "RSA", 1: "Ed25519", 2: "Secp256k1", 3: "ECDSA"}
_MAX_INLINE_KEY = 42  # libp2p peer-id spec: keys up to 42 bytes are inlined (identity hash)


class IpnsError(IpfsFormatError):
    """An IPNS name or record that must not be used; the message says exactly why. A rolled-back
    or expired record is the security feature working, so it ends as exit 9, never as a crash."""

    exit_code = ExitCode.INDEX


class IpnsNameError(IpnsError):
    """Text that is not an IPNS name (a libp2p-key CID or a legacy peer ID)."""


class IpnsKeyError(IpnsError):
    """A public key that is malformed, of an unsupported type, or not the key of the name."""


def parse_name(name: str | Cid) -> Cid:
    """The libp2p-key CIDv1 of a name given as `k51…`, `/ipns/k51…`, `12D3KooW…` or a Cid."""
    if isinstance(name, Cid):
        cid = name
    else:
        text = name.removeprefix("/ipns/")
        try:
            # A legacy peer ID is a bare base58btc multihash with no multibase prefix; `Qm…`
            # would otherwise be read as a dag-pb CIDv0 and `12D3…` fails multibase.
            if text.startswith(("1", "Qm")):
                cid = Cid(1, LIBP2P_KEY, b58_decode(text))
            else:
                cid = Cid.parse(text)
        except IpfsFormatError as exc:
            raise IpnsNameError(f"{name!r} is not an IPNS name: {exc}") from exc
    if cid.version != 1 or cid.codec != LIBP2P_KEY:
        raise IpnsNameError(f"{name} is not an IPNS name: its CID codec is not libp2p-key (0x72)")
    if cid.hash_code not in (IDENTITY, SHA2_256):
        raise IpnsNameError(f"{name} is not an IPNS name: multihash {cid.hash_code:#x}")
    return cid


def format_name(cid: Cid) -> str:
    """The canonical text of a name: base36 `k51…`, as Kubo prints it by default."""
    return cid.encode("k")


def marshal_public_key(public_key: Ed25519PublicKey) -> bytes:
    """The protobuf `PublicKey` of an Ed25519 key: 08 01 12 20 followed by the 32 raw bytes."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return varint_field(1, ED25519) + bytes_field(2, raw)


def name_for_key(public_key: Ed25519PublicKey) -> str:
    """The `k51…` IPNS name of an Ed25519 public key."""
    return format_name(identity_cid(LIBP2P_KEY, marshal_public_key(public_key)))


def _key_multihash(serialized: bytes) -> bytes:
    if len(serialized) <= _MAX_INLINE_KEY:
        return encode_varint(IDENTITY) + encode_varint(len(serialized)) + serialized
    return encode_varint(SHA2_256) + encode_varint(32) + hashlib.sha256(serialized).digest()


def _unmarshal_ed25519(serialized: bytes, shown: str) -> Ed25519PublicKey:
    fields: dict[int, int | bytes] = {}
    try:
        for number, value in iter_fields(serialized):
            if number in fields:
                raise IpnsKeyError(f"the public key of {shown} repeats protobuf field {number}")
            fields[number] = value
    except IpnsKeyError:
        raise
    except IpfsFormatError as exc:
        raise IpnsKeyError(f"the public key of {shown} is not a libp2p PublicKey: {exc}") from exc
    key_type, data = fields.get(1), fields.get(2)
    if not isinstance(key_type, int) or not isinstance(data, bytes):
        raise IpnsKeyError(f"the public key of {shown} lacks its Type or Data field")
    if key_type != ED25519:
        kind = _KEY_TYPES.get(key_type, f"type {key_type}")
        raise IpnsKeyError(
            f"{shown} uses an {kind} key; ipnpm verifies only Ed25519 IPNS keys (the IPFS default)"
        )
    if len(data) != 32:
        raise IpnsKeyError(f"the Ed25519 key of {shown} has {len(data)} bytes, not 32")
    # Imported here, at the first key read: cryptography's start-up is not every run's.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(data)


def public_key_for_name(name: Cid, embedded: bytes | None) -> Ed25519PublicKey:
    """The key that must have signed records of `name`.

    `embedded` is the record's optional `pubKey` field. When present it is only trusted if it
    hashes to the name (a record can't pick its own key); otherwise the key must be inlined in
    the name itself, as it is for every Ed25519 name.
    """
    shown = format_name(name)
    if embedded is not None:
        if not hmac.compare_digest(_key_multihash(embedded), name.multihash):
            raise IpnsKeyError(f"the record's pubKey is not the key of {shown}")
        return _unmarshal_ed25519(embedded, shown)
    if name.hash_code != IDENTITY:
        raise IpnsKeyError(
            f"the key of {shown} is not inlined in the name (it is a hash of a large key, "
            "e.g. RSA) and the record carries no pubKey"
        )
    return _unmarshal_ed25519(name.digest, shown)
