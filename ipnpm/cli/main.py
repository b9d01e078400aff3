"""npm's command lines that need ipnpm: resolve ipnpm's settings, then delegate. No logic here.

    ipnpm [NPM ARGS...]            npm, through ipnpm's proxy when it may reach a registry
    ipnpm ipfs COMMAND ...         ipnpm's own commands (``ipnpm.cli.ipfs``)

ipnpm's own options are ``--ipnpm-<name>`` (``ipnpm.cli.own_options``), anywhere before a
``--``; every other word is npm's and reaches npm in its order.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, cast

from ipnpm.cli.boundary import guarded
from ipnpm.cli.own_options import OwnArgs
from ipnpm.errors import IpnpmError
from ipnpm.settings import Settings, parse_bool, resolve


def configure_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="ipnpm: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )


def wants_debug(own: OwnArgs) -> bool:
    """``--ipnpm-debug`` or ``IPNPM_DEBUG``, known before settings resolve (which may fail)."""
    if own.settings.get("debug"):
        return True
    try:
        return parse_bool("IPNPM_DEBUG", os.environ.get("IPNPM_DEBUG", ""))
    except IpnpmError:
        return False  # resolve() reports the bad value properly, with its hint


def settings_for(own: OwnArgs) -> Settings:
    settings = resolve(**cast(dict[str, Any], own.settings))
    configure_logging(settings.debug)
    return settings


def run_npx_line(own: OwnArgs) -> int:
    """npx's command line: the package it runs comes through the proxy, like ``npm exec``."""

    def run() -> int:
        from ipnpm.cli.entry import early_config_ls
        from ipnpm.npm.locate import find_npm

        settings = settings_for(own)
        npm = find_npm(settings.npm, os.environ)
        npx = find_npm(settings.npm, os.environ, program="npx")
        cwd = Path.cwd()
        with early_config_ls(npm, own.npm_args, cwd):
            from ipnpm.run.through_proxy import run_npm

            return run_npm(settings, npm, own.npm_args, cwd, npx=npx)

    return guarded(run, debug=wants_debug(own))


def run_npm_line(own: OwnArgs) -> int:
    def run() -> int:
        from ipnpm.cli.entry import npm_entry

        return npm_entry(settings_for(own), own.npm_args)

    return guarded(run, debug=wants_debug(own))
