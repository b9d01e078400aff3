"""The corpus registry: a Verdaccio that holds every packument and tarball the four real-world
projects in the lockfile fixtures need, filled once from the real registry, then served offline.

    with running_corpus_registry(tmp_path / "corpus") as registry:   # or the corpus_registry
        project = corpus_project("tiny-actions-github", tmp_path / "p", registry.url)
        ...                                                          # npm ci against it

Filling (ensure_corpus_storage, on first use, a few minutes): a Verdaccio on loopback with an
uplink to the registry the machine's own npm is configured with; for each project the real
`npm ci` with its lockfile's `resolved` URLs pointing at that Verdaccio, so Verdaccio fetches
and stores every packument and tarball npm asks for; then one packument request per locked
package name, so lockfiles stripped of `resolved` find every packument too. The result lives
outside the repo, in ${IPNPM_TOOLS_DIR:-~/.cache/ipnpm-tools}/corpus-verdaccio-<version>/.

What is NOT in it: tarballs of the optional packages `npm ci` skips on linux-x64 — binaries for
other platforms (esbuild's, @swc/core's, @nx's, fsevents ...) with their own dependencies, and
optional peer chains (semantic-release's @commitlint/*): 24, 11 and 120 tarballs in the medium,
large and xl projects. They would add hundreds of MB and ipnpm never needs them on this machine;
their packuments are all there. Served, such a tarball is a 404.

Serving (running_corpus_registry): a Verdaccio with `uplinks: {}` over a hard-linked copy of
the cached storage, so a test can stop it to prove offline work and never reaches the internet.
Two Verdaccio 5 behaviours decide how the cache is kept (see _finalize_storage and _link_tree):
- it remembers each tarball's upstream URL in the packument's `_distfiles` and, even with no
  uplinks configured, fetches a tarball missing from storage from that URL; the cache drops
  `_distfiles` so a served corpus answers 404 instead of going online;
- it rewrites `.verdaccio-db.json` in place at every start (writeFileSync), but writes
  packuments and tarballs to a temporary file renamed into place: so every file can be a hard
  link to the cache except that database, which the cache does not keep (each start makes one).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.support.npm_env import NpmEnv, clean_environ, describe
from tests.support.verdaccio import Verdaccio, _die_with_parent, running_verdaccio, tools_dir

# Bump when the corpus changes: the fixtures, or the way the cache is filled or finalised.
CORPUS_VERSION = "v1"
CORPUS_PROJECTS: tuple[str, ...] = (
    "tiny-actions-github",
    "medium-vscode-esbuild",
    "large-semantic-release",
    "xl-lerna-workspaces",
)
PLACEHOLDER = "@@NPM_REGISTRY@@"
REPO_ROOT = Path(__file__).resolve().parents[2]

# Filling the cache takes minutes on a cold machine. A test that is the first to use the corpus
# pays for it inside its own pytest timeout: mark such tests @pytest.mark.timeout(CORPUS_TIMEOUT).
CORPUS_TIMEOUT = 1200
POPULATE_NPM_TIMEOUT = 1800.0
NPM_CONFIG_TIMEOUT = 60.0
PACKUMENT_TIMEOUT = 120.0
PACKUMENT_WORKERS = 8
_ABBREVIATED = "application/vnd.npm.install-v1+json"
_MANIFEST = "manifest.json"
# Files Verdaccio leaves behind that are no part of the corpus: its database (secret, list of
# local packages; rewritten in place, so it must never be a hard link to the cache), half-written
# downloads of a killed fill, and file locks.
_DATABASES = (".verdaccio-db.json", ".sinopia-db.json")
_LEFTOVER = re.compile(r"\.tmp-\d+$|\.lock$")


class CorpusError(RuntimeError):
    """The corpus could not be filled, or the cached one does not match the fixtures."""


def _say(message: str) -> None:
    # Progress for whoever waits minutes on a cold fill (pytest shows it with -s or on failure).
    print(f"[corpus] {message}", file=sys.stderr, flush=True)


# -- the fixture projects -------------------------------------------------------------------


def lockfile_fixtures_dir() -> Path:
    """Where the real-world projects live: beside the checkout, unless overridden; a clone
    made elsewhere (CI's `git clone . /tmp/ci`) finds them beside the checkout it came from."""
    override = os.environ.get("IPNPM_LOCKFILE_FIXTURES")
    if override:
        return Path(override)
    beside = REPO_ROOT.parent / "shared" / "fixtures" / "lockfiles"
    if beside.is_dir():
        return beside
    origin = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if origin and Path(origin).is_dir():
        from_origin = Path(origin).resolve().parent / "shared" / "fixtures" / "lockfiles"
        if from_origin.is_dir():
            return from_origin
    return beside


def _fixture_dir(name: str) -> Path:
    if name not in CORPUS_PROJECTS:
        raise ValueError(f"unknown corpus project {name!r}; one of {CORPUS_PROJECTS}")
    return lockfile_fixtures_dir() / name


def _project_files(name: str) -> list[Path]:
    """package.json, package-lock.json and each workspace's package.json, relative paths."""
    source = _fixture_dir(name)
    return sorted(
        path.relative_to(source)
        for path in source.rglob("*")
        if path.is_file() and path.name != "SOURCE.txt"
    )


def corpus_project(
    name: str, dest: Path, registry_base: str, *, strip_resolved: bool = False
) -> Path:
    """Copy a fixture project into dest, its lockfile's registry base set to registry_base.

    registry_base is a URL such as `http://127.0.0.1:PORT` (a trailing slash is dropped).
    strip_resolved removes the registry `resolved` fields instead (what npm writes with
    omit-lockfile-registry-resolved); workspace links keep theirs.
    """
    base = registry_base.rstrip("/")
    source = _fixture_dir(name)
    for relative in _project_files(name):
        text = (source / relative).read_text()
        if relative.name == "package-lock.json":
            text = _without_resolved(text) if strip_resolved else text.replace(PLACEHOLDER, base)
        if PLACEHOLDER in text:
            raise CorpusError(f"{PLACEHOLDER} left in {relative} of {name}")
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return dest


def _without_resolved(lock_text: str) -> str:
    lock = json.loads(lock_text)

    def strip(entry: dict[str, Any]) -> None:
        if str(entry.get("resolved", "")).startswith(PLACEHOLDER):
            del entry["resolved"]

    def strip_legacy(entries: dict[str, Any]) -> None:
        # v1/v2 "dependencies": a tree whose entries nest their own "dependencies" entries.
        for entry in entries.values():
            strip(entry)
            strip_legacy(entry.get("dependencies", {}))

    for entry in lock.get("packages", {}).values():  # flat; its "dependencies" are ranges
        strip(entry)
    strip_legacy(lock.get("dependencies", {}))
    return json.dumps(lock, indent=2) + "\n"  # npm's own layout


def _locked_entries(name: str) -> dict[str, dict[str, Any]]:
    lock = json.loads((_fixture_dir(name) / "package-lock.json").read_text())
    packages: dict[str, dict[str, Any]] = lock["packages"]
    return {key: entry for key, entry in packages.items() if key}


def _package_name(key: str, entry: dict[str, Any]) -> str:
    # Aliases (node_modules/string-width-cjs) carry the real name in the entry.
    return str(entry.get("name") or key.rsplit("node_modules/", 1)[-1])


@dataclass(frozen=True)
class LockedTarball:
    """A registry tarball the lockfile names, and where Verdaccio stores it."""

    key: str  # "node_modules/@scope/name"
    name: str  # "@scope/name"
    path: str  # URL path on the registry: "/@scope/name/-/name-1.0.0.tgz"
    storage_path: str  # relative to the storage dir: "@scope/name/name-1.0.0.tgz"
    optional: bool


def locked_tarballs(name: str) -> list[LockedTarball]:
    """Every registry tarball in the project's lockfile (no links, nothing bundled)."""
    tarballs = []
    for key, entry in _locked_entries(name).items():
        if "node_modules/" not in key or entry.get("link") or entry.get("inBundle"):
            continue
        package = _package_name(key, entry)
        resolved = entry.get("resolved")
        if resolved:
            path = str(resolved).removeprefix(PLACEHOLDER)
        else:  # npm will take dist.tarball from the packument: the registry's usual layout
            path = f"/{package}/-/{package.rsplit('/', 1)[-1]}-{entry['version']}.tgz"
        filename = path.rsplit("/", 1)[-1]
        optional = bool(entry.get("optional") or entry.get("devOptional"))
        tarballs.append(LockedTarball(key, package, path, f"{package}/{filename}", optional))
    return tarballs


def locked_package_names(name: str) -> set[str]:
    return {t.name for t in locked_tarballs(name)}


@dataclass(frozen=True)
class TreeCheck:
    """node_modules against the lockfile: comparable with SOURCE.txt's 'tree check' line."""

    installed: int
    optional_skipped: int
    missing: tuple[str, ...]
    version_mismatch: tuple[str, ...]


def check_tree(name: str, project_dir: Path) -> TreeCheck:
    """Is every lockfile entry installed with its version (or an optional one skipped)?"""
    installed = skipped = 0
    missing: list[str] = []
    mismatched: list[str] = []
    for key, entry in _locked_entries(name).items():
        manifest_path = project_dir / key / "package.json"
        if not manifest_path.exists():
            if entry.get("optional") or entry.get("devOptional"):
                skipped += 1
            else:
                missing.append(key)
            continue
        version = json.loads(manifest_path.read_text()).get("version")
        if "version" in entry and entry["version"] != version:
            mismatched.append(f"{key}: locked {entry['version']}, installed {version}")
        else:
            installed += 1
    return TreeCheck(installed, skipped, tuple(missing), tuple(mismatched))


def expected_tree(name: str) -> tuple[int, int]:
    """(installed, optional-skipped) as measured on linux-x64 when the fixture was taken."""
    source = (_fixture_dir(name) / "SOURCE.txt").read_text()
    found = re.search(r"tree check vs lockfile: installed (\d+) optional-skipped (\d+)", source)
    if found is None:
        raise CorpusError(f"no tree check line in {name}/SOURCE.txt")
    return int(found[1]), int(found[2])


def _fixtures_digest() -> str:
    """Changes whenever a project file changes: a cache filled from other fixtures is stale."""
    digest = hashlib.sha256()
    for name in CORPUS_PROJECTS:
        for relative in _project_files(name):
            digest.update(f"{name}/{relative}\0".encode())
            digest.update(hashlib.sha256((_fixture_dir(name) / relative).read_bytes()).digest())
    return digest.hexdigest()


# -- the machine's npm ----------------------------------------------------------------------


@functools.cache
def machine_npm_config() -> dict[str, Any]:
    """`npm config ls --json` as the machine's npm sees it: the developer's ~/.npmrc and
    npm_config_* variables included, which is why it runs in os.environ, not clean_environ().
    (cwd is an empty directory, so no project .npmrc takes part.)"""
    with tempfile.TemporaryDirectory(prefix="ipnpm-npm-config-") as cwd:
        result = subprocess.run(
            ["npm", "config", "ls", "--json"],
            cwd=cwd,
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=NPM_CONFIG_TIMEOUT,
            check=False,
        )
    if result.returncode != 0:
        raise CorpusError(f"asking npm for its configuration failed:\n{describe(result)}")
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def machine_registry() -> str:
    """The registry the machine's npm is configured with, e.g. `https://host/`."""
    return str(machine_npm_config()["registry"])


@functools.cache
def npm_default_registry() -> str:
    """npm's own default registry: what `registry` is when no npmrc and no variable sets it
    (lockfiles in the wild point there). Always `https://host/` with a trailing slash."""
    with tempfile.TemporaryDirectory(prefix="ipnpm-npm-default-") as tmp:
        empty = Path(tmp) / "empty-npmrc"
        empty.write_text("")
        env = clean_environ() | {
            "NPM_CONFIG_USERCONFIG": str(empty),
            "NPM_CONFIG_GLOBALCONFIG": str(empty),
        }
        result = subprocess.run(
            ["npm", "config", "get", "registry"],
            cwd=tmp,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=NPM_CONFIG_TIMEOUT,
            check=False,
        )
    if result.returncode != 0:
        raise CorpusError(f"asking npm for its default registry failed:\n{describe(result)}")
    return result.stdout.strip()


def _uplink_settings() -> dict[str, object]:
    """The machine npm's proxy settings, in Verdaccio's words (Verdaccio reads no variables)."""
    config = machine_npm_config()
    settings: dict[str, object] = {}
    for npm_key, verdaccio_key in (("proxy", "http_proxy"), ("https-proxy", "https_proxy")):
        if config.get(npm_key):
            settings[verdaccio_key] = config[npm_key]
    noproxy = [item for item in config.get("noproxy") or [] if item]
    if noproxy:
        settings["no_proxy"] = ",".join(noproxy)
    return settings


# -- the cache ------------------------------------------------------------------------------


def corpus_dir() -> Path:
    return tools_dir() / f"corpus-verdaccio-{CORPUS_VERSION}"


@dataclass(frozen=True)
class ProjectFill:
    """What filling the cache from one project cost and brought."""

    project: str
    npm_ci_seconds: float
    tarball_gets: int
    packument_gets: int
    tarballs_installed: int  # locked tarballs npm installed on this machine: all now stored
    tarballs_not_installed: int  # optional ones npm skips here (other platforms): not stored
    storage_bytes_added: int
    ebadengine_lines: int


def ensure_corpus_storage() -> Path:
    """The cached Verdaccio storage of the corpus, filled first if it is not there yet.

    Atomic: filling happens in a sibling `.corpus-verdaccio-<v>.partial` directory that is
    renamed into place only when complete, so a killed fill never looks complete. It is also
    resumable: the partial storage is consistent (Verdaccio renames every file into place), and
    the next fill only fetches what is still missing. A file lock makes concurrent test
    processes wait for one fill instead of racing.
    """
    final = corpus_dir()
    if not (final / _MANIFEST).exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(final.with_name(f".{final.name}.lock")):
            if not (final / _MANIFEST).exists():  # someone else may have filled it meanwhile
                _fill(final)
    _check_fresh(final)
    return final / "storage"


def corpus_manifest() -> dict[str, Any]:
    """The statistics recorded when the cache was filled."""
    manifest: dict[str, Any] = json.loads((corpus_dir() / _MANIFEST).read_text())
    return manifest


def _check_fresh(final: Path) -> None:
    manifest = json.loads((final / _MANIFEST).read_text())
    if manifest.get("fixtures_digest") != _fixtures_digest():
        raise CorpusError(
            f"{final} was filled from other lockfile fixtures: bump CORPUS_VERSION in "
            f"{Path(__file__).name} (or delete {final}) to fill it again"
        )


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released by the kernel even if we are killed
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fill(final: Path) -> None:
    staging = final.with_name(f".{final.name}.partial")
    populate = staging / "populate"  # Verdaccio's workdir: config, logs, storage/
    work = staging / "work"  # projects and npm caches, deleted as we go
    shutil.rmtree(work, ignore_errors=True)
    if (staging / "storage").exists() and not (populate / "storage").exists():
        # Killed while finalising: keep what was fetched (with the uplink back on, Verdaccio
        # fetches packuments again for whatever _finalize_storage had already stripped).
        populate.mkdir(parents=True, exist_ok=True)
        (staging / "storage").rename(populate / "storage")
    _remove_leftovers(populate / "storage")
    resumed = _tree_size(populate / "storage")
    _say(
        f"filling {final} from the machine's npm registry"
        + (f" (resuming: {resumed[0]} files already there)" if resumed[0] else "")
    )
    began = time.monotonic()
    with running_verdaccio(
        populate, uplink=machine_registry(), uplink_settings=_uplink_settings()
    ) as registry:
        fills = [_fill_project(registry, name, work / name) for name in CORPUS_PROJECTS]
        packument_seconds = _fill_packuments(registry)
    storage = staging / "storage"
    (populate / "storage").rename(storage)
    _finalize_storage(storage)
    files, size = _tree_size(storage)
    manifest = {
        "corpus_version": CORPUS_VERSION,
        "fixtures_digest": _fixtures_digest(),
        "verdaccio_startup_seconds": registry.startup_seconds,
        "fill_seconds": time.monotonic() - began,
        "resumed_from_files": resumed[0],
        "packument_pass_seconds": packument_seconds,
        "projects": [asdict(fill) for fill in fills],
        "storage_files": files,
        "storage_bytes": size,
        "tarballs": sum(1 for _ in storage.rglob("*.tgz")),
        "packuments": sum(1 for _ in _packuments(storage)),
    }
    (staging / _MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    # The fill's config and logs name the upstream registry; nothing needs them once it worked.
    shutil.rmtree(populate)
    shutil.rmtree(work, ignore_errors=True)
    staging.rename(final)
    _say(
        f"filled in {manifest['fill_seconds']:.0f}s: {manifest['tarballs']} tarballs, "
        f"{manifest['packuments']} packuments, {size / 2**20:.0f} MiB"
    )


def _fill_project(registry: Verdaccio, name: str, workdir: Path) -> ProjectFill:
    """The real `npm ci` of one project through the filling Verdaccio."""
    storage = registry.workdir / "storage"
    size_before = _tree_size(storage)[1]
    project = corpus_project(name, workdir / "project", registry.url)
    npm = NpmEnv(workdir / "npm", registry=registry.url)  # isolated npmrc, fresh cache
    mark = registry.mark()
    _say(f"{name}: npm ci ...")
    began = time.monotonic()
    result = subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=project,
        env=npm.env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=POPULATE_NPM_TIMEOUT,
        check=False,
        # If we are killed (pytest-timeout, Ctrl-C twice, SIGTERM), npm must not live on.
        preexec_fn=_die_with_parent,  # no threads run here, so preexec_fn is safe
    )
    seconds = time.monotonic() - began
    if result.returncode != 0:
        raise CorpusError(f"filling the corpus from {name} failed:\n{describe(result)[-8000:]}")
    seen = registry.requests(since=mark)
    failed = [r for r in seen if r.status != 200]
    if failed:
        raise CorpusError(f"{name}: Verdaccio could not serve {failed[:20]} ({len(failed)})")
    tarballs = locked_tarballs(name)
    installed = [t for t in tarballs if (project / t.key / "package.json").exists()]
    absent = [t.storage_path for t in installed if not (storage / t.storage_path).exists()]
    if absent:
        raise CorpusError(f"{name}: installed but not in Verdaccio's storage: {absent[:20]}")
    tarball_gets = sum(1 for r in seen if r.path.split("?")[0].endswith(".tgz"))
    output = result.stdout + result.stderr
    fill = ProjectFill(
        project=name,
        npm_ci_seconds=seconds,
        tarball_gets=tarball_gets,
        packument_gets=len(seen) - tarball_gets,
        tarballs_installed=len(installed),
        tarballs_not_installed=len(tarballs) - len(installed),
        storage_bytes_added=_tree_size(storage)[1] - size_before,
        ebadengine_lines=sum("EBADENGINE" in line for line in output.splitlines()),
    )
    shutil.rmtree(workdir)  # node_modules alone is up to 700 MB
    _say(
        f"{name}: {seconds:.1f}s, {fill.tarball_gets} tarball GETs, "
        f"{fill.packument_gets} packument GETs, +{fill.storage_bytes_added / 2**20:.1f} MiB"
    )
    return fill


def _fill_packuments(registry: Verdaccio) -> float:
    """Ask for every locked package's packument, platform packages npm skipped included, so a
    lockfile without `resolved` (or a tool reading packuments) finds them all offline."""
    names = sorted(set().union(*(locked_package_names(name) for name in CORPUS_PROJECTS)))
    _say(f"packuments for {len(names)} package names ...")
    began = time.monotonic()

    def fetch(package: str) -> str | None:
        url = f"{registry.url}{urllib.parse.quote(package, safe='@')}"
        request = urllib.request.Request(url, headers={"Accept": _ABBREVIATED})
        try:
            with urllib.request.urlopen(request, timeout=PACKUMENT_TIMEOUT) as response:
                response.read()
        except urllib.error.HTTPError as error:
            return f"{package}: {error.code}"
        return None

    with ThreadPoolExecutor(max_workers=PACKUMENT_WORKERS) as pool:
        failures = [failure for failure in pool.map(fetch, names) if failure]
    if failures:
        raise CorpusError(f"packuments Verdaccio could not fetch: {failures[:20]}")
    seconds = time.monotonic() - began
    _say(f"packuments: {seconds:.1f}s")
    return seconds


def _packuments(storage: Path) -> Iterable[Path]:
    yield from storage.glob("[!@]*/package.json")
    yield from storage.glob("@*/*/package.json")


def _finalize_storage(storage: Path) -> None:
    """Make the filled storage safe to serve offline and to share through hard links."""
    _remove_leftovers(storage)
    for database in _DATABASES:
        (storage / database).unlink(missing_ok=True)
    for packument_path in _packuments(storage):
        packument = json.loads(packument_path.read_text())
        # Without _distfiles a tarball missing from storage is a 404 rather than a download
        # from the upstream URL Verdaccio remembered; without _uplinks nothing looks cached
        # from an uplink that the serving configuration does not have.
        packument["_distfiles"] = {}
        packument["_uplinks"] = {}
        temporary = packument_path.with_name(f"{packument_path.name}.finalizing")
        temporary.write_text(json.dumps(packument, indent=2))
        temporary.replace(packument_path)  # a killed finalise never leaves half a JSON
    # Read-only, so that anything writing into a served copy in place fails loudly instead of
    # changing the shared cache (for users other than root, who may write anyway).
    for path in storage.rglob("*"):
        if path.is_file():
            path.chmod(0o444)


def _remove_leftovers(storage: Path) -> None:
    if storage.exists():
        for path in storage.rglob("*"):
            if path.is_file() and _LEFTOVER.search(path.name):
                path.unlink()


def _tree_size(root: Path) -> tuple[int, int]:
    """(files, bytes) under root; (0, 0) when it does not exist."""
    files = size = 0
    for directory, _, names in os.walk(root):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(directory, name)).st_size
    return files, size


