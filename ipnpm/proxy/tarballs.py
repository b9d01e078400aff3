"""Tarball requests: found by npm's ``pacote-integrity`` header first, then by path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ipnpm.errors import MissingContentError
from ipnpm.run.context import RunContext
from ipnpm.sources import Want


@dataclass(frozen=True)
class TarballAnswer:
    path: Path | None
    size: int = 0
    error: str = ""
    cid: str = ""
    source: str = ""


def serve_tarball(context: RunContext, want: Want) -> TarballAnswer:
    """A verified file to send, or the reason there is none (answered as 404)."""
    try:
        fetched = context.fetcher.get(want)
    except MissingContentError as exc:
        return TarballAnswer(None, error=exc.message)
    stored = fetched.stored
    return TarballAnswer(stored.path, stored.size, cid=stored.cid, source=fetched.source)
