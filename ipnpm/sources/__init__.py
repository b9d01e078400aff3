"""Where tarball bytes come from. Every source implements the small ``Source`` protocol; the
fetcher (``ipnpm.sources.fetcher``) tries them in order and verifies whatever they return."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from ipnpm.errors import ExitCode, IpnpmError


@dataclass(frozen=True)
class Want:
    """One tarball to obtain, with everything known about it."""

    name: str
    version: str
    integrity: str | None  # npm's SRI string, verified before anyone sees a byte
    url: str | None = None  # the upstream tarball URL, for sources that speak HTTP to registries
    cid: str | None = None  # the unixfs-v1-2025 CID, when known
    alt_urls: tuple[str, ...] = ()  # more upstream URLs to try when ``url`` has no such file
    optional: bool = False  # npm may skip it (optional dependency): a miss is no failure
    private: bool = False  # its scope is bound to an index: IPFS sources only, never upstream
    # Private in the store (fetched with a credential, from a scope's own registry or a
    # private index): never seeded unless the user opts in, never on a public route.
    keep_local: bool = False
    # For an entry without integrity: the one ipnpm-lock.json labels it with, beside ``cid``.
    # A project file's claim, never checked against; believed only as far as the store itself
    # paired that CID with that sha512 (it then need not compute the sha512 again).
    labelled: str | None = None

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @functools.cached_property  # asked of every want several times a run, at each look-up
    def registry_host(self) -> str | None:
        """``host:port`` of the registry the tarball comes from (what name@version means)."""
        return urlsplit(self.url).netloc or None if self.url else None


class SourceError(IpnpmError):
    """A source failed in a way worth reporting (unreachable, bad answer), not a plain miss."""

    exit_code = ExitCode.MISSING


class Source(Protocol):
    """A place that may hold a tarball.

    ``open`` returns an iterator of byte chunks, or ``None`` when the source does not have the
    content (or cannot look for it: a CID source without a CID). It raises ``SourceError`` when
    the source itself fails, also while iterating. The caller hashes every chunk and publishes
    nothing that does not match npm's integrity, and, for a source that is ``by_cid``, the CID.
    """

    name: str
    by_cid: bool  # content is addressed by ``want.cid`` (IPFS), not by ``want.url``

    def open(self, want: Want) -> Iterator[bytes] | None: ...


def bounded(chunks: Iterable[bytes], limit: int, what: str) -> Iterator[bytes]:
    """``chunks``, but a source that yields more than ``limit`` bytes fails instead: a few
    hostile blocks linked a million times over must not fill memory or disk."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise SourceError(f"{what} is larger than {limit} bytes: refused")
        yield chunk
