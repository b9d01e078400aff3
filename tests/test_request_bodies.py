"""Request bodies stream through the proxy's pass-through, never held whole, within a cap.

A real proxy forwards to a real local HTTP server that counts the bytes it gets and keeps none.
Python's allocations are traced meanwhile (client, proxy and upstream share the process): a
proxy that read the body into memory first would show it in the peak.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ipnpm.clients.upstream import Upstream
from ipnpm.npm.config import NpmConfig
from ipnpm.proxy import bodies
from ipnpm.proxy.server import registry_proxy
from ipnpm.run.context import RunContext
from ipnpm.sources.fetcher import Fetcher
from ipnpm.store.objects import Store
from ipnpm.store.runlog import RunLog
from tests.support.bad_servers import CountingServer, Received, counting_server

MiB = 1024 * 1024
BIG = 96 * MiB
PIECE = memoryview(b"x" * MiB)  # the client sends this again and again: it holds 1 MiB
HELD_AT_MOST = 12 * MiB  # traced peak while a body passes: pieces in flight, never the body
SECRET = "per-run-secret"


@dataclass
class Proxy:
    port: int
    upstream: CountingServer
    log: RunLog


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    store = Store(tmp_path / "store").open()
    with counting_server() as upstream, RunLog(tmp_path / "logs") as log:
        config = NpmConfig(registry=upstream.url)
        context = RunContext(
            secret=SECRET,
            config=config,
            store=store,
            fetcher=Fetcher(store, [], log),
            log=log,
            upstream=Upstream(config, {}),
        )
        with registry_proxy(context) as url:
            yield Proxy(int(url.rstrip("/").rsplit(":", 1)[1]), upstream, log)


def _head(proxy: Proxy, framing: str) -> bytes:
    return (
        f"PUT /ipnpm-big-package HTTP/1.1\r\nHost: 127.0.0.1:{proxy.port}\r\n"
        f"Authorization: Bearer {SECRET}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


def _send_body(sock: socket.socket, size: int, *, chunked: bool) -> None:
    sent = 0
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused mid-body
        while sent < size:
            piece = PIECE[: min(MiB, size - sent)]
            sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n" if chunked else piece)
            sent += len(piece)
        if chunked:
            sock.sendall(b"0\r\n\r\n")


def _status_and_body(sock: socket.socket) -> tuple[int, bytes]:
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            length = [
                line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
            ]
            if length and len(body) >= int(length[0].split(b":")[1]):
                break
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _logged(proxy: Proxy, event: str) -> list[dict[str, object]]:
    """The live log's ``event`` records: its writer thread writes within milliseconds."""
    deadline = time.monotonic() + 5.0
    while True:
        records = [json.loads(line) for line in proxy.log.path.read_text().splitlines()]
        found = [record for record in records if record["event"] == event]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def _exchange(
    proxy: Proxy, size: int, *, chunked: bool, declared: int | None = None
) -> tuple[int, bytes]:
    """PUT a body of ``size`` bytes (``declared`` in Content-Length, if not chunked) while the
    answer is read at the same time, as npm does: a refusal mid-body still gets through."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared or size}"
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=60) as sock:
        sock.sendall(_head(proxy, framing))
        sender = threading.Thread(target=_send_body, args=(sock, size), kwargs={"chunked": chunked})
        sender.start()
        try:
            return _status_and_body(sock)
        finally:
            sender.join()


@contextlib.contextmanager
def _traced_peak() -> Iterator[list[int]]:
    """The highest traced allocation above the start, in bytes (in the list, on exit)."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        yield peak
        peak.append(tracemalloc.get_traced_memory()[1] - start)
    finally:
        tracemalloc.stop()


def _last_body(proxy: Proxy) -> Received:
    deadline = time.monotonic() + 10  # the upstream records a cut-off body when it sees EOF
    while not proxy.upstream.bodies and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proxy.upstream.bodies, "the upstream saw no request"
    return proxy.upstream.bodies[-1]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_large_body_streams_to_the_upstream_without_being_held(
    proxy: Proxy, chunked: bool
) -> None:
    assert _exchange(proxy, MiB, chunked=chunked)[0] == 201  # warm: sessions, threads
    with _traced_peak() as peak:
        status, answer = _exchange(proxy, BIG, chunked=chunked)
    assert peak[0] < HELD_AT_MOST, f"{peak[0] / MiB:.0f} MiB held for a {BIG // MiB} MiB body"
    assert status == 201, answer
    assert json.loads(answer) == {"received": BIG}
    assert _last_body(proxy) == Received("/ipnpm-big-package", BIG, True, chunked)


def test_a_chunked_body_over_the_cap_is_a_413_without_being_held(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bodies, "MAX_BODY", 32 * MiB)
    with _traced_peak() as peak:
        status, answer = _exchange(proxy, 64 * MiB, chunked=True)
    assert peak[0] < HELD_AT_MOST, f"{peak[0] / MiB:.0f} MiB held before the 413"
    assert status == 413, answer
    assert b"over 33554432 bytes" in answer
    seen = _last_body(proxy)
    assert not seen.whole and seen.size <= 32 * MiB  # cut off mid-body: never taken as whole
    assert _exchange(proxy, MiB, chunked=True)[0] == 201  # still serving


def test_a_declared_length_over_the_cap_is_a_413_before_anything_is_read(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bodies, "MAX_BODY", 32 * MiB)
    status, answer = _exchange(proxy, MiB, chunked=False, declared=32 * MiB + 1)
    assert status == 413, answer
    assert proxy.upstream.bodies == []  # nothing went upstream


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_cut_short_is_a_400_and_never_reaches_the_upstream_whole(
    proxy: Proxy, chunked: bool
) -> None:
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {4 * MiB}"
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=30) as sock:
        sock.sendall(_head(proxy, framing))
        sock.sendall(b"%x\r\n" % (4 * MiB) + PIECE if chunked else PIECE)  # 1 MiB of 4
        sock.shutdown(socket.SHUT_WR)  # the client is gone before the rest
        status, answer = _status_and_body(sock)
    assert status == 400, answer
    assert b"ended early" in answer
    seen = _last_body(proxy)
    assert not seen.whole and seen.size <= MiB, seen
    refused = _logged(proxy, "refused")
    assert refused and refused[-1]["status"] == 400
    assert _exchange(proxy, MiB, chunked=chunked)[0] == 201  # still serving
