"""The npm command line ipnpm runs: the user's arguments untouched, plus the flags that route
every registry request through the proxy; and the per-run userconfig that carries the same
routing, and the per-run secret, to every npm started below it. Secrets never go in argv."""

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


def url_spec_hosts(specs: Iterable[str]) -> set[str]:
    """``host:port`` of every dependency given as a tarball URL. npm applies
    replace-registry-host to those too and then records the proxy's URL as ``resolved``, so a
    host that serves such a dependency must not be replaced."""
    hosts = set()
    for spec in specs:
        # "http://…" in package.json; "name@http://…" or a bare URL on the command line.
        target = spec[spec.index("@http") + 1 :] if "@http" in spec else spec
        if target.startswith(("http://", "https://")):
            hosts.add(urlsplit(target).netloc)
    return hosts


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
    front: bool = False,
) -> list[str]:
    """``npm <command> <ipnpm's flags> <the user's arguments>``; with ``front``, the flags come
    first (npx: its own argument parser keeps ``--key=value`` before the package for npm).

    The flags go right after the command word so that a ``--`` in the user's arguments (for
    ``npm exec -- cmd``) cannot turn them into arguments of something else; the command word is
    found as npm finds it (``npm --prefix sub install``: after ``install``, not ``sub``), and
    when it follows a ``--`` (``npm -- install``) the flags go before that.
    """
    flags = [f"--registry={proxy_url}"]
    flags += [f"--{scope}:registry={proxy_url}" for scope in sorted(config.scopes)]
    if replace_host:
        flags.append(f"--replace-registry-host={replace_host}")
    flags.append(f"--noproxy={','.join(_exempt(no_proxy))}")
    if config.offline:
        # offline=true from an npmrc: ipnpm is offline instead, and npm must talk to it (an
        # offline npm asks nobody, and its cache does not know this run's proxy URL).
        flags.append("--offline=false")
    position = 0 if front else _flags_position(args)
    return [npm, *args[:position], *flags, *args[position:]]


def _flags_position(args: Sequence[str]) -> int:
    index = parse(args).command_index
    position = len(args) if index is None else index + 1
    terminator = next((i for i, arg in enumerate(args) if _TERMINATOR.fullmatch(arg)), position)
    return min(position, terminator)


def run_npmrc(
    user_npmrc: str,
    *,
    proxy_url: str,
    config: NpmConfig,
    secret: str,
    replace_host: str | None,
    no_proxy: Sequence[str],
) -> str:
    """The userconfig of one run: the user's own npmrc, then the lines that route through the
    proxy and carry the per-run secret (later lines win in an npmrc).

    npm itself gets the routing as command-line flags too (they beat a project's .npmrc). This
    file is for the npm processes that npm's children start (postinstall scripts, initializers,
    ``npm exec -c``): they go through ``/bin/sh``, and dash drops every environment variable
    whose name has a ``/`` or ``:``, such as ``npm_config_//127.0.0.1:PORT/:_authToken``.
    ``npm_config_userconfig`` survives any shell, and npm reads the secret from the file.
    """
    netloc = urlsplit(proxy_url).netloc
    lines = [
        "; written by ipnpm for one run: the user's npmrc above, the run's proxy below",
        f"registry={proxy_url}",
        *(f"{scope}:registry={proxy_url}" for scope in sorted(config.scopes)),
        f"//{netloc}/:_authToken={secret}",
        f"noproxy={','.join(_exempt(no_proxy))}",
    ]
    if replace_host:
        lines.append(f"replace-registry-host={replace_host}")
    if config.offline:
        lines.append("offline=false")
    head = user_npmrc if not user_npmrc or user_npmrc.endswith("\n") else user_npmrc + "\n"
    return head + "\n".join(lines) + "\n"


def child_env(env: Mapping[str, str], userconfig: str) -> dict[str, str]:
    """npm's environment: the user's, with the run's userconfig in place of theirs (npm reads
    ``npm_config_*`` case-insensitively, so every spelling of the old one goes)."""
    kept = {k: v for k, v in env.items() if k.lower() != "npm_config_userconfig"}
    return {**kept, "npm_config_userconfig": userconfig}


def _exempt(no_proxy: Sequence[str]) -> list[str]:
    # npm sends even loopback requests through HTTP(S)_PROXY unless noproxy names 127.0.0.1.
    return list(dict.fromkeys([item for item in no_proxy if item] + ["127.0.0.1"]))


def redacted(argv: Sequence[str]) -> str:
    """argv for a debug log line. ipnpm puts no secret in argv, but a user's argument may."""
    masked = []
    for arg in argv:
        key, sep, _ = arg.partition("=")
        secret = any(word in key.lower() for word in ("token", "auth", "password", "otp"))
        masked.append(f"{key}=***" if sep and secret else arg)
    return " ".join(masked)
