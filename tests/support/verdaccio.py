"""A real Verdaccio on a loopback port: the upstream registry of the integration tests.

    with running_verdaccio(tmp_path, private_scopes=("@acme",)) as registry:
        token = registry.add_user("acme-dev", "pw")
        registry.publish(package_dir, token)
        ...
        assert registry.tarball_gets(since=mark) == [...]

Verdaccio has no uplinks here, so it never leaves the machine: it serves exactly what the
tests published into its storage. The one exception is `uplink=`, used only to fill the corpus
cache once (tests/support/corpus.py): then Verdaccio proxies every package to that registry.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from tests.support.npm_env import clean_environ
from tests.support.tls import Pki

VERDACCIO_VERSION = "5.33.0"
REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-verdaccio.sh"
PLUGINS_DIR = Path(__file__).resolve().with_name("verdaccio-plugins")

START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
NPM_TIMEOUT = 180.0
# Our own readiness probes carry this query so that requests() can leave them out (a test
# counting what npm asked for must not see the harness's polling), and a token unique to each
# launch, so that a probe answered by some other server on a contested port does not count.
_READINESS_PATH = "/-/ping?ipnpm-tests-readiness="
_UPLINK_NAME = "npmjs"  # Verdaccio's conventional name; only a label, never a host


class VerdaccioError(RuntimeError):
    """Verdaccio could not be installed, started, or asked to do something."""


class Request(NamedTuple):
    """One HTTP request as Verdaccio saw it: compares equal to (method, path, status)."""

    method: str
    path: str  # as sent, query string and %-escapes included: scoped names are /@scope%2fname
    status: int | None  # None: no response yet, or the server was stopped before it answered


def tools_dir() -> Path:
    return Path(os.environ.get("IPNPM_TOOLS_DIR") or Path.home() / ".cache" / "ipnpm-tools")


def verdaccio_bin() -> Path:
    """The Verdaccio executable, installed on first use so no test ever skips for want of it."""
    candidate = tools_dir() / f"verdaccio-{VERDACCIO_VERSION}/node_modules/.bin/verdaccio"
    if candidate.exists():
        return candidate
    result = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        raise VerdaccioError(f"{INSTALL_SCRIPT} failed:\n{result.stdout}\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    # A small race remains between closing this socket and Verdaccio binding the port;
    # start() retries with another port when that race is lost.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Verdaccio:
    """One Verdaccio process whose storage and port outlive stop() and start()."""

    def __init__(
        self,
        workdir: Path,
        *,
        private_scopes: tuple[str, ...] = (),
        uplink: str | None = None,
        uplink_settings: Mapping[str, object] | None = None,
        https: Pki | None = None,
    ) -> None:
        self.workdir = workdir
        self.https = https  # serve HTTPS with this PKI's server certificate
        self.private_scopes = private_scopes
        # A registry URL to proxy '**' to (None: no uplinks, the tests' default), and more keys
        # for that uplink's entry (proxies, timeouts) overriding the defaults in _uplinks().
        self.uplink = uplink
        self.uplink_settings = dict(uplink_settings or {})
        self.log_path = workdir / "verdaccio.log"  # Verdaccio's own JSON lines, level http
        self.requests_log_path = workdir / "requests.jsonl"  # one line per request start/end
        self.tokens: dict[str, str] = {}  # user name -> token, filled by add_user()
        self.startup_seconds: float | None = None
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- addresses ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise VerdaccioError("Verdaccio has not been started yet")
        return self._port

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def scheme(self) -> str:
        return "http" if self.https is None else "https"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}/"

    # -- lifetime ------------------------------------------------------------------------

    def start(self) -> None:
        """Start, on a fresh free port the first time and on the same port after stop()."""
        if self._process is not None:
            return
        binary = verdaccio_bin()
        if self._port is not None:
            try:
                self._launch(binary, self._port)  # clients and lockfiles know this address
            except _PortTaken:
                raise VerdaccioError(f"port {self._port} was taken while stopped") from None
            return
        for _ in range(3):
            try:
                self._launch(binary, free_port())
                return
            except _PortTaken:
                self._port = None  # lost the race for that port to someone else: pick another
        raise VerdaccioError("could not find a free port for Verdaccio")

    def stop(self) -> None:
        """Terminate politely, then kill: a test must never leave a registry behind."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Take the registry away for the body of the with block (to prove offline work)."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def _launch(self, binary: Path, port: int) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.yaml"
        config.write_text(json.dumps(self._config(port), indent=2))  # JSON is valid YAML
        output = self.workdir / "verdaccio.out"
        # Where this launch's words start: stdout for node's own errors, the JSON log for
        # Verdaccio's fatal ones (a port in use is reported only there).
        marks = {path: _size(path) for path in (output, self.log_path)}
        began = time.monotonic()
        with output.open("ab") as out:
            self._process = subprocess.Popen(
                [str(binary), "--config", str(config), "--listen", self._listen(port)],
                cwd=self.workdir,
                env=clean_environ(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - tests start servers single-threaded
            )
        self._port = port
        try:
            self._wait_ready(marks)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def _wait_ready(self, marks: dict[Path, int]) -> None:
        assert self._process is not None
        probe = f"{_READINESS_PATH}{uuid.uuid4().hex}"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                said = "".join(_text_since(path, start) for path, start in marks.items())[-3000:]
                if "EADDRINUSE" in said:
                    raise _PortTaken(said)
                raise VerdaccioError(f"Verdaccio exited with {self._process.returncode}:\n{said}")
            if self._ping(probe) and self._logged(probe):
                return
            time.sleep(0.02)
        raise VerdaccioError(f"Verdaccio did not answer {_READINESS_PATH} in {START_TIMEOUT}s")

    def _listen(self, port: int) -> str:
        return f"{self.scheme}://127.0.0.1:{port}" if self.https else f"127.0.0.1:{port}"

    def _ping(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(
                f"{self.url}{path[1:]}", timeout=1, context=self._client_context()
            ) as response:
                return bool(response.status == 200)
        except OSError:  # refused while starting; URLError and timeouts are OSErrors too
            return False

    def _logged(self, path: str) -> bool:
        # The plugin writes a request's line before the response, so our probe is there.
        log = self.requests_log_path
        return log.exists() and path in log.read_text()

    def _config(self, port: int) -> dict[str, object]:
        everyone = {"access": "$all", "publish": "$all", "unpublish": "$all"}
        members = {"access": "$authenticated", "publish": "$authenticated"}
        if self.uplink is not None:
            everyone = everyone | {"proxy": _UPLINK_NAME}
        # The first matching pattern wins, so the private scopes go before '**'.
        packages = {f"{scope}/*": members for scope in self.private_scopes} | {"**": everyone}
        return {
            "storage": str(self.workdir / "storage"),
            "plugins": str(PLUGINS_DIR),
            # bcrypt at its cheapest: legacy tokens are re-checked against htpasswd on every
            # request, and the default 10 rounds would cost tens of ms each.
            "auth": {
                "htpasswd": {
                    "file": str(self.workdir / "htpasswd"),
                    "max_users": 100,
                    "algorithm": "bcrypt",
                    "rounds": 4,
                }
            },
            "uplinks": self._uplinks(),
            "packages": packages,
            "publish": {"allow_offline": True},
            # No audit middleware (it would forward to the public registry), no web UI.
            "middlewares": {"ipnpm-request-log": {"path": str(self.requests_log_path)}},
            "web": {"enable": False},
            "listen": self._listen(port),
            **self._https_config(),
            "log": {"type": "file", "path": str(self.log_path), "format": "json", "level": "http"},
        }

    def _https_config(self) -> dict[str, object]:
        if self.https is None:
            return {}
        return {"https": {"key": str(self.https.server_key), "cert": str(self.https.server_cert)}}

    def _client_context(self) -> ssl.SSLContext | None:
        # The harness's own calls trust the test CA; what npm trusts is up to each test.
        return None if self.https is None else ssl.create_default_context(cafile=self.https.ca_cert)

    def _uplinks(self) -> dict[str, object]:
        if self.uplink is None:
            return {}
        settings: dict[str, object] = {
            "url": self.uplink,
            "timeout": "60s",
            # Verdaccio calls an uplink offline after max_fails failures in a row and stops
            # asking it for fail_timeout (default 2 and 5 minutes): two network hiccups must
            # not fail every later request while a cache is being filled.
            "max_fails": 10,
            "fail_timeout": "10s",
            # Ask the uplink for a packument once per fill, not again every 2 minutes.
            "maxage": "30m",
        }
        return {_UPLINK_NAME: settings | self.uplink_settings}

    # -- what it saw -----------------------------------------------------------------------

    def mark(self) -> int:
        """A position in the request log: pass it as since= to see only later requests."""
        return len(self.requests())

    def requests(self, since: int = 0) -> list[Request]:
        """Every request, oldest first, without the harness's own readiness probes."""
        pid = self._process.pid if self._process is not None else None
        return _read_requests(self.requests_log_path, live_pid=pid)[since:]

    def tarball_gets(self, since: int = 0) -> list[str]:
        """Paths of the tarball GETs, whatever their status, oldest first."""
        return [
            r.path
            for r in self.requests(since)
            if r.method == "GET" and r.path.split("?")[0].endswith(".tgz")
        ]

    # -- acting on it ----------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> str:
        """Create a user (htpasswd) and return its bearer token."""
        body = json.dumps({"name": name, "password": password}).encode()
        request = urllib.request.Request(
            f"{self.url}-/user/org.couchdb.user:{name}",
            data=body,
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(
                request, timeout=30, context=self._client_context()
            ) as response:
                token: str = json.load(response)["token"]
        except urllib.error.HTTPError as error:
            raise VerdaccioError(f"adding user {name}: {error.code} {error.read()!r}") from None
        self.tokens[name] = token
        return token

    def publish(self, pkg_dir: Path, token: str | None = None) -> None:
        """`npm publish` the package in pkg_dir, exactly as a developer would."""
        # With publish: $all any token will do, but npm 11 refuses to publish without one.
        auth = f"//{self.host}/:_authToken={token or 'anonymous-fixture'}\n"
        if self.https is not None:
            auth += f"cafile={self.https.ca_cert}\n"
        with tempfile.TemporaryDirectory(prefix="publish-", dir=self.workdir) as tmp:
            userconfig = Path(tmp) / "npmrc"
            userconfig.write_text(auth)
            env = clean_environ() | {
                "NPM_CONFIG_USERCONFIG": str(userconfig),
                "NPM_CONFIG_CACHE": str(self.workdir / "npm-cache"),
                "NPM_CONFIG_UPDATE_NOTIFIER": "false",
            }
            result = subprocess.run(
                ["npm", "publish", "--registry", self.url],
                cwd=pkg_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT,
                check=False,
            )
        if result.returncode != 0:
            raise VerdaccioError(f"npm publish {pkg_dir} failed:\n{result.stdout}\n{result.stderr}")


@contextlib.contextmanager
def running_verdaccio(
    workdir: Path,
    *,
    private_scopes: tuple[str, ...] = (),
    uplink: str | None = None,
    uplink_settings: Mapping[str, object] | None = None,
    https: Pki | None = None,
) -> Iterator[Verdaccio]:
    """A started Verdaccio whose storage lives in workdir; always stopped on exit.

    With ``https=`` it serves HTTPS with that PKI's server certificate for 127.0.0.1."""
    server = Verdaccio(
        workdir,
        private_scopes=private_scopes,
        uplink=uplink,
        uplink_settings=uplink_settings,
        https=https,
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


class _PortTaken(Exception):
    pass


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _text_since(path: Path, start: int) -> str:
    if not path.exists():
        return ""
    with path.open("rb") as file:
        file.seek(start)
        return file.read().decode(errors="replace")


def _read_requests(path: Path, *, live_pid: int | None) -> list[Request]:
    # The plugin writes an "end" line when a response closes, which can be a moment after the
    # client got its last byte: give the live server's open requests a short while to settle.
    # (Requests cut off by a stop() never end; ids are "<pid>-<n>", so they are not waited for.)
    deadline = time.monotonic() + 2.0
    while True:
        starts, ends = _parse_request_log(path)
        open_ = [key for key in starts if key not in ends and key.startswith(f"{live_pid}-")]
        if not open_ or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return [
        Request(method, url, ends.get(key))
        for key, (method, url) in starts.items()
        if not url.startswith(_READINESS_PATH)
    ]


def _parse_request_log(path: Path) -> tuple[dict[str, tuple[str, str]], dict[str, int]]:
    starts: dict[str, tuple[str, str]] = {}
    ends: dict[str, int] = {}
    if not path.exists():
        return starts, ends
    for line in path.read_text().splitlines():
        if not line.endswith("}"):
            continue  # a line still being written
        entry = json.loads(line)
        if entry["event"] == "start":
            starts[entry["id"]] = (entry["method"], entry["path"])
        else:
            ends[entry["id"]] = entry["status"]
    return starts, ends


def _die_with_parent() -> None:
    # Linux: SIGTERM the server if the test process dies without cleaning up (SIGKILL, a
    # hard timeout), so no orphan keeps a port or storage busy.
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
