"""Servers that misbehave on demand, for what real components cannot be made to do.

    with corrupting_gateway(kubo.gateway_url) as bad:   # every block it serves is wrong
        GatewaySource([bad.url, kubo.gateway_url]).open(want)
        assert bad.requests == 1
    with hanging_server() as slow:                       # accepts, never answers
        ...

Each listens on 127.0.0.1, port 0, and stops its thread on exit.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from ipnpm.ipfs.car import CarReader, write_car

_UPSTREAM_TIMEOUT = 60.0


@dataclass
class BadServer:
    url: str = ""
    paths: list[str] = field(default_factory=list)  # what was asked, oldest first
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.paths)

    def record(self, path: str) -> None:
        with self._lock:
            self.paths.append(path)


def flip_byte(block: bytes) -> bytes:
    """``block`` with its middle byte inverted (an empty block has nothing to corrupt)."""
    if not block:
        return block
    middle = len(block) // 2
    return block[:middle] + bytes([block[middle] ^ 0xFF]) + block[middle + 1 :]


def corrupt_car(car: bytes) -> bytes:
    """The same CAR, framing and CIDs intact, with one byte of every block flipped."""
    reader = CarReader(io.BytesIO(car))
    return write_car(reader.roots, [(cid, flip_byte(block)) for cid, block in reader])


@contextlib.contextmanager
def recording_gateway(upstream_gateway_url: str) -> Iterator[BadServer]:
    """An honest gateway in front of a real one that records every path asked of it."""
    with corrupting_gateway(upstream_gateway_url, corrupt=False) as server:
        yield server


@contextlib.contextmanager
def corrupting_gateway(upstream_gateway_url: str, *, corrupt: bool = True) -> Iterator[BadServer]:
    """A trustless gateway in front of a real one that corrupts every block it passes on."""
    upstream = upstream_gateway_url.rstrip("/")
    server = BadServer()
    session = requests.Session()
    session.trust_env = False

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.record(self.path)
            accept = self.headers.get("Accept", "")
            try:
                answer = session.get(
                    upstream + self.path, headers={"Accept": accept}, timeout=_UPSTREAM_TIMEOUT
                )
            except requests.RequestException:
                self._reply(502, "text/plain", b"upstream gateway failed")
                return
            body, kind = answer.content, answer.headers.get("Content-Type", "")
            if not corrupt or answer.status_code != 200:
                pass
            elif kind.startswith("application/vnd.ipld.car"):
                body = corrupt_car(body)
            elif kind.startswith("application/vnd.ipld.raw"):
                body = flip_byte(body)
            self._reply(answer.status_code, kind or "application/octet-stream", body)

        def _reply(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    with session, _serving(Handler) as url:
        server.url = url
        yield server


@contextlib.contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=httpd.serve_forever, args=(0.05,), name="bad-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# A promise of a megabyte, a few bytes of it, then silence.
_STALLED_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Length: 1048576\r\n\r\nstall"
)


@contextlib.contextmanager
def hanging_server(*, after_headers: bool = False) -> Iterator[BadServer]:
    """Accepts connections and never answers; with ``after_headers``, answers 200 and the
    first bytes of a body, then stalls. Connections are held open until exit."""
    server = BadServer()
    stop = threading.Event()
    held: list[socket.socket] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # how often the accept loop looks at `stop`

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(connection)
            server.record("")  # the request is never read, so its path is unknown
            if after_headers:
                connection.settimeout(1.0)
                with contextlib.suppress(OSError):
                    connection.recv(65536)
                    connection.sendall(_STALLED_ANSWER)

    thread = threading.Thread(target=accept_loop, name="hanging-server", daemon=True)
    server.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join()
        listener.close()
        for connection in held:
            connection.close()


@contextlib.contextmanager
def recording_server() -> Iterator[BadServer]:
    """Answers every method and path with 404 and records ``METHOD path`` and the body's size:
    a hostile destination (a "Kubo" a project file names) that must receive nothing."""
    server = BadServer()

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.record(f"{self.command} {self.path} {len(body)}")
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    with _serving(Handler) as url:
        server.url = url
        yield server


@dataclass
class Received:
    """One request body as an upstream saw it."""

    path: str
    size: int  # bytes of body received
    whole: bool  # the body ended where its framing said (else the connection dropped first)
    chunked: bool


@dataclass
class CountingServer:
    url: str = ""
    bodies: list[Received] = field(default_factory=list)


def _count(rfile: io.BufferedIOBase, length: int) -> tuple[int, bool]:
    """Read ``length`` bytes 64 KiB at a time, keeping none: (how many came, all of them)."""
    size = 0
    while size < length and (got := len(rfile.read(min(length - size, 1 << 16)))):
        size += got
    return size, size == length


def _count_body(rfile: io.BufferedIOBase, length: int | None) -> tuple[int, bool]:
    """(size, whole) of a body of ``length`` bytes, or a chunked one (``length`` None)."""
    if length is not None:
        return _count(rfile, length)
    size = 0
    while (line := rfile.readline(64)).strip():
        chunk = int(line.split(b";")[0], 16)
        if chunk == 0:
            return size, rfile.readline(64) == b"\r\n"
        got, whole = _count(rfile, chunk)
        size += got
        if not whole or rfile.readline(64) != b"\r\n":
            return size, False
    return size, False


@contextlib.contextmanager
def counting_server() -> Iterator[CountingServer]:
    """An upstream that counts the bytes of every request body without keeping them, and
    records whether each arrived whole; answers 201 with the count, or nothing if cut off."""
    server = CountingServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "")
            length = None if chunked else int(self.headers.get("Content-Length") or 0)
            try:
                size, whole = _count_body(self.rfile, length)
            except (OSError, ValueError):
                size, whole = -1, False
            server.bodies.append(Received(self.path, size, whole, chunked))
            if not whole:
                self.close_connection = True
                return
            answer = f'{{"received": {size}}}'.encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_POST = do_PUT = _any

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    with _serving(Handler) as url:
        server.url = url + "/"
        yield server
