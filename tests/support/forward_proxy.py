"""Debian's real tinyproxy on a loopback port: the corporate forward proxy of the TLS tests.

    with running_tinyproxy(tmp_path, connect_ports=(verdaccio.port,)) as proxy:
        ... npm --https-proxy=proxy.url ...
        assert proxy.connects() == [f"127.0.0.1:{verdaccio.port}"]

CONNECT is allowed only to the given ports, and every request is logged, so a test can see
that a tunnel really went through the proxy.
"""

from __future__ import annotations

import contextlib
import getpass
import re
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.verdaccio import free_port

START_TIMEOUT = 10.0
_CONNECT_LINE = re.compile(r"Request \(file descriptor \d+\): CONNECT (\S+)")


class ForwardProxyError(RuntimeError):
    """tinyproxy is missing or did not start."""


@dataclass(frozen=True)
class ForwardProxy:
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connects(self) -> list[str]:
        """``host:port`` of every CONNECT the proxy was asked for, oldest first."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return _CONNECT_LINE.findall(text)


@contextlib.contextmanager
def running_tinyproxy(workdir: Path, *, connect_ports: Sequence[int]) -> Iterator[ForwardProxy]:
    """A started tinyproxy on 127.0.0.1; always stopped on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    proxy = ForwardProxy(free_port(), workdir / "tinyproxy.log")
    config = workdir / "tinyproxy.conf"
    config.write_text(_config(proxy, connect_ports))
    try:
        process = subprocess.Popen(
            ["tinyproxy", "-d", "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=(workdir / "tinyproxy.out").open("wb"),
            stderr=subprocess.STDOUT,
        )
    except FileNotFoundError:
        raise ForwardProxyError("tinyproxy is not installed (apt-get install tinyproxy)") from None
    try:
        _wait_ready(process, proxy, workdir)
        yield proxy
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _config(proxy: ForwardProxy, connect_ports: Sequence[int]) -> str:
    user = getpass.getuser()  # as root tinyproxy would switch to `nobody`, who cannot log here
    lines = [
        f"User {user}",
        f"Group {user}",
        f"Port {proxy.port}",
        "Listen 127.0.0.1",
        "Timeout 60",
        f'LogFile "{proxy.log_path}"',
        "LogLevel Info",
        "MaxClients 50",
        "Allow 127.0.0.1",
        "DisableViaHeader Yes",
        *(f"ConnectPort {port}" for port in connect_ports),
    ]
    return "".join(f"{line}\n" for line in lines)


def _wait_ready(process: subprocess.Popen[bytes], proxy: ForwardProxy, workdir: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = (workdir / "tinyproxy.out").read_text(errors="replace")[-2000:]
            raise ForwardProxyError(f"tinyproxy exited with {process.returncode}:\n{said}")
        with contextlib.suppress(OSError):  # refused until it listens
            socket.create_connection(("127.0.0.1", proxy.port), timeout=1).close()
            return
        time.sleep(0.05)
    raise ForwardProxyError(f"tinyproxy did not listen on {proxy.port} in {START_TIMEOUT}s")
