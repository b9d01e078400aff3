"""Request bodies, streamed from the client to the upstream a piece at a time, never held whole.

A body is read only once the request is authorized and allowed, and only as fast as the upstream
takes it. ``MAX_BODY`` is enforced while reading: a declared length over it is refused before a
byte is read, a chunked body that grows past it stops there. A body that ends early (the client
closed, the connection was cut at its deadline) raises ``BadRequest``; the caller answers it and
drops both connections, so the upstream never takes a truncated body for a whole one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email.message import Message
from io import BufferedIOBase

MAX_BODY = 512 * 1024 * 1024  # npm publish of a very large package; anything beyond is abuse
PIECE = 1 << 16  # bytes read from the client at a time
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")  # int(…, 16) would also take "-1", "0x1", "1_0"
_LENGTH = re.compile(r"[0-9]+")  # str.isdigit() would also take "²", which int() refuses
_MAX_TRAILERS = 64


class BadRequest(Exception):
    """A request the proxy answers with ``status`` (4xx) and closes the connection after.

    Deliberately not an ``OSError``: raised while the HTTP client sends the body upstream, it
    must come through that client unchanged rather than as an upstream connection failure.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Body:
    """One request's body as it arrives: counted against ``MAX_BODY``; ``on_end`` is called
    once the last byte is in (the request's deadline ends there)."""

    def __init__(self, rfile: BufferedIOBase, on_end: Callable[[], None]) -> None:
        self._rfile = rfile
        self._on_end = on_end
        self.received = 0
        self.done = False

    def pieces(self) -> Iterator[bytes]:
        raise NotImplementedError

    def drain(self) -> None:
        """Read the body and drop it (a route that needs none keeps the connection in step)."""
        for _ in self.pieces():
            pass

    def _finish(self) -> None:
        if not self.done:
            self.done = True
            self._on_end()

    def _read(self, size: int) -> bytes:
        try:
            data = self._rfile.read(size)
        except OSError as exc:  # a timeout or reset on the client's side, not the upstream's
            raise BadRequest(400, f"the request body stopped arriving ({exc})") from None
        if not data:
            raise BadRequest(400, f"the request body ended early, after {self.received} bytes")
        return data

    def _line(self) -> bytes:
        try:
            line = self._rfile.readline(1024)
        except OSError as exc:
            raise BadRequest(400, f"the request body stopped arriving ({exc})") from None
        if not line.endswith(b"\n"):
            raise BadRequest(400, "the chunked request body ended early or has an overlong line")
        return line


class SizedBody(Body):
    """A ``Content-Length`` body: a file-like object of known length, so the upstream gets the
    same ``Content-Length``."""

    def __init__(self, rfile: BufferedIOBase, length: int, on_end: Callable[[], None]) -> None:
        super().__init__(rfile, on_end)
        self.length = length

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        left = self.length - self.received
        if left <= 0:
            self._finish()
            return b""
        data = self._read(min(left, size if size > 0 else PIECE))
        self.received += len(data)
        if self.received == self.length:
            self._finish()
        return data

    def pieces(self) -> Iterator[bytes]:
        while data := self.read(PIECE):
            yield data


class ChunkedBody(Body):
    """A ``Transfer-Encoding: chunked`` body: its pieces, sent on chunked in turn."""

    def __init__(self, rfile: BufferedIOBase, on_end: Callable[[], None]) -> None:
        super().__init__(rfile, on_end)
        self._pieces = self._decode()  # one generator: a second reader continues, not restarts

    def pieces(self) -> Iterator[bytes]:
        return self._pieces

    def _decode(self) -> Iterator[bytes]:
        while size := self._chunk_size():
            if self.received + size > MAX_BODY:
                raise BadRequest(413, f"request body over {MAX_BODY} bytes")
            while size:
                data = self._read(min(size, PIECE))
                size -= len(data)
                self.received += len(data)
                yield data
            if self._line().strip():
                raise BadRequest(400, "a chunk of the request body is longer than its size")
        for _ in range(_MAX_TRAILERS):  # trailers are dropped: nothing upstream needs them
            if not self._line().strip():
                self._finish()
                return
        raise BadRequest(400, "too many trailer lines after the chunked request body")

    def _chunk_size(self) -> int:
        text = self._line().split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(text):
            raise BadRequest(400, f"invalid chunk size {text[:20]!r}")
        return int(text, 16)


def open_body(
    headers: Message[str, str], rfile: BufferedIOBase, on_end: Callable[[], None]
) -> Body | None:
    """The request's body, not yet read; ``None`` (and ``on_end`` called) when it has none."""
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        return ChunkedBody(rfile, on_end)
    text = (headers.get("Content-Length") or "0").strip()
    if not _LENGTH.fullmatch(text):
        raise BadRequest(400, f"invalid Content-Length {text[:40]!r}")
    length = int(text) if len(text) <= 18 else MAX_BODY + 1  # 4300 digits and int() fails
    if length > MAX_BODY:
        raise BadRequest(413, f"request body over {MAX_BODY} bytes")
    if length == 0:
        on_end()
        return None
    return SizedBody(rfile, length, on_end)


def upload(body: Body | None) -> SizedBody | Iterator[bytes] | None:
    """What the HTTP client sends upstream: a sized body as a reader of known length (kept as
    ``Content-Length``), a chunked one as an iterator (sent on chunked)."""
    if body is None or isinstance(body, SizedBody):
        return body
    return body.pieces()
