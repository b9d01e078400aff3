"""A small dag-cbor (0x71) codec: enough for CAR headers and IPNS record data.

Covers integers, byte and text strings, arrays, maps with text keys, booleans, null, 64-bit
floats and CIDs (tag 42). dag-cbor forbids indefinite lengths and every other tag, so both are
refused. Map keys are written in dag-cbor's canonical order (shorter first, then bytewise).
"""

from __future__ import annotations

import struct
from typing import Union

from ipnpm.ipfs.cid import Cid
from ipnpm.ipfs.errors import IpfsFormatError

CborValue = Union[  # noqa: UP007 (a recursive alias needs the string-friendly Union form)
    None, bool, int, float, bytes, str, Cid, list["CborValue"], dict[str, "CborValue"]
]

_CID_TAG = 42
_MAX_DEPTH = 64
_SIMPLE = {20: False, 21: True, 22: None}


def decode(buf: bytes) -> CborValue:
    """Decode exactly one dag-cbor value filling `buf`."""
    value, pos = _Decoder(buf).item(0, 0)
    if pos != len(buf):
        raise IpfsFormatError(f"{len(buf) - pos} trailing bytes after dag-cbor value")
    return value


class _Decoder:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf

    def _take(self, pos: int, size: int) -> bytes:
        if pos + size > len(self.buf):
            raise IpfsFormatError("truncated dag-cbor")
        return self.buf[pos : pos + size]

    def _head(self, pos: int) -> tuple[int, int, int]:
        """Return (major type, argument, position after the head)."""
        first = self._take(pos, 1)[0]
        major, info = first >> 5, first & 0x1F
        if info < 24:
            return major, info, pos + 1
        if info > 27:
            raise IpfsFormatError("indefinite or reserved length in dag-cbor")
        size = 1 << (info - 24)
        return major, int.from_bytes(self._take(pos + 1, size), "big"), pos + 1 + size

    def item(self, pos: int, depth: int) -> tuple[CborValue, int]:
        if depth > _MAX_DEPTH:
            raise IpfsFormatError("dag-cbor nested too deeply")
        if self._take(pos, 1)[0] == 0xFB:  # the only float width dag-cbor allows
            return struct.unpack(">d", self._take(pos + 1, 8))[0], pos + 9
        major, arg, pos = self._head(pos)
        handlers = (
            self._uint,
            self._negint,
            self._bytes,
            self._text,
            self._list,
            self._map,
            self._tag,
            self._simple,
        )
        return handlers[major](pos, arg, depth)

    def _uint(self, pos: int, arg: int, _depth: int) -> tuple[CborValue, int]:
        return arg, pos

    def _negint(self, pos: int, arg: int, _depth: int) -> tuple[CborValue, int]:
        return -1 - arg, pos

    def _bytes(self, pos: int, arg: int, _depth: int) -> tuple[CborValue, int]:
        return self._take(pos, arg), pos + arg

    def _text(self, pos: int, arg: int, _depth: int) -> tuple[CborValue, int]:
        try:
            return self._take(pos, arg).decode("utf-8"), pos + arg
        except UnicodeDecodeError as exc:
            raise IpfsFormatError("dag-cbor text is not UTF-8") from exc

    def _list(self, pos: int, arg: int, depth: int) -> tuple[CborValue, int]:
        items: list[CborValue] = []
        for _ in range(arg):
            value, pos = self.item(pos, depth + 1)
            items.append(value)
        return items, pos

    def _simple(self, pos: int, arg: int, _depth: int) -> tuple[CborValue, int]:
        if arg not in _SIMPLE:
            raise IpfsFormatError(f"unsupported dag-cbor simple value {arg}")
        return _SIMPLE[arg], pos

    def _map(self, pos: int, count: int, depth: int) -> tuple[CborValue, int]:
        result: dict[str, CborValue] = {}
        for _ in range(count):
            key, pos = self.item(pos, depth + 1)
            if not isinstance(key, str) or key in result:
                raise IpfsFormatError(f"dag-cbor map key {key!r} is not a unique string")
            result[key], pos = self.item(pos, depth + 1)
        return result, pos

    def _tag(self, pos: int, arg: int, depth: int) -> tuple[CborValue, int]:
        if arg != _CID_TAG:
            raise IpfsFormatError(f"dag-cbor allows only tag 42, got tag {arg}")
        raw, pos = self.item(pos, depth + 1)
        # A CID link is a byte string holding 0x00 (the identity multibase) + the binary CID.
        if not isinstance(raw, bytes) or raw[:1] != b"\0":
            raise IpfsFormatError("dag-cbor tag 42 does not hold a binary CID")
        cid, used = Cid.from_bytes(raw, 1)
        if used != len(raw) - 1:
            raise IpfsFormatError("trailing bytes after a CID in dag-cbor")
        return cid, pos


def _head(major: int, arg: int) -> bytes:
    if arg < 24:
        return bytes((major << 5 | arg,))
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if arg < 1 << (8 * size):
            return bytes((major << 5 | info,)) + arg.to_bytes(size, "big")
    raise ValueError(f"integer {arg} does not fit in 64 bits")


def encode(value: CborValue) -> bytes:
    """Encode `value` as canonical dag-cbor."""
    if isinstance(value, Cid):
        return _head(6, _CID_TAG) + encode(b"\0" + value.bytes)
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(encode(item) for item in value)
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: (len(key.encode("utf-8")), key.encode("utf-8")))
        return _head(5, len(keys)) + b"".join(encode(key) + encode(value[key]) for key in keys)
    return _encode_scalar(value)


def _encode_scalar(value: bool | int | float | bytes | str | None) -> bytes:
    if value is None or isinstance(value, bool):
        return bytes((0xF6 if value is None else 0xF5 if value else 0xF4,))
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    raw = value.encode("utf-8")
    return _head(3, len(raw)) + raw
