"""Tarball requests: found by npm's ``pacote-integrity`` header first, then by path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ipnpm.errors import MissingContentError
from ipnpm.proxy.context import ProxyContext
from ipnpm.sources import Want


@dataclass(frozen=True)
class TarballAnswer:
    path: Path | None
    size: int = 0
    error: str = ""


def want_for(context: ProxyContext, name: str, version: str, path: str, header: str | None) -> Want:
    locked = context.locked(name, version)
    integrity = (
        header
        or (locked.integrity if locked else None)
        or context.store.integrity_for_spec(name, version)
    )
    spec = f"{name}@{version}"
    cid = context.cids.cid_for(integrity, spec) if context.cids else None
    return Want(name, version, integrity, url=context.tarball_url(name, version, path), cid=cid)


def serve_tarball(context: ProxyContext, want: Want) -> TarballAnswer:
    """A verified file to send, or the reason there is none (answered as 404)."""
    try:
        fetched = context.fetcher.get(want)
    except MissingContentError as exc:
        return TarballAnswer(None, error=exc.message)
    return TarballAnswer(fetched.stored.path, fetched.stored.size)
