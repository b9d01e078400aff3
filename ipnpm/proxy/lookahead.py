"""Packuments from the upstream: asked once per run, revalidated against ipnpm's copy, and
fetched ahead of npm while it resolves a tree.

Where the resolve path spent its time (BENCHMARKS.md, "Resolve"): npm's packument cache is keyed
by the full URL, so behind a proxy on a throw-away port npm never finds its own warm cache and
every packument came as a full 200 from the upstream, one after the other (npm walks the tree
nearly serially), some of them twice. So:

- every packument the upstream sends is kept as it came over the wire, with its ``ETag`` and
  ``Last-Modified``; the next run asks with ``If-None-Match``/``If-Modified-Since`` and, on a
  304, serves the kept bytes (what npm itself does with its warm cache);
- within one run each packument is asked at most once;
- when npm resolves a tree (``install`` without a lockfile, ``update``), each packument served
  makes the proxy fetch, in parallel, the packuments of the dependencies of the version each
  range picks (``ipnpm.npm.ranges``), starting from package.json: npm's next requests find
  them ready, and the round trips overlap instead of adding up;
- answers say ``Cache-Control: no-store``: npm would otherwise write each one into its cache
  under the throw-away port, work that no later run can use.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ipnpm.clients.lazy import requests
from ipnpm.errors import StoreError, reason
from ipnpm.npm.names import escape_name
from ipnpm.npm.ranges import pick
from ipnpm.proxy.wire import Wire, read_wire
from ipnpm.run.context import RunContext

logger = logging.getLogger("ipnpm.proxy")

ABBREVIATED = "application/vnd.npm.install-v1+json"
LOOKAHEAD_JOBS = 8  # parallel packument requests ahead of npm (npm itself opens up to 15)
NO_STORE = ("Cache-Control", "no-store")
_DEP_FIELDS = ("dependencies", "optionalDependencies", "peerDependencies")


@dataclass(frozen=True)
class Reply:
    """An upstream answer to a packument request, as it came over the wire."""

    status: int
    wire: Wire
    content_type: str
    revalidated: bool = False  # a 304: the kept copy was served


@dataclass(frozen=True)
class _Kept:
    meta: dict[str, Any]
    raw: bytes

    def reply(self) -> Reply:
        wire = Wire(self.raw, self.meta.get("encoding"), bool(self.meta.get("sized")))
        return Reply(200, wire, str(self.meta.get("content_type") or "application/json"), True)


def _dependencies(document: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """version -> [(name, range)] npm resolves for it (optional peers left out)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for version, manifest in (document.get("versions") or {}).items():
        if not isinstance(manifest, dict):
            continue
        meta = manifest.get("peerDependenciesMeta") or {}
        pairs: list[tuple[str, str]] = []
        for field in _DEP_FIELDS:
            for name, spec in (manifest.get(field) or {}).items():
                optional_peer = field == "peerDependencies" and (meta.get(name) or {}).get(
                    "optional"
                )
                if isinstance(spec, str) and not optional_peer:
                    pairs.append((name, spec))
        found[version] = pairs
    return found


_MANIFEST_KEPT = frozenset({*_DEP_FIELDS, "peerDependenciesMeta"})


