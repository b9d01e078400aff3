"""The mechanisms the benchmark's speed rests on, proved without timing anything:

- verified store objects reach npm's cache as hard links (same inode), not copies;
- concurrent runs sharing one store download a tarball once (a lock per name@version), and a
  dead holder of that lock never blocks anyone; within a run, the prefetch of an entry without
  ``integrity`` and npm's request for it (naming its packument's) are one download;
- a multi-block tarball from Kubo or a gateway is ingested block by block: Python's peak
  allocation stays far under the tarball's size;
- packuments are revalidated with the kept ETag, and asked once per run.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ipnpm.clients.upstream import Upstream
from ipnpm.errors import MissingContentError
from ipnpm.npm.cacache import content_path, put_content
from ipnpm.npm.config import NpmConfig
from ipnpm.npm.integrity import IntegrityHasher
from ipnpm.npm.ranges import pick
from ipnpm.proxy.lookahead import UpstreamPackuments
from ipnpm.run.context import RunContext
from ipnpm.sources import Want
from ipnpm.sources.fetcher import Fetcher
from ipnpm.sources.gateway import GatewaySource
from ipnpm.sources.kubo import KuboSource
from ipnpm.store.objects import Store
from ipnpm.store.runlog import RunLog
from tests.support.kubo import KuboNode, kubo_node
from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.runlog import delivered, installed_specs, last_run, served_events

BIG = 24 * 1024 * 1024 + 12345  # 25 blocks of 1 MiB
FEW_BLOCKS = 6 * 1024 * 1024  # a block in flight is read, sliced, hashed and written: ~4 MiB


def _sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


# -- hard links into npm's cache ---------------------------------------------------------------


def test_store_objects_reach_npms_cache_as_hard_links(tmp_path: Path) -> None:
    store = Store(tmp_path / "store").open()
    data = secrets.token_bytes(5000)
    stored = store.ingest([data], expected=_sri(data), source="test")
    cache = tmp_path / "npm-cache"  # same file system as the store
    assert put_content(cache, _sri(data), stored.path)
    handed = content_path(cache, _sri(data))
    assert handed is not None
    assert handed.read_bytes() == data
    assert os.stat(handed).st_ino == os.stat(stored.path).st_ino  # one inode: no copy
    assert os.stat(stored.path).st_nlink == 2
    assert put_content(cache, _sri(data), stored.path)  # already there: fine, still a link


def test_a_quarantined_object_leaves_npms_link_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "store").open()
    data = secrets.token_bytes(3000)
    stored = store.ingest([data], expected=_sri(data), source="test")
    cache = tmp_path / "npm-cache"
    put_content(cache, _sri(data), stored.path)
    store.quarantine(stored.cid)
    handed = content_path(cache, _sri(data))
    assert handed is not None and handed.read_bytes() == data
    assert not store.object_path(stored.cid).exists()


@pytest.mark.parametrize(
    ("strip", "by_cid_alone"),
    [
        (("integrity",), False),
        (("resolved",), False),
        (("integrity", "resolved"), False),
        (("integrity", "resolved"), True),
    ],
)
def test_lockfile_entries_npm_fetches_by_url_are_read_from_npms_cache(
    npm_env: NpmEnv, tmp_path: Path, strip: tuple[str, ...], by_cid_alone: bool
) -> None:
    """npm fetches an entry lacking ``resolved`` or ``integrity`` by URL through its HTTP cache,
    keyed by the proxy's URL of this run: without an index entry for that URL, npm downloaded
    such a tarball through the proxy every run, even with the store's object already linked
    into its cache. With it, npm asks the proxy for no tarball at all, and (the packuments it
    resolves an entry without ``resolved`` through being written there too) for no packument.
    ``by_cid_alone``: the store knows the object only by the CID in ipnpm-lock.json (its
    name@version map is for another registry), so its sha512 comes from re-hashing it."""
    project = make_project(
        tmp_path / "project", {"ipnpm-fixture-a": "1.0.0", "ipnpm-fixture-c": "2.0.0"}
    )
    cidlock = {"IPNPM_CIDLOCK": "yes"}
    installed = npm_env.run_ipnpm(["install"], project, env=cidlock)  # fills the store
    assert installed.returncode == 0, describe(installed)
    if by_cid_alone:
        shutil.rmtree(npm_env.store_dir / "specs")
    lock_path = project / "package-lock.json"
    lock = json.loads(lock_path.read_text())
    entries = {k: e for k, e in lock["packages"].items() if k.startswith("node_modules/")}
    for entry in entries.values():
        for key in strip:
            del entry[key]
    lock_path.write_text(json.dumps(lock, indent=2))
    for gone in (project / "node_modules", npm_env.cache_dir):
        shutil.rmtree(gone)

    result = npm_env.run_ipnpm(["ci"], project, env=cidlock)

    assert result.returncode == 0, describe(result)
    assert installed_specs(project) == {
        f"{k.rsplit('/', 1)[-1]}@{e['version']}" for k, e in entries.items()
    }
    assert served_events(npm_env.store_dir) == []  # every tarball came from npm's own cache
    assert set(delivered(npm_env.store_dir).values()) == {"npm-cache"}
    # ... and so did every packument npm resolved an entry without `resolved` through: the
    # proxy's answer from the lockfile, written into npm's cache for this run's URL.
    asked = [e["name"] for e in last_run(npm_env.store_dir) if e["event"] == "packument"]
    assert asked == []


@pytest.mark.parametrize(
    "strip", [(), ("resolved",), ("integrity", "resolved")], ids=["both", "no-resolved", "neither"]
)
def test_a_warm_store_is_handed_over_unhashed_and_a_corrupt_object_still_never_installs(
    npm_env: NpmEnv, tmp_path: Path, strip: tuple[str, ...]
) -> None:
    """A warm run links the store's objects into npm's cache without re-hashing them where npm
    reads them by the lockfile's integrity (entries with ``resolved`` and ``integrity``): npm
    checks every byte, and on a damaged object drops its cache entry and asks the proxy, whose
    read re-hashes, quarantines the object and fetches the package anew.

    Any other entry npm reads by URL, through its HTTP cache, even when it knows the integrity
    (from the lockfile, or the store's record of name@version): there a damaged object fails
    the install (npm's second try finds the URL's entry without its content), so the hand-off
    re-hashes those, and the damaged one is quarantined and fetched anew before npm starts."""
    project = make_project(
        tmp_path / "project", {"ipnpm-fixture-a": "1.0.0", "ipnpm-fixture-c": "2.0.0"}
    )
    installed = npm_env.run_ipnpm(["install"], project)  # fills the store
    assert installed.returncode == 0, describe(installed)
    lock_path = project / "package-lock.json"
    lock = json.loads(lock_path.read_text())
    integrity = lock["packages"]["node_modules/ipnpm-fixture-c"]["integrity"]
    entries = {k: e for k, e in lock["packages"].items() if k.startswith("node_modules/")}
    locked = {f"{k.rsplit('/', 1)[-1]}@{e['version']}" for k, e in entries.items()}
    assert len(locked) >= 3  # fixture-a brings fixture-b
    for entry in entries.values():
        for key in strip:
            del entry[key]
    lock_path.write_text(json.dumps(lock, indent=2))
    store = Store(npm_env.store_dir)
    damaged = store.unhashed_object(integrity)
    assert damaged is not None
    good = damaged.path.read_bytes()
    damaged.path.write_bytes(bytes([good[0] ^ 1]) + good[1:])  # same size, same inode
    for gone in (project / "node_modules", npm_env.cache_dir):
        shutil.rmtree(gone)

    result = npm_env.run_ipnpm(["ci"], project)

    assert result.returncode == 0, describe(result)
    assert installed_specs(project) == locked
    events = last_run(npm_env.store_dir)
    from_store: dict[str, bool] = {}  # spec -> whether its first hand-over was re-hashed
    for event in events:
        if event["event"] == "tarball":
            from_store.setdefault(str(event["spec"]), bool(event["hashed"]))
    quarantined = [p.name.split(".")[0] for p in (npm_env.store_dir / "quarantine").iterdir()]
    assert quarantined == [damaged.cid]
    assert damaged.path.read_bytes() == good  # fetched anew from the upstream, and kept
    served = [e["spec"] for e in served_events(npm_env.store_dir)]
    if not strip:
        assert from_store == dict.fromkeys(locked, False)
        assert served == ["ipnpm-fixture-c@2.0.0"]  # npm asked again, and was served
    else:
        assert {s for s, hashed in from_store.items() if hashed} == locked
        assert served == []  # the hand-off gave npm the package fetched anew


def test_bytes_only_a_cid_vouched_for_are_hashed_in_the_hand_off_and_unpacked_once(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    """An entry without integrity whose store object is known only by ipnpm-lock.json's CID:
    npm would read it by URL and fail on bad bytes, so the hand-off re-hashes it (its one
    thread, not the pool); whether the tarball is that package is read from its package.json
    once and kept. A damaged object never installs: it is quarantined, fetched anew, and the
    install goes on."""
    project = make_project(
        tmp_path / "project", {"ipnpm-fixture-a": "1.0.0", "ipnpm-fixture-c": "2.0.0"}
    )
    cidlock = {"IPNPM_CIDLOCK": "yes"}
    installed = npm_env.run_ipnpm(["install"], project, env=cidlock)  # fills the store
    assert installed.returncode == 0, describe(installed)
    shutil.rmtree(npm_env.store_dir / "specs")  # the store knows them by CID alone now
    lock_path = project / "package-lock.json"
    lock = json.loads(lock_path.read_text())
    entries = {k: e for k, e in lock["packages"].items() if k.startswith("node_modules/")}
    for entry in entries.values():
        del entry["integrity"], entry["resolved"]
    lock_path.write_text(json.dumps(lock, indent=2))
    locked = {f"{k.rsplit('/', 1)[-1]}@{e['version']}" for k, e in entries.items()}
    tarballs = json.loads((project / "ipnpm-lock.json").read_text())["tarballs"].values()
    cids = {str(t["spec"]): str(t["cid"]) for t in tarballs}
    store = Store(npm_env.store_dir)

    def ci() -> list[dict[str, object]]:
        for gone in (project / "node_modules", npm_env.cache_dir):
            shutil.rmtree(gone, ignore_errors=True)
        result = npm_env.run_ipnpm(["ci"], project, env=cidlock)
        assert result.returncode == 0, describe(result)
        assert installed_specs(project) == locked
        return [e for e in last_run(npm_env.store_dir) if e["event"] == "tarball"]

    first = ci()
    assert {e["spec"] for e in first if e["hashed"] and e["cid_alone"]} == locked
    assert all(store.is_package(cids[spec], *spec.rsplit("@", 1)) for spec in locked)
    assert {e["spec"] for e in ci() if e["hashed"] and e["cid_alone"]} == locked
    assert served_events(npm_env.store_dir) == []

    damaged = store.object_path(cids["ipnpm-fixture-c@2.0.0"])
    good = damaged.read_bytes()
    damaged.write_bytes(bytes([good[0] ^ 1]) + good[1:])  # same size, same inode
    ci()
    quarantined = [p.name.split(".")[0] for p in (npm_env.store_dir / "quarantine").iterdir()]
    assert quarantined == [cids["ipnpm-fixture-c@2.0.0"]]
    assert damaged.read_bytes() == good  # fetched anew, and kept


def test_a_kept_package_check_is_what_the_fetcher_trusts(tmp_path: Path) -> None:
    """The record of an object's package.json is consulted instead of unpacking it again: a
    record naming another package makes the fetcher accept the object as that one (so only
    ipnpm, checking, may write records), and without a record the same object is refused."""
    store = Store(tmp_path / "store").open()
    data = secrets.token_bytes(2000)  # not a tarball at all: only a record can vouch for it
    stored = store.ingest([data], expected=_sri(data), source="test")
    want = Want(name="left-pad", version="1.3.0", integrity=None, cid=stored.cid)
    with RunLog(tmp_path / "logs") as log:
        fetcher = Fetcher(store, [], log)
        assert fetcher.stored_for_npm(want) is None  # unpacked, and not left-pad
        store.record_package(stored.cid, "left-pad", "1.3.0")
        assert store.is_package(stored.cid, "left-pad", "1.3.0")
        assert not store.is_package(stored.cid, "left-pad", "1.3.1")
        found = fetcher.stored_for_npm(want)
    assert found is not None and found.cid_alone and found.stored.cid == stored.cid


def test_a_pairing_the_store_made_itself_is_checked_by_the_cid_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-hashing an object the store paired with a sha512 at ingest computes the CID only:
    bytes that still hash to it are the bytes that had that sha512. A label nobody vouches
    for (ipnpm-lock.json's integrity beside a CID) is ignored: the sha512 is computed. A
    damaged object is quarantined either way."""
    store = Store(tmp_path / "store").open()
    data = secrets.token_bytes(300_000)
    stored = store.ingest([data], expected=_sri(data), source="test")
    hashed: list[int] = []
    update = IntegrityHasher.update

    def counting(self: IntegrityHasher, chunk: bytes) -> None:
        hashed.append(len(chunk))
        update(self, chunk)

    monkeypatch.setattr(IntegrityHasher, "update", counting)
    found = store.verified_object(stored.cid, _sri(data))
    assert found is not None and found.sha512 == _sri(data)
    assert hashed == []
    found = store.verified_object(stored.cid, label=_sri(data))
    assert found is not None and found.sha512 == _sri(data)
    assert hashed == []
    found = store.verified_object(stored.cid, label=_sri(b"another package"))
    assert found is not None and found.sha512 == _sri(data)
    assert sum(hashed) == len(data)  # the label was not the store's: the sha512 is computed
    stored.path.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    assert store.verified_object(stored.cid, _sri(data)) is None
    assert not stored.path.exists()  # quarantined


# -- one download across runs ------------------------------------------------------------------


class _Counting(http.server.ThreadingHTTPServer):
    daemon_threads = True
    body = b""
    delay = 0.0
    requests = 0


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    server: _Counting

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests += 1
        time.sleep(self.server.delay)  # slow enough that every run asks while one downloads
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)


