"""``ipnpm ipfs serve``: the registry proxy, long-running, for a team or a CI fleet (the old
``registry-mirror daemon``), with a trustless gateway over the store at ``/ipfs/``.

Auth policy. The registry routes attach the operator's upstream credentials to what they fetch,
so they answer only clients that send the server's token, the way npm sends any registry
token (``//HOST:PORT/:_authToken=…`` in the client's npmrc). The token lives in
``<store>/serve-token``, created 0600 on first start and kept across restarts so that clients
keep working; it is never printed (stdout ends up in CI logs and journals): the announced npmrc
line reads it from ``${IPNPM_SERVE_TOKEN}``. ``--no-auth`` drops the check, and is refused on a
non-loopback address. ``/ipfs/…`` needs the token only for private objects (fetched with a
credential: ``Store.is_private``); with ``--no-auth`` nobody gets those. The rest is public:
content-addressed, and every client verifies what it gets.

Clients only read (proxy/readonly.py): with the operator's credentials attached upstream, a
write would be the operator's.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from ipnpm.clients import is_loopback
from ipnpm.commands.serve_gateway import TrustlessGateway
from ipnpm.errors import ExitCode, IpnpmError, UsageError
from ipnpm.npm.invocation import registry_hosts, replace_registry_host
from ipnpm.npm.locate import find_npm
from ipnpm.proxy.server import Auth, registry_proxy
from ipnpm.run.assemble import open_run
from ipnpm.run.context import RunContext
from ipnpm.settings import Settings

TOKEN_FILE = "serve-token"  # noqa: S105 - the file's name, not a secret
TOKEN_VARIABLE = "IPNPM_SERVE_TOKEN"  # noqa: S105 - the variable clients' npmrc line expands
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port, announced on the first line of stdout
    auth: bool = True
    # Pass clients' writes (publish, tokens, whoami…) upstream as the operator: off, since a
    # token holder would otherwise act as the operator on every upstream registry.
    allow_writes: bool = False
    host_names: tuple[str, ...] = ()  # Host names to answer to besides the bound address


class _Stopped(BaseException):
    """A stop signal arrived. Raised in the main thread by the handler, so that every context
    manager between the signal and ``serve`` unwinds (a BaseException: nothing swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def serve(settings: Settings, options: ServeOptions) -> int:
    """Serve until SIGINT (exit 130), SIGTERM or SIGHUP (exit 0)."""
    if not options.host.strip():
        raise UsageError(
            "--host '' would listen on every interface",
            hint="name the address: --host 127.0.0.1, or --host 0.0.0.0 to mean every one",
        )
    if not options.auth and not is_loopback(options.host):
        raise UsageError(
            f"--no-auth on {options.host} would lend your registry credentials to the network",
            hint="keep the token (the default), or bind --host 127.0.0.1",
        )
    try:
        with _stop_signals():
            _serve(settings, options)
    except _Stopped as stopped:
        if stopped.signum == signal.SIGINT:
            print("ipnpm: interrupted", file=sys.stderr)
            return int(ExitCode.INTERRUPTED)
        print(f"ipnpm: stopped ({signal.Signals(stopped.signum).name})", file=sys.stderr)
    return int(ExitCode.OK)


def _serve(settings: Settings, options: ServeOptions) -> None:
    _cap_malloc_arenas()
    npm = find_npm(settings.npm, os.environ)  # npm knows the registries and credentials
    with (
        open_run(settings, npm, Path.cwd(), command=None, for_project=False) as session,
        contextlib.ExitStack() as stack,
    ):
        token = serve_token(session.store.root) if options.auth else None
        context = _server_context(session, token)
        gateway = TrustlessGateway(context.store, context.log, token)
        try:
            url = stack.enter_context(
                registry_proxy(
                    context,
                    options.host,
                    options.port,
                    auth=_auth(token, options),
                    ipfs_route=gateway,
                )
            )
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}",
                hint="pick another --port (0 picks a free one) or --host",
            ) from exc
        _announce(url, context, token is not None)
        threading.Event().wait()  # until a stop signal raises _Stopped


def _server_context(session: RunContext, token: str | None) -> RunContext:
    # A server answers many projects: no lockfile of the directory it was started in may
    # shape its packuments or CIDs.
    return replace(
        session,
        secret=token or session.secret,
        lockfile=None,
        lockfile_first=False,
        cids=None,
    )


def _auth(token: str | None, options: ServeOptions) -> Auth:
    return Auth(
        required=token is not None,
        refusal="ipnpm ipfs serve: this registry needs its token (ask its operator)",
        read_only=not options.allow_writes,
        host_names=options.host_names,
    )


def serve_token(store_root: Path) -> str:
    """The token in ``<store>/serve-token``, created 0600 on first use."""
    path = store_root / TOKEN_FILE
    if not path.exists():
        _create_token(path)
    mode = path.stat().st_mode
    if mode & 0o077:
        # Like ssh with a private key: a token others can read protects nothing.
        raise IpnpmError(
            f"{path} can be read by other users (mode {mode & 0o777:o})", hint=f"chmod 600 {path}"
        )
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise IpnpmError(f"{path} is empty", hint=f"delete {path}; the next start writes a new one")
    return token


def _create_token(path: Path) -> None:
    # Written whole under a temporary name, then linked into place: a second server starting
    # at the same moment never reads half a token, and the first token written wins.
    partial = path.with_name(f".{TOKEN_FILE}.{secrets.token_hex(4)}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _client_npmrc(url: str, context: RunContext, auth: bool) -> list[str]:
    """What an npm client puts in its npmrc to install through this server."""
    lines = [f"registry={url}"]
    lines += [f"{scope}:registry={url}" for scope in sorted(context.config.scopes)]
    # dist.tarball keeps the upstream's URL (lockfiles must never record this server), so npm
    # must be told to send those URLs here instead.
    replace_host = replace_registry_host(registry_hosts(context.config, ()), False)
    if replace_host:
        lines.append(f"replace-registry-host={replace_host}")
    if auth:
        lines.append(f"//{urlsplit(url).netloc}/:_authToken=${{{TOKEN_VARIABLE}}}")
    return lines


def _announce(url: str, context: RunContext, auth: bool) -> None:
    # The first line is for scripts and tests: they read the URL from it.
    print(f"ipnpm: serving on {url}", flush=True)
    print("ipnpm: npm clients add to their .npmrc:")
    for line in _client_npmrc(url, context, auth):
        print(f"  {line}")
    if auth:
        where = context.store.root / TOKEN_FILE
        print(f"ipnpm: with {TOKEN_VARIABLE} set to the token in {where}")
    print(f"ipnpm: ipnpm clients may also use it as a gateway: --ipnpm-gateway={url.rstrip('/')}")
    print("ipnpm: Ctrl-C or SIGTERM stops it", flush=True)


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """The first stop signal raises _Stopped; a second one, during shutdown, ends at once."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        for other in _STOP_SIGNALS:
            signal.signal(other, _insist)
        raise _Stopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in _STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _insist(signum: int, _frame: FrameType | None) -> None:
    print("ipnpm: stopping now", file=sys.stderr)
    os._exit(128 + signum)


def _cap_malloc_arenas() -> None:
    """Every connection is a new thread, and glibc gives threads their own malloc arenas (up
    to 8 per core), each keeping its peak: under two npm clients the RSS climbed by 20 MB
    before levelling off. The GIL serialises allocation anyway, so two arenas cost nothing
    (measured: +2 MB over the same soak). A no-op where malloc is not glibc's."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 2)
