"""Obtain a tarball: the store first, then each source in order, verified, stored, once.

One in-flight map makes sure a CID is fetched at most once per run: a second request for the
same package waits on the first (bounded wait, then it fetches on its own). Across runs that
share a store, a lock file per package does the same (``Store.content_lock``): concurrent CI
jobs download each tarball once.

Both are keyed by name@version, not by integrity: a lockfile entry without ``integrity`` (147
of the medium corpus project's 258) is prefetched under its name, while npm asks for the same
tarball with the integrity its packument gave. Keyed by integrity, the two were two flights,
and the tarball was downloaded twice whenever npm asked before the prefetch had it.
"""

from __future__ import annotations

import contextlib
import json
import tarfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace

from ipnpm.clients.lazy import requests
from ipnpm.errors import IntegrityError, MissingContentError, StoreError
from ipnpm.sources import Source, SourceError, Want
from ipnpm.store.objects import Store, StoredObject
from ipnpm.store.runlog import RunLog

WAIT_FOR_INFLIGHT = 120.0  # seconds a waiter trusts another thread's download
WAIT_FOR_OTHER_RUN = 60.0  # seconds a run waits on another run's download of the same content


@dataclass(frozen=True)
class Fetched:
    stored: StoredObject
    source: str
    # No integrity vouched for the bytes: only the CID ipnpm-lock.json gave, and the
    # tarball's own package.json naming the package (the run warns about each).
    cid_alone: bool = False


class _Flight:
    """One download in progress: its result, and the integrity it was checked against."""

    def __init__(self, integrity: str | None) -> None:
        self.integrity = integrity
        self.future: Future[Fetched] = Future()

    def vouches_for(self, want: Want) -> bool:
        return want.integrity is None or want.integrity == self.integrity