@contextlib.contextmanager
def _counting_server(body: bytes, delay: float) -> Iterator[_Counting]:
    server = _Counting(("127.0.0.1", 0), _CountingHandler)
    server.body, server.delay = body, delay
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class _UrlSource:
    """A plain HTTP source (the upstream's shape without npm's configuration)."""

    name = "upstream"
    by_cid = False

    def open(self, want: Want) -> Iterator[bytes] | None:
        assert want.url
        response = requests.get(want.url, timeout=30)
        return iter((response.content,))


def _one_run(store_root: str, url: str, integrity: str | None, start: float) -> str:
    time.sleep(max(0.0, start - time.time()))  # every run asks at about the same moment
    store = Store(Path(store_root)).open()
    want = Want("pkg", "1.0.0", integrity, url=url)
    with RunLog(Path(store_root) / "logs") as log:
        fetched = Fetcher(store, [_UrlSource()], log).get(want)
    return f"{fetched.source} {fetched.stored.cid}"


def test_concurrent_runs_on_one_store_download_once(tmp_path: Path) -> None:
    """Half the runs ask as a lockfile entry without ``integrity`` is prefetched, half as npm
    asks for it (with the integrity its packument gave): still one download."""
    data = secrets.token_bytes(200_000)
    runs = 6
    with _counting_server(data, delay=0.5) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/pkg/-/pkg-1.0.0.tgz"
        start = time.time() + 1.0
        integrities = [_sri(data), None] * (runs // 2)
        args = [(str(tmp_path / "store"), url, sri, start) for sri in integrities]
        with multiprocessing.get_context("spawn").Pool(runs) as pool:
            results = pool.starmap(_one_run, args)
        assert server.requests == 1
    sources = sorted(result.split()[0] for result in results)
    assert sources == ["store"] * (runs - 1) + ["upstream"]
    assert len({result.split()[1] for result in results}) == 1
    assert not list((tmp_path / "store" / "locks").iterdir())  # every holder cleaned up


def test_one_run_downloads_once_whether_or_not_the_request_names_an_integrity(
    tmp_path: Path,
) -> None:
    """The prefetch of a lockfile entry without ``integrity`` and npm's request for the same
    tarball (with the packument's integrity) are one download, and the run log records the
    upstream as the source that delivered it first. A request naming an integrity the bytes
    do not have gets nothing, though the other request's download succeeded."""
    data = secrets.token_bytes(200_000)
    store = Store(tmp_path / "store").open()
    with _counting_server(data, delay=0.5) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/pkg/-/pkg-1.0.0.tgz"
        wants = [
            Want("pkg", "1.0.0", None, url=url),  # the prefetch, from the lockfile
            Want("pkg", "1.0.0", _sri(data), url=url),  # npm, from the packument
            Want("pkg", "1.0.0", _sri(b"other bytes"), url=url),  # a lying packument
        ]
        results: dict[int, object] = {}

        def get(index: int) -> None:
            try:
                results[index] = fetcher.get(wants[index]).stored.cid
            except Exception as exc:  # the lying one's failure is an answer too
                results[index] = exc

        with RunLog(tmp_path / "store" / "logs") as log:
            fetcher = Fetcher(store, [_UrlSource()], log)
            threads = [threading.Thread(target=get, args=(i,)) for i in range(len(wants))]
            for thread in threads:
                thread.start()
                time.sleep(0.1)  # the first is downloading when the others ask
            for thread in threads:
                thread.join()
        downloads = server.requests
    assert results[0] == results[1] and isinstance(results[0], str), results
    assert isinstance(results[2], MissingContentError), results
    assert downloads == 2  # the first, and the lying one's own try (its integrity unmet)
    first = [e["source"] for e in last_run(tmp_path / "store") if e["event"] == "tarball"]
    assert first[0] == "upstream", first


def _hold_lock(store_root: str, key: str, ready: str) -> None:
    store = Store(Path(store_root)).open()
    with store.content_lock(key, 1.0):
        Path(ready).write_text("held")
        time.sleep(600)


def test_a_dead_lock_holder_blocks_nobody(tmp_path: Path) -> None:
    store = Store(tmp_path / "store").open()
    ready = tmp_path / "ready"
    context = multiprocessing.get_context("spawn")
    holder = context.Process(target=_hold_lock, args=(str(store.root), "k", str(ready)))
    holder.start()
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        with store.content_lock("k", 0.3) as held:
            assert not held  # a live holder: the bounded wait ran out
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
        started = time.monotonic()
        with store.content_lock("k", 30.0) as held:
            assert held
        assert time.monotonic() - started < 5.0  # no waiting on the dead
    finally:
        holder.kill()
        holder.join(10)


# -- bounded memory for multi-block tarballs ---------------------------------------------------


@pytest.fixture(scope="module")
def kubo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KuboNode]:
    with kubo_node(tmp_path_factory.mktemp("kubo")) as node:
        yield node


