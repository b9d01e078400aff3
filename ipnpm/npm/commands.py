"""Which npm commands may download from a registry (and so need the proxy) and which never do.

Commands that download nothing are executed directly, with no proxy and no heavy imports: a
predecessor started IPFS even for ``npm ls``. Unknown commands pass through as well, because
npm itself rejects them and a proxy cannot help there.

Commands that only talk to a registry's API (publishing, tokens, owners, search, ``whoami``)
pass through too: there is nothing to fetch from IPFS or to verify, and through the proxy npm
would use the proxy's throw-away URL for what it saves or sends (``login`` stores its token
under the registry's URL, ``publish`` uploads to it).

The command line is read as npm reads it (``ipnpm.npm.argv``), so ``npm --prefix sub install``
is ``install`` and ``npm -v`` or ``npm install -h`` run nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ipnpm.npm._npm_options import ALIASES
from ipnpm.npm.argv import parse


def _with_aliases(commands: Iterable[str]) -> frozenset[str]:
    """Canonical names and every alias and typo npm resolves to them, so that a raw command
    word is recognised as well as ``npm_command``'s canonical one."""
    names = frozenset(commands)
    return names | {alias for alias, command in ALIASES.items() if command in names}


_UPDATE = frozenset({"update", "up", "upgrade", "udpate"})

# Commands that install exactly what the lockfile says: their packuments can come from it,
# and they never write a lockfile (nor ipnpm-lock.json).
LOCKFILE_COMMANDS = _with_aliases({"ci", "install-ci-test"})

# Commands after which package-lock.json may have changed, so ipnpm-lock.json follows it.
LOCK_WRITERS = _with_aliases(
    {"install", "install-test", "update", "uninstall", "dedupe", "prune", "link"}
)

# Every command that may download from a registry, besides `init`/`create` and `cache`.
_REGISTRY_COMMANDS = (
    LOCK_WRITERS
    | LOCKFILE_COMMANDS
    | {
        "exec",  # installs the package it runs (and `-c` commands may install more)
        "view",  # a packument: the index or the offline cache can answer it
        "outdated",  # a packument per dependency
        "audit",  # the advisory endpoint goes through the proxy; `audit fix` installs
        "pack",  # `npm pack <spec>` downloads the tarball; `npm pack` alone runs prepack
        "diff",  # downloads the published tarballs it compares
        "find-dupes",  # `dedupe --dry-run`: builds the ideal tree from packuments
    }
)


# Commands whose npm process opens connections only through npm's own agent (registries,
# tarball URLs; git and scripts are child processes with their own environment). That agent
# passes `ca`/`cafile` when either is in force, and Node then ignores NODE_EXTRA_CA_CERTS
# (npm/network.py), so for these the bundle plays no part in npm's own connections. Not
# `audit` (`audit signatures` fetches sigstore's metadata by other means) nor `exec`.
AGENT_ONLY_COMMANDS = (
    LOCK_WRITERS | LOCKFILE_COMMANDS | {"view", "outdated", "find-dupes", "pack", "diff"}
)


# npm_command() returns canonical names, so `update` covers its aliases.
def resolves_tree(command: str | None, *, has_lockfile: bool) -> bool:
    """Whether npm will walk the whole dependency tree through packuments: ``install`` with no
    lockfile to start from, ``update`` always. (``install <pkg>`` with a lockfile asks only for
    the new subtree, which looking ahead from package.json would overshoot.)"""
    if command == "update":
        return True
    return command in ("install", "install-test") and not has_lockfile


def npm_command(args: Sequence[str]) -> str | None:
    """The command npm runs for ``npm <args>``, by its canonical name (``i`` → ``install``);
    None when there is none or npm knows no such command."""
    return parse(args).command


def needs_registry(args: Sequence[str]) -> bool:
    """True when running npm with ``args`` may download from a registry."""
    parsed = parse(args)
    if parsed.version or parsed.usage:
        return False  # `npm -v …` prints npm's version, `npm … -h` the usage, and stop there
    command = parsed.command
    if command == "init":
        # `npm init` alone writes package.json; `npm init <initializer>` runs `npm exec create-…`.
        return bool(parsed.positionals)
    if command == "cache":
        return parsed.positionals[:1] == ("add",)  # `clean`, `ls`, `verify`, `npx` stay local
    return command in _REGISTRY_COMMANDS
