"""Resolve ipnpm's configuration in one place.

Precedence: command line > ``IPNPM_*`` environment > project (``"ipnpm"`` key in package.json)
> user (``$XDG_CONFIG_HOME/ipnpm/config.json``) > defaults. Each value remembers where it came
from, which ``ipnpm ipfs config`` shows. Nothing is read at import time.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ipnpm.errors import UsageError
from ipnpm.index import IndexRef

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


# The keys a config file may set; every other key is warned about.
KNOWN_KEYS = (
    "store", "kubo", "gateways", "seed", "seed_private", "jobs", "indexes", "cidlock", "pin",
)  # fmt: skip
# What a project file (package.json, reviewed with a pull request but written by whoever
# opened it) may set: read-only sources whose every byte is verified, and how many at once.
# Never a place ipnpm writes to or uploads to (a Kubo receives seeded tarballs, private ones
# included; the store is written; seeding decides what leaves the machine): a hostile pull
# request naming its own "kubo" would otherwise receive the user's private tarballs.
# (pin is the user's alone too: a project must not make a machine keep content.)
PROJECT_KEYS = ("gateways", "indexes", "jobs", "cidlock")


@dataclass(frozen=True)
class ConfigFile:
    kind: str  # "project" or "user"
    path: Path
    values: Mapping[str, Any]


def _load(kind: str, path: Path, section: str | None) -> ConfigFile | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if section is not None:
            return None  # a broken package.json is npm's to report, not ipnpm's
        raise UsageError(f"cannot read {path}: {exc}", hint=f"fix or remove {path}") from exc
    values = data.get(section) if section is not None and isinstance(data, dict) else data
    if values is None:
        return None
    if not isinstance(values, dict):
        where = f'"{section}" in {path}' if section else str(path)
        raise UsageError(f"{where} is not a JSON object", hint="see docs/configuration.md")
    for key in sorted(set(values) - set(KNOWN_KEYS)):
        print(
            f"ipnpm: warning: unknown key {key!r} in {path} (known: {', '.join(KNOWN_KEYS)})",
            file=sys.stderr,
        )
    allowed = PROJECT_KEYS if kind == "project" else KNOWN_KEYS
    for key in sorted(set(values) & set(KNOWN_KEYS) - set(allowed)):
        flag = "--ipnpm-" + _FLAGS.get(key, key).replace("_", "-")
        print(
            f"ipnpm: warning: {path}: ignoring {key!r}: a project file may only name "
            f"read-only sources ({', '.join(PROJECT_KEYS)}), never where ipnpm writes or "
            f"uploads; set {key} in your own config file, {_KEYS[key][0]} or {flag}",
            file=sys.stderr,
        )
    return ConfigFile(kind, path, {k: v for k, v in values.items() if k in allowed})


def project_file(cwd: Path) -> ConfigFile | None:
    """The ``"ipnpm"`` key of the nearest package.json (npm's project root)."""
    for directory in (cwd, *cwd.parents):
        if (directory / "package.json").is_file():
            return _load("project", directory / "package.json", "ipnpm")
    return None


def user_file(env: Mapping[str, str]) -> ConfigFile | None:
    config_home = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")) / ".config")
    return _load("user", Path(config_home).expanduser() / "ipnpm" / "config.json", None)


def default_jobs() -> int:
    # Fetching is latency-bound, not CPU-bound. Measured (BENCHMARKS.md): with 8 workers a
    # LAN Kubo peer delivered 175 tarballs/s, slower than npm asks; 32 gave 340-386/s on
    # 2 cores. More cores, a little more, up to 64.
    return max(32, min(64, 8 * (os.cpu_count() or 2)))


@dataclass(frozen=True)
class Settings:
    """Everything an ipnpm run needs to know about its own options (npm's are npm's)."""

    store: Path
    offline: bool = False
    npm: str | None = None
    debug: bool = False
    kubo: str = "auto"  # "auto" (find a running daemon), "off", or an RPC API URL
    gateways: tuple[str, ...] = ()
    seed: bool = True  # add tarballs fetched from the upstream to Kubo, pinned
    pin: bool = False  # pin in Kubo everything fetched (any source) and each index root
    # Scopes whose private tarballs may be seeded too ("*": every private tarball). Private:
    # fetched with a credential, from a scope's own registry, or from a private index.
    seed_private: tuple[str, ...] = ()
    jobs: int = field(default_factory=default_jobs)  # parallel prefetch workers
    indexes: tuple[IndexRef, ...] = ()
    # ipnpm-lock.json: "auto" keeps one a project has and creates it when an IPFS source or
    # an index is in use; "yes" always writes it, "no" never does.
    cidlock: str = "auto"
    origins: Mapping[str, str] = field(default_factory=dict)
    files: tuple[ConfigFile, ...] = ()


def default_store(env: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/ipnpm``, else ``~/.cache/ipnpm``, as other XDG-aware tools do."""
    cache_home = env.get("XDG_CACHE_HOME")
    base = Path(cache_home) if cache_home else Path(env.get("HOME", "~")).expanduser() / ".cache"
    return base / "ipnpm"


# -- parsing one value, whatever its origin -------------------------------------------------


def parse_bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise UsageError(
        f"{name}={value!r} is not a yes/no value",
        hint=f"set {name} to one of 1, true, yes, on, 0, false, no, off",
    )


def _http_url(name: str, value: object) -> str:
    text = str(value)
    try:
        parts = urlsplit(text)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError:
        valid = False  # "http://[::1" and its kind: a URL nobody could connect to
    if not valid:
        raise UsageError(
            f"{name} {text!r} is not an http(s) URL",
            hint=f"give {name} as http://HOST:PORT (use 127.0.0.1, not localhost, for Kubo)",
        )
    return text.rstrip("/")


def _kubo(name: str, value: object) -> str:
    return str(value) if value in ("auto", "off") else _http_url(name, value)


def _jobs(name: str, value: object) -> int:
    text = str(value)
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise UsageError(
            f"{name} {text!r} is not a number from 1 to 256", hint="e.g. --ipnpm-jobs=16"
        )
    return int(text)


def _items(value: object) -> list[object]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [item for item in str(value).replace(",", " ").split() if item]


def _gateways(name: str, value: object) -> tuple[str, ...]:
    return tuple(_http_url(name, item) for item in _items(value))


def _scopes(name: str, value: object) -> tuple[str, ...]:
    """``1``/``true`` (every private tarball), ``0``/``false`` (none), or ``@a,@b``."""
    if isinstance(value, bool) or str(value).strip().lower() in _TRUE | _FALSE:
        return ("*",) if parse_bool(name, value) else ()
    scopes = tuple(str(item) for item in _items(value))
    if any(s != "*" and (not s.startswith("@") or "/" in s or len(s) < 2) for s in scopes):
        raise UsageError(
            f"{name}: {value!r} is not a list of scopes",
            hint=f"give {name} as 1 (every private scope), 0, or scopes: @acme,@corp",
        )
    return scopes


def _index(name: str, item: object) -> IndexRef:
    if isinstance(item, Mapping):
        scopes = tuple(str(s) for s in item.get("scopes", ()))
        ref = IndexRef(str(item.get("name", "")), scopes)
    else:
        scopes_text, sep, index_name = str(item).rpartition("=")
        ref = IndexRef(index_name, tuple(s for s in scopes_text.split("+") if s) if sep else ())
    if not ref.name or any(not s.startswith("@") or "/" in s for s in ref.scopes):
        raise UsageError(
            f"{name}: {item!r} is not an index",
            hint="give an IPNS name (k51…), optionally with scopes: @acme=k51… or @a+@b=k51…",
        )
    return ref


def _indexes(name: str, value: object) -> tuple[IndexRef, ...]:
    return tuple(_index(name, item) for item in _items(value))


def _cidlock(name: str, value: object) -> str:
    text = str(value).strip().lower()
    if text == "auto":
        return text
    return "yes" if parse_bool(name, value) else "no"


def _store(_name: str, value: object) -> Path:
    return Path(str(value)).expanduser()


def _text(_name: str, value: object) -> str:
    return str(value)


# key -> (environment variable, parser, settable in a config file: PROJECT_KEYS in either)
_KEYS: dict[str, tuple[str, Callable[[str, object], Any], bool]] = {
    "store": ("IPNPM_STORE", _store, True),
    "offline": ("IPNPM_OFFLINE", parse_bool, False),
    # Which npm to run is this machine's business, not the project's: never from a file (and
    # the pass-through fast path only has to look at the environment).
    "npm": ("IPNPM_NPM", _text, False),
    "debug": ("IPNPM_DEBUG", parse_bool, False),
    "kubo": ("IPNPM_KUBO_API", _kubo, True),
    "gateways": ("IPNPM_GATEWAYS", _gateways, True),
    "seed": ("IPNPM_SEED", parse_bool, True),
    "seed_private": ("IPNPM_SEED_PRIVATE", _scopes, True),
    "jobs": ("IPNPM_JOBS", _jobs, True),
    "indexes": ("IPNPM_INDEXES", _indexes, True),
    "cidlock": ("IPNPM_CIDLOCK", _cidlock, True),
    "pin": ("IPNPM_PIN", parse_bool, True),  # user config only: not in PROJECT_KEYS
}


# Settings keys whose command-line option has another name (one value per option).
_FLAGS = {"gateways": "gateway", "indexes": "index", "seed_private": "seed-private"}


def _defaults(env: Mapping[str, str]) -> dict[str, Any]:
    """The one set of defaults: Settings' own, plus the store, which depends on ``env``."""
    return {key: getattr(Settings(store=Path()), key) for key in _KEYS if key != "store"} | {
        "store": default_store(env)
    }


def _parse(parse: Callable[[str, object], Any], name: str, value: object) -> Any:
    """``parse``, with a value of the wrong type (a number where a list belongs, say) reported
    as the usage error it is, not as a crash."""
    try:
        return parse(name, value)
    except (TypeError, ValueError, AttributeError) as exc:
        raise UsageError(
            f"{name}: {value!r} is not a valid value ({exc})", hint="see docs/configuration.md"
        ) from exc


def _given(value: object) -> bool:
    return value is not None and value != ()


def _file_with(files: tuple[ConfigFile, ...], key: str) -> ConfigFile | None:
    allowed = [f for f in files if key in PROJECT_KEYS or f.kind == "user"]
    return next((f for f in allowed if key in f.values), None)


def resolve(
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    **cli: object,
) -> Settings:
    """Combine command-line values (``None``/empty = not given), the environment, the project
    and user config files, and the defaults."""
    environ = os.environ if env is None else env
    unknown = set(cli) - set(_KEYS)
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}")
    files = tuple(f for f in (project_file(cwd or Path.cwd()), user_file(environ)) if f)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    defaults = _defaults(environ)
    for key, (variable, parse, in_files) in _KEYS.items():
        if _given(cli.get(key)):
            flag = f"--ipnpm-{_FLAGS.get(key, key)}"
            values[key], origins[key] = _parse(parse, flag, cli[key]), "command line"
        elif environ.get(variable, "") != "" or (
            variable in environ and parse in (parse_bool, _scopes)
        ):
            values[key] = _parse(parse, variable, environ[variable])
            origins[key] = f"environment ({variable})"
        elif in_files and (found := _file_with(files, key)):
            values[key] = _parse(parse, f"{key} in {found.path}", found.values[key])
            origins[key] = f"{found.kind} ({found.path})"
        else:
            values[key], origins[key] = defaults[key], "default"
    return Settings(**values, origins=origins, files=files)
