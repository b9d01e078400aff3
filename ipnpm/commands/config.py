"""``ipnpm ipfs config``: the effective settings and where each one comes from."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ipnpm.errors import ExitCode
from ipnpm.settings import Settings


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
