"""ipnpm's own options on an npm command line: ``--ipnpm-<name>[=VALUE]``.

Under ``alias npm=ipnpm`` every other word is npm's, in npm's order, global options before the
command word included (``npm -s run x``, ``npm --prefix sub install``). So ipnpm's options carry
a prefix no npm option has, may stand anywhere before a ``--`` (npm reads options anywhere too),
and are taken out before npm sees the line. npm's own options that ipnpm also honours
(``--offline``) stay npm's: ipnpm reads them without taking them.

Standard library only: this runs on the pass-through path, before npm is exec'd.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ipnpm.errors import UsageError

PREFIX = "--ipnpm-"


# NamedTuples, not dataclasses: importing dataclasses costs the pass-through path ~10 ms.
class OwnOption(NamedTuple):
    name: str  # after the prefix: --ipnpm-<name>
    setting: str  # the Settings key it sets
    value: str  # "flag", "dir", "file", "none" (free text) or "words a b" (accepted values)
    help: str
    repeatable: bool = False
    sets: bool = True  # what a flag sets (--ipnpm-no-seed sets seed=False)


OPTIONS: tuple[OwnOption, ...] = (
    OwnOption("store", "store", "dir", "content store (default ~/.cache/ipnpm)"),
    OwnOption("kubo", "kubo", "words auto off", "Kubo RPC API URL, auto (default) or off"),
    OwnOption("gateway", "gateways", "none", "trustless gateway URL (repeatable)", True),
    OwnOption("index", "indexes", "none", "registry index [@SCOPE=]NAME (repeatable)", True),
    OwnOption("seed", "seed", "flag", "add upstream tarballs to Kubo, pinned (default)"),
    OwnOption("no-seed", "seed", "flag", "do not add upstream tarballs to Kubo", sets=False),
    OwnOption("seed-private", "seed_private", "none", "seed private tarballs too: * or @scope,…"),
    OwnOption("pin", "pin", "flag", "pin in Kubo everything fetched, and index roots"),
    OwnOption("jobs", "jobs", "none", "parallel prefetch downloads"),
    OwnOption("npm", "npm", "file", "the npm executable to run"),
    OwnOption("cidlock", "cidlock", "words auto yes no", "keep ipnpm-lock.json (default auto)"),
    OwnOption("offline", "offline", "flag", "never contact the upstream (npm's --offline too)"),
    OwnOption("debug", "debug", "flag", "verbose logs on stderr and full tracebacks"),
)
_BY_NAME = {option.name: option for option in OPTIONS}


class OwnArgs(NamedTuple):
    """A command line split into ipnpm's settings (Settings keys) and npm's arguments."""

    settings: dict[str, object]
    npm_args: tuple[str, ...]


def split_own_options(args: Sequence[str]) -> OwnArgs:
    """Take every ``--ipnpm-*`` option out of ``args`` (up to a ``--``), keeping npm's order."""
    settings: dict[str, object] = {}
    kept: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            kept += args[index:]
            break
        if not arg.startswith(PREFIX):
            kept.append(arg)
            index += 1
            continue
        option, value, index = _take(args, index)
        if option.repeatable:
            existing = settings.setdefault(option.setting, ())
            assert isinstance(existing, tuple)
            settings[option.setting] = (*existing, value)
        else:
            settings[option.setting] = value
    return OwnArgs(settings, tuple(kept))


def _take(args: Sequence[str], index: int) -> tuple[OwnOption, object, int]:
    name, equals, value = args[index][len(PREFIX) :].partition("=")
    option = _BY_NAME.get(name)
    if option is None:
        known = ", ".join(PREFIX + o.name for o in OPTIONS)
        raise UsageError(f"unknown ipnpm option {args[index]!r}", hint=f"ipnpm's options: {known}")
    if option.value == "flag":
        if equals:
            raise UsageError(f"{PREFIX}{name} takes no value", hint=f"write {PREFIX}{name} alone")
        return option, option.sets, index + 1
    if equals:
        return option, value, index + 1
    if index + 1 >= len(args) or args[index + 1] == "--":
        raise UsageError(f"{PREFIX}{name} needs a value", hint=f"e.g. {PREFIX}{name}=VALUE")
    return option, args[index + 1], index + 2
