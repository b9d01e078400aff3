"""The proxy's HTTP server: loopback only, a free port, one secret per run, HTTP/1.1 keep-alive."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ipnpm.errors import reason
from ipnpm.proxy.bodies import BadRequest, Body, open_body
from ipnpm.proxy.packuments import Answer, Packuments, not_found
from ipnpm.proxy.passthrough import forward
from ipnpm.proxy.paths import packument_name, split_query, tarball_ref
from ipnpm.proxy.readonly import host_allowed, refusal
from ipnpm.proxy.tarballs import serve_tarball
from ipnpm.run.context import RunContext

logger = logging.getLogger("ipnpm.proxy")


# -- serve-mode hooks (ipnpm ipfs serve) ------------------------------------------------------
@dataclass(frozen=True)
class Auth:
    """Who may use the registry routes. They carry the operator's upstream credentials, so by
    default only a client that sends ``Authorization: Bearer <context.secret>``."""

    required: bool = True
    refusal: str = "ipnpm: this proxy belongs to another run"  # the 401's message
    # Serve mode: clients may only read (proxy/readonly.py); everything they send goes
    # upstream with the operator's credentials.
    read_only: bool = False
    host_names: tuple[str, ...] = ()  # more Host names to answer to (a reverse proxy's)


# Answers a whole ``/ipfs/…`` request itself (serve mode's trustless gateway). Asked before
# the auth check: content-addressed data is public and every client verifies what it gets.
IpfsRoute = Callable[[BaseHTTPRequestHandler], None]
_PER_RUN_SECRET = Auth()
# -- end of serve-mode hooks ------------------------------------------------------------------


MAX_CONNECTIONS = 256  # threads: npm opens 15 sockets per run, a team server's clients more
REQUEST_TIME = 120.0  # seconds to send a whole request: a byte now and then does not extend it


class _Deadlines:
    """When each connection's current request must have arrived whole; one reaper thread cuts
    the connections past theirs (a slowloris client resets an idle timeout with every byte)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict[socket.socket, float] = {}
        self._stop = threading.Event()
        threading.Thread(target=self._reap, name="ipnpm-reaper", daemon=True).start()

    def set(self, connection: socket.socket) -> None:
        with self._lock:
            self._due[connection] = time.monotonic() + REQUEST_TIME

    def clear(self, connection: socket.socket) -> None:
        with self._lock:
            self._due.pop(connection, None)

    def stop(self) -> None:
        self._stop.set()

    def _reap(self) -> None:
        while not self._stop.wait(1.0):
            now = time.monotonic()
            with self._lock:
                late = [c for c, due in self._due.items() if due < now]
                for connection in late:
                    del self._due[connection]
            for connection in late:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client connection must not keep ipnpm alive
    # A restart (serve mode) must not wait a minute for the TIME_WAITs of closed keep-alive
    # connections; on Linux this never lets two listeners share the port.
    allow_reuse_address = True
    request_queue_size = 128  # npm opens 15 sockets at once; a team server many more
    context: RunContext
    packuments: Packuments
    auth: Auth  # serve mode
    ipfs_route: IpfsRoute | None  # serve mode
    bound_host: str  # the address asked for, as the Host check compares it
    deadlines: _Deadlines
    slots: threading.BoundedSemaphore

    def process_request(self, request: Any, client_address: Any) -> None:
        # Past the cap a connection is closed at once: npm retries it, and a flood of idle
        # connections cannot make the proxy start a thread for each.
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.deadlines.clear(request)
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: npm opens up to 15 sockets and reuses them
    # Headers and body go out in two writes; with Nagle's algorithm the body then waits for
    # the client's delayed ACK, about 40 ms on loopback: that was most of a packument's cost.
    disable_nagle_algorithm = True
    timeout = 120  # seconds: a stalled or idle client must not hold a thread forever
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("proxy: " + format, *args)

    def handle_one_request(self) -> None:
        self.server.deadlines.set(self.connection)  # the request line, headers and body
        super().handle_one_request()

    def _authorized(self) -> bool:
        # npm sends the per-run secret on every request (npm_config_//127.0.0.1:PORT/:_authToken)
        expected = f"Bearer {self.server.context.secret}"
        return hmac.compare_digest(self.headers.get("Authorization", ""), expected)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        if answer.encoding:
            self.send_header("Content-Encoding", answer.encoding)
        if answer.sized:
            self.send_header("Content-Length", str(len(answer.body)))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        for key, value in answer.headers:
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if answer.sized:
            self.wfile.write(answer.body)
        elif answer.body:
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(answer.body), answer.body))
        else:
            self.wfile.write(b"0\r\n\r\n")

    _responded = False  # set once a status line went out on this request

    def send_response(self, code: int, message: str | None = None) -> None:
        self._responded = True
        super().send_response(code, message)

    def _dispatch(self) -> None:
        self._responded = False
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # npm went away, or the client stalled: drop it
        except BadRequest as bad:
            self.close_connection = True  # the stream is out of step: never reuse it
            self.server.context.log.event("refused", method=self.command, status=bad.status)
            if not self._responded:
                # A client cut off at its deadline cannot read the answer any more.
                with contextlib.suppress(OSError):
                    self._send(Answer(bad.status, json.dumps({"error": f"ipnpm: {bad}"}).encode()))
        except Exception as exc:  # the proxy must answer, never die silently
            logger.debug("proxy: internal error", exc_info=True)
            self.server.context.log.event("proxy-error", error=reason(exc))
            if self._responded:
                self.close_connection = True  # mid-body: a second response would corrupt it
                return
            # 404 rather than 500: npm retries a 5xx for over a minute before it fails.
            self._send(not_found(f"ipnpm: internal error: {reason(exc)}"))

    def _refuse(self, status: int, message: str) -> None:
        # Refused before reading a byte of the body, and the connection is closed: a client
        # that may not send it cannot make the proxy read or buffer anything.
        self.close_connection = True
        self.server.context.log.event("refused", method=self.command, status=status)
        self._send(Answer(status, json.dumps({"error": message}).encode()))

    def _answer(self) -> None:
        if any("\x00" in value for value in self.headers.values()):
            # No registry needs one, and a NUL must never reach an upstream or a cache key.
            raise BadRequest(400, "a control character in a request header")
        host = self.headers.get("Host")
        port = self.server.server_address[1]
        if not host_allowed(host, self.server.bound_host, port, self.server.auth.host_names):
            # DNS rebinding: a web page whose name now points here sends its own name.
            self._refuse(403, f"ipnpm: Host {str(host)[:100]!r} is not this server's address")
            return
        if self.server.ipfs_route is not None and self.path.startswith("/ipfs/"):  # serve mode
            self.server.deadlines.clear(self.connection)  # GET/HEAD only: the request is in
            self.server.ipfs_route(self)
            return
        if self.server.auth.required and not self._authorized():
            self._refuse(401, self.server.auth.refusal)
            return
        why = refusal(self.command, self.path) if self.server.auth.read_only else None
        if why is not None:
            self._refuse(403, why)
            return
        # Once the body is all in (or there is none) answering may take its time; until then
        # the request's deadline runs, while the body streams to the upstream too.
        body = open_body(self.headers, self.rfile, self._all_in)
        if self.command in ("GET", "HEAD") and self._local(body):
            return
        answer = forward(self.server.context, self.command, self.path, dict(self.headers), body)
        self.server.context.log.event("forward", method=self.command, status=answer.status)
        if body is not None and not body.done:
            # The upstream answered before taking it all: the rest is still on the wire, so
            # this connection ends after the answer (which the deadline no longer cuts).
            self.close_connection = True
            self._all_in()
        self._send(answer)

    def _all_in(self) -> None:
        self.server.deadlines.clear(self.connection)

    def _local(self, body: Body | None) -> bool:
        """Answer a tarball or packument GET/HEAD here; ``False`` for anything else."""
        path, query = split_query(self.path)
        ref = tarball_ref(path)
        name = None if ref is not None or query else packument_name(path)
        if ref is None and name is None:
            return False
        if body is not None:
            body.drain()  # no read needs one; dropped so the connection stays in step
        if ref is not None:
            self._tarball(*ref, path)
        elif name is not None:
            self._packument(name)
        return True

    def _packument(self, name: str) -> None:
        answer = self.server.packuments.answer(name, self.headers.get("Accept", ""))
        self.server.context.log.event(
            "packument", name=name, source=answer.source, status=answer.status
        )
        self._send(answer)

    def _tarball(self, name: str, version: str, path: str) -> None:
        context = self.server.context
        want = context.want(name, version, path, self.headers.get("pacote-integrity"))
        answer = serve_tarball(context, want)
        if answer.path is None:
            self._send(not_found(answer.error))
            return
        # Verified and stored before the first byte goes out; no Content-Encoding, ever
        # (npm would gunzip the tarball and then fail its integrity check).
        context.log.event(
            "served",
            spec=want.spec,
            integrity=want.integrity,
            cid=answer.cid,
            size=answer.size,
            source=answer.source,
            verified=want.integrity is not None,
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(answer.size))
        self.end_headers()
        if self.command == "HEAD":
            return
        with answer.path.open("rb") as handle:
            shutil.copyfileobj(handle, self.wfile, 1 << 16)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = _dispatch


@contextlib.contextmanager
def registry_proxy(
    context: RunContext,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    auth: Auth = _PER_RUN_SECRET,
    ipfs_route: IpfsRoute | None = None,
) -> Iterator[str]:
    """Serve ``context`` on ``host:port`` (a free port by default); yields the base URL.

    ``auth`` and ``ipfs_route`` are for serve mode; the ephemeral proxy keeps the defaults.
    """
    server = _Server((host, port), _Handler)
    server.context = context
    server.packuments = Packuments(context)
    server.auth = auth
    server.ipfs_route = ipfs_route
    server.bound_host = host
    server.deadlines = _Deadlines()
    server.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
    # shutdown() waits for the serve loop's next poll, at the end of every run: 10 ms, not the
    # default 0.5 s (a wake-up costs some 20 us of CPU: 0.2 % of a core).
    thread = threading.Thread(
        target=server.serve_forever, args=(0.01,), name="ipnpm-proxy", daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.packuments.close()
        server.server_close()
        server.deadlines.stop()
        thread.join(timeout=5)
