"""Packuments: from the upstream (``dist.tarball`` untouched, so lockfiles keep upstream URLs),
else from ipnpm's cache, else synthesised from the lockfile (what makes ``ci`` offline work
for lockfiles without ``resolved``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ipnpm.clients.lazy import requests
from ipnpm.npm.lockfile import LockedTarball
from ipnpm.npm.names import escape_name, registry_tarball
from ipnpm.proxy.lookahead import NO_STORE, UpstreamPackuments
from ipnpm.run.context import RunContext

ABBREVIATED = "application/vnd.npm.install-v1+json"
# npm's cache would key a packument by this run's proxy URL, which no later run asks for: a
# write (content, index) per packument that only costs npm CPU. Tarballs are kept: npm reads
# those by integrity.
_KEEP_NOT = (NO_STORE,)
_JSON = "application/json"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = _JSON
    source: str = "upstream"
    headers: tuple[tuple[str, str], ...] = ()  # upstream headers npm acts on (OTP, notices)
    encoding: str | None = None  # the body's Content-Encoding, as the upstream sent it
    sized: bool = True  # send a Content-Length (else chunked, as the upstream did)


def not_found(message: str) -> Answer:
    # 404, never 5xx: npm retries a 5xx for 70 seconds, a 404 fails at once with the message.
    return Answer(404, json.dumps({"error": message}).encode(), source="none")


def _semver_key(version: str) -> tuple[tuple[int, ...], int, str]:
    core, _, pre = version.partition("-")
    numbers = tuple(int(part) for part in re.findall(r"\d+", core)[:3])
    return numbers, 0 if pre else 1, pre


def from_lockfile(name: str, locked: Iterable[LockedTarball], registry: str) -> bytes:
    """An abbreviated packument holding exactly the locked versions (npm 11 accepts it)."""
    versions: dict[str, Any] = {}
    for tarball in locked:
        dist: dict[str, str] = {
            "tarball": tarball.resolved or registry_tarball(registry, name, tarball.version)
        }
        if tarball.integrity:
            dist["integrity"] = tarball.integrity
        versions[tarball.version] = {
            "name": name,
            "version": tarball.version,
            **tarball.manifest,
            "dist": dist,
        }
    latest = max(versions, key=_semver_key)
    document = {"name": name, "dist-tags": {"latest": latest}, "versions": versions}
    return json.dumps(document).encode()


def from_index(name: str, document: dict[str, Any], registry: str) -> bytes:
    """An index packument as npm should see it: each tarball URL on the user's registry.

    npm records that URL in the lockfile, exactly as if the registry had answered, and sends
    the download to the proxy (replace-registry-host), where the index's CID is used.
    """
    versions = document.get("versions") or {}
    for version, manifest in versions.items():
        if isinstance(manifest, dict):
            dist = dict(manifest.get("dist") or {})
            dist["tarball"] = registry_tarball(registry, name, version)
            manifest["dist"] = dist
    return json.dumps(document).encode()


def _cache_name(name: str, abbreviated: bool) -> str:
    return f"{name}.abbreviated" if abbreviated else name


class Packuments:
    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.upstream = UpstreamPackuments(context, lookahead=context.lookahead)

    def close(self) -> None:
        self.upstream.close()

    def answer(self, name: str, accept: str) -> Answer:
        """The first of: the lockfile (ci, offline), an index, the upstream, ipnpm's cache,
        the lockfile again (upstream down), else 404."""
        abbreviated = ABBREVIATED in accept
        context = self.context
        # Offline, a v2/v3 lockfile answers first; a v1 lockfile lacks what npm's old-lockfile
        # fix-up reads (os, cpu, bundled versions), so the real packuments cached online come
        # first, and the lockfile only as the last resort.
        v1 = context.lockfile is not None and context.lockfile.version < 2
        first = context.lockfile_first or (context.upstream is None and not v1)
        failures: list[str] = []  # why the upstream could not answer, for every later step
        steps: tuple[Callable[[], Answer | None], ...] = (
            lambda: self._from_lockfile(name) if first else None,
            lambda: self._from_index(name),
            lambda: self._from_upstream(name, accept, failures),
            lambda: self._from_cache(name, abbreviated),
            lambda: self._from_lockfile(name),
        )
        for step in steps:
            found = step()
            if found is not None:
                if failures and found.source != "upstream":
                    context.note_upstream_fallback(failures[0], found.source)
                if found.status == 404 and self._index_failure(name):
                    return not_found(f"ipnpm: {name}: {self._index_failure(name)}")
                return found
        index = f"; {self._index_failure(name)}" if self._index_failure(name) else ""
        if context.upstream is None:
            return not_found(f"ipnpm: {name}: offline, and it is not in ipnpm's cache{index}")
        return not_found(f"ipnpm: {name}: {failures[0]}; and it is not in ipnpm's cache{index}")

    def _index_failure(self, name: str) -> str | None:
        """Why an index that could list ``name`` could not be asked (it named the cause)."""
        indexes = self.context.indexes
        return indexes.why_unusable(name) if indexes is not None else None

    def _from_lockfile(self, name: str) -> Answer | None:
        lockfile = self.context.lockfile
        locked = lockfile.by_name.get(name) if lockfile else None
        if not locked:
            return None
        registry = self.context.config.registry_for(name)
        return Answer(
            200, from_lockfile(name, locked, registry), source="lockfile", headers=_KEEP_NOT
        )

    def _from_index(self, name: str) -> Answer | None:
        indexes = self.context.indexes
        if indexes is None:
            return None
        indexed = indexes.packument(name)
        if indexed is not None:
            registry = self.context.config.registry_for(name)
            return Answer(
                200, from_index(name, indexed[1], registry), source="index", headers=_KEEP_NOT
            )
        if indexes.is_private(name):  # never ask anyone else about a private scope
            why = indexes.why_unusable(name)
            return not_found(
                f"ipnpm: {name}: {why}"
                if why
                else f"ipnpm: {name} is not in the index of its scope"
            )
        return None

    def _host(self, name: str) -> str:
        return urlsplit(self.context.config.registry_for(name)).netloc

    def _from_upstream(self, name: str, accept: str, failures: list[str]) -> Answer | None:
        """The upstream's answer; ``None`` when offline or unreachable (fall back to cache),
        with the reason appended to ``failures`` and recorded in the run log."""
        if self.context.upstream is None:
            return None
        url = self.context.config.registry_for(name) + escape_name(name)
        try:
            # Asked once per run, revalidated against the kept copy, looked ahead (lookahead.py).
            reply = self.upstream.get(name, accept)
        except requests.RequestException as exc:
            failures.append(self.context.upstream.describe_failure(exc, url))
            self.context.log.event("upstream-failed", url=url, reason=failures[-1])
            return None
        if reply.status >= 500:
            failures.append(f"upstream {url}: HTTP {reply.status}")
            self.context.log.event("upstream-failed", url=url, reason=failures[-1])
            return None
        wire = reply.wire
        return Answer(
            reply.status,
            wire.raw,
            reply.content_type,
            headers=(NO_STORE,),
            encoding=wire.encoding,
            sized=wire.sized,
        )

    def _from_cache(self, name: str, abbreviated: bool) -> Answer | None:
        # Either form will do offline: a full document is a superset of the abbreviated one.
        for form in (abbreviated, not abbreviated):
            path = self.context.store.packument_path(self._host(name), _cache_name(name, form))
            try:
                body = path.read_bytes()
            except OSError:
                continue
            return Answer(
                200, body, ABBREVIATED if form else _JSON, source="cache", headers=_KEEP_NOT
            )
        return None
