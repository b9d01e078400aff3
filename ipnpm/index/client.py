"""The configured indexes of one run, with scope routing.

``@acme/*`` bound to a private index is looked up there and only there: never in another
index, never at the upstream. Everything else goes to the unscoped indexes in order.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from ipnpm.errors import IndexUnavailableError, IpnpmError
from ipnpm.index import IndexRef, integrity_key, integrity_shard, packument_path
from ipnpm.index.files import IndexFiles
from ipnpm.index.records import RecordResolver, Resolved
from ipnpm.sources import SourceError
from ipnpm.store.runlog import RunLog

logger = logging.getLogger("ipnpm")


# After an index failed to resolve, how long before a long-running process (serve) tries
# again; within one run the failure is remembered, so it costs its bounded wait once.
RETRY_AFTER = 60.0


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
        self._failure: IpnpmError | None = None
        self._failed_at = 0.0
        self._shards: dict[str, dict[str, str]] = {}

    @property
    def resolved_root(self) -> str | None:
        """The root resolved last (None: not resolved, or failed)."""
        resolved = self._resolved
        return resolved.root if resolved is not None and self._failure is None else None

    @property
    def failure(self) -> IpnpmError | None:
        """Why this index could not be used in this run (None: it could)."""
        return self._failure

    def resolve(self) -> Resolved:
        """The current root; re-resolved once the record's TTL has passed (serve mode).

        Raises IndexUnavailableError naming the index and the cause; a failure is remembered
        for RETRY_AFTER seconds, so an index that resolves nowhere costs its wait only once.
        """
        with self._lock:
            if self._failure is not None and time.monotonic() - self._failed_at < RETRY_AFTER:
                raise self._failure
            fresh = self._resolved is not None and (
                time.monotonic() - self._resolved_at < self._resolved.record.ttl.total_seconds()
            )
            if self._resolved is None or not fresh:
                try:
                    self._resolved = self.resolver.resolve(self.ref.name)
                except IpnpmError as exc:
                    named = self.ref.name in exc.message
                    self._failure = IndexUnavailableError(
                        exc.message if named else f"index {self.ref}: {exc.message}",
                        hint=exc.hint or "check the name and your IPFS sources",
                    )
                    self._failed_at = time.monotonic()
                    self.log.event("index-failed", name=self.ref.name, error=exc.message)
                    raise self._failure from exc
                self._failure = None
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
            expired=resolved.expired,
            sequence=resolved.record.sequence,
            age_seconds=round(resolved.age, 1),
            valid_until=until,
        )
        logger.info("index %s: %s", resolved.name, resolved.describe())
        if resolved.expired:
            print(
                f"ipnpm: warning: index {resolved.name}: its record expired at {until} and no "
                f"fresh one could be had; its last root ({resolved.root}) is used only to find "
                "CIDs of tarballs whose integrity is already locked, never for packuments",
                file=sys.stderr,
            )
        elif resolved.cached and self.resolver.offline:
            print(
                f"ipnpm: index {resolved.name}: offline, using the cached record "
                f"(root {resolved.root}, valid until {until})",
                file=sys.stderr,
            )

    def cid_for(self, integrity: str | None) -> str | None:
        """The CID the index maps ``integrity`` to. Safe even from an expired record: the
        bytes fetched by that CID must still match ``integrity``, which the caller trusts."""
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

    def _current(self) -> Resolved:
        """The resolved record, refused when expired: what packuments may be learnt from."""
        resolved = self.resolve()
        if resolved.expired:
            raise IndexUnavailableError(
                f"index {self.ref}: its record expired at "
                f"{resolved.record.validity.strftime('%Y-%m-%d %H:%M UTC')} and cannot be "
                "refreshed; an expired index is not used to learn packages",
                hint="reach its publisher or a peer holding a current record (its publisher "
                "can run `ipnpm ipfs index republish`)",
            )
        return resolved

    def packument(self, name: str) -> dict[str, Any] | None:
        data = self.files.read(self._current().root, packument_path(name))
        return json.loads(data) if data else None

    def cid_of_version(self, name: str, version: str) -> str | None:
        manifest = ((self.packument(name) or {}).get("versions") or {}).get(version) or {}
        cid = (manifest.get("dist") or {}).get("cid")
        return cid if isinstance(cid, str) else None


class IndexSet:
    def __init__(self, indexes: Sequence[Index]) -> None:
        self.indexes = tuple(indexes)
        self._failures: dict[str, str] = {}  # index name -> why, for messages to npm

    def for_name(self, name: str) -> list[Index]:
        scope = name.split("/", 1)[0] if name.startswith("@") else None
        bound = [index for index in self.indexes if scope and scope in index.ref.scopes]
        return bound or [index for index in self.indexes if not index.ref.scopes]

    def is_private(self, name: str) -> bool:
        """True for a scope bound to an index: it must never reach the upstream."""
        scope = name.split("/", 1)[0] if name.startswith("@") else None
        return any(scope in index.ref.scopes for index in self.indexes) if scope else False

    def resolve_all(self) -> None:
        """Resolve every index now, so that its state is known (and said) before npm starts.

        An index that cannot be used does not stop the run: a run that needs nothing from it
        (every CID known from ipnpm-lock.json, the store or another index) goes on after one
        warning; a package only it could supply fails then, with the index and the cause.
        """
        for index in self.indexes:
            try:
                index.resolve()
            except IpnpmError as exc:
                self._remember(index, exc)
                hint = f" (fix: {exc.hint})" if exc.hint else ""
                print(
                    f"ipnpm: warning: {exc.message}; going on without it: packages only it "
                    f"can supply will fail{hint}",
                    file=sys.stderr,
                )

    def _remember(self, index: Index, exc: IpnpmError) -> None:
        hint = f"; fix: {exc.hint}" if exc.hint else ""
        self._failures[index.ref.name] = f"{exc.message}{hint}"
        index.log.event("index-failed", name=index.ref.name, error=exc.message)

    def why_unusable(self, name: str) -> str | None:
        """Why the indexes that could list ``name`` could not be asked (None: they could)."""
        reasons = [
            self._failures[i.ref.name] for i in self.for_name(name) if i.ref.name in self._failures
        ]
        return "; ".join(reasons) or None

    def cid_for(self, name: str, version: str, integrity: str | None) -> str | None:
        for index in self.for_name(name):
            try:
                # Lockfile entries without integrity (npm omits it at times) by name@version.
                by_hash = index.cid_for(integrity) if integrity else None
                cid = by_hash or index.cid_of_version(name, version)
            except (SourceError, IpnpmError) as exc:
                self._remember(index, _as_index_error(index, exc))
                continue
            if cid:
                return cid
        return None

    def packument(self, name: str) -> tuple[Index, dict[str, Any]] | None:
        for index in self.for_name(name):
            try:
                found = index.packument(name)
            except (SourceError, IpnpmError) as exc:
                self._remember(index, _as_index_error(index, exc))
                continue
            if found is not None:
                return index, found
        return None


def _as_index_error(index: Index, exc: Exception) -> IpnpmError:
    if isinstance(exc, IndexUnavailableError):
        return exc
    if isinstance(exc, IpnpmError):
        return IndexUnavailableError(f"index {index.ref}: {exc.message}", hint=exc.hint)
    return IndexUnavailableError(
        f"index {index.ref}: {exc}",
        hint="check that a peer holding it is reachable (IPNPM_KUBO_API, IPNPM_GATEWAYS)",
    )
