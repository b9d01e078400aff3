"""Fetch every locked tarball in parallel before npm asks for it.

The workers and the proxy share one Fetcher, so each content is fetched once: npm's request for
a tarball that is being prefetched waits on that same download.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from ipnpm.errors import MissingContentError
from ipnpm.npm.cacache import content_path
from ipnpm.run.handoff import NpmCacheHandoff
from ipnpm.sources import Want
from ipnpm.sources.fetcher import Fetcher


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

    def start(self) -> Prefetch:
        self._futures = [self._pool.submit(self._one, want) for want in self.wants]
        return self

    def _one(self, want: Want) -> None:
        try:
            fetched = self.fetcher.get(want, purpose="prefetch")
            handoff = self.handoff
            if handoff and handoff.hand(want.spec, fetched.stored, want.integrity):
                self.fetcher.log.event(
                    "handed", spec=want.spec, cid=fetched.stored.cid, integrity=want.integrity
                )
        except MissingContentError as exc:
            if not want.optional:
                self.failed[want.spec] = exc.message
        finally:
            if self.on_done is not None:
                self.on_done(want)

    def wait(self) -> dict[str, str]:
        """Block until every tarball is in; returns spec -> reason for the ones that are not."""
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
        self._pool.shutdown(wait=True, cancel_futures=True)
