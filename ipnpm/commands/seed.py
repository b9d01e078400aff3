"""``ipnpm ipfs seed [LOCKFILE|--store]``: add tarballs to the user's Kubo, pinned, so that
content outlives the machine that first had it.

With a lockfile (default: the project's), every tarball it locks: from the store, or fetched
(verified) through the usual sources when the store lacks it. With ``--store``, every object
the store holds. Each add is checked: Kubo must compute the CID ipnpm computed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import requests

from ipnpm.clients.kubo import KuboClient, KuboError, discover
from ipnpm.errors import MissingContentError, UsageError, reason
from ipnpm.npm.locate import find_npm
from ipnpm.run.assemble import open_run
from ipnpm.settings import Settings
from ipnpm.store.objects import Store, StoredObject

# The unixfs-v1-2025 profile, spelled out so that a daemon configured otherwise still produces
# the CID ipnpm computed.
_PROFILE = {"cid-version": "1", "raw-leaves": "true", "chunker": "size-1048576"}


def seedable(stored: StoredObject) -> bool:
    """Whether ``stored`` may leave this machine. The hook for the store's private mark (the
    trust-boundaries work): nothing is marked private on this base yet, so everything may."""
    return bool(stored.cid)


def _add(client: KuboClient, stored: StoredObject) -> str | None:
    """None when Kubo holds and pins it under ipnpm's CID; else why not."""
    try:
        with stored.path.open("rb") as handle:
            options = {**_PROFILE, "pin": "true", "quieter": "true"}
            got = str(client.call("add", options=options, files={"file": handle}).json()["Hash"])
    except (OSError, KuboError, requests.RequestException, ValueError, KeyError) as exc:
        return reason(exc)
    return None if got == stored.cid else f"Kubo computed {got}, ipnpm {stored.cid}"


def _store_objects(store: Store) -> list[StoredObject]:
    found = []
    for path in sorted((store.root / "objects").glob("*/*")):
        if path.is_file() and not path.name.startswith("."):
            found.append(StoredObject(path.name, "", path.stat().st_size, path))
    return found


def _locked_objects(settings: Settings, project: Path) -> tuple[list[StoredObject], int]:
    """The stored copy of every tarball the project's lockfile locks (fetched if need be)."""
    npm = find_npm(settings.npm, os.environ)
    found: list[StoredObject] = []
    failed = 0
    with open_run(settings, npm, project, command=None) as context:
        if context.lockfile is None:
            raise UsageError(
                f"no package-lock.json (or npm-shrinkwrap.json) in {project}",
                hint="give a LOCKFILE, or --store to seed everything the store holds",
            )
        for want in context.locked_wants():
            try:
                found.append(context.fetcher.get(want, purpose="seed").stored)
            except MissingContentError as exc:
                click.echo(f"ipnpm: not seeded: {exc.message}", err=True)
                failed += 1
    return found, failed


def seed(settings: Settings, lockfile: str | None, *, whole_store: bool) -> int:
    url = discover(settings.kubo, os.environ)
    if url is None:
        raise UsageError(
            "seeding needs a running Kubo daemon",
            hint="start `ipfs daemon`, or set IPNPM_KUBO_API=http://127.0.0.1:PORT",
        )
    client = KuboClient(url, timeout=120.0)
    client.version()  # fails now, with the reason, if the daemon is down
    if whole_store:
        objects, failed = _store_objects(Store(settings.store).open()), 0
    else:
        project = Path(lockfile).resolve().parent if lockfile else Path.cwd()
        objects, failed = _locked_objects(settings, project)
    skipped = [o for o in objects if not seedable(o)]
    problems = _add_all(client, [o for o in objects if seedable(o)], settings.jobs)
    for cid, why in problems:
        click.echo(f"ipnpm: not seeded: {cid}: {why}", err=True)
    added = len(objects) - len(skipped) - len(problems)
    size = sum(o.size for o in objects) / 1e6
    click.echo(
        f"ipnpm: seeded {added} tarball(s) ({size:.1f} MB) into Kubo at {url}, pinned"
        + (f"; {len(skipped)} private, skipped" if skipped else "")
        + (f"; {len(problems) + failed} failed" if problems or failed else ""),
        err=True,
    )
    return 6 if problems or failed else 0


def _add_all(
    client: KuboClient, objects: Iterable[StoredObject], jobs: int
) -> list[tuple[str, str]]:
    todo = list(objects)
    problems: list[tuple[str, str]] = []
    tty = sys.stderr.isatty()
    with ThreadPoolExecutor(max_workers=min(8, jobs)) as pool:
        for done, (stored, why) in enumerate(
            zip(todo, pool.map(lambda o: _add(client, o), todo), strict=True), start=1
        ):
            if why is not None:
                problems.append((stored.cid, why))
            if tty:
                print(f"\ripnpm: seeding {done}/{len(todo)}", end="", file=sys.stderr)
    if tty and todo:
        print(file=sys.stderr)
    return problems
