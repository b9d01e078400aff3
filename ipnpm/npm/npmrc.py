"""Read upstream credentials from npmrc files and ``npm_config_*`` variables.

``npm config ls --json`` never shows tokens, so ipnpm parses the npmrc files itself. Credentials
are "nerf-darted": keyed by ``//host[:port]/path/``. They are kept in memory only and attached
by the proxy to upstream requests; they never reach argv, a log line or a file.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ipnpm.errors import NpmConfigError

_ENV_REF = re.compile(r"(?<!\\)\$\{([^}?]+)(\?)?\}")
_AUTH_KEYS = ("_authToken", "_auth", "username", "_password")


@dataclass(frozen=True)
class Credential:
    """An Authorization header value for one upstream. ``repr`` never shows the secret."""

    header: str

    def __repr__(self) -> str:
        return "Credential(<redacted>)"


def expand_env(value: str, env: Mapping[str, str], where: str) -> str:
    """Expand ``${VAR}`` as npm does; ``${VAR?}`` expands to empty when VAR is unset."""

    def replace(match: re.Match[str]) -> str:
        name, optional = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if optional:
            return ""
        raise NpmConfigError(
            f"{where} uses ${{{name}}} but {name} is not set",
            hint=f"export {name}, or remove the reference from {where}",
        )

    return _ENV_REF.sub(replace, value)


def parse_npmrc(text: str) -> dict[str, str]:
    """Parse npmrc ini text into raw ``key -> value`` (no expansion)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or line.startswith("["):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _auth_entries(
    files: Iterable[Path], env: Mapping[str, str], suffixes: Iterable[str] = _AUTH_KEYS
) -> dict[str, str]:
    """Nerf-darted auth keys, later sources overriding earlier ones (npm's precedence)."""
    wanted = frozenset(suffixes)
    entries: dict[str, str] = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise NpmConfigError(
                f"cannot read the npmrc {path}: {exc.strerror}",
                hint="make it a readable file, or point NPM_CONFIG_USERCONFIG / --userconfig "
                "at one",
            ) from exc
        for key, value in parse_npmrc(text).items():
            if key.startswith("//") and key.rsplit(":", 1)[-1] in wanted:
                entries[key] = expand_env(value, env, str(path))
    for name, value in env.items():
        if name.lower().startswith("npm_config_//"):
            key = name[len("npm_config_") :]
            if key.rsplit(":", 1)[-1] in wanted:
                entries[key] = value
    return entries


def nerf_dart_entries(
    files: Iterable[Path], env: Mapping[str, str], suffixes: Iterable[str]
) -> dict[str, str]:
    """``//host[:port]/path/:<suffix>`` keys from the npmrc files and ``npm_config_//…``
    variables, ``${VAR}`` expanded, later sources winning (e.g. ``certfile``, ``keyfile``)."""
    return _auth_entries(files, env, suffixes)


def nerf_dart(url: str) -> str:
    """``https://host:port/path/x`` -> ``//host:port/path/`` (npm's key form)."""
    parts = urlsplit(url)
    path = parts.path if parts.path.endswith("/") else parts.path.rsplit("/", 1)[0] + "/"
    return f"//{parts.netloc}{path}"


@dataclass(frozen=True)
class CredentialBook:
    """All configured upstream credentials, looked up by URL like npm does."""

    _entries: Mapping[str, str]

    @classmethod
    def load(cls, files: Iterable[Path], env: Mapping[str, str]) -> CredentialBook:
        return cls(_auth_entries(files, env))

    def for_url(self, url: str) -> Credential | None:
        """The credential of the longest nerf-dart prefix of ``url``, if any."""
        dart = nerf_dart(url)
        while True:
            found = self._for_dart(dart)
            if found is not None:
                return found
            if dart.count("/") <= 3:
                return None
            dart = dart[: dart.rstrip("/").rfind("/") + 1]

    def _for_dart(self, dart: str) -> Credential | None:
        token = self._entries.get(f"{dart}:_authToken")
        if token:
            return Credential(f"Bearer {token}")
        basic = self._entries.get(f"{dart}:_auth")
        if basic:
            return Credential(f"Basic {basic}")
        user = self._entries.get(f"{dart}:username")
        password = self._entries.get(f"{dart}:_password")
        if user and password:
            plain = base64.b64decode(password).decode("utf-8", "replace")
            pair = base64.b64encode(f"{user}:{plain}".encode()).decode()
            return Credential(f"Basic {pair}")
        return None

    def __repr__(self) -> str:
        return f"CredentialBook(<{len(self._entries)} redacted entries>)"