class Fetcher:
    def __init__(
        self,
        store: Store,
        sources: list[Source],
        log: RunLog,
        *,
        on_new: Callable[[StoredObject, str], None] | None = None,
        resolve_cid: Callable[[Want], str | None] | None = None,
        seed_all: bool = False,
    ) -> None:
        self.store = store
        self.sources = sources
        self.log = log
        self.on_new = on_new  # told about content that came from outside IPFS (seeding)
        self.resolve_cid = resolve_cid  # finds a CID (indexes) when the want has none
        self.seed_all = seed_all  # on_new for IPFS sources too (the client pins what it fetches)
        self._lock = threading.Lock()
        self._inflight: dict[str, _Flight] = {}

    def get(self, want: Want, purpose: str = "npm") -> Fetched:
        """The verified tarball for ``want``; raises MissingContentError naming every failure.

        ``purpose`` ("npm" or "prefetch") is recorded in the run log.
        """
        key = want.spec
        with self._lock:
            flight = self._inflight.get(key)
            owner = flight is None
            if flight is None:
                flight = self._inflight[key] = _Flight(want.integrity)
        future = flight.future
        if not owner:
            try:
                fetched = future.result(timeout=WAIT_FOR_INFLIGHT)
            except FutureTimeout:
                return self._fetch(want, purpose)
            except MissingContentError:
                if flight.vouches_for(want):
                    raise
                fetched = None  # the first caller's integrity failed, not necessarily this one
            if fetched is not None and flight.vouches_for(want):
                return fetched
            # Downloaded under another integrity (or none): this one is checked against the
            # stored copy, which the first caller has just put there.
            return self._fetch(want, purpose)
        try:
            fetched = self._fetch(want, purpose)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(fetched)
            return fetched
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def stored_for_npm(
        self, want: Want, purpose: str = "prefetch", *, by_digest: bool = False
    ) -> Fetched | None:
        """The stored tarball for ``want``, to be linked into npm's own cache before npm asks.

        ``by_digest``: npm reads it by the lockfile's integrity (an entry with ``resolved``
        and ``integrity``). It is then not re-hashed: npm checks every byte it reads from its
        cache against that integrity, and on a mismatch drops the entry and asks the proxy,
        which serves from ``get`` (re-hashed, a bad object quarantined and fetched anew).
        Hashing here too would only spend the CPU npm needs, on every tarball of every warm
        run. Any other entry npm reads by URL, through an entry of its HTTP cache, and on bad
        bytes it fails instead of asking again (its second try finds the URL's entry, whose
        content the first one removed), so those are re-hashed here, on the caller's thread
        (the hand-off's one thread, not the pool): ``None`` sends a bad or missing one to
        ``get``.
        """
        if not (by_digest and want.integrity):
            found = self._from_store(want, [])
            return self._logged(want, found, purpose) if found else None
        stored = self.store.unhashed_object(want.integrity)
        if stored is None:
            return None
        return self._logged(want, Fetched(stored, "store"), purpose, hashed=False)

    def in_store(self, want: Want) -> bool:
        """Whether the store holds an object for ``want`` now: a look, nothing re-hashed."""
        integrity = want.integrity or self.store.integrity_for_spec(
            want.registry_host, want.name, want.version
        )
        if integrity:
            return self.store.cid_for(integrity) is not None
        return want.cid is not None and self.store.object_path(want.cid).is_file()

    def _from_store(self, want: Want, failures: list[str]) -> Fetched | None:
        integrity = want.integrity or self.store.integrity_for_spec(
            want.registry_host, want.name, want.version
        )
        cid = self.store.cid_for(integrity)
        cid_alone = bool(
            integrity is None and want.cid and self.store.object_path(want.cid).is_file()
        )
        if cid_alone:
            cid = want.cid
        if cid is None:
            return None
        # By a CID alone, the label beside it saves computing the sha512 where the store
        # itself paired the two (verified_object); a label it did not pair is ignored.
        label = want.labelled if cid_alone else None
        stored = self.store.verified_object(cid, integrity, label=label)
        if stored is None and self.store.object_path(cid).is_file():
            # A good object, but not this request's content (its CID was paired with another
            # package's integrity): a miss, and the object stays.
            failures.append(f"store: {cid} is not the content {integrity} names")
            return None
        if stored is None:
            self.log.event("corrupt", spec=want.spec, cid=cid, action="quarantined")
            failures.append(f"store: the stored copy {cid} was corrupt and is quarantined")
            return None
        if cid_alone and not self._is_package(stored, want):
            # Stored for another package, whose CID a poisoned ipnpm-lock.json gave this one.
            failures.append(f"store: {cid} holds another package, not {want.spec}")
            self.log.event("cid-mismatch", spec=want.spec, cid=cid)
            return None
        return Fetched(stored, "store", cid_alone=cid_alone)

    def _from_sources(self, want: Want, failures: list[str]) -> Fetched | None:
        locked_cid = want.cid  # from ipnpm-lock.json; an index's is resolved below
        for source in self.sources:
            if want.private and not source.by_cid:
                failures.append(f"{source.name}: not asked (scope bound to a private index)")
                continue
            if source.by_cid and want.cid is None and self.resolve_cid is not None:
                want = replace(want, cid=self.resolve_cid(want))
            # Bytes only a CID vouches for are not what the registry served: they never go
            # into the store's name@version map (which would vouch for them next time).
            by_cid_alone = want.integrity is None and source.by_cid
            try:
                chunks = source.open(want)
                if chunks is None:
                    failures.append(f"{source.name}: not found")
                    continue
                stored = self.store.ingest(
                    chunks,
                    expected=want.integrity,
                    source=source.name,
                    spec=None if by_cid_alone else _spec(want),
                    private=want.keep_local,
                )
            except StoreError as exc:
                # No other source can help when the store cannot be written (disk full).
                self.log.event("store-failed", spec=want.spec, error=exc.message)
                raise MissingContentError(f"{want.spec}: {exc.message}", hint=exc.hint) from exc
            except (SourceError, IntegrityError, requests.RequestException) as exc:
                self.log.event("source-failed", spec=want.spec, source=source.name, error=str(exc))
                failures.append(f"{source.name}: {exc}")
                continue
            if by_cid_alone and not self._is_package(stored, want):
                # Only the CID vouched for these bytes, and they are another package's.
                failures.append(f"{source.name}: {want.cid} holds another package, not {want.spec}")
                self.log.event("cid-mismatch", spec=want.spec, cid=want.cid)
                continue
            if self.on_new is not None and (self.seed_all or not source.by_cid):
                self.on_new(stored, want.spec)
            return Fetched(stored, source.name, cid_alone=by_cid_alone and locked_cid is not None)
        return None

    def _fetch(self, want: Want, purpose: str) -> Fetched:
        failures: list[str] = []
        found = self._from_store(want, failures)
        if found is None and self.sources:
            with self.store.content_lock(want.spec, WAIT_FOR_OTHER_RUN):
                # Another run may have stored it while this one waited for the lock.
                found = self._from_store(want, failures) or self._from_sources(want, failures)
        if found is None:
            # npm skips an optional package it cannot get (and some it never asks for), so a
            # prefetch miss of one is worth a log line, not a failure.
            kind = "optional-unavailable" if want.optional and purpose != "npm" else "missing"
            self.log.event(kind, spec=want.spec, integrity=want.integrity, failures=failures)
            failures = failures or ["store: not there, and no other source is enabled (offline)"]
            reasons = "; ".join(failures)
            raise MissingContentError(f"{want.spec} is not available ({reasons})")
        return self._logged(want, found, purpose)

    def _is_package(self, stored: StoredObject, want: Want) -> bool:
        """The object's own package.json names ``want``: read once per object, then known."""
        if self.store.is_package(stored.cid, want.name, want.version):
            return True
        if not _is_package(stored, want):
            return False
        # Only an unwritable store loses the record: the next run then reads it again.
        with contextlib.suppress(StoreError):
            self.store.record_package(stored.cid, want.name, want.version)
        return True

    def _logged(self, want: Want, found: Fetched, purpose: str, *, hashed: bool = True) -> Fetched:
        """``found``, recorded in the run log. ``hashed``: ipnpm hashed these bytes in this run
        (as it stored or read them); else they went to npm's cache, npm checking them."""
        self.log.event(
            "tarball",
            spec=want.spec,
            integrity=want.integrity,
            cid=found.stored.cid,
            size=found.stored.size,
            source=found.source,
            verified=want.integrity is not None,
            hashed=hashed,
            cid_alone=found.cid_alone,
            purpose=purpose,
        )
        return found


def _is_package(stored: StoredObject, want: Want) -> bool:
    """The tarball's own package.json names ``want`` (for bytes no integrity vouches for)."""
    try:
        with tarfile.open(stored.path, "r:gz") as archive:
            for member in archive:
                if (
                    member.isfile()
                    and member.name.count("/") == 1
                    and (member.name.endswith("/package.json"))
                ):
                    handle = archive.extractfile(member)
                    manifest = json.load(handle) if handle else {}
                    return bool(
                        manifest.get("name") == want.name
                        and manifest.get("version") == want.version
                    )
    except (OSError, tarfile.TarError, ValueError, EOFError):
        return False  # not a readable npm tarball: certainly not the package asked for
    return False


def _spec(want: Want) -> tuple[str, str, str] | None:
    host = want.registry_host
    return (host, want.name, want.version) if host else None
