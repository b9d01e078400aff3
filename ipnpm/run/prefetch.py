"""Fetch every locked tarball in parallel before npm asks for it.

The workers and the proxy share one Fetcher, so each content is fetched once: npm's request for
a tarball that is being prefetched waits on that same download.

With a hand-off to npm's cache, one thread first links what the store already holds (no
hashing: npm checks those bytes as it reads them) and gives the pool only the rest. A warm run
then costs a few system calls per tarball and starts no worker at all: on a busy machine every
thread ipnpm runs takes CPU from npm.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from ipnpm.errors import MissingContentError
from ipnpm.npm.cacache import content_path
from ipnpm.run.handoff import NpmCacheHandoff
from ipnpm.sources import Want
from ipnpm.sources.fetcher import Fetched, Fetcher


def not_in_npm_cache(wants: Sequence[Want], npm_cache: Path | None) -> list[Want]:
    """What npm will request: a tarball already in npm's cache never reaches the proxy."""
    if npm_cache is None:
        return list(wants)
    return [w for w in wants if not (w.integrity and content_path(npm_cache, w.integrity))]


class Prefetch:
    """A background prefetch; ``with Prefetch(...) as run:`` cancels what is left on exit."""

    def __init__(
        self,
        fetcher: Fetcher,
        wants: Sequence[Want],
        *,
        jobs: int,
        on_done: Callable[[Want], None] | None = None,
        handoff: NpmCacheHandoff | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.wants = list(wants)
        self.on_done = on_done
        self.handoff = handoff  # hand verified tarballs to npm's cache before it asks
        self.failed: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="prefetch")
        self._futures: list[Future[None]] = []
        self._linker: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> Prefetch:
        if self.handoff is None:
            self._futures = [self._pool.submit(self._one, want) for want in self.wants]
        else:
            self._linker = threading.Thread(target=self._link_stored, name="handoff", daemon=True)
            self._linker.start()
        return self

    def _link_stored(self) -> None:
        """Hand over what the store holds; queue the rest for the pool at once.

        What npm reads by digest is linked unhashed, a few system calls each. What it reads
        by URL but is stored is re-hashed, so it waits until the quick links are made; which
        those are is decided now, before the pool or npm stores anything: an object this run
        fetches is never taken for one the store had (the run log's source stays the
        upstream)."""
        handoff = self.handoff
        if handoff is None:
            return
        stored_later = []
        for want in self.wants:
            if self._stopping.is_set():
                return
            by_digest = want.integrity is not None and handoff.reads_by_digest(want.spec)
            if not by_digest and self.fetcher.in_store(want):
                stored_later.append(want)
            elif not by_digest or not self._handed_from_store(want, by_digest=True):
                self._futures.append(self._pool.submit(self._one, want))
        for want in stored_later:
            if self._stopping.is_set():
                return
            if not self._handed_from_store(want, by_digest=False):
                self._futures.append(self._pool.submit(self._one, want))

    def _handed_from_store(self, want: Want, *, by_digest: bool) -> bool:
        fetched = self.fetcher.stored_for_npm(want, by_digest=by_digest)
        if fetched is None or self.handoff is None:
            return False
        if not self.handoff.hand(want.spec, fetched.stored, want.integrity):
            return False  # the pool fetches it: npm then gets its bytes through the proxy
        self._handed(want, fetched)
        if self.on_done is not None:
            self.on_done(want)
        return True

    def _handed(self, want: Want, fetched: Fetched) -> None:
        self.fetcher.log.event(
            "handed", spec=want.spec, cid=fetched.stored.cid, integrity=want.integrity
        )

    def _one(self, want: Want) -> None:
        try:
            fetched = self.fetcher.get(want, purpose="prefetch")
            handoff = self.handoff
            if handoff and handoff.hand(want.spec, fetched.stored, want.integrity):
                self._handed(want, fetched)
        except MissingContentError as exc:
            if not want.optional:
                self.failed[want.spec] = exc.message
        finally:
            if self.on_done is not None:
                self.on_done(want)

    def wait(self) -> dict[str, str]:
        """Block until every tarball is in; returns spec -> reason for the ones that are not."""
        if self._linker is not None:
            self._linker.join()
        for future in self._futures:
            future.result()
        return self.failed

    def __enter__(self) -> Prefetch:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        if self._linker is not None:
            self._linker.join()
        self._pool.shutdown(wait=True, cancel_futures=True)
