"""The local content-addressed store: the embedded default source, no IPFS daemon needed.

Layout (every write is ``tmp/*.partial`` + ``os.replace``, so readers never see half a file and
concurrent ipnpm runs can share one store)::

    objects/<xy>/<cid>                  tarball bytes, addressed by their unixfs-v1-2025 CID
    integrity/<algo>/<hex[:2]>/<hex>    npm integrity -> CID
    specs/<host>/<name>/<version>       name@version on that registry -> sha512 integrity
                                        (lockfiles without it; two registries may disagree)
    packuments/<host>/<name>.json       the last packument seen, for --offline
    private/<xy>/<cid>                  marks an object as private (never seeded, never public)
    checked/<xy>/<cid>                  the name@version its own package.json names (read
                                        once, for bytes only a CID vouched for)
    quarantine/                         objects that failed verification
    locks/<key>.lock                    held (flock) by the run downloading that content

Everything is private to the user who owns the store: directories 0700, files 0600 (a stricter
umask is kept), and nothing is ever written through a symbolic link found inside the store.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import secrets
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ipnpm.errors import IntegrityError, StoreError
from ipnpm.ipfs.unixfs import FileCidHasher
from ipnpm.npm.integrity import Integrity, IntegrityHasher, sri

CHUNK = 1 << 16
_DIRS = ("objects", "integrity", "specs", "packuments", "private", "checked", "quarantine", "tmp",
         "logs", "locks")  # fmt: skip
_DIR_MODE = 0o700  # the store holds private tarballs: its owner's alone
_FILE_MODE = 0o600
SMALL_MAX_AGE = 60.0  # seconds after which a tmp/*.small is a killed run's leftover


@dataclass(frozen=True)
class StoredObject:
    cid: str
    sha512: str
    size: int
    path: Path


@dataclass(frozen=True)
class Problem:
    cid: str
    reason: str
    quarantined: bool = True


def _segment(text: str) -> str:
    """One safe path segment for any text: "/" and "%" escaped, and never "." or ".."."""
    quoted = quote(text, safe="@")
    if not quoted:
        return "%"  # no text quotes to a lone "%"
    return quoted.replace(".", "%2E", 1) if quoted.startswith(".") else quoted


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _shard(cid: str) -> str:
    # Kubo's flatfs shards by the next-to-last two characters: evenly spread for base32 CIDs.
    return cid[-3:-1]


class Store:
    """A directory of verified tarballs and the indexes that find them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: set[Path] = set()  # directories known to exist: mkdir once per run

    def _ensure_dir(self, directory: Path) -> None:
        # Path.mkdir(exist_ok=True) raises and catches FileExistsError each time: measurable
        # at thousands of tarballs (BENCHMARKS.md).
        if directory not in self._made:
            try:
                directory.mkdir(mode=_DIR_MODE, exist_ok=True)
            except FileNotFoundError:
                # mkdir(parents=True) would make the parents 0777 & ~umask: one at a time.
                self._ensure_dir(directory.parent)
                directory.mkdir(mode=_DIR_MODE, exist_ok=True)
            self._refuse_links(directory)
            self._made.add(directory)

    def _refuse_links(self, directory: Path) -> None:
        """A symbolic link inside the store (a shard directory pointing elsewhere) would make
        every write below it land outside the store: refused, never followed."""
        for current in (directory, *directory.parents):
            if current == self.root or not current.is_relative_to(self.root):
                return
            if current.is_symlink():
                raise StoreError(
                    f"{current} is a symbolic link: ipnpm never writes through a link in its store",
                    hint=f"remove {current} (ipnpm recreates it), or pass another --store DIR",
                )

    def open(self) -> Store:
        """Create the layout, failing early with a clear error when the directory is unusable."""
        try:
            self.root.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            for name in _DIRS:
                self._private_dir(self.root / name)
            probe = self.root / "tmp" / f"probe-{secrets.token_hex(4)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreError(
                f"store {self.root} is not usable: {exc.strerror or exc}",
                hint="pass --ipnpm-store=DIR (or set IPNPM_STORE) to a writable directory",
            ) from exc
        return self

    def _private_dir(self, directory: Path) -> None:
        """``directory`` made (0700 under the umask), refused if it is a link, and tightened
        if an older ipnpm left it readable by others. The root itself is never chmod-ed: it
        may be a directory the user chose for other things too."""
        directory.mkdir(mode=_DIR_MODE, exist_ok=True)
        self._refuse_links(directory)
        mode = directory.stat().st_mode
        if mode & 0o077:
            directory.chmod(stat.S_IMODE(mode) & _DIR_MODE)

    # -- paths ----------------------------------------------------------------------------

    # The paths a run looks up once or twice per tarball are built from one string: each
    # pathlib ``/`` parses its part anew, and at thousands of tarballs that is CPU taken
    # from npm (BENCHMARKS.md). Every part is one segment already (CIDs, hex, _segment).

    def object_path(self, cid: str) -> Path:
        return Path(f"{self.root}/objects/{_shard(cid)}/{cid}")

    def _integrity_path(self, algorithm: str, digest: bytes) -> Path:
        hexed = digest.hex()
        return Path(f"{self.root}/integrity/{algorithm}/{hexed[:2]}/{hexed}")

    def _spec_path(self, host: str, name: str, version: str) -> Path:
        segments = "/".join(_segment(part) for part in (host, name, version))
        return Path(f"{self.root}/specs/{segments}")

    def packument_path(self, host: str, name: str) -> Path:
        return self.root / "packuments" / _segment(host) / f"{_segment(name)}.json"

    def _private_path(self, cid: str) -> Path:
        return self.root / "private" / _shard(cid) / cid

    def _checked_path(self, cid: str) -> Path:
        return self.root / "checked" / _shard(cid) / cid

    # -- private objects ----------------------------------------------------------------------

    def mark_private(self, cid: str) -> None:
        """Mark ``cid`` private: fetched with a credential, from a scope's own registry or from
        a private index. Never seeded (unless the user opts in), never on a public route."""
        if not self.is_private(cid):
            self.write_atomic(self._private_path(cid), b"")

    def is_private(self, cid: str) -> bool:
        return os.path.lexists(self._private_path(cid))

    # -- atomic writes --------------------------------------------------------------------

    @contextlib.contextmanager
    def _partial(self) -> Iterator[Path]:
        """A fresh ``tmp/*.partial`` path, locked while this process writes it.

        The lock dies with the process, however it dies: a partial nobody holds is left over
        from a killed run, and the next run removes it (``clear_tmp``).
        """
        path, lock = self._locked_partial()
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)
            os.close(lock)

    def _locked_partial(self) -> tuple[Path, int]:
        while True:
            path = self.root / "tmp" / f"{secrets.token_hex(8)}.partial"
            try:
                lock = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, _FILE_MODE)
            except OSError as exc:
                raise self._write_failed(exc) from exc
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                # A cleaner may have taken it for a dead run's partial between the create and
                # the lock, and removed it: then the lock is on nothing, so start over.
                if os.fstat(lock).st_ino == os.stat(path).st_ino:
                    return path, lock
            except FileNotFoundError:
                pass
            except OSError as exc:
                os.close(lock)
                raise self._write_failed(exc) from exc
            os.close(lock)

    def _write_failed(self, exc: OSError) -> StoreError:
        return StoreError(
            f"cannot write to the store {self.root}: {exc.strerror or exc}",
            hint="free some space, or pass --ipnpm-store=DIR (IPNPM_STORE) on another disk",
        )

    def write_atomic(self, target: Path, data: bytes) -> None:
        with self._partial() as partial:
            try:
                partial.write_bytes(data)
                self._ensure_dir(target.parent)
                os.replace(partial, target)
            except OSError as exc:
                raise self._write_failed(exc) from exc

    def _write_small(self, target: Path, data: bytes, *, replace: bool = False) -> None:
        """Publish a tiny index file (an integrity's CID, a spec's integrity) without the lock
        and renames of a partial: written to ``tmp/*.small``, hard-linked into place, unlinked.
        A killed run may leave one ``.small`` behind, which ``clear_tmp`` removes once it is old.
        An existing file stays: an integrity always names the same CID; a spec may name other
        bytes on another registry, so ``replace`` rewrites it when it differs."""
        self._ensure_dir(target.parent)
        scratch = self.root / "tmp" / f"{secrets.token_hex(8)}.small"
        try:
            handle = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            try:
                os.link(scratch, target)
            except FileExistsError:
                if replace and _read_or_none(target) != data:
                    os.replace(scratch, target)
        except OSError as exc:
            raise self._write_failed(exc) from exc
        finally:
            scratch.unlink(missing_ok=True)

    # -- one download per content across runs -------------------------------------------------

    @contextlib.contextmanager
    def content_lock(self, key: str, timeout: float) -> Iterator[bool]:
        """Hold ``locks/<key>.lock`` while downloading what ``key`` names (the fetcher's key is
        name@version); yields whether it is held.

        A second run wanting the same tarball waits here (at most ``timeout`` seconds) and
        then finds it in the store. The lock is an flock, so it dies with its holder however
        the holder dies: a dead run never blocks a live one. On timeout the waiter goes on
        without the lock (yields False) and downloads on its own.
        """
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        path = self.root / "locks" / f"{name}.lock"
        handle = self._acquire(path, time.monotonic() + timeout)
        try:
            yield handle is not None
        finally:
            if handle is not None:
                # Unlinked while held, so that no waiter can lock a file that is gone:
                # _acquire checks that the file it locked is still the one at the path.
                path.unlink(missing_ok=True)
                os.close(handle)

    def _acquire(self, path: Path, deadline: float) -> int | None:
        delay = 0.005
        while True:
            try:
                handle = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
            except OSError:
                return None  # no lock to be had (read-only store?): fetch without one
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(handle)
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                    return None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
                continue
            try:
                if os.fstat(handle).st_ino == os.stat(path).st_ino:
                    return handle
            except FileNotFoundError:
                pass  # its holder released and removed it between our open and our lock
            os.close(handle)

    # -- look-ups ---------------------------------------------------------------------------

    def cid_for(self, integrity: str | None) -> str | None:
        """The CID stored for any hash in ``integrity`` whose object is present."""
        parsed = Integrity.parse(integrity or "")
        for algorithm, digest in parsed.digests if parsed else ():
            path = self._integrity_path(algorithm, digest)
            with contextlib.suppress(OSError):
                cid = path.read_text().strip()
                if self.object_path(cid).is_file():
                    return cid
        return None

    def unhashed_object(self, integrity: str) -> StoredObject | None:
        """The object stored under ``integrity``'s sha512, *not* re-hashed.

        Only for a reader that checks every byte against that same sha512 itself: npm reading
        its own cache, which drops an entry that fails and asks the proxy, whose read
        (``verified_object``) re-hashes and quarantines. ``None`` when sha512 is not the
        strongest hash ``integrity`` offers (npm would check a weaker one), or no regular file
        is stored for it.
        """
        parsed = Integrity.parse(integrity)
        if parsed is None or parsed.strongest != "sha512":
            return None
        digest = next(d for a, d in parsed.digests if a == "sha512")
        try:
            cid = self._integrity_path("sha512", digest).read_text().strip()
            path = self.object_path(cid)
            info = path.lstat()  # never through a link someone put in the store
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        return StoredObject(cid, sri("sha512", digest), info.st_size, path)

    def record_package(self, cid: str, name: str, version: str) -> None:
        """Remember that the object ``cid`` is name@version by its own package.json, read just
        now: it never changes (the CID is its bytes), so no later run unpacks it again to ask."""
        record = {"name": name, "version": version}
        self._write_small(self._checked_path(cid), json.dumps(record).encode())

    def is_package(self, cid: str, name: str, version: str) -> bool:
        """Whether a run found (``record_package``) that the object ``cid`` is name@version."""
        try:
            record = json.loads(self._checked_path(cid).read_bytes())
        except (OSError, ValueError):
            return False
        return isinstance(record, dict) and record == {"name": name, "version": version}

    def integrity_for_spec(self, host: str | None, name: str, version: str) -> str | None:
        """The integrity of name@version as fetched from the registry at ``host`` (host:port);
        ``None`` for an unknown host: another registry's package of that name is another."""
        if not host:
            return None
        with contextlib.suppress(OSError):
            return self._spec_path(host, name, version).read_text().strip() or None
        return None

    def has(self, integrity: str | None, host: str | None, name: str, version: str) -> bool:
        return self.cid_for(integrity or self.integrity_for_spec(host, name, version)) is not None

    # -- ingest -----------------------------------------------------------------------------

    def ingest(
        self,
        chunks: Iterable[bytes],
        *,
        expected: str | None,
        source: str,
        spec: tuple[str, str, str] | None = None,  # (registry host, name, version)
        expected_cid: str | None = None,
        private: bool = False,
    ) -> StoredObject:
        """Stream ``chunks`` to disk, verify them against ``expected``, then publish atomically.

        Nothing becomes visible in the store unless every byte matched; a ``private`` object is
        marked so before it becomes visible (no public route ever sees it unmarked).
        """
        wanted = Integrity.parse(expected or "")
        hasher = IntegrityHasher(wanted)
        cid_hasher = FileCidHasher()
        size = 0
        with self._partial() as partial:
            try:
                # Unbuffered: chunks are large already, and a disk that fills up fails in the
                # write below (a StoreError), never later in a buffered close.
                out = partial.open("wb", buffering=0)
            except OSError as exc:
                raise self._write_failed(exc) from exc
            with out:
                for chunk in chunks:
                    hasher.update(chunk)
                    cid_hasher.update(chunk)
                    try:
                        out.write(chunk)
                    except OSError as exc:  # disk full: the partial goes, nothing is published
                        raise self._write_failed(exc) from exc
                    size += len(chunk)
            if not hasher.matches():
                raise IntegrityError(
                    f"content from {source} does not match its integrity: "
                    f"expected {wanted}, got {hasher.got()}"
                )
            cid = str(cid_hasher.cid())
            if expected_cid is not None and cid != expected_cid:
                raise IntegrityError(
                    f"content from {source} does not match its CID: "
                    f"expected {expected_cid}, got {cid}"
                )
            target = self.object_path(cid)
            if private:
                self.mark_private(cid)
            try:
                self._ensure_dir(target.parent)
                os.replace(partial, target)
            except OSError as exc:
                raise self._write_failed(exc) from exc
        self._index(cid, hasher.sha512(), wanted)
        if spec:
            self._write_small(self._spec_path(*spec), hasher.sha512().encode(), replace=True)
        return StoredObject(cid, hasher.sha512(), size, target)

    def _index(self, cid: str, sha512: str, wanted: Integrity | None) -> None:
        entries = list(wanted.digests) if wanted else []
        entries.append(("sha512", base64.b64decode(sha512.split("-", 1)[1])))
        for algorithm, digest in dict(entries).items():  # sha512 is often asked for twice
            self._write_small(self._integrity_path(algorithm, digest), cid.encode())

    # -- reading with verification ----------------------------------------------------------

    def _hash_file(
        self, path: Path, expected: Integrity | None, *, integrity: bool = True
    ) -> tuple[str, IntegrityHasher | None]:
        """The CID of the file at ``path`` and, unless ``integrity`` is False, its npm hashes."""
        hasher = IntegrityHasher(expected) if integrity else None
        cid_hasher = FileCidHasher()
        # Never through a link, and never blocking on a FIFO someone put in the store.
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise NotARegularFile(path, stat.S_IFLNK) from exc
            raise
        kind = stat.S_IFMT(os.fstat(descriptor).st_mode)
        if kind != stat.S_IFREG:
            os.close(descriptor)
            raise NotARegularFile(path, kind)
        with os.fdopen(descriptor, "rb") as handle:
            while chunk := handle.read(CHUNK):
                if hasher is not None:
                    hasher.update(chunk)
                cid_hasher.update(chunk)
        return str(cid_hasher.cid()), hasher

    def verified_path(self, cid: str, integrity: str | None = None) -> Path | None:
        """The object's path after re-hashing it; a corrupt object is quarantined instead."""
        verified = self.verified_object(cid, integrity)
        return verified.path if verified is not None else None

    def _vouched_sha512(self, cid: str, integrity: str | None) -> str | None:
        """``integrity``'s sha512 where this store itself hashed the bytes of ``cid`` to it (the
        integrity map, written at ingest from the same bytes as the CID): bytes that still
        hash to ``cid`` then have that sha512, and only the CID needs computing."""
        parsed = Integrity.parse(integrity or "")
        if parsed is None or parsed.strongest != "sha512":
            return None
        digest = next(d for a, d in parsed.digests if a == "sha512")
        with contextlib.suppress(OSError):
            if self._integrity_path("sha512", digest).read_text().strip() == cid:
                return sri("sha512", digest)
        return None

    def verified_object(
        self, cid: str, integrity: str | None = None, *, label: str | None = None
    ) -> StoredObject | None:
        """The object after re-hashing it, with its sha512 (which a CID alone does not give);
        a corrupt object is quarantined instead. Where the store paired ``cid`` with the sha512
        of ``integrity`` (or of ``label``, an integrity nobody vouches for, which is otherwise
        ignored) itself, only the CID is computed: a third of the work."""
        path = self.object_path(cid)
        vouched = self._vouched_sha512(cid, integrity or label)
        expected = Integrity.parse(integrity or "")
        try:
            got, hasher = self._hash_file(path, expected, integrity=vouched is None)
        except FileNotFoundError:
            return None  # not stored: a plain miss, nothing to report
        except OSError:
            got, hasher = "", None  # a link or a FIFO: no object of ours
        if got != cid:
            self.quarantine(cid)
            return None
        if hasher is None:
            return StoredObject(cid, str(vouched), path.stat().st_size, path)
        if not hasher.matches():
            # Good bytes for their CID, but not the ones this request's integrity names (a
            # lockfile pairing a CID with another package): a miss here, never "corrupt".
            return None
        return StoredObject(cid, hasher.sha512(), path.stat().st_size, path)

    def quarantine(self, cid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            target = self.root / "quarantine" / f"{cid}.{int(time.time())}.{os.getpid()}"
            os.replace(self.object_path(cid), target)

    def verify_all(self) -> tuple[int, list[Problem]]:
        """Re-hash every object; quarantine and report the bad ones. Returns (checked, problems)."""
        problems: list[Problem] = []
        checked = 0
        for path in sorted((self.root / "objects").glob("*/*")):
            checked += 1
            try:
                got, _ = self._hash_file(path, None, integrity=False)
            except NotARegularFile as exc:
                problems.append(Problem(path.name, f"skipped: {exc}", quarantined=False))
                continue
            except OSError as exc:
                problems.append(Problem(path.name, f"unreadable: {exc.strerror}", False))
                continue
            if got != path.name:
                problems.append(Problem(path.name, f"content hashes to {got}"))
                self.quarantine(path.name)
        return checked, problems

    def clear_tmp(self) -> None:
        """Remove the partial files of killed runs: those whose writer no longer holds them."""
        self._clear_small()
        for path in (self.root / "tmp").glob("*.partial"):
            try:
                handle = os.open(path, os.O_RDONLY)
            except OSError:
                continue  # removed meanwhile, or unreadable: a later run tries again
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live run is writing it
            else:
                path.unlink(missing_ok=True)
            finally:
                os.close(handle)

    def _clear_small(self) -> None:
        # A .small lives for microseconds: one a minute old was left by a killed run.
        old = time.time() - SMALL_MAX_AGE
        for path in (self.root / "tmp").glob("*.small"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < old:
                    path.unlink()


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFLNK: "a symbolic link", stat.S_IFDIR: "a directory"}


class NotARegularFile(OSError):
    """Something in ``objects/`` that ipnpm never writes there (a FIFO, a socket, a device)."""

    def __init__(self, path: Path, kind: int) -> None:
        super().__init__(f"{path} is {_KINDS.get(kind, 'not a regular file')}")
