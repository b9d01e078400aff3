"""The source contract, one suite for every kind of source: found, missing, corrupt, slow.

Each kind runs against its real component (Verdaccio for upstream, a Kubo daemon for the
gateway and Kubo sources); only misbehaviour comes from tests/support/bad_servers.py. A small
adapter per kind says how to build the source for each situation, so the test bodies are shared.

What a miss is, per kind:
- upstream: the registry answers 404 for the tarball URL -> ``None``.
- kubo: Kubo finds no provider within the source's ``timeout`` -> ``None``, within that bound.
- gateway: an isolated Kubo gateway does not answer 404 for a CID nobody has: it searches for
  providers for 30 s and then answers 504 (raw) or cuts a 200 CAR short. The source's read
  timeout ends the wait -> ``SourceError``, within that bound. (A gateway that answers 404 or
  410 gives ``None``: tests/test_gateway_source.py.)
- any kind asked for content it has no address for (no URL, no CID) -> ``None`` at once.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import random
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
import requests

from ipnpm.clients.upstream import Upstream
from ipnpm.errors import MissingContentError
from ipnpm.ipfs.cid import raw_cid_from_sha256
from ipnpm.ipfs.unixfs import file_cid
from ipnpm.npm.config import NpmConfig
from ipnpm.sources import Source, SourceError, Want
from ipnpm.sources.fetcher import Fetcher
from ipnpm.sources.gateway import GatewaySource
from ipnpm.sources.kubo import KuboSource
from ipnpm.sources.upstream import UpstreamSource
from ipnpm.store.objects import Store
from ipnpm.store.runlog import RunLog
from tests.support.bad_servers import corrupting_gateway, hanging_server
from tests.support.kubo import KuboNode, kubo_node
from tests.support.verdaccio import Verdaccio

pytestmark = pytest.mark.kubo

SMALL = "ipnpm-fixture-a@1.0.0"  # one raw block
BIG = "ipnpm-fixture-big@1.0.0"  # > 1 MiB: a dag-pb root over raw leaves
WRONG_INTEGRITY = (
    "sha512-" + base64.b64encode(hashlib.sha512(b"not this tarball").digest()).decode()
)
SHORT = 1.0  # seconds: the small timeouts of the missing and slow cases


@dataclass(frozen=True)
class Tarball:
    want: Want  # with both the upstream URL and the CID: every kind finds what it needs
    data: bytes


@pytest.fixture(scope="module")
def kubo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KuboNode]:
    with kubo_node(tmp_path_factory.mktemp("kubo-contract")) as node:
        yield node


@pytest.fixture(scope="module")
def tarballs(verdaccio: Verdaccio, kubo: KuboNode) -> dict[str, Tarball]:
    """The published tarballs of SMALL and BIG, also added to Kubo."""
    found = {}
    with requests.Session() as http:
        http.trust_env = False
        for spec in (SMALL, BIG):
            name, version = spec.rsplit("@", 1)
            packument = http.get(f"{verdaccio.url}{name}", timeout=30).json()
            dist = packument["versions"][version]["dist"]
            data = http.get(dist["tarball"], timeout=30).content
            added = ipfs_add(kubo, data)
            assert added == str(file_cid(data))
            want = Want(name, version, dist["integrity"], url=dist["tarball"], cid=added)
            found[spec] = Tarball(want, data)
    assert len(found[SMALL].data) < 1 << 20 < len(found[BIG].data)
    return found


def ipfs_add(kubo: KuboNode, data: bytes) -> str:
    """Add as the unixfs-v1-2025 profile does (also the test profile's default), pinned."""
    added = kubo.rpc(
        "add",
        files={"file": data},
        cid_version=1,
        raw_leaves=True,
        chunker="size-1048576",
        pin=True,
    )
    return str(added.json()["Hash"])


def nobodys_cid() -> str:
    return str(raw_cid_from_sha256(hashlib.sha256(random.randbytes(64)).digest()))


# -- one adapter per kind ------------------------------------------------------------------


class Adapter(Protocol):
    name: str
    missing_raises: bool  # whether a miss is SourceError (else None)
    missing_bound: float  # seconds a miss may take
    slow_bound: float  # seconds a hanging endpoint may cost
    corrupt_says: str  # what the error about corrupt content mentions

    def source(self) -> Source: ...
    def missing(self, want: Want) -> Want: ...
    def corrupt(self, want: Want) -> AbstractContextManager[tuple[Source, Want]]: ...
    def slow(self, url: str, want: Want) -> tuple[Source, Want]: ...


@dataclass
class UpstreamAdapter:
    verdaccio: Verdaccio
    monkeypatch: pytest.MonkeyPatch
    name = "upstream"
    missing_raises = False
    missing_bound = 5.0
    slow_bound = 3 * SHORT + 1
    corrupt_says = "integrity"

    def source(self, registry: str | None = None) -> Source:
        return UpstreamSource(Upstream(NpmConfig(registry=registry or self.verdaccio.url), {}))

    def missing(self, want: Want) -> Want:
        assert want.url
        return dataclasses.replace(want, version="9.9.9", url=want.url.replace("1.0.0", "9.9.9"))

    @contextlib.contextmanager
    def corrupt(self, want: Want) -> Iterator[tuple[Source, Want]]:
        yield self.source(), dataclasses.replace(want, integrity=WRONG_INTEGRITY)

    def slow(self, url: str, want: Want) -> tuple[Source, Want]:
        self.monkeypatch.setattr("ipnpm.clients.upstream.TIMEOUT", (SHORT, SHORT))
        assert want.url
        path = want.url.split("/", 3)[3]
        return self.source(f"{url}/"), dataclasses.replace(want, url=f"{url}/{path}")


@dataclass
class GatewayAdapter:
    kubo: KuboNode
    name = "gateway"
    missing_raises = True
    missing_bound = 3 * SHORT + 1
    slow_bound = 3 * SHORT + 1
    corrupt_says = "does not match"

    def source(self, url: str | None = None) -> Source:
        return GatewaySource(
            [url or self.kubo.gateway_url], connect_timeout=SHORT, read_timeout=SHORT
        )

    def missing(self, want: Want) -> Want:
        return dataclasses.replace(want, cid=nobodys_cid())

    @contextlib.contextmanager
    def corrupt(self, want: Want) -> Iterator[tuple[Source, Want]]:
        with corrupting_gateway(self.kubo.gateway_url) as bad:
            yield self.source(bad.url), want
            assert bad.requests == 1

    def slow(self, url: str, want: Want) -> tuple[Source, Want]:
        return self.source(url), want


@dataclass
class KuboAdapter:
    kubo: KuboNode
    name = "kubo"
    missing_raises = False
    missing_bound = 3 * SHORT + 2
    # KuboSource waits its `timeout` plus 5 s for the daemon itself to answer.
    slow_bound = SHORT + 5 + 3
    corrupt_says = "integrity"

    def source(self, url: str | None = None) -> Source:
        return KuboSource(url or self.kubo.api_url, timeout=SHORT)

    def missing(self, want: Want) -> Want:
        return dataclasses.replace(want, cid=nobodys_cid())

    @contextlib.contextmanager
    def corrupt(self, want: Want) -> Iterator[tuple[Source, Want]]:
        yield self.source(), dataclasses.replace(want, integrity=WRONG_INTEGRITY)

    def slow(self, url: str, want: Want) -> tuple[Source, Want]:
        return self.source(url), want


@pytest.fixture(params=["upstream", "gateway", "kubo"])
def adapter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Adapter:
    if request.param == "upstream":
        return UpstreamAdapter(request.getfixturevalue("verdaccio"), monkeypatch)
    kubo: KuboNode = request.getfixturevalue("kubo")
    return GatewayAdapter(kubo) if request.param == "gateway" else KuboAdapter(kubo)


def read(source: Source, want: Want) -> bytes | None:
    chunks = source.open(want)
    return None if chunks is None else b"".join(chunks)


# -- the contract ----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [SMALL, BIG])
def test_found(adapter: Adapter, tarballs: dict[str, Tarball], spec: str, tmp_path: Path) -> None:
    tarball = tarballs[spec]
    source = adapter.source()
    data = read(source, tarball.want)
    assert data == tarball.data
    store = Store(tmp_path / "store").open()
    stored = store.ingest(
        [data],
        expected=tarball.want.integrity,
        source=source.name,
        expected_cid=tarball.want.cid if source.by_cid else None,
    )
    assert stored.cid == tarball.want.cid
    assert stored.path.read_bytes() == tarball.data


def test_nothing_to_look_for(adapter: Adapter, tarballs: dict[str, Tarball]) -> None:
    want = dataclasses.replace(tarballs[SMALL].want, url=None, cid=None)
    started = time.monotonic()
    assert adapter.source().open(want) is None
    assert time.monotonic() - started < 1.0


def test_missing(adapter: Adapter, tarballs: dict[str, Tarball]) -> None:
    source, want = adapter.source(), adapter.missing(tarballs[SMALL].want)
    started = time.monotonic()
    if adapter.missing_raises:
        with pytest.raises(SourceError):
            read(source, want)
    else:
        assert source.open(want) is None
    assert time.monotonic() - started < adapter.missing_bound


@pytest.mark.parametrize("spec", [SMALL, BIG])
def test_corrupt_content_is_never_published(
    adapter: Adapter, tarballs: dict[str, Tarball], spec: str, tmp_path: Path
) -> None:
    store = Store(tmp_path / "store").open()
    with (
        adapter.corrupt(tarballs[spec].want) as (source, want),
        RunLog(tmp_path / "logs") as log,
        pytest.raises(MissingContentError) as caught,
    ):
        Fetcher(store, [source], log).get(want)
    message = str(caught.value)
    assert f"{adapter.name}: " in message
    assert adapter.corrupt_says in message
    assert not [path for path in (store.root / "objects").rglob("*") if path.is_file()]
    assert not list((store.root / "tmp").iterdir())
    assert store.cid_for(want.integrity) is None
    assert store.integrity_for_spec(want.registry_host, want.name, want.version) is None


@pytest.mark.parametrize("after_headers", [False, True], ids=["silent", "stalls-after-headers"])
def test_slow(adapter: Adapter, tarballs: dict[str, Tarball], after_headers: bool) -> None:
    with hanging_server(after_headers=after_headers) as server:
        source, want = adapter.slow(server.url, tarballs[SMALL].want)
        started = time.monotonic()
        with pytest.raises(SourceError):
            read(source, want)
        elapsed = time.monotonic() - started
    assert server.requests >= 1
    assert elapsed < adapter.slow_bound
