"""ipnpm's command line: parse, build Settings, delegate. No logic lives here.

    ipnpm [IPNPM OPTIONS] NPM_COMMAND [NPM ARGS...]   npm, through ipnpm's proxy when needed
    ipnpm [IPNPM OPTIONS] ipfs COMMAND ...            ipnpm's own commands

ipnpm's options come before the npm command and never reach npm; everything after the npm
command is npm's, untouched.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import click

from ipnpm import __version__
from ipnpm.cli.boundary import guarded
from ipnpm.errors import ExitCode, IpnpmError, UsageError
from ipnpm.settings import Settings, resolve

_USAGE_HINT = (
    "ipnpm's options go before the npm command, npm's after it "
    "(e.g. `ipnpm --offline ci --ignore-scripts`); see `ipnpm --help`"
)


def _configure_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="ipnpm: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )


@click.command(
    context_settings={"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]},
    epilog="Environment: IPNPM_STORE, IPNPM_OFFLINE, IPNPM_NPM, IPNPM_DEBUG, IPNPM_KUBO_API, "
    "IPNPM_GATEWAYS (comma-separated), IPNPM_SEED, IPNPM_JOBS, IPNPM_INDEXES. Config: "
    '"ipnpm" key in package.json, $XDG_CONFIG_HOME/ipnpm/config.json; see `ipnpm ipfs config`.',
)
@click.option("--store", metavar="DIR", help="Content store (default ~/.cache/ipnpm).")
@click.option("--offline", is_flag=True, default=None, help="Never contact the upstream registry.")
@click.option("--npm", "npm_path", metavar="PATH", help="The npm executable to run.")
@click.option("--debug", is_flag=True, default=None, help="Verbose logs and full tracebacks.")
@click.option(
    "--kubo",
    metavar="URL|auto|off",
    help="Kubo RPC API (default auto: $IPFS_PATH/api, ~/.ipfs/api).",
)
@click.option(
    "--gateway", "gateways", metavar="URL", multiple=True, help="Trustless gateway (repeatable)."
)
@click.option(
    "--seed/--no-seed", default=None, help="Add upstream tarballs to Kubo, pinned (default on)."
)
@click.option("--jobs", metavar="N", help="Parallel prefetch downloads.")
@click.option(
    "--index",
    "indexes",
    metavar="[@SCOPE=]NAME",
    multiple=True,
    help="Registry index (IPNS name), optionally only for scopes (repeatable).",
)
@click.version_option(__version__, "--version", prog_name="ipnpm", message="%(prog)s %(version)s")
@click.argument("npm_args", nargs=-1, type=click.UNPROCESSED, metavar="NPM_COMMAND [NPM ARGS]...")
def cli(  # noqa: PLR0917 - click passes one argument per option
    store: str | None,
    offline: bool | None,
    npm_path: str | None,
    debug: bool | None,
    kubo: str | None,
    gateways: tuple[str, ...],
    seed: bool | None,
    jobs: str | None,
    indexes: tuple[str, ...],
    npm_args: tuple[str, ...],
) -> int:
    """Run npm with every package fetched by IPFS CID, verified, and kept for offline use."""

    def run() -> int:
        settings = resolve(
            store=store,
            offline=offline,
            npm=npm_path,
            debug=debug,
            kubo=kubo,
            gateways=gateways,
            seed=seed,
            jobs=jobs,
            indexes=indexes,
        )
        _configure_logging(settings.debug)
        if npm_args and npm_args[0] == "ipfs":
            return _run_ipfs(settings, npm_args[1:])
        from ipnpm.cli.entry import npm_entry

        return npm_entry(settings, npm_args)

    return guarded(run, debug=bool(debug))


def _run_ipfs(settings: Settings, args: Sequence[str]) -> int:
    from ipnpm.cli.ipfs import ipfs

    try:
        result = ipfs.main(list(args), prog_name="ipnpm ipfs", standalone_mode=False, obj=settings)
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None  # the boundary's Ctrl-C: exit 130
    except click.UsageError as exc:
        raise UsageError(exc.format_message(), hint="see `ipnpm ipfs --help`") from exc
    except click.ClickException as exc:
        raise IpnpmError(exc.format_message()) from exc
    return int(result or 0)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        code = cli.main(
            args=list(sys.argv[1:] if argv is None else argv),
            prog_name="ipnpm",
            standalone_mode=False,
        )
    except click.UsageError as exc:
        click.echo(f"ipnpm: error: {exc.format_message()}", err=True)
        click.echo(f"hint: {_USAGE_HINT}", err=True)
        code = int(ExitCode.USAGE)
    except click.ClickException as exc:
        click.echo(f"ipnpm: error: {exc.format_message()}", err=True)
        code = exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("ipnpm: interrupted", err=True)
        code = int(ExitCode.INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)
