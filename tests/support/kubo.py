"""Real Kubo (IPFS) nodes on loopback ports for the integration tests.

    with kubo_node(tmp_path) as node:
        cid = node.rpc("add", files={"file": data}, **{"cid-version": 1}).json()["Hash"]
        assert requests.get(f"{node.gateway_url}/ipfs/{cid}?format=raw").content == data

`ipfs init --profile=test,unixfs-v1-2025` puts the API, gateway and swarm on 127.0.0.1/tcp/0
with no bootstrap peers and no mDNS, so a node never leaves the machine. The binary comes from
scripts/build-kubo.sh and is built on first use: no test skips for want of Kubo.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.npm_env import clean_environ

KUBO_VERSION = "v0.43.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-kubo.sh"

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
RPC_TIMEOUT = 60.0


class KuboError(RuntimeError):
    """Kubo could not be built or started, or an RPC call failed."""


def _tools_dir() -> Path:
    return Path(os.environ.get("IPNPM_TOOLS_DIR") or Path.home() / ".cache" / "ipnpm-tools")


def kubo_binary() -> Path:
    """The Kubo executable, built by scripts/build-kubo.sh the first time it is needed."""
    candidate = _tools_dir() / f"kubo-{KUBO_VERSION}" / "ipfs"
    if candidate.exists():
        return candidate
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False, timeout=1800
    )
    if result.returncode != 0:
        raise KuboError(f"{BUILD_SCRIPT} failed:\n{result.stdout}\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def new_swarm_key() -> str:
    """A fresh private-network key in the format Kubo reads from `$IPFS_PATH/swarm.key`."""
    return f"/key/swarm/psk/1.0.0/\n/base16/\n{secrets.token_hex(32)}\n"


def kubo_environ(ipfs_path: Path, *, private: bool = False) -> dict[str, str]:
    env = clean_environ()
    env["IPFS_PATH"] = str(ipfs_path)
    env["IPFS_TELEMETRY"] = "off"
    if private:
        # Refuse to start at all unless swarm.key is present: a typo can't make it public.
        env["LIBP2P_FORCE_PNET"] = "1"
    return env


@dataclass
class KuboNode:
    ipfs_path: Path
    bin: Path
    env: dict[str, str]
    api_url: str = ""  # http://127.0.0.1:PORT
    gateway_url: str = ""  # http://127.0.0.1:PORT
    log_path: Path = field(init=False)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.log_path = self.ipfs_path.parent / "kubo-daemon.log"

    def rpc(
        self,
        path: str,
        *args: str,
        files: dict[str, Any] | None = None,
        timeout: float = RPC_TIMEOUT,
        **flags: str | int | bool,
    ) -> requests.Response:
        """POST /api/v0/<path> with repeated `arg=` and flags; raise KuboError on failure."""
        params: list[tuple[str, str]] = [("arg", arg) for arg in args]
        for name, value in flags.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            params.append((name.replace("_", "-"), text))
        response = requests.post(
            f"{self.api_url}/api/v0/{path}", params=params, files=files, timeout=timeout
        )
        if response.status_code != 200:
            raise KuboError(f"ipfs {path} {args}: HTTP {response.status_code}: {response.text}")
        return response

    def stop(self) -> None:
        """Stop the daemon now (tests take a source away mid-run); idempotent."""
        if self.process is not None:
            _stop(self.process)

    def multiaddr(self) -> str:
        """This node's first swarm address with its peer ID, for `swarm/connect` elsewhere."""
        identity = self.rpc("id").json()
        return f"{identity['Addresses'][0].split('/p2p/')[0]}/p2p/{identity['ID']}"

    def cli(self, *args: str, stdin: bytes | None = None) -> str:
        """Run the ipfs command line against this node (it goes through the daemon's API)."""
        result = subprocess.run(
            [str(self.bin), *args],
            input=stdin,
            capture_output=True,
            env=self.env,
            check=False,
            timeout=RPC_TIMEOUT,
        )
        if result.returncode != 0:
            raise KuboError(f"ipfs {' '.join(args)} failed: {result.stderr.decode()}")
        return result.stdout.decode()


def init_repo(
    ipfs_path: Path,
    *,
    swarm_key: str | None = None,
    config: dict[str, object] | None = None,
) -> KuboNode:
    """`ipfs init` a fresh repo without starting a daemon (enough for `add --only-hash`).

    `config` maps keys to JSON values set with `ipfs config --json KEY VALUE` after init, e.g.
    `{"Import.UnixFSHAMTDirectorySizeThreshold": "1KiB"}`.
    """
    env = kubo_environ(ipfs_path, private=swarm_key is not None)
    node = KuboNode(ipfs_path, kubo_binary(), env)
    subprocess.run(
        [str(node.bin), "init", "--profile=test,unixfs-v1-2025"],
        env=node.env,
        capture_output=True,
        check=True,
        timeout=RPC_TIMEOUT,
    )
    for key, value in (config or {}).items():
        result = subprocess.run(
            [str(node.bin), "config", "--json", key, json.dumps(value)],
            env=node.env,
            capture_output=True,
            check=False,
            timeout=RPC_TIMEOUT,
        )
        if result.returncode != 0:
            raise KuboError(f"ipfs config {key} failed: {result.stderr.decode()}")
    if swarm_key is not None:
        (ipfs_path / "swarm.key").write_text(swarm_key)
    return node


def _api_url(ipfs_path: Path) -> str | None:
    try:
        multiaddr = (ipfs_path / "api").read_text().strip()
    except FileNotFoundError:
        return None
    # "/ip4/127.0.0.1/tcp/PORT": the test profile only ever listens on IPv4 loopback.
    parts = multiaddr.split("/")
    return f"http://{parts[2]}:{parts[4]}"


def _wait_ready(node: KuboNode, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise KuboError(f"ipfs daemon exited with {process.returncode}:\n{_log_tail(node)}")
        api_url = _api_url(node.ipfs_path)
        if api_url is not None:
            with contextlib.suppress(requests.RequestException):
                if requests.post(f"{api_url}/api/v0/id", timeout=2).status_code == 200:
                    node.api_url = api_url
                    node.gateway_url = (node.ipfs_path / "gateway").read_text().strip()
                    return
        time.sleep(0.1)
    raise KuboError(f"ipfs daemon not ready after {START_TIMEOUT}s:\n{_log_tail(node)}")


def _log_tail(node: KuboNode) -> str:
    return node.log_path.read_text(errors="replace")[-4000:]


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def kubo_node(
    tmp_path: Path,
    *,
    swarm_key: str | None = None,
    repo: Path | None = None,
    config: dict[str, object] | None = None,
) -> Iterator[KuboNode]:
    """A running daemon on a fresh repo under `tmp_path`, stopped on exit.

    With `swarm_key` ("/key/swarm/psk/1.0.0/\\n/base16/\\n<64 hex>") the node joins only the
    private network of nodes sharing that key. `repo` puts the repository elsewhere (e.g.
    `$HOME/.ipfs`, the default every Kubo client looks at). `config` is set before the
    daemon starts (see init_repo).
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    node = init_repo(repo or tmp_path / "ipfs-repo", swarm_key=swarm_key, config=config)
    with node.log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(node.bin), "daemon"], env=node.env, stdout=log, stderr=subprocess.STDOUT
        )
    node.process = process
    try:
        _wait_ready(node, process)
        yield node
    finally:
        _stop(process)