# -- serving --------------------------------------------------------------------------------


class CorpusRegistry(Verdaccio):
    """A Verdaccio over a copy of the corpus storage, no uplinks: stop() and start() keep its
    port and storage like any Verdaccio here."""

    def __init__(self, workdir: Path, *, copy_seconds: float, copy_mode: str) -> None:
        super().__init__(workdir)
        self.copy_seconds = copy_seconds  # time to hard-link (or copy) the cached storage
        self.copy_mode = copy_mode  # "hardlink", or "copy" across file systems


@contextlib.contextmanager
def running_corpus_registry(
    workdir: Path, *, overlays: Iterable[Path] = ()
) -> Iterator[CorpusRegistry]:
    """A started corpus registry whose storage is a copy in workdir; always stopped on exit.

    overlays: more finalised storages (bench/resolve_corpus.py) whose files are linked on top
    of the corpus's, each replacing the corpus file of the same path.
    """
    source = ensure_corpus_storage()
    began = time.monotonic()
    copy_mode = _link_tree(source, workdir / "storage")
    for overlay in overlays:
        _link_over(overlay, workdir / "storage")
    server = CorpusRegistry(workdir, copy_seconds=time.monotonic() - began, copy_mode=copy_mode)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _link_tree(source: Path, dest: Path) -> str:
    """Copy a directory tree as hard links (one inode per file, shared with the cache: safe
    because Verdaccio replaces files by renaming and the cache holds no file it rewrites in
    place); plain copies where the two are on different file systems."""
    modes: set[str] = set()

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
            modes.add("hardlink")
        except OSError:  # EXDEV across file systems, EPERM where links are not allowed
            shutil.copy2(src, dst)
            os.chmod(dst, 0o644)  # a private copy: no need to keep the cache's read-only mode
            modes.add("copy")

    shutil.copytree(source, dest, copy_function=link)
    return "copy" if "copy" in modes else "hardlink"


def _link_over(source: Path, dest: Path) -> None:
    """Hard-link (or copy) every file of source into dest, replacing what is there: only the
    link in dest goes, never the file it shared with a cache."""
    for path in source.rglob("*"):
        if not path.is_file():
            continue
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
            os.chmod(target, 0o644)


def main() -> int:
    """`python -m tests.support.corpus`: fill the cache (if needed) and print its statistics."""
    storage = ensure_corpus_storage()
    print(storage)
    print(json.dumps(corpus_manifest(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
