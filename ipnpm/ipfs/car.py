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
from ipnpm.ipfs.errors import BlockHashError, IpfsFormatError
from ipnpm.ipfs.varint import encode_varint

_MAX_HEADER = 64 * 1024
# Kubo refuses blocks over 2 MiB (bitswap's limit); a bigger section length is corruption or
# an attack, so refuse it before allocating.
_MAX_SECTION = 2 * 1024 * 1024 + 1024
_V2_HEADER_LEN = 40
_MAX_V2_PADDING = 1 << 20  # a writer pads the payload to an alignment, not by gigabytes


class CarReader:
    """Iterate (cid, block) pairs of a CAR stream, each block checked against its CID.

    `stream` must return as many bytes as asked unless at its end (a buffered file, BytesIO,
    urllib3's response). `roots` is read on construction. A block whose hash differs from its
    CID raises IpfsFormatError as soon as it is read: nothing unverified reaches the caller.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._offset = 0  # bytes consumed so far
        self._end: int | None = None  # where a CARv2's inner CARv1 payload ends
        header = self._read_header()
        if header.get("version") == 2:
            header = self._enter_v2()
        if header.get("version") != 1:
            raise IpfsFormatError(f"unsupported CAR version {header.get('version')!r}")
        roots = header.get("roots")
        if not isinstance(roots, list) or not all(isinstance(root, Cid) for root in roots):
            raise IpfsFormatError("CAR header roots is not a list of CIDs")
        self.roots: list[Cid] = [root for root in roots if isinstance(root, Cid)]

    def _read(self, size: int, what: str) -> bytes:
        data = self._stream.read(size)
        if len(data) != size:
            raise IpfsFormatError(f"CAR truncated in {what} (wanted {size} bytes, got {len(data)})")
        self._offset += size
        return data

    def _read_varint(self) -> int | None:
        """Read a varint; None on a clean end of stream before its first byte."""
        value = shift = 0
        while True:
            byte = self._stream.read(1)
            if not byte:
                if shift:
                    raise IpfsFormatError("CAR truncated inside a varint")
                return None
            self._offset += 1
            value |= (byte[0] & 0x7F) << shift
            if byte[0] < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise IpfsFormatError("CAR varint too long")

    def _read_header(self) -> dict[str, dagcbor.CborValue]:
        size = self._read_varint()
        if size is None or not 0 < size <= _MAX_HEADER:
            raise IpfsFormatError(f"CAR header length {size} is out of range")
        header = dagcbor.decode(self._read(size, "the header"))
        if not isinstance(header, dict):
            raise IpfsFormatError("CAR header is not a map")
        return header

    def _enter_v2(self) -> dict[str, dagcbor.CborValue]:
        # What we just read as a header was the pragma; then comes the fixed v2 header.
        fixed = self._read(_V2_HEADER_LEN, "the CARv2 header")
        data_offset = int.from_bytes(fixed[16:24], "little")
        data_size = int.from_bytes(fixed[24:32], "little")
        if data_offset < self._offset:
            raise IpfsFormatError(f"CARv2 data offset {data_offset} overlaps its header")
        if data_offset - self._offset > _MAX_V2_PADDING:
            raise IpfsFormatError(f"CARv2 data offset {data_offset} is out of range")
        self._read(data_offset - self._offset, "the CARv2 padding")
        self._end = data_offset + data_size  # the index after the payload is not ours to read
        return self._read_header()

    def __iter__(self) -> Iterator[tuple[Cid, bytes]]:
        while self._end is None or self._offset < self._end:
            size = self._read_varint()
            if size is None:
                return
            if not 0 < size <= _MAX_SECTION:
                raise IpfsFormatError(f"CAR section length {size} is out of range")
            section = self._read(size, "a section")
            cid, used = Cid.from_bytes(section)
            block = section[used:]
            if not cid.verify(block):
                raise BlockHashError(f"CAR block {cid} does not match its hash")
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
