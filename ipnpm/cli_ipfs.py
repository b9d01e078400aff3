"""``ipnpm ipfs …``: ipnpm's own commands, under one word npm does not use."""

from __future__ import annotations

import click

from ipnpm.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def ipfs() -> None:
    """ipnpm's own commands (everything else goes to npm)."""


@ipfs.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
def cid(files: tuple[str, ...]) -> int:
    """Print each file's CID under the unixfs-v1-2025 profile (like `ipfs add --only-hash`)."""
    from ipnpm.maintenance import print_cids

    return print_cids(files)


@ipfs.command()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.pass_obj
def fetch(settings: Settings, as_json: bool) -> int:
    """Fetch every locked tarball into the store, without running npm (exit 6 if any is
    missing). Uses ipnpm's options: ipnpm --kubo URL --jobs 16 ipfs fetch."""
    from ipnpm.fetch_only import fetch_only

    return fetch_only(settings, as_json=as_json)


@ipfs.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def config(settings: Settings, as_json: bool) -> int:
    """Show ipnpm's effective settings and where each comes from
    (command line > environment > package.json "ipnpm" key > user config file > default)."""
    from ipnpm.maintenance import show_config

    return show_config(settings, as_json=as_json)


@ipfs.group()
def store() -> None:
    """Inspect and repair the local content store."""


@store.command()
@click.pass_obj
def verify(settings: Settings) -> int:
    """Re-hash every stored object; quarantine bad ones; exit 7 if any were bad."""
    from ipnpm.maintenance import verify_store

    return verify_store(settings)
