"""Which npm commands may reach a registry (and so need the proxy) and which never do.

Commands that never touch a registry are executed directly, with no proxy and no heavy imports:
a predecessor started IPFS even for ``npm ls``. Unknown commands pass through as well, because
npm itself rejects or resolves them and a proxy cannot help there. ``login``/``logout`` pass
through on purpose: npm saves the token it gets under the registry's URL, and through the proxy
that would be the proxy's throw-away port.
"""

from __future__ import annotations

from collections.abc import Sequence

# npm 11's commands and their aliases (lib/utils/cmd-list.js), grouped by what they do.
_INSTALL = frozenset(
    {"install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal",
     "isntall", "add", "install-test", "it"}
)  # fmt: skip
_CHANGE_TREE = frozenset(
    {"update", "up", "upgrade", "udpate", "uninstall", "unlink", "remove", "rm", "r", "un",
     "dedupe", "ddp", "prune", "link", "ln"}
)  # fmt: skip

_UPDATE = frozenset({"update", "up", "upgrade", "udpate"})

# Commands that install exactly what the lockfile says: their packuments can come from it,
# and they never write a lockfile (nor ipnpm-lock.json).
LOCKFILE_COMMANDS = frozenset(
    {"ci", "clean-install", "ic", "install-clean", "isntall-clean", "install-ci-test", "cit"}
)  # fmt: skip

# Commands after which package-lock.json may have changed, so ipnpm-lock.json follows it.
LOCK_WRITERS = _INSTALL | _CHANGE_TREE


def resolves_tree(command: str | None, *, has_lockfile: bool) -> bool:
    """Whether npm will walk the whole dependency tree through packuments: ``install`` with no
    lockfile to start from, ``update`` always. (``install <pkg>`` with a lockfile asks only for
    the new subtree, which looking ahead from package.json would overshoot.)"""
    if command in _UPDATE:
        return True
    return command in _INSTALL and not has_lockfile


# Every command that may fetch from a registry.
_REGISTRY_COMMANDS = LOCK_WRITERS | LOCKFILE_COMMANDS | frozenset(
    {"exec", "x", "view", "v", "info", "show", "outdated", "audit", "doctor", "ping", "search",
     "find", "s", "se", "publish", "unpublish", "deprecate", "undeprecate", "dist-tag",
     "dist-tags", "owner", "author", "access", "team", "org", "token", "hook", "profile",
     "whoami", "star", "unstar", "stars", "pack", "diff", "repo", "docs", "home", "bugs",
     "issues", "cache"}
)  # fmt: skip

_INITIALIZER_COMMANDS = frozenset({"init", "create", "innit"})


def npm_command(args: Sequence[str]) -> str | None:
    """The npm command word: the first argument that is not an option."""
    for arg in args:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def needs_registry(args: Sequence[str]) -> bool:
    """True when running npm with ``args`` may send a request to a registry."""
    command = npm_command(args)
    if command is None:
        return False
    if command in _INITIALIZER_COMMANDS:
        # `npm init` alone writes package.json; `npm init <initializer>` runs `npm exec create-…`.
        rest = list(args[args.index(command) + 1 :])
        return npm_command(rest) is not None
    return command in _REGISTRY_COMMANDS