@pytest.fixture(scope="module")
def big_file(kubo: KuboNode) -> tuple[bytes, str]:
    data = secrets.token_bytes(BIG)
    added = kubo.rpc("add", files={"file": data}, pin="true").json()
    return data, str(added["Hash"])


@pytest.mark.parametrize("kind", ["kubo", "gateway"])
def test_multi_block_tarball_is_ingested_in_bounded_memory(
    kubo: KuboNode, big_file: tuple[bytes, str], kind: str, tmp_path: Path
) -> None:
    data, cid = big_file
    assert cid.startswith("bafybei")  # a dag-pb root: many blocks
    source = KuboSource(kubo.api_url) if kind == "kubo" else GatewaySource([kubo.gateway_url])
    store = Store(tmp_path / "store").open()
    want = Want("big", "1.0.0", _sri(data), cid=cid)
    tracemalloc.start()
    try:
        chunks = source.open(want)
        assert chunks is not None
        stored = store.ingest(chunks, expected=want.integrity, source=kind)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.cid == cid
    assert stored.path.read_bytes() == data
    # Holding the file once would be 24 MiB (the old CAR path held it 3-4 times); block by
    # block the peak is a few blocks, whatever the file's size.
    assert peak < FEW_BLOCKS, f"peak {peak} bytes for a {BIG}-byte tarball"


