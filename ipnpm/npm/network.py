"""How npm reaches a registry: whom it trusts, which client certificate it shows, which proxy
it goes through. Computed once from npm's own configuration, applied by ``ipnpm.clients.http``.

npm 11 (``@npmcli/config`` flattening, ``npm-registry-fetch``, ``@npmcli/agent``) decides:

Trust (each rule verified by running npm 11 / node 20 against an HTTPS Verdaccio):
  - ``ca`` (inline PEM, or a list) and ``cafile`` both REPLACE Node's default roots. They write
    one flat option: npm flattens its config layers from lowest to highest (builtin < global <
    user < project < env < cli), so the highest layer that sets either one wins — a user's
    ``ca=…`` beats the global ``cafile=``, and ``ca=null`` in the user npmrc brings the default
    roots back. A ``cafile`` that is empty or missing changes nothing (the lower layer's stays).
  - With ``ca``/``cafile`` in force Node ignores ``NODE_EXTRA_CA_CERTS``; otherwise that file is
    ADDED to the default roots. A ``ca`` without any certificate in it trusts nothing.
  - ``strict-ssl=false`` turns verification off (hostname included); npm always passes it
    explicitly, so ``NODE_TLS_REJECT_UNAUTHORIZED`` changes nothing.

Default roots: Node verifies against its bundled copy of Mozilla's root store, not the OS's.
``certifi`` ships the same Mozilla store, so ipnpm uses it (``DefaultRoots.BUNDLED``) and does
not use the OS store (``truststore``): that trusts whatever the administrator added, more than
npm would, and a registry reachable by ipnpm but not by npm is a bug. Only when Node is told to
use OpenSSL's store (``--use-openssl-ca`` or ``--use-system-ca`` in ``NODE_OPTIONS``) does ipnpm
use OpenSSL's default paths as well.

Client certificates: nerf-darted ``//host[:port]/path/:certfile`` + ``:keyfile`` (both needed,
files read as npm reads them), found by npm's longest-key walk, in which a longer key with any
credential (token, ``_auth``, username) hides a shorter key's certificate; otherwise the
deprecated global ``cert``/``key`` inline PEM.

Proxies (``@npmcli/agent``): one proxy for every URL, ``https-proxy`` or else ``proxy`` (npm
passes ``httpsProxy || proxy``, whatever the URL's scheme); without either, the environment:
``https_proxy`` for https URLs, ``https_proxy`` then ``http_proxy`` then ``proxy`` for http
ones, names matched case-insensitively (the later variable wins when both spellings are set).
``noproxy`` (or else ``no_proxy``) lists domains matched by trailing dot-separated labels:
``example.com`` covers ``a.example.com``; ``*`` and ports mean nothing; ``localhost`` does not
cover ``127.0.0.1``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

from ipnpm.npm.npmrc import expand_env, nerf_dart_entries, parse_npmrc

_CERT_KEYS = ("certfile", "keyfile")
_OTHER_AUTH_KEYS = ("_authToken", "_auth", "username", "_password")
_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
_PROXY_VARIABLES = ("https_proxy", "http_proxy", "proxy", "no_proxy")
DEFAULT_MAXSOCKETS = 15


class DefaultRoots(Enum):
    """Where the default trust comes from when neither ``ca`` nor ``cafile`` is in force."""

    BUNDLED = "bundled"  # Node's bundled Mozilla roots: certifi
    OPENSSL = "openssl"  # node --use-openssl-ca / --use-system-ca: OpenSSL's default paths


@dataclass(frozen=True)
class Trust:
    """Whom TLS connections trust. ``ca`` is not None: exactly those PEM certificates."""

    verify: bool = True  # npm's strict-ssl
    ca: tuple[str, ...] | None = None  # from `ca` or `cafile`; replaces the default roots
    ca_setting: str | None = None  # "cafile=/path" or "ca": which npm setting gave `ca`
    extra_ca_file: str | None = None  # NODE_EXTRA_CA_CERTS, only when `ca` is None
    default_roots: DefaultRoots = DefaultRoots.BUNDLED


@dataclass(frozen=True)
class ClientCert:
    """A client certificate and its private key, PEM text as npm passes them to Node."""

    cert: str
    key: str
    setting: str  # "//host/:certfile" or "cert/key": for messages

    def __repr__(self) -> str:
        return f"ClientCert({self.setting}, key=<redacted>)"


@dataclass(frozen=True)
class ProxyChoice:
    url: str
    setting: str  # the npm setting or variable it came from, for messages: "https-proxy"


@dataclass(frozen=True)
class NetworkSettings:
    """npm's network behaviour for upstream requests. The default is npm's default."""

    trust: Trust = field(default_factory=Trust)
    client_cert: ClientCert | None = None  # global `cert`/`key`
    dart_certs: Mapping[str, ClientCert] = field(default_factory=dict)  # "//h:p/path/" ->
    dart_auth: frozenset[str] = frozenset()  # darts with another credential (hides certs)
    registries: tuple[str, ...] = ()  # npm falls back to a same-host registry's dart
    proxy: ProxyChoice | None = None  # https-proxy or proxy
    env_proxies: Mapping[str, ProxyChoice] = field(default_factory=dict)  # "https_proxy" ->
    noproxy: tuple[str, ...] = ()  # npm's noproxy, or else NO_PROXY
    noproxy_setting: str = "noproxy"
    maxsockets: int = DEFAULT_MAXSOCKETS
    fetch_timeout: float = 300.0  # npm's fetch-timeout, in seconds (npm's default: 5 minutes)

    def proxy_for(self, url: str) -> ProxyChoice | None:
        """The proxy npm would send ``url`` through (None: direct), as @npmcli/agent does."""
        parts = urlsplit(url)
        proxy = self.proxy
        if proxy is None:
            order = ("https_proxy",) if parts.scheme == "https" else _PROXY_VARIABLES[:3]
            proxy = next((self.env_proxies[n] for n in order if n in self.env_proxies), None)
        if proxy is None or is_no_proxy(parts.hostname or "", self.noproxy):
            return None
        return proxy

    def client_cert_for(self, url: str) -> ClientCert | None:
        """The client certificate npm would present for ``url``."""
        dart = _longest_dart(url, self.dart_certs.keys() | self.dart_auth)
        if dart is None:
            host = urlsplit(url).netloc
            same_host = (r for r in self.registries if urlsplit(r).netloc == host and r != url)
            dart = next((d for r in same_host if (d := self._dart_of(r))), None)
        if dart is not None:
            return self.dart_certs.get(dart)
        return self.client_cert

    def _dart_of(self, url: str) -> str | None:
        return _longest_dart(url, self.dart_certs.keys() | self.dart_auth)


def is_no_proxy(hostname: str, noproxy: Iterable[str]) -> bool:
    """@npmcli/agent's ``isNoProxy``: an entry matches the host's trailing dot labels."""
    host_labels = hostname.split(".")[::-1]
    for entry in noproxy:
        labels = [label for label in entry.split(".") if label][::-1]
        if labels and host_labels[: len(labels)] == labels:
            return True
    return False


def _longest_dart(url: str, darts: Iterable[str]) -> str | None:
    # npm-registry-fetch's regFromURI: from //host/path/file strip either the last segment
    # or the trailing slash, so both //h/a/ and //h/a are tried, longest first.
    known = set(darts)
    parts = urlsplit(url)
    key = f"//{parts.netloc}{parts.path}"
    while len(key) > 2:
        if key in known:
            return key
        key = re.sub(r"([^/]+|/)$", "", key)
    return None


def network_from(
    values: Mapping[str, object],
    env: Mapping[str, str],
    npmrc_files: Sequence[Path],
    cwd: Path,
) -> NetworkSettings:
    """npm's network settings from ``npm config ls --json`` values, the environment and the
    npmrc files (lowest precedence first: global, user, project)."""
    darted = nerf_dart_entries(npmrc_files, env, _CERT_KEYS + _OTHER_AUTH_KEYS)
    certs = _dart_certs(darted)
    noproxy, noproxy_setting = _noproxy(values, env)
    return NetworkSettings(
        trust=_trust(values, env, npmrc_files, cwd),
        client_cert=_global_cert(values),
        dart_certs=certs,
        dart_auth=frozenset(_darts_with_auth(darted)),
        registries=_registries(values),
        proxy=_config_proxy(values),
        env_proxies=_env_proxies(env),
        noproxy=noproxy,
        noproxy_setting=noproxy_setting,
        maxsockets=_int(values.get("maxsockets"), DEFAULT_MAXSOCKETS),
        fetch_timeout=_int(values.get("fetch-timeout"), 300_000) / 1000,
    )


# -- trust -------------------------------------------------------------------------------


def _trust(
    values: Mapping[str, object], env: Mapping[str, str], files: Sequence[Path], cwd: Path
) -> Trust:
    verify = values.get("strict-ssl") is not False
    roots = _default_roots(env)
    winner = _ca_winner(values, env, files, cwd)
    if winner is not None:
        setting, pems = winner
        return Trust(verify, pems, setting, None, roots)
    extra = env.get("NODE_EXTRA_CA_CERTS") or None
    return Trust(verify, None, None, extra, roots)


def _default_roots(env: Mapping[str, str]) -> DefaultRoots:
    options = env.get("NODE_OPTIONS", "").split()
    if {"--use-openssl-ca", "--use-system-ca"} & set(options):
        return DefaultRoots.OPENSSL
    return DefaultRoots.BUNDLED


def _ca_winner(
    values: Mapping[str, object], env: Mapping[str, str], files: Sequence[Path], cwd: Path
) -> tuple[str, tuple[str, ...] | None] | None:
    """The last ``ca``/``cafile`` assignment across npm's layers that changes the trust.

    Returns (setting, PEMs); PEMs None means ``ca=null`` there: default roots again.
    """
    found: tuple[str, tuple[str, ...] | None] | None = None
    for key, raw in _ca_assignments(env, files):
        if key == "cafile":
            path = _resolve_path(raw, env, cwd)
            pems = _read_cafile(path) if path else None
            if pems is not None:  # empty or unreadable: npm keeps the lower layer's trust
                found = (f"cafile={path}", pems)
        else:
            # The value npm parsed (quotes, "\n" escapes, ca[] lists) is the effective one,
            # and the winning layer's `ca` is by construction the highest one.
            found = ("ca", _ca_pems(values.get("ca")))
    if found is None and values.get("ca") is not None:  # set where we cannot see (cli)
        found = ("ca", _ca_pems(values.get("ca")))
    if found is None or (found[0] == "ca" and found[1] is None):
        return None
    return found


def _ca_assignments(env: Mapping[str, str], files: Sequence[Path]) -> list[tuple[str, str]]:
    assignments: list[tuple[str, str]] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue  # the credential loader reports unreadable npmrc files
        for key, value in parse_npmrc(text).items():
            if key in ("ca", "ca[]", "cafile"):
                assignments.append((key.removesuffix("[]"), value))
    for name, value in env.items():
        key = name.lower().removeprefix("npm_config_")
        if name.lower().startswith("npm_config_") and key in ("ca", "cafile"):
            assignments.append((key, value))
    return assignments


def _resolve_path(raw: str, env: Mapping[str, str], cwd: Path) -> Path | None:
    value = expand_env(raw, env, "cafile") if raw else ""
    if not value:
        return None
    if value.startswith("~/") and env.get("HOME"):
        value = env["HOME"] + value[1:]
    return cwd / value if not os.path.isabs(value) else Path(value)


def _read_cafile(path: Path) -> tuple[str, ...] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    return tuple(_PEM_CERT.findall(text.replace("\r\n", "\n"))) if text else None


def _ca_pems(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    return tuple(pem for item in items for pem in _PEM_CERT.findall(str(item)))


# -- client certificates -------------------------------------------------------------------


def _global_cert(values: Mapping[str, object]) -> ClientCert | None:
    cert, key = values.get("cert"), values.get("key")
    if isinstance(cert, str) and isinstance(key, str) and cert and key:
        return ClientCert(cert, key, "cert/key")
    return None


def _dart_certs(darted: Mapping[str, str]) -> dict[str, ClientCert]:
    certs: dict[str, ClientCert] = {}
    for name, certfile in darted.items():
        dart, _, suffix = name.rpartition(":")
        keyfile = darted.get(f"{dart}:keyfile")
        if suffix != "certfile" or not certfile or not keyfile:
            continue
        cert_text, key_text = _read_optional(certfile), _read_optional(keyfile)
        if cert_text and key_text:  # npm ignores a pair it cannot read
            certs[dart] = ClientCert(cert_text, key_text, f"{dart}:certfile")
    return certs


def _darts_with_auth(darted: Mapping[str, str]) -> set[str]:
    def has(dart: str, suffix: str) -> bool:
        return bool(darted.get(f"{dart}:{suffix}"))

    darts = {name.rpartition(":")[0] for name in darted}
    return {
        d
        for d in darts
        if has(d, "_authToken")
        or has(d, "_auth")
        or (has(d, "username") and has(d, "_password"))
        or (has(d, "certfile") and has(d, "keyfile"))
    }


def _read_optional(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _registries(values: Mapping[str, object]) -> tuple[str, ...]:
    scoped = [str(v) for k, v in values.items() if k.endswith(":registry") and v]
    return tuple(str(r) for r in [values.get("registry"), *scoped] if r)


# -- proxies ---------------------------------------------------------------------------------


def _config_proxy(values: Mapping[str, object]) -> ProxyChoice | None:
    for setting in ("https-proxy", "proxy"):
        value = values.get(setting)
        if isinstance(value, str) and value:  # `proxy=false` is falsy: the env still applies
            return ProxyChoice(value, setting)
    return None


def _env_proxies(env: Mapping[str, str]) -> dict[str, ProxyChoice]:
    found: dict[str, ProxyChoice] = {}
    for name, value in env.items():  # @npmcli/agent: the later spelling overwrites
        if name.lower() in _PROXY_VARIABLES[:3]:
            found[name.lower()] = ProxyChoice(value, name)
    return {key: choice for key, choice in found.items() if choice.url}


def _noproxy(values: Mapping[str, object], env: Mapping[str, str]) -> tuple[tuple[str, ...], str]:
    configured = values.get("noproxy")
    items = configured if isinstance(configured, list) else [configured or ""]
    joined = ",".join(str(item) for item in items if item)
    setting = "noproxy"
    if not joined:
        named = [(n, v) for n, v in env.items() if n.lower() == "no_proxy"]
        setting, joined = named[-1] if named else ("noproxy", "")
    return tuple(p.strip() for p in joined.split(",") if p.strip()), setting


def _int(value: object, default: int) -> int:
    try:
        return int(str(value)) if value not in (None, "") else default
    except ValueError:
        return default
