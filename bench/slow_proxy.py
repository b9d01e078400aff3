"""A WAN link on loopback: a reverse proxy that adds round trips and one shared bottleneck.

    with slow_proxy("http://127.0.0.1:4873/", OFFICE) as far:
        ...  # npm and ipnpm use far.url as their registry; far.bytes_sent counts the link

It stands for a registry on the internet in front of the corpus Verdaccio: each new connection
waits one round trip (the TCP handshake), each request one more before it is forwarded, and
every response byte of every connection goes through one token bucket of `rate` bytes per
second: the link is one shared pipe, as a real office or remote uplink is, so npm's 15 parallel
sockets share it instead of getting 15 times the bandwidth. The client's Host header is
forwarded unchanged, so the tarball URLs Verdaccio writes into packuments point back at the
proxy.
"""

from __future__ import annotations

import contextlib
import http.client
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_CHUNK = 16 * 1024
_UPSTREAM_TIMEOUT = 120.0


@dataclass(frozen=True)
class Link:
    """The simulated network between the clients and the registry."""

    name: str
    latency: float  # seconds per round trip
    rate: float  # bytes per second, shared by every connection

    def describe(self) -> str:
        return (
            f"{self.name}: {self.rate * 8 / 1e6:g} Mbit/s shared by all connections, "
            f"{self.latency * 1000:.0f} ms round trip per new connection and per request"
        )


OFFICE = Link("office", latency=0.030, rate=50e6 / 8)
REMOTE = Link("remote", latency=0.150, rate=8e6 / 8)


class _Bucket:
    """One pipe for every connection: each chunk waits for its turn at `rate` bytes/s."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._lock = threading.Lock()
        self._free_at = 0.0  # when the pipe has sent everything queued so far
        self.sent = 0

    def pace(self, size: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._free_at = max(self._free_at, now) + size / self.rate
            self.sent += size
            ahead = self._free_at - now
        if ahead > 0:
            time.sleep(ahead)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # keep-alive clients must not hold shutdown up
    # socketserver's default backlog is 5: a client that opens more connections at once (ipnpm's
    # 32 prefetch workers) lost SYNs to the full accept queue and waited out the kernel's 1 s
    # retransmission (TcpExtListenDrops counted them), a stall no registry on the internet adds.
    request_queue_size = 1024

    def __init__(self, upstream: str, link: Link) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.link = link
        self.bucket = _Bucket(link.rate)
        self.requests = 0

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # npm closing idle sockets
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a registry on the internet offers
    # Headers and body go out in separate writes: with Nagle's algorithm and delayed ACKs the
    # second one waits ~40 ms on loopback, a delay the simulated link must not add.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self._upstream: http.client.HTTPConnection | None = None
        time.sleep(self.server.link.latency)  # the TCP handshake's round trip

    def finish(self) -> None:
        self._drop_upstream()
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        pass  # thousands of requests per run: quiet

    def do_GET(self) -> None:
        self._forward()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def _forward(self) -> None:
        self.server.requests += 1
        time.sleep(self.server.link.latency)  # the request's round trip
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            response = self._request(body, headers)
        except (OSError, http.client.HTTPException):
            self.send_error(502, "upstream unreachable")
            return
        try:
            self._relay(response)
        except OSError:  # the client went away mid-response
            self._drop_upstream()
            self.close_connection = True
        if response.will_close:
            self._drop_upstream()

    def _request(self, body: bytes | None, headers: dict[str, str]) -> http.client.HTTPResponse:
        # An idle upstream connection may have been closed by the server: retry once, fresh.
        for attempt in (1, 2):
            reused = self._upstream is not None
            connection = self._connection()
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                return connection.getresponse()
            except (OSError, http.client.HTTPException):
                self._drop_upstream()
                if not reused or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _relay(self, response: http.client.HTTPResponse) -> None:
        self.send_response_only(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        bodiless = self.command == "HEAD" or response.status in (204, 304)
        chunked = not bodiless and response.getheader("Content-Length") is None
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if bodiless:
            response.read()
            return
        while chunk := response.read(_CHUNK):
            self.server.bucket.pace(len(chunk))
            self.wfile.write(b"%X\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _connection(self) -> http.client.HTTPConnection:
        if self._upstream is None:
            self._upstream = http.client.HTTPConnection(
                self.server.upstream_host, self.server.upstream_port, timeout=_UPSTREAM_TIMEOUT
            )
        return self._upstream

    def _drop_upstream(self) -> None:
        upstream, self._upstream = self._upstream, None
        if upstream is not None:
            upstream.close()


@dataclass(frozen=True)
class FarLink:
    """A running link: its URL, and what crossed it."""

    url: str  # http://127.0.0.1:PORT/
    link: Link
    _server: _Server

    @property
    def bytes_sent(self) -> int:
        """Response body bytes that crossed the link so far."""
        return self._server.bucket.sent

    @property
    def requests(self) -> int:
        return self._server.requests


@contextlib.contextmanager
def slow_proxy(upstream: str, link: Link) -> Iterator[FarLink]:
    """The link, serving on 127.0.0.1 while the with block runs."""
    server = _Server(upstream, link)
    thread = threading.Thread(target=server.serve_forever, name="slow-proxy", daemon=True)
    thread.start()
    try:
        yield FarLink(f"http://127.0.0.1:{server.server_address[1]}/", link, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
