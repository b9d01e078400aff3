"""npm's own ``--registry``/``--@scope:registry`` arguments name the upstreams for one run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ipnpm.npm.argv import option_name

if TYPE_CHECKING:  # the early configuration read needs take_option, not npm's whole config
    from ipnpm.npm.config import NpmConfig


def _is_registry_flag(key: str) -> bool:
    """``--registry`` as npm reads it (also ``--reg``, ``--regi``…), or ``--@scope:registry``."""
    name = key[2:]
    if key.startswith("--") and name.startswith("@") and name.endswith(":registry"):
        return True
    negated = key.lstrip("-").lower().startswith("no-")  # npm drops `--no-registry` itself
    return not negated and option_name(key) == "registry"


def registry_overrides(args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Take ``--registry``/``--@scope:registry`` out of npm's arguments: they name upstreams,
    which the proxy must reach, while npm itself must talk to the proxy."""
    kept: list[str] = []
    found: dict[str, str] = {}
    iterator = iter(args)
    for arg in iterator:
        if arg == "--":
            kept += [arg, *iterator]
            break
        key, sep, value = arg.partition("=")
        if _is_registry_flag(key):
            name = key.lstrip("-") if key.startswith("--@") else "registry"
            found[name] = value if sep else next(iterator, "")
        else:
            kept.append(arg)
    return kept, found


def apply_overrides(config: NpmConfig, overrides: Mapping[str, str]) -> NpmConfig:
    def slash(url: str) -> str:
        return url if url.endswith("/") else url + "/"

    scopes = dict(config.scopes)
    registry = config.registry
    for key, url in overrides.items():
        if key == "registry":
            registry = slash(url)
        else:
            scopes[key.split(":", 1)[0]] = slash(url)
    return replace(config, registry=registry, scopes=scopes)


def take_option(args: Sequence[str], name: str) -> tuple[list[str], list[str]]:
    """Take every occurrence of npm's option ``name`` out of ``args`` (before a ``--``), in any
    spelling nopt accepts (``--userconfig=x``, ``--userconfig x``, an abbreviation); returns the
    kept arguments and the values given (``"true"``/``"false"`` for a bare or negated flag)."""
    kept: list[str] = []
    values: list[str] = []
    index = 0
    boolean = name in _BOOLEAN
    while index < len(args):
        arg = args[index]
        if arg == "--":
            kept += args[index:]
            break
        if option_name(arg) != name:
            kept.append(arg)
            index += 1
            continue
        key, sep, value = arg.partition("=")
        negated = key.lstrip("-").lower().startswith("no-")
        if sep:
            values.append(value)
        elif boolean:
            values.append("false" if negated else "true")
        else:
            values.append(args[index + 1] if index + 1 < len(args) else "")
            index += 1
        index += 1
    return kept, values


_BOOLEAN = frozenset({"offline"})  # the flags take_option is used for
