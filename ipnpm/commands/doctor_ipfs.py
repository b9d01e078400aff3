"""doctor's IPFS checks: Kubo (up, writable, connected), each index (resolved *and* read the
way an install reads it), and whether this Kubo can provide the project's locked CIDs.

Each check is a real request that can fail; a part that is down is BAD, never "ok, not found".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from ipnpm.clients.kubo import KuboClient, KuboError, KuboUnreachableError, discover
from ipnpm.errors import IpnpmError, reason
from ipnpm.index import FORMAT, ROOT_FILE, IndexRef
from ipnpm.settings import Settings

_START = "start `ipfs daemon`, or set IPNPM_KUBO_API=off to run without Kubo"
_SHOWN = 5  # CIDs named in a report; the rest are counted


@dataclass(frozen=True)
class Check:
    part: str
    ok: bool
    detail: str
    fix: str = ""


def _repo(env: Mapping[str, str]) -> Path:
    return Path(env.get("IPFS_PATH") or Path(env.get("HOME", "~")).expanduser() / ".ipfs")


def check_kubo(settings: Settings) -> tuple[Check, KuboClient | None]:
    url = discover(settings.kubo, os.environ)
    if url is None:
        repo = _repo(os.environ)
        if settings.kubo == "auto" and (repo / "config").is_file():
            # A repo with no `api` file: its daemon was stopped cleanly. ipnpm would go on
            # without it, but everything this machine should seed or pin is then lost.
            return Check(
                "kubo", False, f"a Kubo repo is at {repo} but its daemon is not running", _START
            ), None
        detail = "off" if settings.kubo == "off" else f"none (no Kubo repo at {repo})"
        return Check("kubo", True, f"{detail}; the store and other sources are used"), None
    client = KuboClient(url, timeout=10.0)
    try:
        version = client.version()
        # Writable: a tiny unpinned block that any daemon may collect again.
        client.call("block/put", options={"pin": "false"}, files={"data": b"ipnpm doctor"})
    except (KuboError, requests.RequestException) as exc:
        unreachable = isinstance(exc, (KuboUnreachableError, requests.ConnectionError))
        why = f"not reachable ({reason(exc)})" if unreachable else reason(exc)
        return Check("kubo", False, f"{url}: {why}", f"{_START}, or fix IPNPM_KUBO_API"), None
    return Check("kubo", True, f"Kubo {version} at {url}, writable"), client


def _configured(client: KuboClient, key: str) -> list[str]:
    value = client.call("config", key, read_timeout=10.0).json().get("Value")
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def check_peers(client: KuboClient, indexes: tuple[IndexRef, ...]) -> Check:
    """0 peers is BAD when peers are expected: Kubo is told about some (Bootstrap, Peering),
    or an index is configured that this node does not publish itself."""
    try:
        peers = client.call("swarm/peers", read_timeout=10.0).json().get("Peers") or []
        expected = _configured(client, "Bootstrap") + _configured(client, "Peering.Peers")
        keys = client.call("key/ls", options={"l": "true", "ipns-base": "base36"}).json()
        own = {str(k.get("Id")) for k in keys.get("Keys") or []}
    except (KuboError, requests.RequestException, ValueError) as exc:
        return Check("kubo peers", False, reason(exc), _START)
    foreign = [ref.name for ref in indexes if ref.name not in own]
    if peers:
        return Check("kubo peers", True, f"{len(peers)} connected")
    if not expected and not foreign:
        return Check("kubo peers", True, "0 connected (none configured, no index to fetch)")
    why = (
        f"{len(expected)} configured" if expected else f"index {foreign[0]} is published elsewhere"
    )
    return Check(
        "kubo peers",
        False,
        f"0 connected, while peers are expected ({why})",
        "check the network and swarm.key; connect with `ipfs swarm connect MULTIADDR`",
    )


def check_index(settings: Settings, ref: IndexRef, client: KuboClient | None) -> Check:
    """Resolve the record and read index.json through the sources an install uses."""
    from ipnpm.index.files import IndexFiles
    from ipnpm.index.records import RecordCache, RecordResolver
    from ipnpm.sources import SourceError
    from ipnpm.store.objects import Store

    part = f"index {ref}"
    fix = "reach its publisher or a peer holding it (IPNPM_KUBO_API, IPNPM_GATEWAYS)"
    try:
        store = Store(settings.store).open()
        resolver = RecordResolver(
            RecordCache(store.root),
            kubo=client,
            gateways=settings.gateways,
            offline=settings.offline,
        )
        resolved = resolver.resolve(ref.name, refresh=not settings.offline)
        if resolved.expired:
            return Check(part, False, f"record expired: {resolved.describe()}", fix)
        files = IndexFiles(
            store.root, kubo=client, gateways=settings.gateways, offline=settings.offline
        )
        data = files.fetch(resolved.root, ROOT_FILE)
    except (IpnpmError, SourceError) as exc:
        message = exc.message if isinstance(exc, IpnpmError) else str(exc)
        hint = exc.hint if isinstance(exc, IpnpmError) and exc.hint else fix
        return Check(part, False, message, hint)
    if data is None or FORMAT.encode() not in data:
        what = "has no index.json" if data is None else f"has an index.json that is not {FORMAT}"
        return Check(part, False, f"root {resolved.root} {what}", "check the name")
    return Check(part, True, f"{resolved.describe()}; index.json read")


def _held(client: KuboClient, cid: str) -> bool:
    try:
        # offline: only what this node holds itself counts (and a miss costs no search).
        client.call("block/stat", cid, options={"offline": "true"}, read_timeout=10.0)
    except KuboError:
        return False
    return True


def check_provided(client: KuboClient, project: Path) -> Check | None:
    """Every CID in ipnpm-lock.json is held (and so provided) by this Kubo."""
    from ipnpm.run.cidlock import FILENAME, read_cidlock

    try:
        cids = read_cidlock(project)
    except IpnpmError as exc:
        return Check(f"{FILENAME}", False, exc.message, exc.hint or "")
    if cids is None:
        return None
    entries = list(cids.entries.values())
    with ThreadPoolExecutor(max_workers=8) as pool:
        held = list(pool.map(lambda e: _held(client, e.cid), entries))
    missing = [e.spec for e, ok in zip(entries, held, strict=True) if not ok]
    part = f"{FILENAME} CIDs"
    if not missing:
        return Check(part, True, f"all {len(entries)} held by this Kubo, so its peers can get them")
    shown = ", ".join(missing[:_SHOWN]) + (" …" if len(missing) > _SHOWN else "")
    return Check(
        part,
        False,
        f"{len(missing)} of {len(entries)} not held by this Kubo (peers cannot get them here): "
        f"{shown}",
        "run `ipnpm ipfs seed` in this project (adds the store's copies to Kubo, pinned)",
    )
