"""Upstream answers passed to npm as they came over the wire.

npm acts on more than a body: pacote records a packument's ``Content-Length`` as
``_contentLength``, which ``npm view --json`` prints. So the proxy forwards the upstream's bytes
undecoded with their ``Content-Encoding``, and a ``Content-Length`` only when the upstream sent
one (else the answer goes out chunked, as it came); ipnpm decodes a copy for its own use.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

# Encodings ipnpm can decode for its own copy; requests asks for no others.
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


@dataclass(frozen=True)
class Wire:
    raw: bytes  # the body exactly as the upstream sent it
    encoding: str | None  # its Content-Encoding, if any
    sized: bool  # the upstream sent a Content-Length

    def decoded(self) -> bytes:
        """The body without its Content-Encoding (what the cache and the JSON parser need)."""
        if not self.encoding:
            return self.raw
        wbits = _DECODERS.get(self.encoding.lower())
        if wbits is None:
            raise ValueError(f"unsupported Content-Encoding {self.encoding!r}")
        return zlib.decompress(self.raw, wbits)


def read_wire(response: requests.Response) -> Wire:
    """Read a ``stream=True`` response without decoding it."""
    with response:
        raw = response.raw.read(decode_content=False)
    encoding = response.headers.get("Content-Encoding")
    if encoding and encoding.lower() == "identity":
        encoding = None
    return Wire(raw, encoding, "Content-Length" in response.headers)
