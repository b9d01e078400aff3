"""Keep ``ipnpm-lock.json`` in step with ``package-lock.json`` after an install."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ipnpm.cidlock import CidLock, Entry, read_cidlock, write_cidlock
from ipnpm.errors import IntegrityError, LockfileError
from ipnpm.npm.cacache import content_path
from ipnpm.npm.lockfile import LockedTarball, find_lockfile, read_lockfile
from ipnpm.store import Store


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            yield chunk


def _cid(
    store: Store, npm_cache: Path | None, tarball: LockedTarball, integrity: str | None
) -> str | None:
    cid = store.cid_for(integrity)
    if cid is not None or npm_cache is None or not integrity:
        return cid
    cached = content_path(npm_cache, integrity)
    if cached is None:
        return None
    try:
        stored = store.ingest(
            _chunks(cached),
            expected=integrity,
            source="npm cache",
            spec=(tarball.name, tarball.version),
        )
    except (IntegrityError, OSError):
        return None
    return stored.cid


def update_cidlock(project: Path, store: Store, npm_cache: Path | None) -> int | None:
    """Rewrite ipnpm-lock.json for the current lockfile; returns how many CIDs are missing."""
    path = find_lockfile(project)
    if path is None:
        return None
    try:
        lockfile = read_lockfile(path)
        previous = read_cidlock(project) or CidLock()
    except LockfileError:
        return None  # npm just wrote it; if ipnpm cannot read it, npm's next run will say why
    entries: dict[str, Entry] = {}
    missing = 0
    for tarball in lockfile.tarballs:
        integrity = tarball.integrity or store.integrity_for_spec(tarball.name, tarball.version)
        cid = _cid(store, npm_cache, tarball, integrity) or previous.cid_for(
            integrity, tarball.spec
        )
        if integrity and cid:
            entries[integrity] = Entry(cid, tarball.spec)
        else:
            missing += 1
    write_cidlock(project, entries)
    return missing
