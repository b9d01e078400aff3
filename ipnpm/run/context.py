"""Everything one run knows, built once by the session and shared by the proxy and prefetch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ipnpm.clients.upstream import Upstream
from ipnpm.npm.config import NpmConfig
from ipnpm.npm.lockfile import LockedTarball, Lockfile
from ipnpm.npm.loglevel import warn
from ipnpm.run.cidlock import CidLock
from ipnpm.sources import Want
from ipnpm.sources.fetcher import Fetcher
from ipnpm.store.objects import Store
from ipnpm.store.runlog import RunLog

if TYPE_CHECKING:
    from ipnpm.index.client import IndexSet


@dataclass(frozen=True)
class RunContext:
    secret: str
    config: NpmConfig
    store: Store
    fetcher: Fetcher
    log: RunLog
    upstream: Upstream | None  # None when offline
    lockfile: Lockfile | None = None
    lockfile_first: bool = False  # answer packuments from the lockfile (ci, offline)
    lookahead: bool = False  # npm resolves a tree: fetch packuments ahead of it (proxy)
    cids: CidLock | None = None  # ipnpm-lock.json: integrity -> CID
    indexes: IndexSet | None = None  # registry indexes, with scope routing
    project: Path = field(default_factory=Path.cwd)
    env: Mapping[str, str] = field(default_factory=dict)
    # Reasons already told to the user: an unreachable upstream is said once per run, not once
    # per packument (a set: add is atomic under the GIL, so proxy threads need no lock).
    _told: set[str] = field(default_factory=set, compare=False, repr=False)

    def note_upstream_fallback(self, why: str, source: str) -> None:
        """An answer came from ``source`` (cache, lockfile) because the upstream failed: say so
        on stderr once per run, so that nobody mistakes a cached answer for a fresh one."""
        if "upstream" in self._told:
            return
        self._told.add("upstream")
        warn(f"{why}; answering from ipnpm's {source} instead")

    def want(self, name: str, version: str, path: str, integrity: str | None = None) -> Want:
        """Everything known about one tarball: integrity (npm's header, the lockfile, the
        store), CID (ipnpm-lock.json) and the upstream URLs for ``path``."""
        locked = self.locked(name, version)
        urls = self.tarball_urls(name, version, path)
        integrity = (
            integrity
            or (locked.integrity if locked else None)
            or self.store.integrity_for_spec(urlsplit(urls[0]).netloc, name, version)
        )
        # A CID is used for the integrity it is recorded under. An entry without integrity may
        # take its CID by name@version, and the fetcher then checks that the bytes are that
        # package (their package.json), so a poisoned entry cannot install another one.
        cid = self.cids.cid_for(integrity) if self.cids else None
        labelled = None
        if cid is None and integrity is None and self.cids:
            found = self.cids.labelled(f"{name}@{version}")
            if found is not None:
                labelled, cid = found[0], found[1].cid
        if cid is None and integrity:
            cid = self.store.cid_for(integrity)
        private = self.indexes is not None and self.indexes.is_private(name)
        return Want(
            name,
            version,
            integrity,
            url=urls[0],
            cid=cid,
            alt_urls=urls[1:],
            private=private,
            keep_local=private or self.is_private(name, urls),
            labelled=labelled,
        )

    def is_private(self, name: str, urls: tuple[str, ...]) -> bool:
        """Whether a tarball is private: its scope has a registry of its own, or a credential
        goes with any URL it is fetched from (upstream.py attaches it to that request)."""
        config = self.config
        own_registry = name.startswith("@") and config.registry_for(name) != config.registry
        return own_registry or any(config.credentials.for_url(url) for url in urls)

    def resolve_cid(self, want: Want) -> str | None:
        """The CID of a tarball nobody named one for: from the indexes (lazily, per fetch)."""
        if self.indexes is None:
            return None
        return self.indexes.cid_for(want.name, want.version, want.integrity)

    def locked_wants(self) -> list[Want]:
        """A Want for every registry tarball of the lockfile that npm installs on this machine."""
        if self.lockfile is None:
            return []
        return [
            replace(
                self.want(t.name, t.version, _tarball_path(t.name, t.version, t.resolved)),
                optional=t.optional,
            )
            for t in self.lockfile.tarballs
            if t.matches_platform()
        ]

    def locked(self, name: str, version: str) -> LockedTarball | None:
        if self.lockfile is None:
            return None
        for tarball in self.lockfile.by_name.get(name, []):
            if tarball.version == version:
                return tarball
        return None

    def tarball_urls(self, name: str, version: str, path: str) -> tuple[str, ...]:
        """Where the upstream may keep this tarball, in the order npm itself would try.

        A lockfile URL on another host than the configured registry is what npm's default
        ``replace-registry-host`` rewrites to the configured registry (a mirror), so that
        comes first; the URL as locked is the fallback.
        """
        registry = self.config.registry_for(name)
        parts = urlsplit(registry)
        if path.startswith(parts.path):  # npm kept the upstream's path prefix: host rewrite
            configured = f"{parts.scheme}://{parts.netloc}{path}"
        else:
            configured = registry + path.lstrip("/")
        locked = self.locked(name, version)
        if locked is None or not locked.resolved or locked.resolved == configured:
            return (configured,)
        if urlsplit(locked.resolved).netloc == parts.netloc:
            return (locked.resolved,)
        return (configured, locked.resolved)


def _tarball_path(name: str, version: str, resolved: str | None) -> str:
    if resolved:
        return urlsplit(resolved).path
    return f"/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"
