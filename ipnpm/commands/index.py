"""``ipnpm ipfs index add|publish|republish|resolve|sync``: set up what each needs, then
delegate."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import click

from ipnpm.clients.kubo import KuboClient, discover
from ipnpm.errors import IndexUnavailableError, UsageError
from ipnpm.index.follow import add_with_deps, index_sync
from ipnpm.index.publish import index_add, index_publish, index_republish
from ipnpm.index.records import RecordCache, RecordResolver
from ipnpm.npm.locate import find_npm
from ipnpm.run.assemble import open_run
from ipnpm.settings import Settings
from ipnpm.store.objects import Store


def _kubo(settings: Settings) -> KuboClient:
    url = discover(settings.kubo, os.environ)
    if url is None:
        raise UsageError(
            "publishing an index needs a running Kubo daemon",
            hint="start `ipfs daemon`, or pass --ipnpm-kubo=http://127.0.0.1:PORT",
        )
    return KuboClient(url, timeout=120.0)


def add(settings: Settings, args: Sequence[str], *, key: str, deps: bool = False) -> int:
    npm = find_npm(settings.npm, os.environ)
    kubo = _kubo(settings)
    with open_run(settings, npm, Path.cwd(), command=None) as context:
        if deps:
            return add_with_deps(context, npm, kubo, args, key=key, jobs=settings.jobs)
        return index_add(context, npm, kubo, args, key=key, jobs=settings.jobs)


def sync(settings: Settings, *, key: str, limit: int) -> int:
    npm = find_npm(settings.npm, os.environ)
    kubo = _kubo(settings)
    with open_run(settings, npm, Path.cwd(), command=None, for_project=False) as context:
        return index_sync(context, npm, kubo, key=key, jobs=settings.jobs, limit=limit)


def publish(settings: Settings, key: str, lifetime: str, ttl: str) -> int:
    return index_publish(_kubo(settings), key, lifetime=lifetime, ttl=ttl)


def republish(
    settings: Settings, keys: Sequence[str], lifetime: str | None, ttl: str | None
) -> int:
    return index_republish(_kubo(settings), keys, lifetime=lifetime, ttl=ttl)


def resolve(settings: Settings, name: str) -> int:
    url = discover(settings.kubo, os.environ)
    store = Store(settings.store).open()
    resolver = RecordResolver(
        RecordCache(store.root),
        kubo=KuboClient(url) if url else None,
        gateways=settings.gateways,
        offline=settings.offline,
    )
    resolved = resolver.resolve(name, refresh=not settings.offline)
    if resolved.expired:
        raise IndexUnavailableError(
            f"index {name}: no current record could be found; the last one ({resolved.describe()})",
            hint="reach its publisher or a peer holding a current record; its publisher can run "
            "`ipnpm ipfs index republish`",
        )
    click.echo(f"ipnpm: {name}: {resolved.describe()}", err=True)
    click.echo(resolved.root)
    return 0