# -- the resolve path --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("^1.2.0", "1.5.0"),
        ("~1.2.0", "1.2.3"),
        ("1.x", "1.5.0"),
        ("*", "2.1.0"),
        (">=1.0.0 <2.0.0", "1.5.0"),
        ("^0.1.2", "0.1.5"),
        ("2.0.0-beta.1", "2.0.0-beta.1"),
        ("1.2.3 - 2.0.0", "2.0.0"),
        ("^1 || ^3", "3.0.0"),
        ("next", "3.0.0"),
        ("^9", None),
    ],
)
def test_ranges_pick_what_npm_picks(spec: str, expected: str | None) -> None:
    versions = ["0.1.2", "0.1.5", "1.0.0", "1.2.3", "1.5.0", "2.0.0-beta.1", "2.0.0", "2.1.0"]
    versions.append("3.0.0")
    # npm takes the latest tag when it satisfies the range, even below a higher match.
    assert pick(versions, spec, {"latest": "2.1.0", "next": "3.0.0"}) == expected


class _Registry(http.server.ThreadingHTTPServer):
    daemon_threads = True
    documents: dict[str, bytes]
    asked: list[tuple[str, str | None]]


class _RegistryHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Registry

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        self.server.asked.append((name, self.headers.get("If-None-Match")))
        body = self.server.documents.get(name)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _packument(name: str, deps: dict[str, str]) -> bytes:
    versions = {
        "1.0.0": {"name": name, "version": "1.0.0", "dependencies": deps},
        "2.0.0": {"name": name, "version": "2.0.0", "dependencies": {}},
    }
    return json.dumps(
        {"name": name, "dist-tags": {"latest": "1.0.0"}, "versions": versions}
    ).encode()


