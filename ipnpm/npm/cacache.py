"""npm's own content cache (cacache): ``<cache>/_cacache/content-v2/<algo>/<xx>/<yy>/<rest>``.

A tarball npm already had never reaches the proxy; its bytes are still in npm's cache, under
their integrity, which is how ipnpm learns its CID anyway. The other way round, verified bytes
put there before npm asks make npm skip the request altogether (content files only: npm needs
no index entry to read a tarball by its integrity, and verifies it again as it reads).
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from ipnpm.npm.integrity import Integrity


def _path(cache: Path, algorithm: str, digest: bytes) -> Path:
    hexed = digest.hex()
    return cache / "_cacache" / "content-v2" / algorithm / hexed[:2] / hexed[2:4] / hexed[4:]


def content_path(cache: Path, integrity: str) -> Path | None:
    parsed = Integrity.parse(integrity)
    if parsed is None:
        return None
    for algorithm, digest in parsed.digests:
        path = _path(cache, algorithm, digest)
        if path.is_file():
            return path
    return None


def put_content(cache: Path, integrity: str, source: Path) -> bool:
    """Copy verified ``source`` into npm's cache under ``integrity``'s strongest hash.

    A copy, not a link: npm's cache must not share an inode with ipnpm's store, where a
    damaged object is quarantined rather than repaired in place.
    """
    parsed = Integrity.parse(integrity)
    if parsed is None:
        return False
    algorithm = parsed.strongest
    digest = next(d for a, d in parsed.digests if a == algorithm)
    target = _path(cache, algorithm, digest)
    if target.is_file():
        return True
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.ipnpm")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    except OSError:
        partial.unlink(missing_ok=True)
        return False  # npm then asks the proxy, which serves the same verified bytes
    return True
