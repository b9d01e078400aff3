"""The publisher's side: ``ipnpm ipfs index add`` mirrors packages from the upstream into Kubo
(verified, pinned, with ipnpm's CID profile) and into the index; ``index publish`` signs the
index root under an IPNS name."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import click
import requests

from ipnpm.clients.kubo import KuboClient, KuboError
from ipnpm.clients.upstream import Upstream
from ipnpm.errors import KuboUnavailableError, MissingContentError, UsageError
from ipnpm.index import FORMAT, ROOT_FILE, integrity_key, integrity_shard, packument_path
from ipnpm.index.mfs import MfsIndex, published_keys
from ipnpm.npm.config import NpmConfig
from ipnpm.npm.lockfile import read_lockfile
from ipnpm.npm.names import escape_name
from ipnpm.sources import Want
from ipnpm.sources.fetcher import Fetcher


class MirrorContext(Protocol):
    """What mirroring needs from a run: npm's configuration, the upstream client, and the
    fetcher that verifies every tarball (a run's context provides all of them)."""

    @property
    def config(self) -> NpmConfig: ...
    @property
    def env(self) -> Mapping[str, str]: ...
    @property
    def upstream(self) -> Upstream | None: ...
    @property
    def fetcher(self) -> Fetcher: ...


@dataclass(frozen=True)
class Mirrored:
    name: str
    version: str
    integrity: str
    cid: str


def semver_key(version: str) -> tuple[tuple[int, ...], int, str]:
    core, _, pre = version.partition("-")
    return tuple(int(x) for x in re.findall(r"\d+", core)[:3]), 0 if pre else 1, pre


def specs_from_args(context: MirrorContext, npm: str, args: Sequence[str]) -> list[tuple[str, str]]:
    """(name, version) pairs: every tarball of a lockfile, or what npm resolves a spec to."""
    pairs: list[tuple[str, str]] = []
    for arg in args:
        path = Path(arg)
        if path.is_file():
            pairs += [(t.name, t.version) for t in read_lockfile(path).tarballs]
            continue
        pairs += [(_name_of(arg), version) for version in _npm_versions(context, npm, arg)]
    return sorted(set(pairs))


def _name_of(spec: str) -> str:
    at = spec.find("@", 1)
    return spec if at == -1 else spec[:at]


def _npm_versions(context: MirrorContext, npm: str, spec: str) -> list[str]:
    # npm's own semver resolves the range exactly as an install would.
    registry = context.config.registry_for(_name_of(spec))
    result = subprocess.run(
        [npm, "view", spec, "version", "--json", f"--registry={registry}"],
        capture_output=True,
        text=True,
        check=False,
        env=dict(context.env),
        timeout=120,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise UsageError(f"no published version matches {spec!r}", hint="check the name and range")
    found = json.loads(result.stdout)
    return [found] if isinstance(found, str) else [str(v) for v in found]


def upstream_packument(context: MirrorContext, name: str) -> dict[str, Any]:
    if context.upstream is None:
        raise UsageError("index add mirrors from the upstream registry: not with --offline")
    url = context.config.registry_for(name) + escape_name(name)
    try:
        response = context.upstream.request("GET", url, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise MissingContentError(f"upstream unreachable for {name}: {exc}") from exc
    if response.status_code != 200:
        raise MissingContentError(f"upstream answered HTTP {response.status_code} for {name}")
    document: dict[str, Any] = response.json()
    return document


def _mirror_one(
    context: MirrorContext, kubo: KuboClient, name: str, version: str, manifest: Mapping[str, Any]
) -> Mirrored:
    dist = manifest.get("dist") or {}
    integrity = str(dist.get("integrity") or "")
    want = Want(name, version, integrity or None, url=str(dist.get("tarball") or "") or None)
    fetched = context.fetcher.get(want, purpose="index")  # verified against npm's integrity
    with fetched.stored.path.open("rb") as handle:
        added = kubo.call(
            "add",
            options={
                "cid-version": "1",
                "raw-leaves": "true",
                "chunker": "size-1048576",
                "pin": "true",
                "quieter": "true",
            },
            files={"file": handle},
        ).json()["Hash"]
    if added != fetched.stored.cid:
        raise KuboError(f"Kubo computed {added} for {name}@{version}, ipnpm {fetched.stored.cid}")
    return Mirrored(name, version, integrity or fetched.stored.sha512, fetched.stored.cid)


def _merge_packument(
    existing: dict[str, Any] | None, upstream: Mapping[str, Any], mirrored: Iterable[Mirrored]
) -> dict[str, Any]:
    document = existing or {"name": upstream["name"], "versions": {}, "dist-tags": {}, "time": {}}
    for item in mirrored:
        manifest = dict(upstream["versions"][item.version])
        manifest["dist"] = {
            **manifest.get("dist", {}),
            "cid": item.cid,
            "integrity": item.integrity,
        }
        document["versions"][item.version] = manifest
        if item.version in (upstream.get("time") or {}):
            document.setdefault("time", {})[item.version] = upstream["time"][item.version]
    versions = list(document["versions"])
    latest = (upstream.get("dist-tags") or {}).get("latest")
    document["dist-tags"]["latest"] = (
        latest if latest in versions else max(versions, key=semver_key)
    )
    for key in ("description", "license", "repository", "homepage"):
        if key in upstream:
            document[key] = upstream[key]
    return document


def index_add(
    context: MirrorContext,
    npm: str,
    kubo: KuboClient,
    args: Sequence[str],
    *,
    key: str,
    jobs: int,
) -> int:
    pairs = specs_from_args(context, npm, args)
    return mirror_pairs(context, kubo, pairs, key=key, jobs=jobs)


def mirror_pairs(
    context: MirrorContext,
    kubo: KuboClient,
    pairs: Sequence[tuple[str, str]],
    *,
    key: str,
    jobs: int,
    packuments: Mapping[str, Mapping[str, Any]] | None = None,
) -> int:
    """Mirror these (name, version) pairs into the index of ``key``; prints its new root."""
    known = dict(packuments or {})
    for name in sorted({n for n, _ in pairs} - set(known)):
        known[name] = upstream_packument(context, name)
    packuments = known
    mfs = MfsIndex(kubo, key)
    if mfs.ensure():
        click.echo(f"ipnpm: index {key}: adopted the older MFS directory /ipnpm-index", err=True)

    def mirror(pair: tuple[str, str]) -> Mirrored | str:
        name, version = pair
        manifest = (packuments[name].get("versions") or {}).get(version)
        if manifest is None:
            return f"{name}@{version}: not published upstream"
        try:
            return _mirror_one(context, kubo, name, version, manifest)
        except (MissingContentError, KuboError, requests.RequestException) as exc:
            return f"{name}@{version}: {getattr(exc, 'message', exc)}"

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(mirror, sorted(set(pairs))))
    done = [r for r in results if isinstance(r, Mirrored)]
    failed = [r for r in results if isinstance(r, str)]
    _write_index(mfs, packuments, done)
    root = mfs.root()
    for line in failed:
        click.echo(f"ipnpm: not indexed: {line}", err=True)
    click.echo(
        f"ipnpm: indexed {len(done)} versions of {len({m.name for m in done})} packages; "
        f"index root {root}",
        err=True,
    )
    click.echo(root)
    return 6 if failed else 0


def _write_index(mfs: MfsIndex, packuments: Mapping[str, Any], done: Sequence[Mirrored]) -> None:
    by_name: dict[str, list[Mirrored]] = defaultdict(list)
    by_shard: dict[str, dict[str, str]] = defaultdict(dict)
    for item in done:
        by_name[item.name].append(item)
        key = integrity_key(item.integrity)
        if key:
            by_shard[integrity_shard(key)][key] = item.cid
    added = 0
    for name, items in sorted(by_name.items()):
        path = packument_path(name)
        existing = mfs.read_json(path)
        before = set((existing or {}).get("versions") or {})
        mfs.write_json(path, _merge_packument(existing, packuments[name], items))
        added += len({i.version for i in items} - before)
    for shard, entries in sorted(by_shard.items()):
        mfs.write_json(shard, {**(mfs.read_json(shard) or {}), **entries})
    summary = mfs.read_json(ROOT_FILE) or {"format": FORMAT, "cidProfile": "unixfs-v1-2025"}
    summary["versions"] = int(summary.get("versions", 0)) + added
    summary["packages"] = len(mfs.names("packages"))
    summary["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    mfs.write_json(ROOT_FILE, summary)


def index_publish(kubo: KuboClient, key: str, *, lifetime: str, ttl: str) -> int:
    mfs = MfsIndex(kubo, key)
    if not mfs.exists() and mfs.legacy_root() is None:
        raise UsageError(
            f"there is no index {key!r} on this Kubo node",
            hint=f"add packages first: ipnpm ipfs index add --key {key} PKG…",
        )
    mfs.ensure()
    name = publish_root(kubo, mfs, lifetime=lifetime, ttl=ttl)
    click.echo(name)
    return 0


def publish_root(
    kubo: KuboClient, mfs: MfsIndex, *, lifetime: str, ttl: str, root: str | None = None
) -> str:
    """Sign ``root`` (default: the working copy, made complete first) under the key's name."""
    if root is None:
        repaired = mfs.repair() if _links_empty_block(mfs) else []
        if repaired:
            click.echo(
                f"ipnpm: index {mfs.key}: rewrote {len(repaired)} file(s) peers could not read "
                "(written by `files write --truncate`)",
                err=True,
            )
        root = mfs.root()
    blocks = mfs.check_complete(root)
    names = {k["Name"]: k["Id"] for k in kubo.call("key/ls", options={"l": "true"}).json()["Keys"]}
    if mfs.key not in names:
        kubo.call("key/gen", mfs.key, options={"type": "ed25519"})
        click.echo(f"ipnpm: created Kubo key {mfs.key!r}", err=True)
    options = {
        "key": mfs.key,
        "allow-offline": "true",
        "lifetime": lifetime,
        "ttl": ttl,
        "ipns-base": "base36",
    }
    published = kubo.call("name/publish", f"/ipfs/{root}", options=options, read_timeout=120).json()
    name = str(published["Name"])
    mfs.save_state(
        {"name": name, "root": root, "lifetime": lifetime, "ttl": ttl, "published": time.time()}
    )
    click.echo(
        f"ipnpm: published index {mfs.key} root {root} ({blocks} blocks, all held here; "
        f"record lifetime {lifetime}, ttl {ttl})",
        err=True,
    )
    return name


def _links_empty_block(mfs: MfsIndex) -> bool:
    try:
        mfs.check_complete(mfs.root())
    except KuboUnavailableError:
        return True
    return False


def index_republish(
    kubo: KuboClient, keys: Sequence[str], *, lifetime: str | None, ttl: str | None
) -> int:
    """Sign the last published root of each key again, with a fresh validity."""
    keys = list(keys) or published_keys(kubo)
    if not keys:
        raise UsageError(
            "this Kubo node has published no index yet",
            hint="ipnpm ipfs index publish --key KEY",
        )
    for key in keys:
        mfs = MfsIndex(kubo, key)
        state = mfs.state()
        if state is None:
            raise UsageError(f"index {key!r} was never published from this Kubo node")
        click.echo(
            publish_root(
                kubo,
                mfs,
                lifetime=lifetime or str(state["lifetime"]),
                ttl=ttl or str(state["ttl"]),
                root=str(state["root"]),
            )
        )
    return 0
