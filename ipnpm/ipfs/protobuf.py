"""The two protobuf wire types dag-pb and UnixFS use: varint (0) and length-delimited (2)."""

from __future__ import annotations

from collections.abc import Iterator

from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.varint import decode_varint, encode_varint

VARINT = 0
LEN = 2


def varint_field(number: int, value: int) -> bytes:
    return encode_varint(number << 3 | VARINT) + encode_varint(value)


def bytes_field(number: int, value: bytes) -> bytes:
    return encode_varint(number << 3 | LEN) + encode_varint(len(value)) + value


def iter_fields(buf: bytes | memoryview) -> Iterator[tuple[int, int | bytes]]:
    """Yield (field number, value): an int for varints, bytes for length-delimited fields.

    Other wire types (fixed32/64, groups) never occur at the top level of dag-pb or UnixFS
    messages, so meeting one means the bytes are not what they claim to be.
    """
    pos = 0
    while pos < len(buf):
        key, pos = decode_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = decode_varint(buf, pos)
            yield number, value
        elif wire == LEN:
            size, pos = decode_varint(buf, pos)
            if pos + size > len(buf):
                raise IpfsFormatError(f"protobuf field {number} overruns the message")
            yield number, bytes(buf[pos : pos + size])
            pos += size
        else:
            raise IpfsFormatError(f"unexpected protobuf wire type {wire} for field {number}")
