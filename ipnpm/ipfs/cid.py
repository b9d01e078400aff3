"""Content identifiers (CIDv0 and CIDv1) with sha2-256 and identity multihashes."""

from __future__ import annotations

import builtins
import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.multibase import b32_encode, b36_encode, b58_decode, b58_encode, multibase_decode
from ipnpm.ipfs.varint import decode_varint, encode_varint

RAW = 0x55
DAG_PB = 0x70
DAG_CBOR = 0x71
LIBP2P_KEY = 0x72

IDENTITY = 0x00
SHA2_256 = 0x12

_V0_PREFIX = bytes((SHA2_256, 32))  # a CIDv0 is a bare sha2-256 multihash
_V0_LEN = 34


def _split_multihash(mh: bytes | memoryview, pos: int = 0) -> tuple[int, int, int]:
    """Return (hash code, digest start, digest end) of the multihash at `pos`."""
    code, pos = decode_varint(mh, pos)
    size, pos = decode_varint(mh, pos)
    if pos + size > len(mh):
        raise IpfsFormatError("truncated multihash")
    if code == SHA2_256 and size != 32:
        raise IpfsFormatError(f"sha2-256 multihash with a {size}-byte digest")
    return code, pos, pos + size


@dataclass(frozen=True, slots=True)
class Cid:
    version: int
    codec: int
    multihash: bytes

    def __post_init__(self) -> None:
        code, _, end = _split_multihash(self.multihash)
        if end != len(self.multihash):
            raise IpfsFormatError("trailing bytes after the multihash")
        if self.version == 0 and (self.codec != DAG_PB or code != SHA2_256):
            raise IpfsFormatError("a CIDv0 is always dag-pb with sha2-256")
        if self.version not in (0, 1):
            raise IpfsFormatError(f"unsupported CID version {self.version}")

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> Cid:
        """Parse a CIDv0 (`Qm…`) or a multibase CIDv1 (`b…` base32, `z…` base58btc, `k…`)."""
        if len(text) == 46 and text.startswith("Qm"):
            return cls(0, DAG_PB, b58_decode(text))
        raw = multibase_decode(text)
        cid, used = cls.from_bytes(raw)
        if used != len(raw):
            raise IpfsFormatError(f"trailing bytes after the CID in {text!r}")
        return cid

    @classmethod
    def from_bytes(cls, buf: bytes | memoryview, pos: int = 0) -> tuple[Cid, int]:
        """Decode a binary CID at `pos`; return it and the number of bytes it used."""
        if bytes(buf[pos : pos + 2]) == _V0_PREFIX:
            if pos + _V0_LEN > len(buf):
                raise IpfsFormatError("truncated CIDv0")
            return cls(0, DAG_PB, bytes(buf[pos : pos + _V0_LEN])), _V0_LEN
        version, at = decode_varint(buf, pos)
        if version != 1:
            raise IpfsFormatError(f"unsupported CID version {version}")
        codec, at = decode_varint(buf, at)
        _, _, end = _split_multihash(buf, at)
        return cls(1, codec, bytes(buf[at:end])), end - pos

    # -- views --------------------------------------------------------------------------------

    @property
    def hash_code(self) -> int:
        return _split_multihash(self.multihash)[0]

    @property
    def digest(self) -> bytes:
        _, start, end = _split_multihash(self.multihash)
        return self.multihash[start:end]

    def to_v1(self) -> Cid:
        """The same content as a CIDv1 (gateways and Kubo print v1; v0 is base58 only)."""
        return Cid(1, self.codec, self.multihash)

    def encode(self, base: Literal["b", "z", "k"] = "b") -> str:
        """Multibase text: base32 (default, as Kubo prints CIDv1), base58btc or base36."""
        if self.version == 0:
            return b58_encode(self.multihash)
        if base == "z":
            return "z" + b58_encode(self.bytes)
        if base == "k":
            return "k" + b36_encode(self.bytes)
        return "b" + b32_encode(self.bytes)

    def __str__(self) -> str:
        return self.encode()

    def __repr__(self) -> str:
        return f"Cid({self.encode()!r})"

    # -- verification -------------------------------------------------------------------------

    def verify(self, block: bytes | memoryview) -> bool:
        """True if `block` is the content this CID names (identity CIDs compare inline bytes)."""
        code = self.hash_code
        if code == SHA2_256:
            return hmac.compare_digest(hashlib.sha256(block).digest(), self.digest)
        if code == IDENTITY:
            return bytes(block) == self.digest
        raise IpfsFormatError(f"unsupported multihash code {code:#x} in {self}")

    # Last in the class body: below this point the name `bytes` means the property.
    @property
    def bytes(self) -> builtins.bytes:
        """The binary form (as in CAR files, dag-pb links and dag-cbor tag 42)."""
        if self.version == 0:
            return self.multihash
        return encode_varint(1) + encode_varint(self.codec) + self.multihash


def sha256_cid(codec: int, digest: bytes) -> Cid:
    """The CIDv1 for a sha2-256 `digest` of a block in `codec`."""
    if len(digest) != 32:
        raise IpfsFormatError(f"a sha2-256 digest has 32 bytes, got {len(digest)}")
    return Cid(1, codec, _V0_PREFIX + digest)


def raw_cid_from_sha256(digest: bytes) -> Cid:
    """The `bafkrei…` CID of a raw block, i.e. of a file of at most one chunk."""
    return sha256_cid(RAW, digest)


def block_cid(codec: int, block: bytes | memoryview) -> Cid:
    """Hash `block` with sha2-256 and name it as a CIDv1 of `codec`."""
    return sha256_cid(codec, hashlib.sha256(block).digest())


def identity_cid(codec: int, data: bytes) -> Cid:
    """A CID that carries `data` inline (e.g. `bafkqaaa`, the empty raw block)."""
    return Cid(1, codec, encode_varint(IDENTITY) + encode_varint(len(data)) + data)
