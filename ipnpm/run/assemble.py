"""Set up one run: npm's configuration, the store, the lockfiles, the sources, the run log.

Both ``ipnpm <npm command>`` and ``ipnpm ipfs fetch`` start here; ``open_run`` yields the
RunContext they share and tears everything down (seeding finished, log closed) on exit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ipnpm.clients.kubo import KuboClient, discover
from ipnpm.clients.upstream import Upstream
from ipnpm.errors import LockfileError, MissingContentError
from ipnpm.npm.commands import LOCKFILE_COMMANDS, resolves_tree
from ipnpm.npm.config import NpmConfig, project_root, read_npm_config
from ipnpm.npm.config_ls import config_env
from ipnpm.npm.lockfile import LockedTarball, Lockfile, find_lockfile, read_lockfile
from ipnpm.npm.loglevel import set_level, warn
from ipnpm.npm.names import registry_name
from ipnpm.npm.overrides import apply_overrides
from ipnpm.run.cidlock import FILENAME, CidLock, locked_host, read_cidlock
from ipnpm.run.context import RunContext
from ipnpm.run.seeding import PrivatePolicy, Seeder, swarm_key
from ipnpm.settings import Settings
from ipnpm.sources import Source, Want
from ipnpm.sources.fetcher import Fetcher
from ipnpm.sources.upstream import UpstreamSource
from ipnpm.store.objects import Store
from ipnpm.store.runlog import RunLog

if TYPE_CHECKING:
    from ipnpm.index.client import IndexSet

logger = logging.getLogger("ipnpm")


def _lockfile_first(command: str | None, lockfile: Lockfile | None) -> bool:
    """Whether packuments may come from the lockfile without asking the upstream.

    Only for commands that install exactly the lockfile, and only from v2/v3 lockfiles: a v1
    entry lacks fields of the real packument (``bin``, ``engines``) that npm records.
    """
    return command in LOCKFILE_COMMANDS and lockfile is not None and lockfile.version >= 2


def load_lockfile(project: Path, *, strict: bool = False) -> Lockfile | None:
    path = find_lockfile(project)
    if path is None:
        return None
    try:
        return read_lockfile(path)
    except LockfileError as exc:
        if strict:
            raise
        # npm reports a broken lockfile better than ipnpm can: let it speak.
        logger.debug("ignoring lockfile: %s", exc.message)
        return None


def check_offline(
    store: Store,
    lockfile: Lockfile,
    cids: CidLock | None,
    by_cid: bool,
    registry_for: Callable[[str], str] | None = None,
) -> None:
    """Offline, name every locked tarball no source can give before npm fails on the first one.

    Without the upstream a tarball must be in the store, or have a known CID and an IPFS
    source to ask.
    """
    missing = [
        tarball.spec
        for tarball in lockfile.tarballs
        if tarball.matches_platform()
        and not tarball.optional  # npm goes on without an optional package it cannot get
        and not store.has(
            tarball.integrity, locked_host(tarball, registry_for), tarball.name, tarball.version
        )
        and not (by_cid and cids and not cids.missing([tarball]))
        and not _stored_by_cid(store, tarball, cids)
    ]
    if missing:
        shown = "\n  ".join(sorted(missing))
        raise MissingContentError(
            f"offline, and {len(missing)} locked package(s) are not in the store {store.root}:\n"
            f"  {shown}",
            hint="run once online (without --offline), or give a Kubo or gateway that has them",
        )


def _stored_by_cid(store: Store, tarball: LockedTarball, cids: CidLock | None) -> bool:
    """An entry without integrity whose ipnpm-lock.json CID is in the store: the fetcher takes
    it from there (checking that the bytes are that package), as it does online."""
    if tarball.integrity or cids is None:
        return False
    cid = cids.cid_for_unhashed(tarball.spec)
    return cid is not None and store.object_path(cid).is_file()


def check_offline_specs(
    store: Store, config: NpmConfig, specs: Sequence[str], lockfile: Lockfile | None
) -> None:
    """Offline, ``install <spec>…``: name every package npm would have to learn about that no
    packument ipnpm holds can tell it, before npm stops at the first 404."""
    locked = lockfile.by_name if lockfile else {}
    missing = []
    for spec in specs:
        name = registry_name(spec)
        if name is None or name in locked:
            continue
        host = urlsplit(config.registry_for(name)).netloc
        if not any(
            store.packument_path(host, form).is_file() for form in (name, f"{name}.abbreviated")
        ):
            missing.append(spec)
    if missing:
        shown = "\n  ".join(missing)
        raise MissingContentError(
            f"offline, and ipnpm has never seen {len(missing)} package(s):\n  {shown}",
            hint="run once online (without --offline), or give an index that has them",
        )


def _ipfs_sources(
    settings: Settings, env: Mapping[str, str], log: RunLog
) -> tuple[list[Source], str | None]:
    sources: list[Source] = []
    kubo_url = discover(settings.kubo, env)
    if kubo_url:
        from ipnpm.sources.kubo import KuboSource  # only loaded when a Kubo is used

        sources.append(KuboSource(kubo_url))
    if settings.gateways:
        from ipnpm.sources.gateway import GatewaySource  # only loaded when gateways are used

        def dropped(url: str, reason: str) -> None:
            log.event("gateway-dropped", url=url, reason=reason)
            warn(f"gateway {url} dropped for this run: {reason}")

        sources.append(GatewaySource(settings.gateways, on_drop=dropped))
    return sources, kubo_url


def _warn_incomplete(cids: CidLock | None, lockfile: Lockfile | None) -> None:
    if cids is None or lockfile is None:
        return
    missing = cids.missing(t for t in lockfile.tarballs if t.matches_platform())
    if missing:
        warn(
            f"{FILENAME} has no CID for {len(missing)} locked package(s) "
            f"(e.g. {missing[0]}); `ipnpm install` records them"
        )


def _indexes(
    settings: Settings, store: Store, kubo_url: str | None, log: RunLog
) -> IndexSet | None:
    if not settings.indexes:
        return None
    # Only loaded when indexes are used: IPNS verification brings in cryptography.
    from ipnpm.index.client import Index, IndexSet
    from ipnpm.index.files import IndexFiles
    from ipnpm.index.records import RecordCache, RecordResolver

    kubo = KuboClient(kubo_url) if kubo_url else None
    resolver = RecordResolver(
        RecordCache(store.root), kubo=kubo, gateways=settings.gateways, offline=settings.offline
    )
    files = IndexFiles(store.root, kubo=kubo, gateways=settings.gateways, offline=settings.offline)
    indexes = IndexSet([Index(ref, resolver, files, log) for ref in settings.indexes])
    indexes.resolve_all()  # an index that cannot be used is said here, once, before npm runs
    return indexes


def _pin_roots(indexes: IndexSet, seeder: Seeder) -> None:
    """Pinning on: keep a copy of each index this run resolved, for peers to read from."""
    for index in indexes.indexes:
        root = index.resolved_root
        if root is not None:
            seeder.pin(root, f"index {index.ref.name}")


def _cid_resolver(indexes: IndexSet | None) -> Callable[[Want], str | None] | None:
    if indexes is None:
        return None
    return lambda want: indexes.cid_for(want.name, want.version, want.integrity)


@contextlib.contextmanager
def open_run(
    settings: Settings,
    npm: str,
    cwd: Path,
    *,
    command: str | None,
    overrides: Mapping[str, str] | None = None,
    userconfig: str | None = None,
    loglevel: str | None = None,
    specs: Sequence[str] = (),
    strict_lockfile: bool = False,
    for_project: bool = True,
) -> Iterator[RunContext]:
    """Everything one run needs, torn down (seeding finished, log closed) on exit.

    ``for_project=False`` (serve mode) ignores the lockfiles of the directory ipnpm started in.
    """
    env = config_env(os.environ, cwd, userconfig)  # userconfig: npm's --userconfig
    config = apply_overrides(read_npm_config(npm, cwd, env), overrides or {})
    set_level(loglevel or config.loglevel)  # ipnpm's stderr lines follow npm's loglevel
    if config.offline:  # offline=true in an npmrc or npm_config_offline: ipnpm is offline too
        settings = replace(settings, offline=True)
    store = Store(settings.store).open()
    store.clear_tmp()
    project = project_root(cwd)
    lockfile = load_lockfile(project, strict=strict_lockfile) if for_project else None
    cids = read_cidlock(project) if for_project else None
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(RunLog(store.root / "logs"))
        sources, kubo_url = _ipfs_sources(settings, env, log)
        if settings.offline and lockfile is not None:
            check_offline(
                store, lockfile, cids, by_cid=bool(sources), registry_for=config.registry_for
            )
        if settings.offline and specs and not settings.indexes:
            check_offline_specs(store, config, specs, lockfile)
        if command in LOCKFILE_COMMANDS:
            _warn_incomplete(cids, lockfile)
        upstream = None if settings.offline else Upstream(config, env)
        if upstream is not None:
            sources.append(UpstreamSource(upstream))
        seeder = None
        if kubo_url and (settings.seed or settings.pin):
            policy = PrivatePolicy(settings.seed_private, swarm_key(kubo_url, env))
            seeder = stack.enter_context(Seeder(KuboClient(kubo_url), log, store, policy))
        indexes = _indexes(settings, store, kubo_url, log)
        if indexes is not None and seeder is not None and settings.pin:
            _pin_roots(indexes, seeder)
        yield RunContext(
            secret=secrets.token_urlsafe(32),
            config=config,
            store=store,
            fetcher=Fetcher(
                store,
                sources,
                log,
                on_new=seeder.seed if seeder else None,
                resolve_cid=_cid_resolver(indexes),
                seed_all=settings.pin,
            ),
            log=log,
            upstream=upstream,
            lockfile=lockfile,
            lockfile_first=_lockfile_first(command, lockfile),
            lookahead=resolves_tree(command, has_lockfile=lockfile is not None),
            cids=cids,
            indexes=indexes,
            project=project,
            env=env,
        )
