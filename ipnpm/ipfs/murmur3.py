"""MurmurHash3 x64 128 in pure Python, for UnixFS HAMT bucket selection.

UnixFS calls its HAMT hash "murmur3-x64-64" (multihash 0x22): the first 64-bit half (`h1`) of
MurmurHash3_x64_128 with seed 0, as Go's `murmur3.New64().Sum(nil)` writes it, i.e. big-endian.
Names are short (npm package names), so a pure-Python hash costs microseconds per lookup and
spares a C dependency.
"""

from __future__ import annotations

_MASK = (1 << 64) - 1
_C1 = 0x87C37B91114253D5
_C2 = 0x4CF5AD432745937F


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK


def _fmix(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _MASK
    return k ^ (k >> 33)


def _mix_k1(k1: int) -> int:
    return (_rotl((k1 * _C1) & _MASK, 31) * _C2) & _MASK


def _mix_k2(k2: int) -> int:
    return (_rotl((k2 * _C2) & _MASK, 33) * _C1) & _MASK


def murmur3_x64_128(data: bytes, seed: int = 0) -> tuple[int, int]:
    """Return (h1, h2), the two 64-bit halves of MurmurHash3_x64_128(data, seed)."""
    h1 = h2 = seed & 0xFFFFFFFF  # the reference takes a uint32 seed
    length = len(data)
    body = length - length % 16
    for start in range(0, body, 16):
        h1 ^= _mix_k1(int.from_bytes(data[start : start + 8], "little"))
        h1 = (_rotl(h1, 27) + h2) & _MASK
        h1 = (h1 * 5 + 0x52DCE729) & _MASK
        h2 ^= _mix_k2(int.from_bytes(data[start + 8 : start + 16], "little"))
        h2 = (_rotl(h2, 31) + h1) & _MASK
        h2 = (h2 * 5 + 0x38495AB5) & _MASK
    # The 0-15 tail bytes, read little-endian, are what the reference's fall-through switch
    # assembles; an absent half is 0 and mixes to 0, so it needs no special case.
    tail = data[body:]
    h2 ^= _mix_k2(int.from_bytes(tail[8:], "little"))
    h1 ^= _mix_k1(int.from_bytes(tail[:8], "little"))
    h1 ^= length
    h2 ^= length
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    return h1, h2


def murmur3_x64_64(data: bytes) -> int:
    """The UnixFS HAMT hash of `data` as an integer (big-endian bytes = Go's `Sum(nil)`)."""
    return murmur3_x64_128(data)[0]
