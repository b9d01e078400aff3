"""``ipnpm ipfs store verify``: re-hash every stored object, quarantine the bad ones."""

from __future__ import annotations

import click

from ipnpm.errors import ExitCode, StoreError
from ipnpm.settings import Settings
from ipnpm.store.objects import Store


def verify_store(settings: Settings) -> int:
    if not settings.store.is_dir():
        raise StoreError(f"no store at {settings.store}", hint="check --ipnpm-store / IPNPM_STORE")
    store = Store(settings.store).open()
    checked, problems = store.verify_all()
    for problem in problems:
        done = " (quarantined)" if problem.quarantined else ""
        click.echo(f"bad object {problem.cid}: {problem.reason}{done}", err=True)
    click.echo(f"ipnpm: {checked} objects checked, {len(problems)} bad, store {settings.store}")
    return int(ExitCode.INTEGRITY) if problems else int(ExitCode.OK)
