"""Acceptance: `ipnpm ipfs serve` as a real long-running process. Plain npm clients install
through it (token required), another machine's ipnpm uses it as its only gateway with the
upstream gone, it speaks the trustless gateway protocol, its memory stays flat under a soak,
and SIGTERM / Ctrl-C stop it cleanly."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from ipnpm.commands.serve_gateway import Leaf, StoreBlocks
from ipnpm.ipfs.car import read_car
from ipnpm.ipfs.cid import DAG_PB, RAW, Cid, block_cid, raw_cid_from_sha256
from ipnpm.ipfs.dagpb import decode_node
from ipnpm.ipfs.unixfs import build_file_dag, reassemble
from ipnpm.store.objects import Store
from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.runlog import installed_specs, obtained
from tests.support.verdaccio import Verdaccio

DEPS = {"ipnpm-fixture-c": "^2.0.0", "ipnpm-fixture-big": "1.0.0", "@pub/scoped": "1.0.0"}
RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = "application/vnd.ipld.car"
START_TIMEOUT = 60.0
SOAK_SECONDS = 45.0  # the loop; with warm-up and teardown the test takes about a minute
SOAK_MAX_ROUNDS = 60
RSS_GROWTH_LIMIT_KIB = 20 * 1024
PROJECT_FILES = ("package.json", "package-lock.json", "ipnpm-lock.json")


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str  # http://127.0.0.1:PORT/
    announced: list[str]  # the client npmrc lines it printed
    store: Path

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def token(self) -> str:
        return (self.store / "serve-token").read_text().strip()

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> requests.Response:
        return requests.get(self.url + path.lstrip("/"), headers=headers, timeout=30)


def _lines(stream: subprocess.Popen[str], into: queue.Queue[str]) -> None:
    assert stream.stdout is not None
    for line in stream.stdout:  # drained to the end: a full pipe would block the server
        into.put(line.rstrip("\n"))
    into.put("")  # end of output: the server exited


@contextlib.contextmanager
def running_server(
    world: NpmEnv, cwd: Path, *args: str, store: Path | None = None
) -> Iterator[Server]:
    """`ipnpm --ipnpm-kubo off ipfs serve ARGS` as a child process; stopped (TERM, then KILL)
    on exit."""
    store = store or world.store_dir
    argv = [sys.executable, "-m", "ipnpm", "--ipnpm-kubo", "off", "--ipnpm-store", str(store)]
    argv += ["ipfs", "serve", *args]
    log = world.root / "serve.stderr"
    with log.open("a") as stderr:
        process = subprocess.Popen(
            argv, cwd=cwd, env=world.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=stderr, text=True,
        )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process, lines), daemon=True).start()
    try:
        first = lines.get(timeout=START_TIMEOUT)
        assert first.startswith("ipnpm: serving on http://127.0.0.1:"), log.read_text()[-2000:]
        announced = []
        while not (line := lines.get(timeout=10)).startswith("ipnpm: Ctrl-C"):
            if line.startswith("  "):
                announced.append(line.strip())
        yield Server(process, first.rsplit(" ", 1)[1], announced, store)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- one store, filled once by `ipnpm install`, served by one server for the module ------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, verdaccio: Verdaccio) -> NpmEnv:
    return NpmEnv(tmp_path_factory.mktemp("serve") / "operator", registry=verdaccio.url)


@pytest.fixture(scope="module")
def project(world: NpmEnv) -> Path:
    project = make_project(world.root / "project", DEPS)
    # The CIDs the clients will ask the server for (no IPFS source here, so asked for).
    installed = world.run_ipnpm(["install"], project, env={"IPNPM_CIDLOCK": "yes"})
    assert installed.returncode == 0, describe(installed)
    return project


@pytest.fixture(scope="module")
def server(world: NpmEnv, project: Path) -> Iterator[Server]:
    # Started inside the project on purpose: its lockfile must not shape what the server says.
    with running_server(world, project) as running:
        yield running


def cids(project: Path) -> dict[str, str]:
    """name@version -> CID, from the ipnpm-lock.json `ipnpm install` wrote."""
    entries = json.loads((project / "ipnpm-lock.json").read_text())["tarballs"].values()
    return {entry["spec"]: entry["cid"] for entry in entries}


def copy_project(project: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for name in PROJECT_FILES:
        shutil.copy(project / name, target / name)
    return target


def npm_client(root: Path, server: Server) -> NpmEnv:
    """A plain npm machine configured with exactly the lines the server announced."""
    extra = [line for line in server.announced if not line.startswith("registry=")]
    return NpmEnv(
        root, registry=server.url, extra_config=extra, extra_env={"IPNPM_SERVE_TOKEN": server.token}
    )


def npm_ci(client: NpmEnv, project: Path) -> subprocess.CompletedProcess[str]:
    # A cold npm cache each time: with the tarballs cached npm would not ask the server at all.
    shutil.rmtree(project / "node_modules", ignore_errors=True)
    shutil.rmtree(client.cache_dir, ignore_errors=True)
    return client.run_npm(["ci"], project)


# -- 1. plain npm clients -----------------------------------------------------------------------


def test_two_npm_clients_at_once_and_the_token_is_required(
    server: Server, project: Path, verdaccio: Verdaccio, tmp_path: Path
) -> None:
    assert f"replace-registry-host={verdaccio.host}" in server.announced
    assert f"//{server.netloc}/:_authToken=${{IPNPM_SERVE_TOKEN}}" in server.announced
    assert server.token not in "\n".join(server.announced)  # never printed
    assert (server.store / "serve-token").stat().st_mode & 0o777 == 0o600
    clients = [npm_client(tmp_path / f"client{i}", server) for i in (1, 2)]
    projects = [copy_project(project, tmp_path / f"project{i}") for i in (1, 2)]
    mark = verdaccio.mark()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(npm_ci, clients, projects))

    for result in results:
        assert result.returncode == 0, describe(result)
    expected = installed_specs(project)
    assert [installed_specs(p) for p in projects] == [expected, expected]
    assert verdaccio.tarball_gets(since=mark) == []  # every tarball came from the server

    assert server.get("ipnpm-fixture-c").status_code == 401
    wrong = server.get("ipnpm-fixture-c", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = server.get("ipnpm-fixture-c", headers={"Authorization": f"Bearer {server.token}"})
    assert right.status_code == 200
    assert right.json()["name"] == "ipnpm-fixture-c"
    assert server.get("ipfs/bafkqaaa?format=raw").status_code == 200  # the gateway is public


def test_npm_install_through_the_server_records_upstream_urls(
    server: Server, verdaccio: Verdaccio, tmp_path: Path
) -> None:
    client = npm_client(tmp_path / "client", server)
    project = make_project(tmp_path / "project", {"ipnpm-fixture-a": "1.0.0"})
    result = client.run_npm(["install"], project)
    assert result.returncode == 0, describe(result)
    lockfile = (project / "package-lock.json").read_text()
    assert f"http://{verdaccio.host}/ipnpm-fixture-a/-/" in lockfile
    assert server.netloc not in lockfile


# -- 2. another machine's ipnpm, with the server as its only gateway ------------------------------


def test_ipnpm_ci_with_the_server_as_gateway_and_the_upstream_gone(
    server: Server, project: Path, verdaccio: Verdaccio, tmp_path: Path
) -> None:
    third = NpmEnv(tmp_path / "third", registry=verdaccio.url)
    clone = copy_project(project, tmp_path / "clone")
    with verdaccio.stopped():
        result = third.run_ipnpm(
            ["--ipnpm-kubo", "off", "--ipnpm-gateway", server.url, "ci"], clone
        )
    assert result.returncode == 0, describe(result)
    assert installed_specs(clone) == installed_specs(project)
    sources = obtained(third.store_dir)
    assert set(sources) == set(cids(project))
    assert set(sources.values()) == {"gateway"}


# -- 3. trustless gateway conformance ----------------------------------------------------------


def ipfs(server: Server, cid: str, fmt: str | None = None, **headers: str) -> requests.Response:
    query = f"?format={fmt}" if fmt else ""
    return server.get(f"ipfs/{cid}{query}", headers=headers)


def assert_immutable(response: requests.Response, content_type: str) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith(content_type)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "public, max-age=29030400, immutable"
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_raw_blocks_hash_to_their_cids(server: Server, project: Path) -> None:
    locked = cids(project)
    small = Cid.parse(locked["ipnpm-fixture-c@2.0.0"])
    assert small.codec == RAW
    for response in (
        ipfs(server, str(small), "raw"),
        ipfs(server, str(small), Accept=RAW_TYPE),
    ):
        assert_immutable(response, RAW_TYPE)
        assert raw_cid_from_sha256(hashlib.sha256(response.content).digest()) == small
    head = requests.head(f"{server.url}ipfs/{small}?format=raw", timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) > 0

    # Every block of the big file, root and leaves, one raw request each.
    big = Cid.parse(locked["ipnpm-fixture-big@1.0.0"])
    root = ipfs(server, str(big), "raw")
    assert_immutable(root, RAW_TYPE)
    assert block_cid(DAG_PB, root.content) == big
    leaves = [link.hash for link in decode_node(root.content).links]
    assert len(leaves) == 2
    blocks = {big: root.content}
    for leaf in leaves:
        response = ipfs(server, str(leaf), "raw")
        assert_immutable(response, RAW_TYPE)
        assert leaf.verify(response.content)
        blocks[leaf] = response.content
    assert b"".join(reassemble(big, blocks.__getitem__)) == stored(server, big)


def stored(server: Server, cid: Cid) -> bytes:
    return next((server.store / "objects").glob(f"*/{cid}")).read_bytes()


def sri_sha512(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_car_of_the_big_tarball_reassembles_to_its_bytes(server: Server, project: Path) -> None:
    big = Cid.parse(cids(project)["ipnpm-fixture-big@1.0.0"])
    for response in (
        server.get(f"ipfs/{big}?format=car&dag-scope=entity"),
        server.get(f"ipfs/{big}", headers={"Accept": CAR_TYPE}),
        server.get(f"ipfs/{Cid(0, DAG_PB, big.multihash)}?format=car"),  # CIDv0 asks too
    ):
        assert_immutable(response, f"{CAR_TYPE}; version=1")
        roots, blocks = read_car(response.content)  # every block hashed against its CID
        data = b"".join(reassemble(roots[0], blocks.__getitem__))
        assert len(data) > 1 << 20
        lock = json.loads((project / "package-lock.json").read_text())
        assert sri_sha512(data) == lock["packages"]["node_modules/ipnpm-fixture-big"]["integrity"]
    only_root = server.get(f"ipfs/{big}?format=car&dag-scope=block")
    assert list(read_car(only_root.content)[1]) == [big]


def test_misses_bad_requests_and_the_probe(server: Server) -> None:
    absent = raw_cid_from_sha256(hashlib.sha256(b"never stored anywhere").digest())
    for fmt in ("raw", "car"):
        assert ipfs(server, str(absent), fmt).status_code == 404
    absent_file = Cid(1, DAG_PB, absent.multihash)
    assert ipfs(server, str(absent_file), "car").status_code == 404
    assert requests.head(f"{server.url}ipfs/{absent}?format=raw", timeout=30).status_code == 404
    for garbage in ("not-a-cid", "bafy", "Qm123"):
        assert ipfs(server, garbage, "raw").status_code == 400
    assert ipfs(server, str(absent)).status_code == 400  # no format: trustless only
    assert ipfs(server, str(absent), "tar").status_code == 400

    probe = ipfs(server, "bafkqaaa", "raw")
    assert probe.status_code == 200 and probe.content == b""
    probe_car = ipfs(server, "bafkqaaa", "car")
    assert probe_car.status_code == 200
    assert read_car(probe_car.content) == ([Cid.parse("bafkqaaa")], {})


# -- the block index behind the gateway, in-process, with corruption on demand ------------------

MIB = 1 << 20


def flip_first_byte(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(bytes([data[0] ^ 1]) + data[1:])


def ingest(store: Store, data: bytes) -> Cid:
    return Cid.parse(store.ingest([data], expected=None, source="test").cid)


def test_every_block_of_a_stored_file_and_a_leaf_asked_before_its_root(tmp_path: Path) -> None:
    store = Store(tmp_path / "store").open()
    data = random.Random(7).randbytes(2 * MIB + 5)
    root = ingest(store, data)
    built, blocks = build_file_dag(data)
    assert built == root and len(blocks) == 4  # a root and three leaves
    fresh = StoreBlocks(store)  # as after a restart: nothing indexed yet
    for cid, block in reversed(blocks):  # leaves first: found by scanning the store
        assert fresh.block(cid) == block
    plan = fresh.plan(root, dups=False)
    assert plan is not None and [cid for cid, _ in plan] == [cid for cid, _ in blocks]


def test_corrupt_objects_are_never_served_and_are_quarantined(tmp_path: Path) -> None:
    store = Store(tmp_path / "store").open()
    small = ingest(store, b"small tarball")
    big_data = random.Random(8).randbytes(MIB + 1)
    big = ingest(store, big_data)
    index = StoreBlocks(store)
    _, blocks = build_file_dag(big_data)
    leaf = blocks[1][0]
    assert isinstance(index.locate(leaf), Leaf)  # indexed while the object is sound
    for cid in (small, big):
        flip_first_byte(store.object_path(str(cid)))

    assert index.block(small) is None
    assert index.block(leaf) is None
    quarantined = {p.name.split(".")[0] for p in (store.root / "quarantine").iterdir()}
    assert quarantined == {str(small), str(big)}
    assert index.plan(big, dups=False) is None  # a CAR would be cut short: 404 instead


def test_a_corrupt_stored_object_is_never_served(
    world: NpmEnv, project: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    shutil.copytree(world.store_dir, store, ignore=shutil.ignore_patterns("logs"))
    locked = cids(project)
    small, big = locked["ipnpm-fixture-c@2.0.0"], locked["ipnpm-fixture-big@1.0.0"]
    with running_server(world, tmp_path, store=store) as server:
        assert ipfs(server, big, "car").ok  # the big file is indexed now
        for cid in (small, big):  # then one byte flips in the first (or only) block of each
            flip_first_byte(next((store / "objects").glob(f"*/{cid}")))
        assert ipfs(server, small, "raw").status_code == 404
        # The CAR's 200 goes out before its leaves are read: it is cut short at the bad leaf
        # rather than sending it, and the object is quarantined.
        with pytest.raises(requests.RequestException):
            ipfs(server, big, "car").content  # noqa: B018 - reading the body is the point
        assert ipfs(server, big, "car").status_code == 404
    quarantined = {p.name.split(".")[0] for p in (store / "quarantine").iterdir()}
    assert quarantined == {small, big}


# -- 4. soak ---------------------------------------------------------------------------------------


def gateway_round(server: Server, locked: dict[str, str]) -> list[str]:
    """One pass of gateway and registry requests; returns what went wrong."""
    errors = []
    big = Cid.parse(locked["ipnpm-fixture-big@1.0.0"])
    checks = [
        (ipfs(server, locked["ipnpm-fixture-c@2.0.0"], "raw"), 200),
        (server.get(f"ipfs/{big}?format=car&dag-scope=entity"), 200),
        (ipfs(server, "bafkqaaa", "raw"), 200),
        (ipfs(server, str(raw_cid_from_sha256(bytes(32))), "raw"), 404),
        (server.get("@pub%2fscoped", headers={"Authorization": f"Bearer {server.token}"}), 200),
    ]
    for response, status in checks:
        if response.status_code != status:
            errors.append(f"{response.url}: {response.status_code}")
    car = checks[1][0].content
    if checks[1][0].status_code == 200:
        roots, blocks = read_car(car)
        if roots != [big] or len(b"".join(reassemble(big, blocks.__getitem__))) < 1 << 20:
            errors.append("bad CAR")
    return errors


def test_soak_keeps_memory_flat(server: Server, project: Path, tmp_path: Path) -> None:
    clients = [npm_client(tmp_path / f"client{i}", server) for i in (1, 2)]
    projects = [copy_project(project, tmp_path / f"project{i}") for i in (1, 2)]
    locked = cids(project)
    errors: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                errors.extend(gateway_round(server, locked))
            except requests.RequestException as exc:
                errors.append(repr(exc))

    with ThreadPoolExecutor(2) as pool:  # a warm-up round: imports, caches, thread stacks
        assert all(r.returncode == 0 for r in pool.map(npm_ci, clients, projects))
    assert gateway_round(server, locked) == []
    rss_start = server.rss_kib()
    began = time.monotonic()
    rounds = 0
    gateway = threading.Thread(target=hammer, daemon=True)
    gateway.start()
    with ThreadPoolExecutor(2) as pool:
        while rounds < SOAK_MAX_ROUNDS and time.monotonic() - began < SOAK_SECONDS:
            for result in pool.map(npm_ci, clients, projects):
                if result.returncode != 0:
                    errors.append(describe(result))
            rounds += 1
    stop.set()
    gateway.join(timeout=60)
    rss_end = server.rss_kib()
    report = (
        f"soak: {rounds} rounds x 2 npm ci in {time.monotonic() - began:.1f} s; "
        f"RSS {rss_start} KiB -> {rss_end} KiB ({rss_end - rss_start:+d} KiB)"
    )
    print(report)
    assert errors == [], report
    assert rounds >= 3, report
    assert rss_end - rss_start < RSS_GROWTH_LIMIT_KIB, report
    assert server.process.poll() is None


# -- 5. stopping ---------------------------------------------------------------------------------


def nothing_listens(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_stop_signal_ends_it_cleanly_with_a_client_connected(
    world: NpmEnv, project: Path, tmp_path: Path, signum: int, code: int
) -> None:
    with running_server(world, tmp_path) as server:
        port = urlsplit(server.url).port
        assert port is not None
        with requests.Session() as idle:  # holds a keep-alive connection through the stop
            assert idle.get(f"{server.url}ipfs/bafkqaaa?format=raw", timeout=10).ok
            began = time.monotonic()
            server.process.send_signal(signum)
            assert server.process.wait(timeout=10) == code
            took = time.monotonic() - began
    assert took < 5, f"took {took:.1f} s to stop"
    assert nothing_listens(port)


def restart_on(world: NpmEnv, cwd: Path, port: int) -> None:
    with running_server(world, cwd, "--port", str(port)) as again:
        assert again.url == f"http://127.0.0.1:{port}/"
        assert again.get("ipfs/bafkqaaa?format=raw").ok


def test_the_port_is_free_after_a_stop(world: NpmEnv, project: Path, tmp_path: Path) -> None:
    with running_server(world, tmp_path) as server:
        port = urlsplit(server.url).port
        assert port is not None
        with requests.Session() as client:  # closed by the client first: no TIME_WAIT here
            assert client.get(f"{server.url}ipfs/bafkqaaa?format=raw", timeout=10).ok
    assert server.process.returncode == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # no SO_REUSEADDR needed: nothing of ours is left
    restart_on(world, tmp_path, port)


def test_a_restart_on_the_same_port_right_after_clients_were_connected(
    world: NpmEnv, project: Path, tmp_path: Path
) -> None:
    with running_server(world, tmp_path) as server:
        port = urlsplit(server.url).port
        assert port is not None
        with requests.Session() as client:
            assert client.get(f"{server.url}ipfs/bafkqaaa?format=raw", timeout=10).ok
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=10) == 0
    restart_on(world, tmp_path, port)
