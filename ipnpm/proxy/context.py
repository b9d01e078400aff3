"""Everything the proxy needs for one run, built once by the session."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ipnpm.cidlock import CidLock
from ipnpm.fetch import Fetcher
from ipnpm.npm.config import NpmConfig
from ipnpm.npm.lockfile import LockedTarball, Lockfile
from ipnpm.runlog import RunLog
from ipnpm.store import Store
from ipnpm.upstream import Upstream


@dataclass(frozen=True)
class ProxyContext:
    secret: str
    config: NpmConfig
    store: Store
    fetcher: Fetcher
    log: RunLog
    upstream: Upstream | None  # None when offline
    lockfile: Lockfile | None = None
    lockfile_first: bool = False  # answer packuments from the lockfile (ci, offline)
    cids: CidLock | None = None  # ipnpm-lock.json: integrity -> CID

    def locked(self, name: str, version: str) -> LockedTarball | None:
        if self.lockfile is None:
            return None
        for tarball in self.lockfile.by_name.get(name, []):
            if tarball.version == version:
                return tarball
        return None

    def tarball_url(self, name: str, version: str, path: str) -> str:
        """Where the upstream keeps this tarball: the lockfile's URL, else the registry's."""
        locked = self.locked(name, version)
        if locked is not None and locked.resolved:
            return locked.resolved
        registry = self.config.registry_for(name)
        parts = urlsplit(registry)
        if path.startswith(parts.path):  # npm kept the upstream's path prefix: host rewrite
            return f"{parts.scheme}://{parts.netloc}{path}"
        return registry + path.lstrip("/")
