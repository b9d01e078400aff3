"""The user's effective npm configuration, as npm itself computes it.

ipnpm asks npm (``npm config ls --json``) rather than re-implementing npm's precedence rules
(default < builtin < global < user < project < env < cli), then reads the npmrc files for the
credentials that npm never prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ipnpm.npm.config_ls import config_values
from ipnpm.npm.network import NetworkSettings, network_from
from ipnpm.npm.npmrc import CredentialBook


@dataclass(frozen=True)
class NpmConfig:
    """The registry-related part of npm's effective configuration."""

    registry: str
    scopes: Mapping[str, str] = field(default_factory=dict)  # "@acme" -> registry URL
    proxy: str | None = None
    https_proxy: str | None = None
    noproxy: tuple[str, ...] = ()
    cache: Path | None = None
    userconfig: Path | None = None  # the user's npmrc, as npm resolved it
    loglevel: str = "notice"
    offline: bool = False  # npm's own offline=true (npmrc, npm_config_offline)
    credentials: CredentialBook = field(default_factory=lambda: CredentialBook({}))
    network: NetworkSettings = field(default_factory=NetworkSettings)  # TLS, proxies

    def registry_for(self, package: str) -> str:
        """The upstream registry npm would use for ``package`` (scoped routing)."""
        if package.startswith("@"):
            scope = package.split("/", 1)[0]
            return self.scopes.get(scope, self.registry)
        return self.registry

    def upstreams(self) -> list[str]:
        return [self.registry, *self.scopes.values()]


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def project_root(cwd: Path) -> Path:
    """npm's local prefix: the nearest directory with package.json or node_modules."""
    for directory in (cwd, *cwd.parents):
        if (directory / "package.json").exists() or (directory / "node_modules").is_dir():
            return directory
    return cwd


def _noproxy(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def read_npm_config(npm: str, cwd: Path, env: Mapping[str, str]) -> NpmConfig:
    """Ask ``npm`` for its effective configuration in ``cwd`` and load credentials."""
    return config_from_values(config_values(npm, cwd, env), cwd, env)


def config_from_values(
    values: Mapping[str, object], cwd: Path, env: Mapping[str, str]
) -> NpmConfig:
    npmrc_files: Sequence[Path] = [
        Path(str(values.get("globalconfig") or "/nonexistent")),
        Path(str(values.get("userconfig") or "/nonexistent")),
        project_root(cwd) / ".npmrc",
    ]
    scopes = {
        key.split(":", 1)[0]: _with_slash(str(value))
        for key, value in values.items()
        if key.startswith("@") and key.endswith(":registry") and value
    }
    cache = values.get("cache")
    return NpmConfig(
        registry=_with_slash(str(values.get("registry") or "")),
        scopes=scopes,
        proxy=str(values["proxy"]) if values.get("proxy") else None,
        https_proxy=str(values["https-proxy"]) if values.get("https-proxy") else None,
        noproxy=_noproxy(values.get("noproxy")),
        cache=Path(str(cache)) if cache else None,
        userconfig=Path(str(values["userconfig"])) if values.get("userconfig") else None,
        loglevel=str(values.get("loglevel") or "notice"),
        offline=values.get("offline") is True,
        credentials=CredentialBook.load(npmrc_files, env),
        network=network_from(values, env, npmrc_files, cwd),
    )
