"""The configured indexes of one run, with scope routing.

``@acme/*`` bound to a private index is looked up there and only there: never in another
index, never at the upstream. Everything else goes to the unscoped indexes in order.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from ipnpm.index import IndexRef, integrity_key, integrity_shard, packument_path
from ipnpm.index.files import IndexFiles
from ipnpm.index.records import RecordResolver, Resolved
from ipnpm.sources import SourceError
from ipnpm.store.runlog import RunLog


class Index:
    def __init__(
        self, ref: IndexRef, resolver: RecordResolver, files: IndexFiles, log: RunLog
    ) -> None:
        self.ref = ref
        self.resolver = resolver
        self.files = files
        self.log = log
        self._lock = threading.Lock()
        self._resolved: Resolved | None = None
        self._resolved_at = 0.0
        self._shards: dict[str, dict[str, str]] = {}

    def resolve(self) -> Resolved:
        """The current root; re-resolved once the record's TTL has passed (serve mode)."""
        with self._lock:
            fresh = self._resolved is not None and (
                time.monotonic() - self._resolved_at < self._resolved.record.ttl.total_seconds()
            )
            if self._resolved is None or not fresh:
                self._resolved = self.resolver.resolve(self.ref.name)
                self._resolved_at = time.monotonic()
                self._announce(self._resolved)
            return self._resolved

    def _announce(self, resolved: Resolved) -> None:
        until = resolved.record.validity.strftime("%Y-%m-%d %H:%M UTC")
        self.log.event(
            "index",
            name=resolved.name,
            root=resolved.root,
            cached=resolved.cached,
            sequence=resolved.record.sequence,
            valid_until=until,
        )
        if resolved.cached and self.resolver.offline:
            print(
                f"ipnpm: index {resolved.name}: offline, using the cached record "
                f"(root {resolved.root}, valid until {until})",
                file=sys.stderr,
            )

    def cid_for(self, integrity: str | None) -> str | None:
        key = integrity_key(integrity or "")
        if key is None:
            return None
        root = self.resolve().root
        shard = integrity_shard(key)
        with self._lock:
            entries = self._shards.get(f"{root}/{shard}")
        if entries is None:
            data = self.files.read(root, shard)
            entries = json.loads(data) if data else {}
            with self._lock:
                self._shards[f"{root}/{shard}"] = entries
        return entries.get(key)

    def packument(self, name: str) -> dict[str, Any] | None:
        data = self.files.read(self.resolve().root, packument_path(name))
        return json.loads(data) if data else None

    def cid_of_version(self, name: str, version: str) -> str | None:
        manifest = ((self.packument(name) or {}).get("versions") or {}).get(version) or {}
        cid = (manifest.get("dist") or {}).get("cid")
        return cid if isinstance(cid, str) else None


class IndexSet:
    def __init__(self, indexes: Sequence[Index]) -> None:
        self.indexes = tuple(indexes)

    def for_name(self, name: str) -> list[Index]:
        scope = name.split("/", 1)[0] if name.startswith("@") else None
        bound = [index for index in self.indexes if scope and scope in index.ref.scopes]
        return bound or [index for index in self.indexes if not index.ref.scopes]

    def is_private(self, name: str) -> bool:
        """True for a scope bound to an index: it must never reach the upstream."""
        scope = name.split("/", 1)[0] if name.startswith("@") else None
        return any(scope in index.ref.scopes for index in self.indexes) if scope else False

    def resolve_all(self) -> None:
        """Resolve every index now, so that a bad or expired record fails before npm starts."""
        for index in self.indexes:
            index.resolve()

    def cid_for(self, name: str, version: str, integrity: str | None) -> str | None:
        for index in self.for_name(name):
            try:
                # Lockfile entries without integrity (npm omits it at times) by name@version.
                by_hash = index.cid_for(integrity) if integrity else None
                cid = by_hash or index.cid_of_version(name, version)
            except SourceError as exc:
                index.log.event("index-failed", name=index.ref.name, error=str(exc))
                continue
            if cid:
                return cid
        return None

    def packument(self, name: str) -> tuple[Index, dict[str, Any]] | None:
        for index in self.for_name(name):
            try:
                found = index.packument(name)
            except SourceError as exc:
                index.log.event("index-failed", name=index.ref.name, error=str(exc))
                continue
            if found is not None:
                return index, found
        return None
