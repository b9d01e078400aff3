"""Our CID, UnixFS and CAR code against a real Kubo: same CIDs, blocks Kubo accepts and serves."""

from __future__ import annotations

import io
import json
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ipnpm.ipfs.car import CarReader, read_car, write_car
from ipnpm.ipfs.cid import RAW, Cid
from ipnpm.ipfs.unixfs import FileCidHasher, build_file_dag, reassemble
from tests.support.kubo import KuboNode, init_repo, kubo_node, new_swarm_key

pytestmark = pytest.mark.kubo

MIB = 1024 * 1024
PROFILE_FLAGS = ["--cid-version=1", "--raw-leaves", "--chunker=size-1048576"]


def _random(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _our_cid(data: bytes, **params: int) -> Cid:
    hasher = FileCidHasher(**params)
    for start in range(0, len(data), 64 * 1024):  # stream it, as the store does
        hasher.update(data[start : start + 64 * 1024])
    return hasher.cid()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> KuboNode:
    """An initialised repo and no daemon: enough for `ipfs add --only-hash`."""
    return init_repo(tmp_path_factory.mktemp("kubo-only-hash") / "repo")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KuboNode]:
    with kubo_node(tmp_path_factory.mktemp("kubo-daemon")) as running:
        yield running


def _kubo_only_hash(repo: KuboNode, data: bytes, tmp_path: Path, *flags: str) -> Cid:
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    result = subprocess.run(
        [str(repo.bin), "add", "--only-hash", "-Q", *flags, str(path)],
        env=repo.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return Cid.parse(result.stdout.strip())


@pytest.mark.parametrize(
    "size", [0, 1, MIB - 1, MIB, MIB + 1, 3 * MIB + 17], ids=lambda size: f"{size}B"
)
def test_profile_cid_equals_kubo(repo: KuboNode, tmp_path: Path, size: int) -> None:
    data = _random(size)
    assert _our_cid(data) == _kubo_only_hash(repo, data, tmp_path, *PROFILE_FLAGS)


def test_repo_profile_defaults_are_the_same(repo: KuboNode, tmp_path: Path) -> None:
    # `ipfs init --profile=unixfs-v1-2025` alone must give the same CID as the explicit flags.
    data = _random(2 * MIB + 3)
    assert _our_cid(data) == _kubo_only_hash(repo, data, tmp_path)


@pytest.mark.parametrize(
    ("size", "chunk", "max_links"),
    [
        (1024 * 1024, 1024, 1024),  # exactly 1024 leaves: one full level
        (1150 * 1024 + 7, 1024, 1024),  # 1151 leaves: two levels, the second node partial
        (2000, 16, 3),  # 125 leaves, 3 links per node: five levels
    ],
)
def test_multi_level_layout_equals_kubo(
    repo: KuboNode, tmp_path: Path, size: int, chunk: int, max_links: int
) -> None:
    data = _random(size)
    flags = (*PROFILE_FLAGS[:2], f"--chunker=size-{chunk}", f"--max-file-links={max_links}")
    ours = _our_cid(data, chunk_size=chunk, max_links=max_links)
    assert ours == _kubo_only_hash(repo, data, tmp_path, *flags)


def _import_car(node: KuboNode, car: bytes) -> Cid:
    response = node.rpc("dag/import", files={"file": ("file.car", car)}, **{"pin-roots": True})
    lines = [json.loads(line) for line in response.text.splitlines() if line]
    roots = [line["Root"]["Cid"]["/"] for line in lines if "Root" in line]
    assert len(roots) == 1, lines
    return Cid.parse(roots[0])


def test_kubo_imports_our_car_and_cats_the_file(node: KuboNode) -> None:
    data = _random(2 * MIB + 100)
    root, blocks = build_file_dag(data)
    assert _import_car(node, write_car([root], blocks)) == root
    assert node.rpc("cat", str(root)).content == data


def test_kubo_imports_a_multi_level_dag(node: KuboNode) -> None:
    data = _random(5000)
    root, blocks = build_file_dag(data, chunk_size=16, max_links=3)
    assert _import_car(node, write_car([root], blocks)) == root
    assert node.rpc("cat", str(root)).content == data
    # The command line reaches the same daemon through $IPFS_PATH/api.
    stat = json.loads(node.cli("dag", "stat", "--progress=false", "--enc=json", str(root)))
    assert stat["UniqueBlocks"] == len(blocks)
    assert stat["TotalSize"] == sum(len(block) for _, block in blocks)


def test_we_read_what_kubo_serves(node: KuboNode) -> None:
    data = _random(3 * MIB + 17)
    added = node.rpc("add", files={"file": data}, **{"cid-version": 1, "raw-leaves": True})
    root = Cid.parse(added.json()["Hash"])
    assert root == _our_cid(data)

    car = requests.get(
        f"{node.gateway_url}/ipfs/{root}",
        params={"format": "car", "dag-scope": "entity"},
        timeout=60,
    )
    assert car.status_code == 200
    reader = CarReader(io.BytesIO(car.content))
    assert reader.roots == [root]
    blocks = dict(reader)
    assert b"".join(reassemble(root, blocks.__getitem__)) == data

    # The same DAG, as Kubo's dag/export writes it, is byte-identical to our CAR.
    ours = write_car([root], build_file_dag(data)[1])
    exported = node.rpc("dag/export", str(root)).content
    assert read_car(exported) == read_car(ours)
    assert exported == ours


def test_single_block_over_trustless_gateway(node: KuboNode) -> None:
    data = _random(1000)
    added = node.rpc("add", files={"file": data}, **{"cid-version": 1, "raw-leaves": True})
    cid = Cid.parse(added.json()["Hash"])
    assert cid.codec == RAW
    response = requests.get(
        f"{node.gateway_url}/ipfs/{cid}",
        headers={"Accept": "application/vnd.ipld.raw"},
        timeout=30,
    )
    assert response.status_code == 200
    assert cid.verify(response.content)
    probe = requests.get(f"{node.gateway_url}/ipfs/bafkqaaa?format=raw", timeout=30)
    assert (probe.status_code, probe.content) == (200, b"")


def test_private_network_nodes_share_blocks(tmp_path: Path) -> None:
    key = new_swarm_key()
    data = _random(1500 * 1024)
    with (
        kubo_node(tmp_path / "a", swarm_key=key) as a,
        kubo_node(tmp_path / "b", swarm_key=key) as b,
    ):
        assert (a.ipfs_path / "swarm.key").read_text() == key
        assert a.env["LIBP2P_FORCE_PNET"] == "1"
        root = Cid.parse(a.rpc("add", files={"file": data}).json()["Hash"])
        b.rpc("swarm/connect", a.multiaddr())
        assert b.rpc("cat", str(root)).content == data
