"""Resolve ipnpm's configuration in one place: CLI > IPNPM_* environment > defaults.

Each value remembers where it came from so that diagnostics can say why it has the value it has.
The environment is read when ``resolve`` is called, never at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ipnpm.errors import UsageError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


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
    jobs: int = 8  # parallel prefetch workers
    origins: Mapping[str, str] = field(default_factory=dict)


def default_store(env: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/ipnpm``, else ``~/.cache/ipnpm``, as other XDG-aware tools do."""
    cache_home = env.get("XDG_CACHE_HOME")
    base = Path(cache_home) if cache_home else Path(env.get("HOME", "~")).expanduser() / ".cache"
    return base / "ipnpm"


def parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise UsageError(
        f"{name}={text!r} is not a yes/no value",
        hint=f"set {name} to one of 1, true, yes, on, 0, false, no, off",
    )


def resolve(
    *,
    store: str | None = None,
    offline: bool | None = None,
    npm: str | None = None,
    debug: bool | None = None,
    kubo: str | None = None,
    gateways: tuple[str, ...] = (),
    seed: bool | None = None,
    jobs: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Combine command-line values (``None`` = not given) with the environment and defaults."""
    environ = os.environ if env is None else env
    origins: dict[str, str] = {}

    def pick_text(key: str, cli_value: str | None, env_name: str) -> str | None:
        if cli_value is not None:
            origins[key] = "command line"
            return cli_value
        if environ.get(env_name):
            origins[key] = f"environment ({env_name})"
            return environ[env_name]
        origins[key] = "default"
        return None

    def pick_flag(key: str, cli_value: bool | None, env_name: str, default: bool = False) -> bool:
        if cli_value is not None:
            origins[key] = "command line"
            return cli_value
        if env_name in environ:
            origins[key] = f"environment ({env_name})"
            return parse_bool(env_name, environ[env_name])
        origins[key] = "default"
        return default

    def pick_list(key: str, cli_value: tuple[str, ...], env_name: str) -> tuple[str, ...]:
        if cli_value:
            origins[key] = "command line"
            return cli_value
        if environ.get(env_name):
            origins[key] = f"environment ({env_name})"
            return tuple(item.strip() for item in environ[env_name].split(",") if item.strip())
        origins[key] = "default"
        return ()

    store_text = pick_text("store", store, "IPNPM_STORE")
    return Settings(
        store=Path(store_text).expanduser() if store_text else default_store(environ),
        offline=pick_flag("offline", offline, "IPNPM_OFFLINE"),
        npm=pick_text("npm", npm, "IPNPM_NPM"),
        debug=pick_flag("debug", debug, "IPNPM_DEBUG"),
        kubo=_kubo_setting(pick_text("kubo", kubo, "IPNPM_KUBO_API")),
        gateways=tuple(
            _http_url("--gateway", url) for url in pick_list("gateways", gateways, "IPNPM_GATEWAYS")
        ),
        seed=pick_flag("seed", seed, "IPNPM_SEED", default=True),
        jobs=_jobs(pick_text("jobs", None if jobs is None else str(jobs), "IPNPM_JOBS")),
        origins=origins,
    )


def _http_url(option: str, text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise UsageError(
            f"{option} {text!r} is not an http(s) URL",
            hint=f"give {option} as http://HOST:PORT (use 127.0.0.1, not localhost, for Kubo)",
        )
    return text.rstrip("/")


def _kubo_setting(text: str | None) -> str:
    if text is None or text in ("auto", "off"):
        return text or "auto"
    return _http_url("--kubo", text)


def _jobs(text: str | None) -> int:
    if text is None:
        # Fetching is latency-bound, not CPU-bound: a few workers per core, capped near
        # npm's own 15 sockets per host times a couple of sources.
        return max(8, min(32, 4 * (os.cpu_count() or 2)))
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise UsageError(f"jobs {text!r} is not a number from 1 to 256", hint="e.g. --jobs 16")
    return int(text)