@contextlib.contextmanager
def _upstream_packuments(
    tmp_path: Path, server: _Registry, *, lookahead: bool
) -> Iterator[tuple[UpstreamPackuments, RunLog]]:
    config = NpmConfig(registry=f"http://127.0.0.1:{server.server_address[1]}/")
    store = Store(tmp_path / "store").open()
    with RunLog(store.root / "logs") as log:
        context = RunContext(
            secret="s",
            config=config,
            store=store,
            fetcher=Fetcher(store, [], log),
            log=log,
            upstream=Upstream(config, {}),
            project=tmp_path / "project",
            lookahead=lookahead,
        )
        packuments = UpstreamPackuments(context, lookahead=lookahead)
        try:
            yield packuments, log
        finally:
            packuments.close()


def test_packuments_are_revalidated_asked_once_and_looked_ahead(tmp_path: Path) -> None:
    server = _Registry(("127.0.0.1", 0), _RegistryHandler)
    server.documents = {
        "a": _packument("a", {"b": "^1.0.0"}),
        "b": _packument("b", {"c": "1.0.0"}),
        "c": _packument("c", {}),
        "z": _packument("z", {}),  # a dependency of b@2 only: never picked, never asked
    }
    server.documents["b"] = json.dumps(
        {
            "name": "b",
            "dist-tags": {"latest": "2.0.0"},
            "versions": {
                "1.0.0": {"name": "b", "version": "1.0.0", "dependencies": {"c": "1.0.0"}},
                "2.0.0": {"name": "b", "version": "2.0.0", "dependencies": {"z": "*"}},
            },
        }
    ).encode()
    server.asked = []
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "package.json").write_text('{"dependencies": {"a": "^1.0.0"}}')
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        with _upstream_packuments(tmp_path, server, lookahead=True) as (packuments, _):
            first = packuments.get("a", "application/json")
            assert first.status == 200 and json.loads(first.wire.decoded())["name"] == "a"
            deadline = time.monotonic() + 10
            while len(server.asked) < 3 and time.monotonic() < deadline:
                time.sleep(0.02)  # b, then c (b@1's dependency), fetched ahead of any request
            for name in ("b", "c", "a"):
                again = packuments.get(name, "application/json")
                assert again.status == 200
        assert sorted(name for name, _ in server.asked) == ["a", "b", "c"]  # once each, no z
        server.asked.clear()
        with _upstream_packuments(tmp_path, server, lookahead=False) as (packuments, _):
            kept = packuments.get("b", "application/json")
        assert kept.revalidated and json.loads(kept.wire.decoded())["name"] == "b"
        assert server.asked[0][0] == "b" and server.asked[0][1]  # asked with If-None-Match
    finally:
        server.shutdown()
        server.server_close()
