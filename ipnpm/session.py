"""One ipnpm invocation of npm: configuration, store, proxy, npm, summary, exit code."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from ipnpm.cidlock import FILENAME, CidLock, read_cidlock
from ipnpm.errors import LockfileError, MissingContentError
from ipnpm.fetch import Fetcher
from ipnpm.kubo import KuboClient, discover
from ipnpm.lockpins import update_cidlock
from ipnpm.npm.commands import npm_command
from ipnpm.npm.config import NpmConfig, project_root, read_npm_config
from ipnpm.npm.lockfile import Lockfile, find_lockfile, read_lockfile
from ipnpm.npm.runner import child_env, npm_argv, redacted, registry_hosts, replace_registry_host
from ipnpm.proxy.context import ProxyContext
from ipnpm.proxy.server import registry_proxy
from ipnpm.runlog import RunLog
from ipnpm.seeding import Seeder
from ipnpm.settings import Settings
from ipnpm.signals import run_child
from ipnpm.sources import Source
from ipnpm.sources.kubo import KuboSource
from ipnpm.sources.upstream import UpstreamSource
from ipnpm.store import Store
from ipnpm.upstream import Upstream

logger = logging.getLogger("ipnpm")

# Commands that install exactly what the lockfile says: their packuments can come from it.
_LOCKFILE_COMMANDS = frozenset(
    {"ci", "clean-install", "ic", "install-clean", "isntall-clean", "install-ci-test", "cit"}
)


def _is_registry_flag(key: str) -> bool:
    name = key[2:]
    return key.startswith("--") and (
        name == "registry" or (name.startswith("@") and name.endswith(":registry"))
    )


def _registry_overrides(args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Take ``--registry``/``--@scope:registry`` out of npm's arguments: they name upstreams,
    which the proxy must reach, while npm itself must talk to the proxy."""
    kept: list[str] = []
    found: dict[str, str] = {}
    iterator = iter(args)
    for arg in iterator:
        if arg == "--":
            kept += [arg, *iterator]
            break
        key, sep, value = arg.partition("=")
        if _is_registry_flag(key):
            found[key[2:]] = value if sep else next(iterator, "")
        else:
            kept.append(arg)
    return kept, found


def _apply_overrides(config: NpmConfig, overrides: Mapping[str, str]) -> NpmConfig:
    def slash(url: str) -> str:
        return url if url.endswith("/") else url + "/"

    scopes = dict(config.scopes)
    registry = config.registry
    for key, url in overrides.items():
        if key == "registry":
            registry = slash(url)
        else:
            scopes[key.split(":", 1)[0]] = slash(url)
    return replace(config, registry=registry, scopes=scopes)


# Commands after which package-lock.json may have changed, so ipnpm-lock.json follows it.
_LOCK_WRITERS = frozenset(
    {
        "install",
        "i",
        "in",
        "ins",
        "inst",
        "insta",
        "instal",
        "isnt",
        "isnta",
        "isntal",
        "isntall",
        "add",
        "update",
        "up",
        "upgrade",
        "udpate",
        "uninstall",
        "unlink",
        "remove",
        "rm",
        "r",
        "un",
        "dedupe",
        "ddp",
        "prune",
        "link",
        "ln",
        "install-test",
        "it",
    }
)


def _lockfile_first(command: str | None, lockfile: Lockfile | None) -> bool:
    """Whether packuments may come from the lockfile without asking the upstream.

    Only for commands that install exactly the lockfile, and only from v2/v3 lockfiles: a v1
    entry lacks fields of the real packument (``bin``, ``engines``) that npm records.
    """
    return command in _LOCKFILE_COMMANDS and lockfile is not None and lockfile.version >= 2


def _load_lockfile(project: Path) -> Lockfile | None:
    path = find_lockfile(project)
    if path is None:
        return None
    try:
        return read_lockfile(path)
    except LockfileError as exc:
        # npm reports a broken lockfile better than ipnpm can: let it speak.
        logger.debug("ignoring lockfile: %s", exc.message)
        return None


