"""``ipnpm ipfs …``: ipnpm's own commands, under one word npm does not use."""

from __future__ import annotations

import click

from ipnpm import __version__
from ipnpm.cli.boundary import guarded
from ipnpm.cli.own_options import OPTIONS, PREFIX, OwnArgs
from ipnpm.errors import IpnpmError, UsageError
from ipnpm.settings import Settings

_OPTIONS_HELP = (
    "ipnpm's options, anywhere on the line (each also an IPNPM_* variable): "
    + ", ".join(f"{PREFIX}{option.name}" for option in OPTIONS)
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=_OPTIONS_HELP + ". See `ipnpm ipfs config` and README.md.",
)
@click.version_option(__version__, "--version", prog_name="ipnpm", message="%(prog)s %(version)s")
def ipfs() -> None:
    """ipnpm's own commands (everything else goes to npm)."""


def run_ipfs(own: OwnArgs) -> int:
    """``ipnpm ipfs ARGS``: settings from ipnpm's options, then click for the subcommand."""
    from ipnpm.cli.main import settings_for, wants_debug

    def run() -> int:
        settings = settings_for(own)
        try:
            result = ipfs.main(
                list(own.npm_args[1:]), prog_name="ipnpm ipfs", standalone_mode=False, obj=settings
            )
        except click.exceptions.Abort:
            raise KeyboardInterrupt from None  # the boundary's Ctrl-C: exit 130
        except click.UsageError as exc:
            raise UsageError(exc.format_message(), hint="see `ipnpm ipfs --help`") from exc
        except click.ClickException as exc:
            raise IpnpmError(exc.format_message()) from exc
        return int(result or 0)

    return guarded(run, debug=wants_debug(own))


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
    missing). Uses ipnpm's options: ipnpm --ipnpm-kubo=URL --ipnpm-jobs=16 ipfs fetch."""
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


_KEY_HELP = "The index: its Kubo key, which names its MFS directory /ipnpm-indexes/KEY."


@index.command("add")
@click.argument("specs", nargs=-1, required=True, metavar="LOCKFILE|PKG[@RANGE]...")
@click.option("--key", default="ipnpm-index", show_default=True, help=_KEY_HELP)
@click.option("--deps", is_flag=True, help="Also every dependency an install of them would fetch.")
@click.pass_obj
def index_add(settings: Settings, specs: tuple[str, ...], key: str, deps: bool) -> int:
    """Mirror packages from the upstream into Kubo (pinned) and into the index of KEY (Kubo
    MFS /ipnpm-indexes/KEY); prints the new index root. Publish it with `index publish`."""
    from ipnpm.commands import index as commands

    return commands.add(settings, specs, key=key, deps=deps)


@index.command("sync")
@click.option("--key", default="ipnpm-index", show_default=True, help=_KEY_HELP)
@click.option(
    "--limit",
    type=click.IntRange(0, 1000),
    default=5,
    show_default=True,
    help="New versions added per package (the newest ones; the upstream's latest always).",
)
@click.pass_obj
def index_sync(settings: Settings, key: str, limit: int) -> int:
    """Re-read the upstream packument of every package in the index of KEY, add the stable
    versions published after the newest one indexed (and their dependencies), then republish
    it if it was published before. For cron, e.g. hourly:

    \b
      0 * * * *  ipnpm ipfs index sync --key KEY
    """
    from ipnpm.commands import index as commands

    return commands.sync(settings, key=key, limit=limit)


@index.command("publish")
@click.option("--key", default="ipnpm-index", show_default=True, help=_KEY_HELP)
@click.option(
    "--lifetime",
    default="48h",
    show_default=True,
    help="How long the record stays valid: clients refuse it afterwards unless it is "
    "republished (`index republish`).",
)
@click.option(
    "--ttl",
    default="5m",
    show_default=True,
    help="How long clients may cache it before "
    "asking again (a new version reaches them at most this late).",
)
@click.pass_obj
def index_publish(settings: Settings, key: str, lifetime: str, ttl: str) -> int:
    """Sign the index root of KEY under the key's IPNS name (created if missing), after
    checking this node holds every block of it; prints the k51… name."""
    from ipnpm.commands import index as commands

    return commands.publish(settings, key, lifetime, ttl)


@index.command("republish")
@click.argument("keys", nargs=-1, metavar="[KEY]...")
@click.option("--lifetime", default=None, help="Default: the lifetime it was published with.")
@click.option("--ttl", default=None, help="Default: the ttl it was published with.")
@click.pass_obj
def index_republish(
    settings: Settings, keys: tuple[str, ...], lifetime: str | None, ttl: str | None
) -> int:
    """Sign the last published root of each KEY (default: every index this Kubo node has
    published) again with a fresh validity, so records outlast the publisher's downtime.
    Run it from cron more often than the lifetime, e.g. every hour for 48h:

    \b
      0 * * * *  ipnpm ipfs index republish
    """
    from ipnpm.commands import index as commands

    return commands.republish(settings, keys, lifetime, ttl)


@index.command("resolve")
@click.argument("name")
@click.pass_obj
def index_resolve(settings: Settings, name: str) -> int:
    """Print the current root of the index NAME, after verifying its IPNS record."""
    from ipnpm.commands import index as commands

    return commands.resolve(settings, name)


@ipfs.command()
@click.argument("lockfile", required=False, type=click.Path(dir_okay=False, exists=True))
@click.option("--store", "whole_store", is_flag=True, help="Every tarball the store holds.")
@click.pass_obj
def seed(settings: Settings, lockfile: str | None, whole_store: bool) -> int:
    """Add every tarball of LOCKFILE (default: this project's; fetched into the store first
    when missing) or of the whole store to Kubo, pinned, so that peers can install them
    from this machine (exit 6 if any could not be added)."""
    from ipnpm.commands.seed import seed as run_seed

    if lockfile and whole_store:
        raise click.UsageError("give a LOCKFILE or --store, not both")
    return run_seed(settings, lockfile, whole_store=whole_store)


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
    "ipnpm --ipnpm-kubo=URL --ipnpm-gateway=URL --ipnpm-store=DIR ipfs serve --port 4880"
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
    the store that needs no token, for `ipnpm --ipnpm-gateway=URL`.

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
