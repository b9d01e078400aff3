"""``ipnpm ipfs fetch``: prefetch every locked tarball into the store, without running npm
(for Docker layers and CI cache warm-up)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ipnpm.errors import ExitCode, LockfileError
from ipnpm.npm.locate import find_npm
from ipnpm.run.assemble import open_run
from ipnpm.run.prefetch import Prefetch
from ipnpm.run.progress import ProgressLine, wants_animation
from ipnpm.settings import Settings


def fetch_only(settings: Settings, *, as_json: bool) -> int:
    npm = find_npm(settings.npm, os.environ)  # npm knows the registries and credentials
    cwd = Path.cwd()
    with open_run(settings, npm, cwd, command="ci", strict_lockfile=True) as context:
        if context.lockfile is None:
            raise LockfileError(
                f"no package-lock.json or npm-shrinkwrap.json in {context.project}",
                hint="run it in a project with a lockfile (`npm install --package-lock-only`)",
            )
        wants = context.locked_wants()
        animate = wants_animation(sys.stderr, os.environ)
        progress = ProgressLine(len(wants), context.log.totals, enabled=animate)
        prefetch = Prefetch(context.fetcher, wants, jobs=settings.jobs, on_done=progress.advance)
        with progress, prefetch:
            failed = prefetch.wait()
        totals = context.log.totals()
        if as_json:
            click.echo(json.dumps(totals, sort_keys=True))
        else:
            click.echo(context.log.summary(), err=True)
        for line in [*context.log.cid_alone_report(), *context.log.missing_report()]:
            click.echo(line, err=True)
    return int(ExitCode.MISSING) if failed else int(ExitCode.OK)
