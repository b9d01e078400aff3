"""The npm command line ipnpm runs: the user's arguments untouched, plus the flags that route
every registry request through the proxy. Secrets go in the environment, never in argv."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from ipnpm.npm.argv import parse
from ipnpm.npm.config import NpmConfig

_TERMINATOR = re.compile("-{2,}")  # nopt ends options at `--` (and `---`…)


def replace_registry_host(hosts: Iterable[str], has_foreign_urls: bool) -> str | None:
    """The ``--replace-registry-host`` value that sends every registry tarball to the proxy.

    npm compares ``host:port`` exactly in its fetcher and the hostname in its tree builder; an
    exact ``host[:port]`` works in both. ``always`` would also rewrite git and plain-URL
    dependencies (breaking them), so it is used only when no such dependency exists.
    """
    distinct = sorted(set(hosts))
    if not distinct:
        return None
    if len(distinct) == 1:
        return distinct[0]
    return None if has_foreign_urls else "always"


def registry_hosts(config: NpmConfig, lockfile_hosts: Iterable[str]) -> set[str]:
    """Hosts whose tarball URLs npm may request: the lockfile's and the upstreams' own."""
    return {urlsplit(url).netloc for url in config.upstreams()} | set(lockfile_hosts)


def npm_argv(
    npm: str,
    args: Sequence[str],
    *,
    proxy_url: str,
    config: NpmConfig,
    replace_host: str | None,
    no_proxy: Sequence[str],
) -> list[str]:
    """``npm <command> <ipnpm's flags> <the user's arguments>``.

    The flags go right after the command word so that a ``--`` in the user's arguments (for
    ``npm exec -- cmd``) cannot turn them into arguments of something else; the command word is
    found as npm finds it (``npm --prefix sub install``: after ``install``, not ``sub``), and
    when it follows a ``--`` (``npm -- install``) the flags go before that.
    """
    flags = [f"--registry={proxy_url}"]
    flags += [f"--{scope}:registry={proxy_url}" for scope in sorted(config.scopes)]
    if replace_host:
        flags.append(f"--replace-registry-host={replace_host}")
    # npm sends even loopback requests through HTTP(S)_PROXY unless noproxy names 127.0.0.1.
    exempt = [item for item in no_proxy if item] + ["127.0.0.1"]
    flags.append(f"--noproxy={','.join(dict.fromkeys(exempt))}")
    position = _flags_position(args)
    return [npm, *args[:position], *flags, *args[position:]]


def _flags_position(args: Sequence[str]) -> int:
    index = parse(args).command_index
    position = len(args) if index is None else index + 1
    terminator = next((i for i, arg in enumerate(args) if _TERMINATOR.fullmatch(arg)), position)
    return min(position, terminator)


def child_env(env: Mapping[str, str], proxy_url: str, secret: str) -> dict[str, str]:
    """npm's environment: the user's, plus the per-run secret npm sends to the proxy."""
    netloc = urlsplit(proxy_url).netloc
    return {**env, f"npm_config_//{netloc}/:_authToken": secret}


def redacted(argv: Sequence[str]) -> str:
    """argv for a debug log line. ipnpm puts no secret in argv, but a user's argument may."""
    masked = []
    for arg in argv:
        key, sep, _ = arg.partition("=")
        secret = any(word in key.lower() for word in ("token", "auth", "password", "otp"))
        masked.append(f"{key}=***" if sep and secret else arg)
    return " ".join(masked)
