"""Directories Kubo builds (MFS), read back through dag/export and the trustless gateway.

One daemon (`unixfs-v1-2025` profile) with Import.UnixFSHAMTDirectorySizeThreshold = 4KiB: a
directory of about 20 packuments (about 1.5 KB) stays basic, one of 300 shards. 1KiB would
shard the small one too. Every CID Kubo reports must equal what resolve_path finds in blocks
we verified, and what build_directory computes from the entries alone.
"""

from __future__ import annotations

import base64
import io
import random
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from ipnpm.ipfs.car import CarReader, read_car
from ipnpm.ipfs.cid import DAG_PB, RAW, Cid, block_cid
from ipnpm.ipfs.dagpb import decode_node
from ipnpm.ipfs.unixfs import build_file_dag, reassemble
from ipnpm.ipfs.unixfs_data import DataType, decode_unixfs
from ipnpm.ipfs.unixfs_dir import (
    HAMT_HASH_MURMUR3,
    DirectoryCache,
    NoSuchEntry,
    build_directory,
    cumulative_size,
    list_directory,
    resolve_path,
)
from tests.support.kubo import KuboNode, kubo_node

pytestmark = pytest.mark.kubo

THRESHOLD = 4096
MIB = 1024 * 1024
CAR_ACCEPT = {"Accept": "application/vnd.ipld.car"}

# Names an npm index really holds: a scope with an encoded slash, plain names, Unicode.
SMALL_NAMES = [
    "@acme%2fsecret",
    "@types%2fnode",
    "left-pad",
    "lodash.merge",
    "ünïcödé-包",
    "emoji-😀",
    "a b",
    "UPPER",
    "-leading-dash",
    "_underscore",
    "x",
    "tilde~name",
    "semi;colon",
    "hash#name",
    "question?mark",
    "plus+sign",
    "name=with=equals",
    "dots...",
]
BIG_NAME = "big.tgz"  # several 1 MiB chunks: a dag-pb root over raw leaves


@dataclass
class MfsDir:
    root: Cid
    files: dict[tuple[str, ...], bytes]  # path segments -> content


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KuboNode]:
    config: dict[str, object] = {"Import.UnixFSHAMTDirectorySizeThreshold": f"{THRESHOLD}B"}
    with kubo_node(tmp_path_factory.mktemp("kubo-dirs"), config=config) as running:
        yield running


def _content(name: str) -> bytes:
    return f'{{"name": "{name}", "versions": {{}}}}\n'.encode() * (1 + len(name) % 5)


def _big() -> bytes:
    return random.Random(5).randbytes(2 * MIB + 12345)


def _write(node: KuboNode, path: str, data: bytes) -> None:
    if len(data) <= MIB:
        node.rpc(
            "files/write",
            path,
            files={"file": data},
            create=True,
            parents=True,
            cid_version=1,
            raw_leaves=True,
        )
        return
    # files/write chunks a multi-chunk file as the request body arrives (a 3 MiB write gave 4
    # leaves), so its CID is not `ipfs add`'s. A publisher adds, then copies into MFS.
    added = node.rpc("add", files={"file": data}, cid_version=1, raw_leaves=True).json()["Hash"]
    node.rpc("files/cp", f"/ipfs/{added}", path, parents=True)


def _stat(node: KuboNode, path: str) -> dict[str, object]:
    stat: dict[str, object] = node.rpc("files/stat", path).json()
    return stat


def _mfs_root(node: KuboNode, path: str) -> Cid:
    return Cid.parse(str(_stat(node, path)["Hash"]))


@pytest.fixture(scope="module")
def small_dir(node: KuboNode) -> MfsDir:
    node.rpc("files/mkdir", "/small", parents=True, cid_version=1)
    files: dict[tuple[str, ...], bytes] = {(name,): _content(name) for name in SMALL_NAMES}
    files[("@scope", "pkg")] = _content("@scope/pkg")  # a nested directory, as scopes are
    files[(BIG_NAME,)] = _big()
    for segments, data in files.items():
        _write(node, "/small/" + "/".join(segments), data)
    return MfsDir(_mfs_root(node, "/small"), files)


@pytest.fixture(scope="module")
def hamt_dir(node: KuboNode) -> MfsDir:
    node.rpc("files/mkdir", "/hamt", parents=True, cid_version=1)
    files: dict[tuple[str, ...], bytes] = {(f"pkg-{i}",): _content(f"pkg-{i}") for i in range(300)}
    files[("@acme%2fbig",)] = _big()
    files[("ünïcödé-包",)] = _content("ünïcödé-包")
    for segments, data in files.items():
        _write(node, "/hamt/" + segments[0], data)
    return MfsDir(_mfs_root(node, "/hamt"), files)


