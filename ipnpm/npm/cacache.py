"""npm's own content cache (cacache): ``<cache>/_cacache/content-v2/<algo>/<xx>/<yy>/<rest>``.

A tarball npm already had never reaches the proxy; its bytes are still in npm's cache, under
their integrity, which is how ipnpm learns its CID anyway. The other way round, verified bytes
put there before npm asks make npm skip the request altogether: for a lockfile entry with
``resolved`` and ``integrity`` the content file is enough (pacote reads it by digest and
verifies it again as it reads); an entry lacking either is fetched by URL through npm's HTTP
cache (make-fetch-happen), which needs an index entry for that URL as well
(``<cache>/_cacache/index-v5/<sha256(key)>``, the format of cacache's ``entry-index.js``).
"""

from __future__ import annotations

import base64
import errno
import fcntl
import functools
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Sequence
from email.utils import formatdate
from pathlib import Path

from ipnpm.npm.integrity import Integrity

_FICLONE = 0x40049409  # linux/fs.h: FICLONE, a copy-on-write clone of a whole file


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
    """Put verified ``source`` into npm's cache under ``integrity``'s strongest hash.

    A hard link when the store and npm's cache share a file system: npm then reads the store's
    own bytes, with no copy and one metadata write per tarball (npm re-verifies everything it
    reads from its cache, and a store object is never rewritten in place: a damaged one is
    moved to quarantine, which leaves npm's link alone). Across file systems a reflink where
    the file system can, else a copy.
    """
    parsed = Integrity.parse(integrity)
    if parsed is None:
        return False
    algorithm = parsed.strongest
    digest = next(d for a, d in parsed.digests if a == algorithm)
    target = _path(cache, algorithm, digest)
    try:
        return _link(source, target)
    except OSError:
        return False  # npm then asks the proxy, which serves the same verified bytes


def put_bytes(cache: Path, data: bytes) -> str | None:
    """``data`` into npm's content cache under its sha512 (written aside, then renamed in);
    its integrity, or None when the cache cannot be written."""
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    target = _path(cache, "sha512", hashlib.sha512(data).digest())
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.ipnpm")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        os.replace(partial, target)
    except OSError:
        partial.unlink(missing_ok=True)
        return None
    return integrity


def put_request_entry(
    cache: Path,
    url: str,
    integrity: str,
    size: int,
    *,
    content_type: str = "application/octet-stream",
    accepts: Sequence[str | None] = (None,),
) -> bool:
    """Record in npm's HTTP cache that a GET of ``url`` answers with the content ``integrity``
    (put there first with :func:`put_content` or :func:`put_bytes`), fresh for a day: npm then
    reads it from its cache instead of asking. For URLs on this run's proxy only, which dies
    with the run.

    make-fetch-happen takes an entry only for a request whose ``Accept`` negotiates as the
    stored one does: one entry per ``accepts`` (None: a request without ``Accept``, as pacote
    sends for tarballs).
    """
    key = f"make-fetch-happen:request-cache:{url}"
    now = int(time.time() * 1000)
    lines = []
    for accept in accepts:
        entry = {
            "key": key,
            "integrity": integrity,
            "time": now,
            "size": size,
            "metadata": {
                "time": now,
                "url": url,
                "reqHeaders": {} if accept is None else {"accept": accept},
                "resHeaders": {
                    "content-type": content_type,
                    "cache-control": "max-age=86400",
                    "date": _http_date(now // 1000),
                },
                "options": {"compress": True},
            },
        }
        line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha1(line.encode(), usedforsecurity=False).hexdigest()
        lines.append(f"\n{digest}\t{line}")
    hashed = hashlib.sha256(key.encode()).hexdigest()
    bucket = cache / "_cacache" / "index-v5" / hashed[:2] / hashed[2:4] / hashed[4:]
    try:
        bucket.parent.mkdir(parents=True, exist_ok=True)
        # One append of whole lines, as cacache itself writes: a torn line fails its hash on
        # read and npm skips it, so no partial entry is ever taken for an answer.
        fd = os.open(bucket, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, "".join(lines).encode())
        finally:
            os.close(fd)
    except OSError:
        return False  # npm then asks the proxy, which serves the same verified bytes
    return True


@functools.lru_cache(maxsize=2)
def _http_date(second: int) -> str:
    # email.utils.formatdate costs more than the rest of an entry: once per second will do.
    return formatdate(second, usegmt=True)


def _link(source: Path, target: Path) -> bool:
    for attempt in (1, 2):
        try:
            os.link(source, target)
        except FileExistsError:
            return True  # npm (or another run) has it already
        except FileNotFoundError:
            if attempt == 2 or not source.exists():
                raise
            target.parent.mkdir(parents=True, exist_ok=True)  # a fresh cache: make its dirs
            continue
        except OSError as exc:
            # Another file system (EXDEV), or links not allowed (EPERM: fs.protected_hardlinks
            # on a store owned by someone else; EMLINK): clone or copy instead.
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise
            return _copy(source, target)
        return True
    return False


def _copy(source: Path, target: Path) -> bool:
    if target.is_file():
        return True
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.ipnpm")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as src, partial.open("wb") as dst:
            try:
                fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())  # a reflink: shares blocks
            except OSError:
                shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(partial, target)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    return True
