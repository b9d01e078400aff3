"""An upstream that fails says why: the reason reaches npm's output (the 404 body npm prints),
`--ipnpm-debug`, and the run log, one event per failure. The failing servers are small fakes on
loopback: no real registry can be made to answer 500, hang or present a bad certificate."""

from __future__ import annotations

import contextlib
import http.server
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bad_servers import hanging_server
from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.runlog import last_run
from tests.support.tls import make_pki


class _Answer500(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass  # the test reads ipnpm's output, not the server's


@contextlib.contextmanager
def _failing_upstream(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "refused":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
        return
    if kind == "timeout":
        with hanging_server() as server:
            yield server.url + "/"
        return
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer500)
    scheme = "http"
    if kind == "tls":  # a certificate from a CA nobody configured
        pki = make_pki(tmp_path / "pki")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.server_cert, pki.server_key)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


REASONS = {
    "500": "HTTP 500",
    "refused": "unreachable",
    "timeout": "timed out",
    "tls": "certificate verify failed",
}


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_the_reason_reaches_npm_debug_and_the_run_log(tmp_path: Path, kind: str) -> None:
    with _failing_upstream(kind, tmp_path) as registry:
        world = NpmEnv(tmp_path / "w", registry=registry, extra_config=("fetch-timeout=3000",))
        project = make_project(tmp_path / "p", {})
        result = world.run_ipnpm(
            ["--ipnpm-debug", "--ipnpm-kubo=off", "install", "ipnpm-fixture-a"], project
        )
    assert result.returncode != 0, describe(result)
    # npm prints the 404 body: the reason, with the package it was for.
    npm_lines = [line for line in result.stderr.splitlines() if line.startswith("npm error")]
    assert any(REASONS[kind] in line for line in npm_lines), describe(result)
    failures = [e for e in last_run(world.store_dir) if e["event"] == "upstream-failed"]
    assert failures, describe(result)
    assert all(REASONS[kind] in e["reason"] for e in failures), failures
