"""``ipnpm <npm command>``: npm through a fresh proxy, the lockfile prefetched alongside."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ipnpm.errors import StoreError
from ipnpm.npm.argv import parse
from ipnpm.npm.commands import LOCK_WRITERS, LOCKFILE_COMMANDS
from ipnpm.npm.config_ls import waiting_npm
from ipnpm.npm.invocation import (
    child_env,
    npm_argv,
    redacted,
    registry_hosts,
    replace_registry_host,
    run_npmrc,
    url_spec_hosts,
)
from ipnpm.npm.loglevel import say
from ipnpm.npm.overrides import registry_overrides, take_option
from ipnpm.npm.waiting import WaitingNpm
from ipnpm.proxy.server import registry_proxy
from ipnpm.run.assemble import open_run
from ipnpm.run.child import run_child
from ipnpm.run.cidlock import FILENAME, update_cidlock
from ipnpm.run.context import RunContext
from ipnpm.run.handoff import NpmCacheHandoff
from ipnpm.run.prefetch import Prefetch, not_in_npm_cache
from ipnpm.run.userconfig import read_user_npmrc, run_userconfig
from ipnpm.settings import Settings

logger = logging.getLogger("ipnpm")
# Commands whose positionals are package specs npm must resolve from a registry.
_ADDS_SPECS = frozenset({"install", "update"})


def run_npm(
    settings: Settings, npm: str, args: Sequence[str], cwd: Path, *, npx: str | None = None
) -> int:
    """Run npm (or, given ``npx``, that npx) through a fresh proxy; return its exit code."""
    args, overrides = registry_overrides(args)
    # npm's own --offline makes ipnpm offline; npm itself then talks to the offline proxy
    # (an offline npm would ask nobody, and its cache does not know this run's proxy URL).
    args, offline = take_option(args, "offline")
    if offline and offline[-1] != "false":
        settings = replace(settings, offline=True)
    # A --userconfig on the line would hide the run's userconfig from npm: it becomes the
    # base of the run's instead.
    args, userconfig = take_option(args, "userconfig")
    parsed = parse(["exec", *args] if npx else args)  # npx is `npm exec` (npm's npx-cli.js)
    command = parsed.command
    with open_run(
        settings,
        npm,
        cwd,
        command=command,
        overrides=overrides,
        userconfig=userconfig[-1] if userconfig else None,
        loglevel=parsed.loglevel,
        specs=parsed.positionals if command in _ADDS_SPECS else (),
    ) as context:
        wants = not_in_npm_cache(context.locked_wants(), context.config.cache)
        # Verified tarballs go straight into npm's cache, so npm requests none of them.
        handoff = _handoff(context)
        with (
            handoff or contextlib.nullcontext(),
            Prefetch(context.fetcher, wants, jobs=settings.jobs, handoff=handoff),
        ):
            code = _run_through_proxy(
                context,
                npx or npm,
                args,
                cwd,
                parsed.positionals,
                npx=bool(npx),
                handoff=handoff,
                # The configuration read's Node, to become this npm if it can: a start fewer.
                waiting=waiting_npm(
                    npm, cwd, context.env, ca_in_force=context.config.network.trust.ca is not None
                ),
            )
        writes_lock = command not in LOCKFILE_COMMANDS and command in LOCK_WRITERS
        if code == 0 and writes_lock and wants_cidlock(settings.cidlock, context):
            update_cidlock(
                context.project,
                context.store,
                context.config.cache,
                context.fetcher.on_new,
                registry_for=context.config.registry_for,
            )
        say("notice", context.log.summary())
        for line in context.log.cid_alone_report():  # a warning: npm's default level shows it
            say("warn", line)
        for line in context.log.missing_report():
            say("error", line)
        logger.debug("run log: %s", context.log.path)
        if code != 0 and context.log.store_failure is not None:
            # npm failed because ipnpm could not keep what it fetched (a full disk): that is
            # the cause to fix, so it is ipnpm's error and exit code, not npm's 404.
            raise StoreError(
                context.log.store_failure,
                hint="free some space, or pass --ipnpm-store=DIR (IPNPM_STORE) on another disk",
            )
    return code


def _run_through_proxy(
    context: RunContext,
    npm: str,
    args: Sequence[str],
    cwd: Path,
    positionals: Sequence[str],
    *,
    npx: bool,
    handoff: NpmCacheHandoff | None,
    waiting: WaitingNpm | None,
) -> int:
    config, lockfile, env = context.config, context.lockfile, context.env
    with registry_proxy(context) as proxy_url:
        hosts = registry_hosts(config, lockfile.resolved_hosts() if lockfile else ())
        foreign = lockfile.has_foreign_urls if lockfile else False
        replace_host = replace_registry_host(hosts, foreign)
        url_hosts = url_spec_hosts([*_manifest_specs(context.project), *positionals])
        if replace_host is not None and url_hosts & (hosts | {replace_host}):
            # npm would record the proxy's URL for that dependency: its registry's tarballs go
            # straight to the upstream for this run (prefetch still fills npm's cache).
            logger.debug("tarball-URL dependency on %s: no replace-registry-host", url_hosts)
            replace_host = None
        if handoff is not None:
            handoff.serve_at(proxy_url, replace_host)
        no_proxy = config.noproxy or tuple(env.get("NO_PROXY", "").split(","))
        argv = npm_argv(
            npm,
            args,
            proxy_url=proxy_url,
            config=config,
            replace_host=replace_host,
            no_proxy=no_proxy,
            front=npx,
        )
        npmrc = run_npmrc(
            read_user_npmrc(config.userconfig),
            proxy_url=proxy_url,
            config=config,
            secret=context.secret,
            replace_host=replace_host,
            no_proxy=no_proxy,
        )
        with run_userconfig(npmrc) as userconfig:
            logger.debug("running: %s (userconfig %s)", redacted(argv), userconfig)
            return run_child(argv, child_env(env, str(userconfig)), cwd, waiting=waiting)


def _manifest_specs(project: Path) -> list[str]:
    """Every dependency spec of the project's package.json (npm reports a broken one)."""
    try:
        manifest = json.loads((project / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # npm itself says what is wrong with it
    groups = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
    return [
        str(spec)
        for group in groups
        if isinstance(manifest, dict) and isinstance(manifest.get(group), dict)
        for spec in manifest[group].values()
    ]


def wants_cidlock(mode: str, context: RunContext) -> bool:
    """Whether this run keeps ipnpm-lock.json: never a file the user did not ask for."""
    if mode != "auto":
        return mode == "yes"
    uses_ipfs = any(source.by_cid for source in context.fetcher.sources)
    return uses_ipfs or context.indexes is not None or (context.project / FILENAME).exists()


def _handoff(context: RunContext) -> NpmCacheHandoff | None:
    cache, lockfile = context.config.cache, context.lockfile
    if cache is None or lockfile is None:
        return None
    # Only where the proxy answers packuments from the lockfile: its answer is then known.
    packuments = lockfile.by_name if context.lockfile_first else None
    return NpmCacheHandoff(
        cache, lockfile.tarballs, context.config.registry_for, packuments=packuments
    )