def _export(node: KuboNode, root: Cid) -> dict[Cid, bytes]:
    return read_car(node.rpc("dag/export", str(root)).content)[1]


def _file_entry(data: bytes) -> tuple[Cid, int]:
    """(CID, Tsize) of a file as the profile imports it, computed without Kubo."""
    root, blocks = build_file_dag(data)
    return root, cumulative_size(root, dict(blocks)[root])


def _unixfs_type(block: bytes) -> DataType:
    return decode_unixfs(decode_node(block).data or b"").type


# -- basic directory -----------------------------------------------------------------------


def test_resolves_every_entry_like_kubo(node: KuboNode, small_dir: MfsDir) -> None:
    blocks = _export(node, small_dir.root)
    assert _unixfs_type(blocks[small_dir.root]) == DataType.DIRECTORY
    for segments in small_dir.files:
        ours = resolve_path(small_dir.root, segments, blocks.__getitem__)
        assert ours == _mfs_root(node, "/small/" + "/".join(segments)), segments
    listed = node.rpc("ls", str(small_dir.root)).json()["Objects"][0]["Links"]
    kubo = {link["Name"]: Cid.parse(link["Hash"]) for link in listed}
    assert list_directory(small_dir.root, blocks.__getitem__) == kubo
    assert "@acme%2fsecret" in kubo  # stored verbatim, never decoded


def test_build_directory_equals_kubo_basic(node: KuboNode, small_dir: MfsDir) -> None:
    scope_cid, scope_blocks = build_directory(
        {"pkg": _file_entry(small_dir.files[("@scope", "pkg")])}, shard_threshold=THRESHOLD
    )
    assert scope_cid == _mfs_root(node, "/small/@scope")
    entries: dict[str, Cid | tuple[Cid, int]] = {
        segments[0]: _file_entry(data) for segments, data in small_dir.files.items()
    }
    entries["@scope"] = (scope_cid, cumulative_size(scope_cid, scope_blocks[0][1]))
    cid, blocks = build_directory(entries, shard_threshold=THRESHOLD)
    assert cid == small_dir.root
    assert blocks == [(cid, node.rpc("block/get", str(cid)).content)]
    assert cumulative_size(cid, blocks[0][1]) == _stat(node, "/small")["CumulativeSize"]


# -- HAMT ----------------------------------------------------------------------------------


def test_kubo_shards_the_large_directory(node: KuboNode, hamt_dir: MfsDir) -> None:
    assert _stat(node, "/hamt")["Type"] == "directory"
    dag = node.rpc("dag/get", str(hamt_dir.root)).json()
    meta = decode_unixfs(base64.b64decode(dag["Data"]["/"]["bytes"] + "=="))
    assert (meta.type, meta.fanout) == (DataType.HAMT_SHARD, 256)
    assert meta.hash_type == HAMT_HASH_MURMUR3
    names = [link["Name"] for link in dag["Links"]]
    assert all(len(name) >= 2 and name[:2] == f"{int(name[:2], 16):02X}" for name in names)
    assert any(len(name) == 2 for name in names)  # 300 names in 256 buckets: sub-shards


def test_resolves_every_hamt_entry_like_kubo(node: KuboNode, hamt_dir: MfsDir) -> None:
    blocks = _export(node, hamt_dir.root)
    listed = node.rpc("files/ls", "/hamt", long=True).json()["Entries"]
    kubo = {entry["Name"]: Cid.parse(entry["Hash"]) for entry in listed}
    assert len(kubo) == len(hamt_dir.files)
    assert list_directory(hamt_dir.root, blocks.__getitem__) == kubo
    cache = DirectoryCache()
    for name, cid in kubo.items():
        assert resolve_path(hamt_dir.root, [name], blocks.__getitem__, cache=cache) == cid
    with pytest.raises(NoSuchEntry):
        resolve_path(hamt_dir.root, ["pkg-300"], blocks.__getitem__)


def test_build_directory_equals_kubo_hamt(node: KuboNode, hamt_dir: MfsDir) -> None:
    entries: dict[str, Cid | tuple[Cid, int]] = {
        segments[0]: _file_entry(data) for segments, data in hamt_dir.files.items()
    }
    cid, blocks = build_directory(entries, shard_threshold=THRESHOLD)
    assert cid == hamt_dir.root
    exported = _export(node, hamt_dir.root)
    shards = {
        c for c, b in exported.items() if c.codec == DAG_PB and _unixfs_type(b) != DataType.FILE
    }
    assert {c for c, _ in blocks} == shards
    assert all(exported[c] == block for c, block in blocks)
    assert cumulative_size(cid, blocks[0][1]) == _stat(node, "/hamt")["CumulativeSize"]


