"""``ipnpm-lock.json``: the CID of every locked tarball, kept beside ``package-lock.json``.

With it a fresh machine knows every CID without an index and without the upstream. Like npm's
lockfile it is written by ``ipnpm install`` and only read by ``ipnpm ci``. The format is
stable, sorted and one entry per line-group so that diffs stay readable::

    {
      "lockfileVersion": 1,
      "cidProfile": "unixfs-v1-2025",
      "tarballs": {
        "sha512-…": {"cid": "bafkrei…", "spec": "left-pad@1.3.0"}
      }
    }
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ipnpm.errors import IntegrityError, LockfileError
from ipnpm.ipfs.cid import Cid
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.npm.cacache import content_path
from ipnpm.npm.lockfile import LockedTarball, find_lockfile, read_lockfile
from ipnpm.npm.loglevel import warn
from ipnpm.store.objects import Store, StoredObject

FILENAME = "ipnpm-lock.json"
PROFILE = "unixfs-v1-2025"
VERSION = 1


@dataclass(frozen=True)
class Entry:
    cid: str
    spec: str


@dataclass(frozen=True)
class CidLock:
    entries: Mapping[str, Entry] = field(default_factory=dict)  # npm integrity -> entry
    _by_spec: dict[str, tuple[str, Entry]] | None = field(default=None, compare=False, repr=False)

    def cid_for(self, integrity: str | None) -> str | None:
        """The CID recorded under exactly this integrity. Never by name@version: an entry's
        spec is a label, and a CID used for another integrity installs other bytes."""
        entry = self.entries.get(integrity) if integrity else None
        return entry.cid if entry else None

    def cid_for_unhashed(self, spec: str) -> str | None:
        """For a lockfile entry without integrity only (npm omits it at times): the CID of the
        entry labelled ``spec``. The bytes are then verified by that CID and by the tarball's
        own package.json naming ``spec`` (``sources.fetcher``), so a poisoned entry that names
        another package's CID installs nothing."""
        labelled = self.labelled(spec)
        return labelled[1].cid if labelled else None

    def labelled(self, spec: str) -> tuple[str, Entry] | None:
        """The integrity and entry labelled ``spec``: a claim of the project file, which only
        the store can vouch for (``RunContext.npm_integrity``)."""
        if self._by_spec is None:  # asked once per entry without integrity: index them once
            by_spec: dict[str, tuple[str, Entry]] = {}
            for integrity, entry in self.entries.items():
                by_spec.setdefault(entry.spec, (integrity, entry))
            object.__setattr__(self, "_by_spec", by_spec)
        return self._by_spec.get(spec) if self._by_spec is not None else None

    def missing(self, tarballs: Iterable[LockedTarball]) -> list[str]:
        return [
            t.spec
            for t in tarballs
            if (self.cid_for(t.integrity) if t.integrity else self.cid_for_unhashed(t.spec)) is None
        ]


def read_cidlock(project: Path) -> CidLock | None:
    path = project / FILENAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LockfileError(
            f"cannot read {path}: {exc}", hint=f"delete {path}; `ipnpm install` writes it anew"
        ) from exc
    if not isinstance(data, dict) or data.get("cidProfile") != PROFILE:
        raise LockfileError(
            f"{path} is not an ipnpm-lock.json for the {PROFILE} CID profile",
            hint=f"delete {path}; `ipnpm install` writes it anew",
        )
    tarballs = data.get("tarballs") or {}
    entries = {
        key: Entry(value["cid"], value["spec"])
        for key, value in (tarballs.items() if isinstance(tarballs, dict) else ())
        if isinstance(value, dict)
        and isinstance(value.get("cid"), str)
        and isinstance(value.get("spec"), str)
    }
    if len(entries) != (len(tarballs) if isinstance(tarballs, dict) else -1):
        raise LockfileError(
            f"{path} has malformed entries (each needs a string cid and spec)",
            hint=f"delete {path}; `ipnpm install` writes it anew",
        )
    return CidLock(_valid_cids(path, entries))


def _valid_cids(path: Path, entries: Mapping[str, Entry]) -> dict[str, Entry]:
    """The entries whose CID parses. One bad string (a merge conflict, a hand edit) must not
    break every install: its package is fetched as if it had no CID, and the user is told."""
    valid: dict[str, Entry] = {}
    for key, entry in entries.items():
        try:
            Cid.parse(entry.cid)
        except IpfsFormatError as exc:
            warn(f"{path}: {entry.spec}: ignoring its CID ({exc}); `ipnpm install` writes it anew")
            continue
        valid[key] = entry
    return valid


def render(entries: Mapping[str, Entry]) -> str:
    ordered = sorted(entries.items(), key=lambda item: (item[1].spec, item[0]))
    document = {
        "lockfileVersion": VERSION,
        "cidProfile": PROFILE,
        "tarballs": {key: {"cid": e.cid, "spec": e.spec} for key, e in ordered},
    }
    return json.dumps(document, indent=2) + "\n"


def write_cidlock(project: Path, entries: Mapping[str, Entry]) -> bool:
    """Write atomically when the content changed; True when it did."""
    path = project / FILENAME
    text = render(entries)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass  # no readable previous file: write it
    partial = path.with_name(f".{FILENAME}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return True


# Keeping ipnpm-lock.json in step with package-lock.json after an install.
def locked_host(
    tarball: LockedTarball, registry_for: Callable[[str], str] | None = None
) -> str | None:
    """The registry ``host:port`` a locked tarball comes from, which its name@version means:
    its ``resolved`` URL's, else (npm omitted it) the registry npm uses for that name."""
    if tarball.resolved:
        return urlsplit(tarball.resolved).netloc or None
    return urlsplit(registry_for(tarball.name)).netloc or None if registry_for else None


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            yield chunk


def _cid(
    store: Store,
    npm_cache: Path | None,
    tarball: LockedTarball,
    integrity: str | None,
    on_ingest: Callable[[StoredObject, str], None] | None,
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
            spec=(host, tarball.name, tarball.version) if (host := locked_host(tarball)) else None,
        )
    except (IntegrityError, OSError):
        # npm's copy is unusable (corrupt, or removed meanwhile): the CID stays unknown and is
        # counted as missing, which the caller reports.
        return None
    if on_ingest is not None:  # npm had it, so no peer got it from us yet: seed it
        on_ingest(stored, tarball.spec)
    return stored.cid


def update_cidlock(
    project: Path,
    store: Store,
    npm_cache: Path | None,
    on_ingest: Callable[[StoredObject, str], None] | None = None,
    registry_for: Callable[[str], str] | None = None,
) -> int | None:
    """Rewrite ipnpm-lock.json for the current lockfile; returns how many CIDs are missing.

    ``on_ingest`` is told about each tarball taken from npm's cache into the store (seeding).
    """
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
        integrity = tarball.integrity or store.integrity_for_spec(
            locked_host(tarball, registry_for), tarball.name, tarball.version
        )
        cid = _cid(store, npm_cache, tarball, integrity, on_ingest) or previous.cid_for(integrity)
        if integrity and cid:
            entries[integrity] = Entry(cid, tarball.spec)
        else:
            missing += 1
    write_cidlock(project, entries)
    return missing
