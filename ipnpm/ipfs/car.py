"""CAR files (v1, and v2 wrapping a v1): read with every block verified, write for serving.

CARv1 = varint-prefixed dag-cbor header {roots, version: 1}, then sections of
varint(len(CID) + len(block)) + CID + block. CARv2 starts with an 11-byte pragma that is itself
a v1-style header {version: 2}, then a 40-byte header locating the inner CARv1 payload.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from ipnpm.ipfs import dagcbor
from ipnpm.ipfs.cid import Cid
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.varint import encode_varint

_MAX_HEADER = 64 * 1024
# Kubo refuses blocks over 2 MiB (bitswap's limit); a bigger section length is corruption or
# an attack, so refuse it before allocating.
_MAX_SECTION = 2 * 1024 * 1024 + 1024
_V2_HEADER_LEN = 40
_V2_PRAGMA_LEN = 11


def _read_exact(stream: BinaryIO, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise IpfsFormatError(f"CAR truncated in {what} (wanted {size} bytes, got {len(data)})")
    return data


def _read_varint(stream: BinaryIO) -> int | None:
    """Read a varint; None on a clean end of stream before its first byte."""
    value = shift = 0
    while True:
        byte = stream.read(1)
        if not byte:
            if shift:
                raise IpfsFormatError("CAR truncated inside a varint")
            return None
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
        shift += 7
        if shift > 63:
            raise IpfsFormatError("CAR varint too long")


def _read_header(stream: BinaryIO) -> dict[str, dagcbor.CborValue]:
    size = _read_varint(stream)
    if size is None or not 0 < size <= _MAX_HEADER:
        raise IpfsFormatError(f"CAR header length {size} is out of range")
    header = dagcbor.decode(_read_exact(stream, size, "the header"))
    if not isinstance(header, dict):
        raise IpfsFormatError("CAR header is not a map")
    return header


class CarReader:
    """Iterate (cid, block) pairs of a CAR stream, each block checked against its CID.

    `roots` is read on construction. A block whose hash differs from its CID raises
    IpfsFormatError as soon as it is read, so nothing unverified ever reaches the caller.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._remaining: int | None = None  # payload bytes left, for a CARv2's inner CARv1
        header = _read_header(stream)
        if header.get("version") == 2:
            header = self._enter_v2()
        if header.get("version") != 1:
            raise IpfsFormatError(f"unsupported CAR version {header.get('version')!r}")
        roots = header.get("roots")
        if not isinstance(roots, list) or not all(isinstance(root, Cid) for root in roots):
            raise IpfsFormatError("CAR header roots is not a list of CIDs")
        self.roots: list[Cid] = [root for root in roots if isinstance(root, Cid)]

    def _enter_v2(self) -> dict[str, dagcbor.CborValue]:
        fixed = _read_exact(self._stream, _V2_HEADER_LEN, "the CARv2 header")
        data_offset = int.from_bytes(fixed[16:24], "little")
        data_size = int.from_bytes(fixed[24:32], "little")
        skip = data_offset - _V2_PRAGMA_LEN - _V2_HEADER_LEN
        if skip < 0:
            raise IpfsFormatError(f"CARv2 data offset {data_offset} overlaps its header")
        _read_exact(self._stream, skip, "the CARv2 padding")
        before = self._stream.tell() if self._stream.seekable() else None
        header = _read_header(self._stream)
        used = self._stream.tell() - before if before is not None else 0
        self._remaining = data_size - used if before is not None else None
        return header

    def __iter__(self) -> Iterator[tuple[Cid, bytes]]:
        while self._remaining is None or self._remaining > 0:
            size = _read_varint(self._stream)
            if size is None:
                return
            if not 0 < size <= _MAX_SECTION:
                raise IpfsFormatError(f"CAR section length {size} is out of range")
            section = _read_exact(self._stream, size, "a section")
            if self._remaining is not None:
                self._remaining -= len(encode_varint(size)) + size
            cid, used = Cid.from_bytes(section)
            block = section[used:]
            if not cid.verify(block):
                raise IpfsFormatError(f"CAR block {cid} does not match its hash")
            yield cid, block


def read_car(data: bytes) -> tuple[list[Cid], dict[Cid, bytes]]:
    """All roots and verified blocks of an in-memory CAR."""
    reader = CarReader(io.BytesIO(data))
    return reader.roots, dict(reader)


def write_car(roots: Iterable[Cid], blocks: Iterable[tuple[Cid, bytes]]) -> bytes:
    """A CARv1 holding `blocks` in the given order (gateways send depth-first, root first)."""
    header = dagcbor.encode({"roots": list(roots), "version": 1})
    parts = [encode_varint(len(header)), header]
    for cid, block in blocks:
        raw = cid.bytes
        parts += [encode_varint(len(raw) + len(block)), raw, block]
    return b"".join(parts)
