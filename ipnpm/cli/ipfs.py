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
    from ipnpm.commands.cid import print_cids

    return print_cids(files)


@ipfs.command()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.pass_obj
def fetch(settings: Settings, as_json: bool) -> int:
    """Fetch every locked tarball into the store, without running npm (exit 6 if any is
    missing). Uses ipnpm's options: ipnpm --kubo URL --jobs 16 ipfs fetch."""
    from ipnpm.commands.fetch import fetch_only

    return fetch_only(settings, as_json=as_json)


@ipfs.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def config(settings: Settings, as_json: bool) -> int:
    """Show ipnpm's effective settings and where each comes from
    (command line > environment > package.json "ipnpm" key > user config file > default)."""
    from ipnpm.commands.config import show_config

    return show_config(settings, as_json=as_json)


@ipfs.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.pass_obj
def doctor(settings: Settings, as_json: bool) -> int:
    """Check npm, the registry, Kubo, each gateway and index, and the store; say what to fix
    (exit 1 if anything is broken)."""
    from ipnpm.commands.doctor import run_doctor

    return run_doctor(settings, as_json=as_json)


@ipfs.group()
def index() -> None:
    """Publish and resolve registry indexes (a signed list of hashes on IPFS)."""


@index.command("add")
@click.argument("specs", nargs=-1, required=True, metavar="LOCKFILE|PKG[@RANGE]...")
@click.pass_obj
def index_add(settings: Settings, specs: tuple[str, ...]) -> int:
    """Mirror packages from the upstream into Kubo (pinned) and into the index (Kubo MFS
    /ipnpm-index); prints the new index root."""
    from ipnpm.commands import index as commands

    return commands.add(settings, specs)


@index.command("publish")
@click.option("--key", required=True, help="Kubo key to sign with (created if missing).")
@click.option("--lifetime", default="48h", show_default=True, help="How long the record is valid.")
@click.option("--ttl", default="5m", show_default=True, help="How long clients may cache it.")
@click.pass_obj
def index_publish(settings: Settings, key: str, lifetime: str, ttl: str) -> int:
    """Publish the index root under the key's IPNS name; prints the k51… name."""
    from ipnpm.commands import index as commands

    return commands.publish(settings, key, lifetime, ttl)


@index.command("resolve")
@click.argument("name")
@click.pass_obj
def index_resolve(settings: Settings, name: str) -> int:
    """Print the current root of the index NAME, after verifying its IPNS record."""
    from ipnpm.commands import index as commands

    return commands.resolve(settings, name)


@ipfs.group()
def store() -> None:
    """Inspect and repair the local content store."""


@store.command()
@click.pass_obj
def verify(settings: Settings) -> int:
    """Re-hash every stored object; quarantine bad ones; exit 7 if any were bad."""
    from ipnpm.commands.store import verify_store

    return verify_store(settings)


@ipfs.command(
    epilog="Uses ipnpm's options for its sources: "
    "ipnpm --kubo URL --gateway URL --store DIR ipfs serve --port 4880"
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--no-auth", is_flag=True, help="Serve the registry without the token (loopback hosts only)."
)
@click.option(
    "--allow-writes-as-operator",
    is_flag=True,
    help="Pass clients' publish, token and account requests upstream with YOUR credentials "
    "(default: refused with 403; clients may only read).",
)
@click.option(
    "--allow-host",
    "host_names",
    metavar="NAME",
    multiple=True,
    help="Answer requests whose Host is NAME (e.g. a reverse proxy's); repeatable.",
)
@click.pass_obj
def serve(  # noqa: PLR0917 - click passes one argument per option
    settings: Settings,
    host: str,
    port: int,
    no_auth: bool,
    allow_writes_as_operator: bool,
    host_names: tuple[str, ...],
) -> int:
    """Run the verifying registry proxy until stopped (Ctrl-C: exit 130; SIGTERM: exit 0),
    for a team or a CI fleet, plus a trustless gateway (GET /ipfs/CID?format=raw|car) over
    the store that needs no token, for `ipnpm --gateway URL`.

    The first line of output is `ipnpm: serving on URL`. npm clients add to their .npmrc
    (the exact lines are printed at start):

    \b
      registry=URL
      replace-registry-host=<the upstream's host:port, or always>
      //HOST:PORT/:_authToken=${IPNPM_SERVE_TOKEN}

    replace-registry-host is needed because packuments keep the upstream's tarball URLs
    (lockfiles never record this server); `always` also rewrites git dependencies, so prefer
    the host. The token is in STORE/serve-token (created 0600 on first start).
    """
    from ipnpm.commands.serve import ServeOptions
    from ipnpm.commands.serve import serve as run_server

    options = ServeOptions(
        host=host,
        port=port,
        auth=not no_auth,
        allow_writes=allow_writes_as_operator,
        host_names=host_names,
    )
    return run_server(settings, options)