def check_offline(store: Store, lockfile: Lockfile, cids: CidLock | None, by_cid: bool) -> None:
    """Offline, name every locked tarball no source can give before npm fails on the first one.

    Without the upstream a tarball must be in the store, or have a known CID and an IPFS
    source to ask.
    """
    missing = [
        tarball.spec
        for tarball in lockfile.tarballs
        if tarball.matches_platform()
        and not store.has(tarball.integrity, tarball.name, tarball.version)
        and not (by_cid and cids and cids.cid_for(tarball.integrity, tarball.spec))
    ]
    if missing:
        shown = "\n  ".join(sorted(missing))
        raise MissingContentError(
            f"offline, and {len(missing)} locked package(s) are not in the store {store.root}:\n"
            f"  {shown}",
            hint="run once online (without --offline), or give a Kubo or gateway that has them",
        )


def _ipfs_sources(
    settings: Settings, env: Mapping[str, str]
) -> tuple[list[Source], KuboClient | None]:
    sources: list[Source] = []
    kubo_url = discover(settings.kubo, env)
    if kubo_url:
        sources.append(KuboSource(kubo_url))
    if settings.gateways:
        from ipnpm.sources.gateway import GatewaySource

        sources.append(GatewaySource(settings.gateways))
    seed_to = KuboClient(kubo_url) if kubo_url and settings.seed else None
    return sources, seed_to


def _warn_incomplete(cids: CidLock | None, lockfile: Lockfile | None) -> None:
    if cids is None or lockfile is None:
        return
    missing = cids.missing(t for t in lockfile.tarballs if t.matches_platform())
    if missing:
        print(
            f"ipnpm: warning: {FILENAME} has no CID for {len(missing)} locked package(s) "
            f"(e.g. {missing[0]}); `ipnpm install` records them",
            file=sys.stderr,
        )


def run_npm(settings: Settings, npm: str, args: Sequence[str], cwd: Path) -> int:
    """Run npm through a fresh proxy and return npm's exit code."""
    env = dict(os.environ)
    args, overrides = _registry_overrides(args)
    command = npm_command(args)
    config = _apply_overrides(read_npm_config(npm, cwd, env), overrides)
    store = Store(settings.store).open()
    store.clear_tmp()
    project = project_root(cwd)
    lockfile = _load_lockfile(project)
    cids = read_cidlock(project)
    sources, seed_to = _ipfs_sources(settings, env)
    if settings.offline and lockfile is not None:
        check_offline(store, lockfile, cids, by_cid=bool(sources))
    if command in _LOCKFILE_COMMANDS:
        _warn_incomplete(cids, lockfile)
    upstream = None if settings.offline else Upstream(config, env)
    if upstream is not None:
        sources.append(UpstreamSource(upstream))
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(RunLog(store.root / "logs"))
        seeder = stack.enter_context(Seeder(seed_to, log)) if seed_to else None
        context = ProxyContext(
            secret=secrets.token_urlsafe(32),
            config=config,
            store=store,
            fetcher=Fetcher(store, sources, log, on_new=seeder.seed if seeder else None),
            log=log,
            upstream=upstream,
            lockfile=lockfile,
            lockfile_first=_lockfile_first(command, lockfile),
            cids=cids,
        )
        code = _run_through_proxy(context, npm, args, env, cwd)
        if seeder is not None:
            seeder.wait()
        if code == 0 and command not in _LOCKFILE_COMMANDS and command in _LOCK_WRITERS:
            update_cidlock(project, store, config.cache)
        print(log.summary(), file=sys.stderr)
        for line in log.missing_report():
            print(line, file=sys.stderr)
        logger.debug("run log: %s", log.path)
    return code


def _run_through_proxy(
    context: ProxyContext, npm: str, args: Sequence[str], env: Mapping[str, str], cwd: Path
) -> int:
    config, lockfile = context.config, context.lockfile
    with registry_proxy(context) as proxy_url:
        hosts = registry_hosts(config, lockfile.resolved_hosts() if lockfile else ())
        foreign = lockfile.has_foreign_urls if lockfile else False
        argv = npm_argv(
            npm,
            args,
            proxy_url=proxy_url,
            config=config,
            replace_host=replace_registry_host(hosts, foreign),
            no_proxy=config.noproxy or tuple(env.get("NO_PROXY", "").split(",")),
        )
        logger.debug("running: %s", redacted(argv))
        return run_child(argv, child_env(env, proxy_url, context.secret), cwd=str(cwd))