def test_threshold_is_block_size_strictly_greater(node: KuboNode) -> None:
    """Kubo keeps a directory whose block is exactly the threshold basic; one byte more shards."""
    data = b"same packument\n"
    file_cid = Cid.parse(
        node.rpc("add", files={"file": data}, cid_version=1, raw_leaves=True).json()["Hash"]
    )
    assert file_cid == block_cid(RAW, data)
    names = _names_for_block_size(file_cid, len(data), THRESHOLD)
    for extra, sharded in ((0, False), (1, True)):
        entries = {name: (file_cid, len(data)) for name in names[:-1]}
        entries[names[-1] + "x" * extra] = (file_cid, len(data))
        path = f"/edge-{extra}"
        node.rpc("files/mkdir", path, cid_version=1)
        for name in entries:
            node.rpc("files/cp", f"/ipfs/{file_cid}", f"{path}/{name}")
        kubo = _mfs_root(node, path)
        cid, blocks = build_directory(entries, shard_threshold=THRESHOLD)
        assert cid == kubo
        assert (len(blocks) > 1) is sharded
        if not sharded:
            assert len(blocks[0][1]) == THRESHOLD


def _names_for_block_size(file_cid: Cid, size: int, target: int) -> list[str]:
    """Entry names whose basic directory block is exactly `target` bytes."""
    names = ["package-number-0000"]
    while True:
        entries = {name: (file_cid, size) for name in names}
        missing = target - len(build_directory(entries, shard_threshold=None)[1][0][1])
        if missing <= 60:  # the last link stays under 128 bytes: its length prefix stays 1 byte
            names[-1] += "y" * missing
            return names
        names.append(f"package-number-{len(names):04d}")


# -- trustless gateway ---------------------------------------------------------------------


def _gateway_car(node: KuboNode, root: Cid, segments: tuple[str, ...]) -> dict[Cid, bytes]:
    path = "/".join(urllib.parse.quote(segment, safe="") for segment in segments)
    response = requests.get(
        f"{node.gateway_url}/ipfs/{root}/{path}",
        params={"format": "car", "dag-scope": "entity"},
        headers=CAR_ACCEPT,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/vnd.ipld.car")
    return dict(CarReader(io.BytesIO(response.content)))  # every block hashed on the way in


@pytest.mark.parametrize("which", ["small", "hamt"])
def test_gateway_car_carries_the_path_and_the_file(
    node: KuboNode, small_dir: MfsDir, hamt_dir: MfsDir, which: str
) -> None:
    directory = small_dir if which == "small" else hamt_dir
    wanted = [s for s in directory.files if s[0] in (BIG_NAME, "@acme%2fbig", "ünïcödé-包")]
    wanted += [s for s in directory.files if s[0].startswith(("@", "pkg-1"))][:12]
    for segments in wanted:
        blocks = _gateway_car(node, directory.root, segments)
        cid = resolve_path(directory.root, segments, blocks.__getitem__)
        assert b"".join(reassemble(cid, blocks.__getitem__)) == directory.files[segments]


@pytest.mark.parametrize("which", ["small", "hamt"])
def test_gateway_car_proves_a_miss(
    node: KuboNode, small_dir: MfsDir, hamt_dir: MfsDir, which: str
) -> None:
    """Kubo answers a missing name with 200 and a CAR of the blocks that prove the absence."""
    directory = small_dir if which == "small" else hamt_dir
    for name in ["nope", "pkg-1000", "left-pad-2", "@acme%2Fsecret", "a", "zzz", "pkg-30x"]:
        blocks = _gateway_car(node, directory.root, (name,))
        with pytest.raises(NoSuchEntry):
            resolve_path(directory.root, [name], blocks.__getitem__)


def test_gateway_car_holds_only_the_path(node: KuboNode, hamt_dir: MfsDir) -> None:
    segments = ("@acme%2fbig",)
    blocks = _gateway_car(node, hamt_dir.root, segments)
    exported = _export(node, hamt_dir.root)
    shards = [
        c for c in blocks if c.codec == DAG_PB and _unixfs_type(blocks[c]) == DataType.HAMT_SHARD
    ]
    assert hamt_dir.root in shards
    assert len(shards) < len([c for c in exported if c.codec == DAG_PB]) // 10
    cid = resolve_path(hamt_dir.root, segments, blocks.__getitem__)
    assert b"".join(reassemble(cid, blocks.__getitem__)) == hamt_dir.files[segments]
