"""A registry as a curated list of hashes: an index of packuments (each version's tarball by
CID) published as a UnixFS directory under an IPNS name signed by its publisher.

Layout of an index root (format ``ipnpm-index/1``)::

    index.json              {"format", "cidProfile", "packages", "versions"}
    packages/<name>         the packument; scoped names escaped as ``@scope%2fname``;
                            every mirrored version carries ``dist.cid`` next to ``integrity``
    integrity/<xx>.json     {"sha512-…": "bafk…"} for the integrities whose digest starts
                            with byte xx: a whole lockfile resolves in at most 256 small reads
"""

from __future__ import annotations

from dataclasses import dataclass

from ipnpm.npm.integrity import Integrity, sri
from ipnpm.npm.names import escape_name

FORMAT = "ipnpm-index/1"
ROOT_FILE = "index.json"


@dataclass(frozen=True)
class IndexRef:
    """A registry index (an IPNS name) and the scopes routed to it alone (none: the rest)."""

    name: str
    scopes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{'+'.join(self.scopes)}={self.name}" if self.scopes else self.name


def packument_path(name: str) -> str:
    return f"packages/{escape_name(name)}"


def integrity_key(integrity: str) -> str | None:
    """The strongest hash of an SRI string, as the index keys it (``sha512-…``)."""
    parsed = Integrity.parse(integrity)
    if parsed is None:
        return None
    algorithm = parsed.strongest
    digest = next(d for a, d in parsed.digests if a == algorithm)
    return sri(algorithm, digest)


def integrity_shard(key: str) -> str:
    parsed = Integrity.parse(key)
    assert parsed is not None, key
    return f"integrity/{parsed.digests[0][1][:1].hex()}.json"
