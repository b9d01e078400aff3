"""Fault matrix: each fault ends in a successful install from the remaining sources or in a
clear error naming what is missing, and never with a corrupt byte in node_modules or the
store."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

from tests.support.bad_servers import hanging_server
from tests.support.kubo import kubo_node
from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.runlog import obtained
from tests.support.verdaccio import Verdaccio

DEPS = {"ipnpm-fixture-c": "2.0.0", "ipnpm-fixture-big": "1.0.0"}


@contextlib.contextmanager
def _failing_gateway() -> Iterator[str]:
    """A gateway that answers 500 to everything."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _seeded_project(npm_env: NpmEnv, tmp_path: Path) -> Path:
    """A project whose ipnpm-lock.json knows every CID (so gateways are asked first)."""
    project = make_project(tmp_path / "project", DEPS)
    with kubo_node(tmp_path / "kubo") as node:
        result = npm_env.run_ipnpm(["--ipnpm-kubo", node.api_url, "install"], project)
    assert result.returncode == 0, describe(result)
    _wipe(npm_env, project)
    return project


def _wipe(npm_env: NpmEnv, project: Path) -> None:
    for path in (project / "node_modules", npm_env.cache_dir, npm_env.store_dir):
        subprocess.run(["rm", "-rf", str(path)], check=True)


def _store_is_clean(npm_env: NpmEnv, cwd: Path) -> None:
    verify = npm_env.run_ipnpm(["ipfs", "store", "verify"], cwd)
    assert verify.returncode == 0, describe(verify)
    assert not list((npm_env.store_dir / "tmp").glob("*.partial"))


def test_gateways_failing_with_500_fall_back_to_the_upstream(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    project = _seeded_project(npm_env, tmp_path)
    with _failing_gateway() as gateway:
        result = npm_env.run_ipnpm(
            ["--ipnpm-kubo", "off", "--ipnpm-gateway", gateway, "ci"], project
        )
    assert result.returncode == 0, describe(result)
    assert set(obtained(npm_env.store_dir).values()) == {"upstream"}
    _store_is_clean(npm_env, project)


def test_a_gateway_hanging_mid_body_costs_one_timeout_then_is_dropped(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    project = _seeded_project(npm_env, tmp_path)
    with hanging_server(after_headers=True) as gateway:
        began = time.monotonic()
        result = npm_env.run_ipnpm(
            ["--ipnpm-kubo", "off", "--ipnpm-gateway", gateway.url, "ci"], project
        )
        took = time.monotonic() - began
    assert result.returncode == 0, describe(result)
    assert "dropped for this run" in result.stderr
    assert took < 60, took  # one read timeout, not one per package
    assert set(obtained(npm_env.store_dir).values()) == {"upstream"}
    _store_is_clean(npm_env, project)


def test_upstream_down_and_no_other_source_names_every_package(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    project = _seeded_project(npm_env, tmp_path)
    with verdaccio.stopped():
        result = npm_env.run_ipnpm(["--ipnpm-kubo", "off", "ci"], project)
    assert result.returncode != 0
    for spec in ("ipnpm-fixture-big@1.0.0", "ipnpm-fixture-c@2.0.0"):
        assert spec in result.stderr
    assert "upstream unreachable" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "node_modules" / "ipnpm-fixture-big").exists()


def test_sigterm_mid_install_stops_npm_and_the_proxy(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", {"ipnpm-fixture-a": "1.0.0"})
    manifest = json.loads((project / "package.json").read_text())
    # ('HOLD' + 'ING' so that npm's echo of the command line does not match.)
    manifest["scripts"] = {
        "postinstall": "node -e \"console.log('HOLD' + 'ING'); setTimeout(() => {}, 60000)\""
    }
    (project / "package.json").write_text(json.dumps(manifest))
    marker = uuid.uuid4().hex
    env = npm_env.env(IPNPM_TEST_MARKER=marker)
    process = subprocess.Popen(
        [sys.executable, "-m", "ipnpm", "install"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "HOLDING" in line:
            break
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=30)
    assert code == 128 + signal.SIGTERM
    assert _with_marker(marker) == []


def _with_marker(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
    return found


@contextlib.contextmanager
def _tiny_disk(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_disk_full_while_writing_the_store(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", {"ipnpm-fixture-big": "1.0.0"})
    with _tiny_disk(tmp_path / "small-disk", "1m") as disk:
        result = npm_env.run_ipnpm(["--ipnpm-store", str(disk / "store"), "install"], project)
        leftovers = [p for p in (disk / "store").rglob("*") if p.is_file()]
        objects = list((disk / "store" / "objects").rglob("*"))
    assert result.returncode == 5, describe(result)  # the store's disk, named, not npm's 404
    assert "ipnpm: error: cannot write to the store" in result.stderr
    assert "No space left on device" in result.stderr
    assert "ipnpm-fixture-big@1.0.0" in result.stderr
    assert "Traceback" not in result.stderr
    assert not [p for p in leftovers if p.suffix == ".partial"]
    assert [p for p in objects if p.is_file()] == []
    assert not (project / "node_modules" / "ipnpm-fixture-big").exists()
