"""One ipnpm invocation of npm: configuration, store, proxy, npm, summary, exit code."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from ipnpm.errors import LockfileError, MissingContentError
from ipnpm.fetch import Fetcher
from ipnpm.npm.commands import npm_command
from ipnpm.npm.config import NpmConfig, project_root, read_npm_config
from ipnpm.npm.lockfile import Lockfile, find_lockfile, read_lockfile
from ipnpm.npm.runner import child_env, npm_argv, redacted, registry_hosts, replace_registry_host
from ipnpm.proxy.context import ProxyContext
from ipnpm.proxy.server import registry_proxy
from ipnpm.runlog import RunLog
from ipnpm.settings import Settings
from ipnpm.signals import run_child
from ipnpm.sources import Source
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


def check_offline(store: Store, lockfile: Lockfile) -> None:
    """Offline, name every locked tarball the store lacks before npm fails on the first one."""
    missing = [
        tarball.spec
        for tarball in lockfile.tarballs
        if tarball.matches_platform()
        and not store.has(tarball.integrity, *tarball.spec.rsplit("@", 1))
    ]
    if missing:
        shown = "\n  ".join(sorted(missing))
        raise MissingContentError(
            f"offline, and {len(missing)} locked package(s) are not in the store {store.root}:\n"
            f"  {shown}",
            hint="run once online (without --offline) to fill the store",
        )


def run_npm(settings: Settings, npm: str, args: Sequence[str], cwd: Path) -> int:
    """Run npm through a fresh proxy and return npm's exit code."""
    env = dict(os.environ)
    args, overrides = _registry_overrides(args)
    config = _apply_overrides(read_npm_config(npm, cwd, env), overrides)
    store = Store(settings.store).open()
    store.clear_tmp()
    lockfile = _load_lockfile(project_root(cwd))
    if settings.offline and lockfile is not None:
        check_offline(store, lockfile)
    upstream = None if settings.offline else Upstream(config, env)
    sources: list[Source] = [UpstreamSource(upstream)] if upstream else []
    with RunLog(store.root / "logs") as log:
        context = ProxyContext(
            secret=secrets.token_urlsafe(32),
            config=config,
            store=store,
            fetcher=Fetcher(store, sources, log),
            log=log,
            upstream=upstream,
            lockfile=lockfile,
            lockfile_first=_lockfile_first(npm_command(args), lockfile),
        )
        with registry_proxy(context) as proxy_url:
            hosts = registry_hosts(config, lockfile.resolved_hosts() if lockfile else ())
            foreign = lockfile.has_foreign_urls if lockfile else False
            argv = npm_argv(
                npm, args, proxy_url=proxy_url, config=config,
                replace_host=replace_registry_host(hosts, foreign),
                no_proxy=config.noproxy or tuple(env.get("NO_PROXY", "").split(",")),
            )  # fmt: skip
            logger.debug("running: %s", redacted(argv))
            code = run_child(argv, child_env(env, proxy_url, context.secret), cwd=str(cwd))
        print(log.summary(), file=sys.stderr)
        for line in log.missing_report():
            print(line, file=sys.stderr)
        logger.debug("run log: %s", log.path)
    return code
