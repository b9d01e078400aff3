"""Read a file at ``/ipfs/<root>/<path>`` of an index: ipnpm's cache, then Kubo, then gateways.

Everything under a root is immutable, so whatever was read once (or found absent) is cached by
root for good: the next run, online or offline, needs no request at all.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from ipnpm.clients.kubo import KuboClient, KuboError
from ipnpm.clients.lazy import requests
from ipnpm.errors import reason
from ipnpm.ipfs.car import read_car
from ipnpm.ipfs.cid import Cid
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.unixfs import reassemble
from ipnpm.sources import SourceError

_ABSENT = b"\x00ipnpm:absent\x00"  # a cached miss; no JSON file starts with a NUL byte
# How long one source may take for one index file. Kubo is told the same (its `timeout`), so
# it stops looking for blocks nobody has; after a failure the other files of that root fail
# at once for the rest of the run instead of waiting again.
READ_WAIT = 10.0


def _kubo_missing(message: str) -> bool:
    lowered = message.lower()
    return "no link named" in lowered or "not found" in lowered


class IndexFiles:
    def __init__(
        self,
        store_root: Path,
        *,
        kubo: KuboClient | None,
        gateways: Sequence[str],
        offline: bool,
    ) -> None:
        self.directory = store_root / "index-files"
        self.kubo = kubo
        self.gateways = tuple(gateways)
        self.offline = offline
        self._unreadable: dict[str, str] = {}  # root -> why its files cannot be fetched

    def read(self, root: str, path: str) -> bytes | None:
        """The file's bytes, or None when the index has no such file.

        Raises SourceError when nobody could say (every source failed).
        """
        cached = self._cached(root, path)
        if cached is not None:
            return None if cached == _ABSENT else cached
        if self.offline and self.kubo is None and not self.gateways:
            raise SourceError(f"/ipfs/{root}/{path} is not cached and no IPFS source is enabled")
        if root in self._unreadable:
            raise SourceError(self._unreadable[root])
        try:
            data = self._fetch(root, path)
        except SourceError as exc:
            self._unreadable[root] = f"{exc} (earlier in this run)"
            raise
        self._remember(root, path, _ABSENT if data is None else data)
        return data

    def fetch(self, root: str, path: str) -> bytes | None:
        """The file from the network, never from the cache (doctor: can it be read now?)."""
        return self._fetch(root, path)

    def _cache_path(self, root: str, path: str) -> Path:
        return self.directory / root / quote(path, safe="")

    def _cached(self, root: str, path: str) -> bytes | None:
        with contextlib.suppress(OSError):
            return self._cache_path(root, path).read_bytes()
        return None

    def _remember(self, root: str, path: str, data: bytes) -> None:
        target = self._cache_path(root, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
        partial.write_bytes(data)
        os.replace(partial, target)

    def _fetch(self, root: str, path: str) -> bytes | None:
        failures: list[str] = []
        if self.kubo is not None:
            try:
                options = {"timeout": f"{READ_WAIT:g}s"}
                return self.kubo.call(
                    "cat", f"/ipfs/{root}/{path}", options=options, read_timeout=READ_WAIT + 5
                ).content
            except KuboError as exc:
                if _kubo_missing(str(exc)):
                    return None
                failures.append(f"kubo: {exc}")
            except requests.RequestException as exc:
                failures.append(f"kubo: {reason(exc)}")
        for url in self.gateways:
            try:
                return _from_gateway(url, root, path)
            except (SourceError, requests.RequestException, IpfsFormatError) as exc:
                failures.append(f"gateway {url}: {exc}")
        why = "; ".join(failures) or "no source"
        raise SourceError(f"cannot read /ipfs/{root}/{path} (waited up to {READ_WAIT:g}s): {why}")


def _from_gateway(url: str, root: str, path: str) -> bytes | None:
    """Trustless: the CAR's blocks are hashed, and the path is walked from the root we trust."""
    from ipnpm.ipfs.unixfs_dir import NoSuchEntry, resolve_path

    response = requests.get(
        # Quoted: a scoped packument's file name holds "%2f", which a gateway would decode.
        f"{url}/ipfs/{root}/{quote(path)}?format=car&dag-scope=entity",
        headers={"Accept": "application/vnd.ipld.car"},
        timeout=(5.0, READ_WAIT),
    )
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise SourceError(f"HTTP {response.status_code}")
    _, blocks = read_car(response.content)
    try:
        target = resolve_path(Cid.parse(root), path.split("/"), blocks.__getitem__)
    except NoSuchEntry:
        return None
    return b"".join(reassemble(target, blocks.__getitem__))
