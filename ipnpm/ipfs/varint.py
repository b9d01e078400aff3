"""Unsigned LEB128 varints, shared by multiformats (CIDs, CAR) and protobuf (dag-pb)."""

from __future__ import annotations

from ipnpm.ipfs.errors import IpfsFormatError

_MAX_BYTES = 10  # a uint64 needs at most 10 groups of 7 bits


def encode_varint(value: int) -> bytes:
    if value < 0:
        raise ValueError(f"varint must be non-negative, got {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(buf: bytes | memoryview, pos: int = 0) -> tuple[int, int]:
    """Read one varint at `pos`; return (value, position after it).

    Non-minimal encodings (a trailing 0x00 group) are refused: multiformats requires minimal
    varints and every encoder we meet (Go, JS) writes them, so a padded one means corruption.
    """
    value = 0
    for i in range(_MAX_BYTES):
        if pos + i >= len(buf):
            raise IpfsFormatError(f"truncated varint at offset {pos}")
        byte = buf[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            if byte == 0 and i > 0:
                raise IpfsFormatError(f"non-minimal varint at offset {pos}")
            if value >= 1 << 64:
                raise IpfsFormatError(f"varint over 64 bits at offset {pos}")
            return value, pos + i + 1
    raise IpfsFormatError(f"varint longer than {_MAX_BYTES} bytes at offset {pos}")
