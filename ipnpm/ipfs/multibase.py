"""The three multibase encodings CIDs and IPNS names use: base32 (b), base58btc (z), base36 (k)."""

from __future__ import annotations

import base64
import binascii

from ipnpm.ipfs.errors import IpfsFormatError

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def b32_encode(data: bytes) -> str:
    # The stdlib codec is C code: much faster than a Python loop for every CID we print.
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def b32_decode(text: str) -> bytes:
    try:
        return base64.b32decode(text.upper() + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError) as exc:  # ValueError: non-ASCII characters
        raise IpfsFormatError(f"invalid base32 {text!r}") from exc


def _encode_int(data: bytes, alphabet: str) -> str:
    # Leading zero bytes are written as leading "zero digits", as in Bitcoin's base58.
    zeros = len(data) - len(data.lstrip(b"\0"))
    num = int.from_bytes(data, "big")
    base = len(alphabet)
    digits = []
    while num:
        num, rem = divmod(num, base)
        digits.append(alphabet[rem])
    return alphabet[0] * zeros + "".join(reversed(digits))


def _decode_int(text: str, index: dict[str, int], name: str) -> bytes:
    zero = next(c for c, i in index.items() if i == 0)
    zeros = len(text) - len(text.lstrip(zero))
    num = 0
    base = len(index)
    for char in text:
        digit = index.get(char)
        if digit is None:
            raise IpfsFormatError(f"invalid {name} character {char!r} in {text!r}")
        num = num * base + digit
    body = num.to_bytes((num.bit_length() + 7) // 8, "big")
    return b"\0" * zeros + body


def b58_encode(data: bytes) -> str:
    return _encode_int(data, _B58)


def b58_decode(text: str) -> bytes:
    return _decode_int(text, _B58_INDEX, "base58btc")


_B36_INDEX = {c: i for i, c in enumerate(_B36)}


def b36_encode(data: bytes) -> str:
    return _encode_int(data, _B36)


def b36_decode(text: str) -> bytes:
    return _decode_int(text.lower(), _B36_INDEX, "base36")


def multibase_decode(text: str) -> bytes:
    """Decode `text` by its multibase prefix character."""
    prefix, body = text[:1], text[1:]
    if prefix in ("b", "B"):
        return b32_decode(body)
    if prefix == "z":
        return b58_decode(body)
    if prefix in ("k", "K"):
        return b36_decode(body)
    raise IpfsFormatError(f"unsupported multibase prefix {prefix!r} in {text!r}")
