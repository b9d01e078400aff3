"""Read npm's own content cache (cacache): ``<cache>/_cacache/content-v2/<algo>/<xx>/<yy>/<rest>``.

A tarball npm already had never reaches the proxy; its bytes are still in npm's cache, under
their integrity, which is how ipnpm learns its CID anyway.
"""

from __future__ import annotations

from pathlib import Path

from ipnpm.integrity import Integrity


def content_path(cache: Path, integrity: str) -> Path | None:
    parsed = Integrity.parse(integrity)
    if parsed is None:
        return None
    for algorithm, digest in parsed.digests:
        hexed = digest.hex()
        path = cache / "_cacache" / "content-v2" / algorithm / hexed[:2] / hexed[2:4] / hexed[4:]
        if path.is_file():
            return path
    return None