def _slim(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's hook for each object as it is parsed: of a version's manifest only what
    _dependencies reads, of the document only versions and tags. Everything else (readmes,
    scripts, maintainers, times) is dropped as soon as it is built, so the peak is the slim
    document, not the whole one (a full packument can be tens of MB of Python objects)."""
    keys = {key for key, _ in pairs}
    if {"name", "version", "dist"} <= keys:
        return {key: value for key, value in pairs if key in _MANIFEST_KEPT}
    if "versions" in keys and "name" in keys:
        return {key: value for key, value in pairs if key in ("versions", "dist-tags")}
    return dict(pairs)


def _target(name: str, spec: str) -> tuple[str, str] | None:
    """(packument name, range) for a dependency spec; None for git, file, URL, workspace ones."""
    if spec.startswith("npm:"):
        alias = spec[4:]
        at = alias.rfind("@")
        return (alias[:at], alias[at + 1 :]) if at > 0 else (alias, "*")
    if ":" in spec or "/" in spec:
        return None
    return name, spec


# Full packuments of big packages are tens of MB decoded and several times that parsed; npm
# and the look-ahead may fetch many at once. Decoding and parsing share this many (estimated,
# decoded) bytes at a time, so ipnpm's memory stays bounded whatever the tree; one body larger
# than all of it still goes, alone.
DECODE_BUDGET = 24 * 1024 * 1024
_GZIP_RATIO = 8  # JSON packuments shrink about this much on the wire


class _Budget:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._used = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def hold(self, size: int) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self._used == 0 or self._used + size <= self._limit)
            self._used += size
        try:
            yield
        finally:
            with self._changed:
                self._used -= size
                self._changed.notify_all()


class UpstreamPackuments:
    """The upstream side of the proxy's packument answers; ``get`` is safe from any thread."""

    def __init__(self, context: RunContext, *, lookahead: bool) -> None:
        self.context = context
        self.lookahead = lookahead and context.upstream is not None
        self._lock = threading.Lock()
        self._asked: dict[tuple[str, bool], Future[Reply | None]] = {}
        self._expanded: set[tuple[str, str]] = set()  # (name, version) whose deps are queued
        self._ranges: dict[str, set[str]] = {}  # ranges asked of a name not fetched yet
        self._accept: str | None = None  # the form npm asks for, once it asked
        self._pool: ThreadPoolExecutor | None = None
        self._budget = _Budget(DECODE_BUDGET)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # -- npm's requests ----------------------------------------------------------------------

    def get(self, name: str, accept: str) -> Reply:
        """The upstream's answer (or the kept copy it confirmed); raises RequestException."""
        if self.lookahead and self._accept is None:
            self._accept = accept
            self._prime_project()
        reply = self._once(name, accept)
        if reply is None:  # fetched ahead: the kept copy is fresh for this run
            kept = self._kept(name, ABBREVIATED in accept)
            if kept is not None:
                return kept.reply()
            reply = self._fetch(name, accept)
        return reply

    def _once(self, name: str, accept: str) -> Reply | None:
        key = (name, ABBREVIATED in accept)
        with self._lock:
            future = self._asked.get(key)
            owner = future is None
            if future is None:
                future = self._asked[key] = Future()
        if not owner:
            try:
                return future.result()
            except requests.RequestException:
                return self._fetch(name, accept)  # the look-ahead failed: npm's own try
        try:
            reply = self._fetch(name, accept)
        except BaseException as exc:
            with self._lock:
                self._asked.pop(key, None)
            future.set_exception(exc)
            raise
        # Waiters read the kept copy; only a non-200 (small) is handed over in memory.
        future.set_result(None if reply.status == 200 else reply)
        return reply

    # -- the upstream and the kept copies ----------------------------------------------------

    def _paths(self, name: str, abbreviated: bool) -> tuple[Path, Path]:
        store = self.context.store
        host = urlsplit(self.context.config.registry_for(name)).netloc
        cache_name = f"{name}.abbreviated" if abbreviated else name
        decoded = store.packument_path(host, cache_name)
        # ".wire" can never be a package's own segment (a leading dot is always escaped).
        return decoded, decoded.parent / ".wire" / decoded.name

    def _kept(self, name: str, abbreviated: bool) -> _Kept | None:
        try:
            with self._paths(name, abbreviated)[1].open("rb") as handle:
                meta = json.loads(handle.readline())
                return _Kept(meta, handle.read())
        except (OSError, ValueError):
            return None  # never kept, or unreadable: asked for in full

    def _kept_meta(self, name: str, abbreviated: bool) -> dict[str, Any] | None:
        try:
            with self._paths(name, abbreviated)[1].open("rb") as handle:
                meta = json.loads(handle.readline())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def _fetch(self, name: str, accept: str) -> Reply:
        upstream = self.context.upstream
        assert upstream is not None
        abbreviated = ABBREVIATED in accept
        kept = self._kept(name, abbreviated)
        headers = {"Accept": accept}
        if kept is not None:
            if kept.meta.get("etag"):
                headers["If-None-Match"] = str(kept.meta["etag"])
            if kept.meta.get("last_modified"):
                headers["If-Modified-Since"] = str(kept.meta["last_modified"])
        url = self.context.config.registry_for(name) + escape_name(name)
        response = upstream.request("GET", url, headers=headers, stream=True)
        wire = read_wire(response)
        if response.status_code == 304 and kept is not None:
            self._expand_kept(name, kept)
            return kept.reply()
        content_type = response.headers.get("Content-Type", "application/json")
        reply = Reply(response.status_code, wire, content_type)
        if response.status_code == 200:
            self._keep(name, abbreviated, reply, response.headers)
        return reply

    def _keep(self, name: str, abbreviated: bool, reply: Reply, headers: Any) -> None:
        decoded_path, wire_path = self._paths(name, abbreviated)
        wire = reply.wire
        estimate = len(wire.raw) * (_GZIP_RATIO if wire.encoding else 1)
        try:
            with self._budget.hold(estimate):
                decoded = wire.decoded()
                deps = self._deps_of(decoded) if self.lookahead else {}
                meta = {
                    "etag": headers.get("ETag"),
                    "last_modified": headers.get("Last-Modified"),
                    "encoding": wire.encoding,
                    "sized": wire.sized,
                    "content_type": reply.content_type,
                    **deps,
                }
                head = json.dumps(meta, separators=(",", ":")).encode() + b"\n"
                store = self.context.store
                store.write_atomic(decoded_path, decoded)  # the offline copy (--offline)
                store.write_atomic(wire_path, head + wire.raw)
                del decoded
        except (StoreError, ValueError, zlib.error) as exc:
            # Keeping is a bonus (revalidation, offline use later): serve anyway, with a reason.
            self.context.log.event("cache-failed", name=name, reason=reason(exc))
            return
        if deps:
            self._expand(name, meta)

    @staticmethod
    def _deps_of(decoded: bytes) -> dict[str, Any]:
        document = json.loads(decoded, object_pairs_hook=_slim)
        if not isinstance(document, dict):
            return {}
        return {"tags": document.get("dist-tags") or {}, "deps": _dependencies(document)}

    # -- looking ahead -----------------------------------------------------------------------

    def _prime_project(self) -> None:
        for name, spec in _project_dependencies(self.context.project):
            self._ahead(name, spec)

    def _expand_kept(self, name: str, kept: _Kept) -> None:
        if self.lookahead:
            self._expand(name, kept.meta)

    def _expand(self, name: str, meta: dict[str, Any]) -> None:
        """Queue the dependencies of every version npm was asked to pick from ``name``."""
        with self._lock:
            ranges = self._ranges.pop(name, set())
        for spec in ranges or {"latest"}:
            self._expand_version(name, meta, spec)

    def _expand_version(self, name: str, meta: dict[str, Any], spec: str) -> None:
        deps: dict[str, list[list[str]]] = meta.get("deps") or {}
        version = pick(deps, spec, meta.get("tags") or {})
        if version is None:
            return
        with self._lock:
            if (name, version) in self._expanded:
                return
            self._expanded.add((name, version))
        for child, child_spec in deps.get(version, []):
            self._ahead(child, child_spec)

    def _ahead(self, name: str, spec: str) -> None:
        target = _target(name, spec)
        accept = self._accept
        if target is None or accept is None or self.context.indexes is not None:
            return  # index-served names never go upstream first; skip look-ahead entirely
        name, spec = target
        key = (name, ABBREVIATED in accept)
        with self._lock:
            known = self._asked.get(key)
            if known is None:
                self._ranges.setdefault(name, set()).add(spec)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(LOOKAHEAD_JOBS, thread_name_prefix="lookahead")
            pool = self._pool
        if known is not None:
            if known.done() and known.exception() is None:
                meta = self._kept_meta(name, key[1])
                if meta is not None:
                    self._expand_version(name, meta, spec)
            return
        with contextlib.suppress(RuntimeError):  # the pool closed: the run is over
            pool.submit(self._ahead_one, name, accept)

    def _ahead_one(self, name: str, accept: str) -> None:
        try:
            self._once(name, accept)
        except requests.RequestException as exc:
            logger.debug("look-ahead for %s failed: %s", name, reason(exc))


def _project_dependencies(project: Path) -> Iterator[tuple[str, str]]:
    """The root's and every workspace's declared dependencies, dev ones included."""
    for manifest in _manifests(project):
        for field in ("dependencies", "devDependencies", "optionalDependencies"):
            for name, spec in (manifest.get(field) or {}).items():
                if isinstance(spec, str):
                    yield name, spec


def _manifests(project: Path) -> Iterable[dict[str, Any]]:
    root = _read_json(project / "package.json")
    if root is None:
        return []
    found = [root]
    workspaces = root.get("workspaces")
    if isinstance(workspaces, dict):
        workspaces = workspaces.get("packages")
    for pattern in workspaces if isinstance(workspaces, list) else []:
        if isinstance(pattern, str) and not pattern.startswith(("/", "..")):
            for directory in sorted(project.glob(pattern)):
                manifest = _read_json(directory / "package.json")
                if manifest is not None:
                    found.append(manifest)
    return found


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None
