"""ipnpm's own small commands: CIDs of files, store verification."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import click

from ipnpm.errors import ExitCode, IpnpmError, StoreError
from ipnpm.ipfs.unixfs import FileCidHasher
from ipnpm.settings import Settings
from ipnpm.store import Store


def verify_store(settings: Settings) -> int:
    if not settings.store.is_dir():
        raise StoreError(f"no store at {settings.store}", hint="check --store / IPNPM_STORE")
    store = Store(settings.store).open()
    checked, problems = store.verify_all()
    for problem in problems:
        click.echo(f"bad object {problem.cid}: {problem.reason} (quarantined)", err=True)
    click.echo(f"ipnpm: {checked} objects checked, {len(problems)} bad, store {settings.store}")
    return int(ExitCode.INTEGRITY) if problems else int(ExitCode.OK)


def _file_cid(handle: BinaryIO) -> str:
    hasher = FileCidHasher()
    while chunk := handle.read(1 << 20):
        hasher.update(chunk)
    return str(hasher.cid())


def print_cids(files: Sequence[str]) -> int:
    """``<cid>  <file>`` per file, like sha256sum, so the output pipes into the same tools."""
    for name in files:
        try:
            if name == "-":
                cid = _file_cid(sys.stdin.buffer)
            else:
                with open(name, "rb") as handle:
                    cid = _file_cid(handle)
        except OSError as exc:
            raise IpnpmError(f"cannot read {name}: {exc.strerror}") from exc
        click.echo(f"{cid}  {name}")
    return int(ExitCode.OK)


def _shown(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [str(item) for item in value]
    return value


def show_config(settings: Settings, *, as_json: bool) -> int:
    keys = [key for key in settings.origins if key != "debug"]
    values = {key: _shown(getattr(settings, key)) for key in keys}
    if as_json:
        document = {
            "settings": {k: {"value": values[k], "from": settings.origins[k]} for k in keys},
            "files": [{"kind": f.kind, "path": str(f.path)} for f in settings.files],
        }
        click.echo(json.dumps(document, indent=2))
        return int(ExitCode.OK)
    for key in keys:
        click.echo(f"{key} = {json.dumps(values[key])}  ({settings.origins[key]})")
    for file in settings.files:
        click.echo(f"# read {file.kind} config {file.path}")
    return int(ExitCode.OK)
