"""CID resolution from a cached registry index (scenario 9).

The project's lockfile is published as an index on the peer (`ipnpm ipfs index add` +
`index publish`), resolved once through Kubo, which fills ipnpm's record and file caches;
then, in this process, fresh index objects (as a new ipnpm run builds them, see
ipnpm.run.assemble._indexes) resolve a CID for every locked tarball with no source but the cache.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.commands import BenchError, ipnpm
from bench.projects import Prepared
from bench.world import World
from ipnpm.clients.kubo import KuboClient
from ipnpm.index.client import Index, IndexSet
from ipnpm.index.files import IndexFiles
from ipnpm.index.records import RecordCache, RecordResolver
from ipnpm.npm.lockfile import LockedTarball, read_lockfile
from ipnpm.settings import IndexRef
from ipnpm.store.objects import Store
from ipnpm.store.runlog import RunLog

_KEY = "ipnpm-bench-index"
_MISSING_CONTENT = 6  # `index add`: some locked tarballs (other platforms') are not upstream


def publish_index(project: Prepared, world: World) -> str:
    """The IPNS name of an index holding every tarball of the project's lockfile."""
    kubo = {"IPNPM_KUBO_API": world.peer.api_url}
    lockfile = str(project.seed_project / "package-lock.json")
    ipnpm(
        project.seed_env,
        ["ipfs", "index", "add", "--key", _KEY, lockfile],
        project.seed_project,
        env=kubo,
        allowed=(0, _MISSING_CONTENT),
    )
    published, _ = ipnpm(
        project.seed_env,
        ["ipfs", "index", "publish", "--key", _KEY],
        project.seed_project,
        env=kubo,
    )
    return published.stdout.strip()


def _index_set(store: Store, name: str, kubo: KuboClient | None, log: RunLog) -> IndexSet:
    # Without Kubo there is no source at all: whatever is not in ipnpm's caches fails loudly.
    resolver = RecordResolver(RecordCache(store.root), kubo=kubo, gateways=(), offline=False)
    files = IndexFiles(store.root, kubo=kubo, gateways=(), offline=False)
    return IndexSet([Index(IndexRef(name), resolver, files, log)])


def _resolve_all(indexes: IndexSet, tarballs: Sequence[LockedTarball]) -> list[str | None]:
    indexes.resolve_all()
    return [indexes.cid_for(t.name, t.version, t.integrity) for t in tarballs]


def index_resolution(
    project: Prepared, world: World, scratch: Path, repeats: int
) -> dict[str, Any]:
    name = publish_index(project, world)
    tarballs = read_lockfile(project.seed_project / "package-lock.json").tarballs
    store = Store(scratch / "store").open()
    expected = {k: v["cid"] for k, v in json.loads(project.cidlock)["tarballs"].items()}
    with RunLog(store.root / "logs") as log:
        began = time.perf_counter()
        first = _resolve_all(_index_set(store, name, KuboClient(world.peer.api_url), log), tarballs)
        first_seconds = time.perf_counter() - began
        seconds = []
        for _ in range(repeats):
            began = time.perf_counter()
            cids = _resolve_all(_index_set(store, name, None, log), tarballs)
            seconds.append(time.perf_counter() - began)
            if cids != first:
                raise BenchError("the cached index answered differently from Kubo")
    wrong = [
        t.spec
        for t, cid in zip(tarballs, first, strict=True)
        if t.integrity in expected and cid != expected[t.integrity]
    ]
    if wrong:
        raise BenchError(f"the index gave other CIDs than ipnpm-lock.json: {wrong[:5]}")
    return {
        "project": project.name,
        "name": name,
        "tarballs": len(tarballs),
        "resolved": sum(1 for cid in first if cid),
        "first_seconds_through_kubo": first_seconds,
        "seconds": seconds,
        "median_seconds": statistics.median(seconds),
    }
