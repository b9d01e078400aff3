"""``ipnpm <npm command>``: npm through a fresh proxy, the lockfile prefetched alongside."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ipnpm.npm.commands import LOCK_WRITERS, LOCKFILE_COMMANDS, npm_command
from ipnpm.npm.invocation import (
    child_env,
    npm_argv,
    redacted,
    registry_hosts,
    replace_registry_host,
    run_npmrc,
)
from ipnpm.npm.overrides import registry_overrides
from ipnpm.proxy.server import registry_proxy
from ipnpm.run.assemble import open_run
from ipnpm.run.child import run_child
from ipnpm.run.cidlock import update_cidlock
from ipnpm.run.context import RunContext
from ipnpm.run.prefetch import Prefetch, not_in_npm_cache
from ipnpm.run.userconfig import read_user_npmrc, run_userconfig
from ipnpm.settings import Settings

logger = logging.getLogger("ipnpm")


def run_npm(settings: Settings, npm: str, args: Sequence[str], cwd: Path) -> int:
    """Run npm through a fresh proxy and return npm's exit code."""
    args, overrides = registry_overrides(args)
    command = npm_command(args)
    with open_run(settings, npm, cwd, command=command, overrides=overrides) as context:
        wants = not_in_npm_cache(context.locked_wants(), context.config.cache)
        # Verified tarballs go straight into npm's cache, so npm requests none of them.
        with Prefetch(context.fetcher, wants, jobs=settings.jobs, npm_cache=_npm_cache(context)):
            code = _run_through_proxy(context, npm, args, cwd)
        if code == 0 and command not in LOCKFILE_COMMANDS and command in LOCK_WRITERS:
            update_cidlock(
                context.project, context.store, context.config.cache, context.fetcher.on_new
            )
        print(context.log.summary(), file=sys.stderr)
        for line in context.log.missing_report():
            print(line, file=sys.stderr)
        logger.debug("run log: %s", context.log.path)
    return code


def _run_through_proxy(context: RunContext, npm: str, args: Sequence[str], cwd: Path) -> int:
    config, lockfile, env = context.config, context.lockfile, context.env
    with registry_proxy(context) as proxy_url:
        hosts = registry_hosts(config, lockfile.resolved_hosts() if lockfile else ())
        foreign = lockfile.has_foreign_urls if lockfile else False
        replace_host = replace_registry_host(hosts, foreign)
        no_proxy = config.noproxy or tuple(env.get("NO_PROXY", "").split(","))
        argv = npm_argv(
            npm,
            args,
            proxy_url=proxy_url,
            config=config,
            replace_host=replace_host,
            no_proxy=no_proxy,
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
            return run_child(argv, child_env(env, str(userconfig)), cwd=str(cwd))


def _npm_cache(context: RunContext) -> Path | None:
    cache = context.config.cache
    return cache if cache is not None and context.lockfile is not None else None
