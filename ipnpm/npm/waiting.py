"""The Node of the configuration read, kept waiting to become npm itself.

Starting npm costs a Node start (35 ms here, 70 more to load the bundle NODE_EXTRA_CA_CERTS
names) and the loading of npm's configuration code, and the configuration read has just paid
for both. So the read's Node (``config_ls.js … --wait``), once it has written the configuration
to one pipe, waits on another; sent npm's command line and environment, it replaces its
``process.argv`` and ``process.env`` with them and runs npm's own ``lib/cli.js``: the npm that
runs is the npm a shell would have started, minus a process start.

It becomes npm only where nothing Node reads as it starts could differ: the same npm and the
same directory, and the same environment except ``npm_config_*`` variables (npm's, which npm
reads as it loads its configuration, after this point). Anything else gets a fresh npm, and a
Node nobody needs is sent away (the pipe closed: it exits 0) and reaped.

It may also start without the bundle NODE_EXTRA_CA_CERTS names (``without_extra_ca``; the
variable is handed back for npm's loader and npm's scripts), for a command whose own
connections all go through npm's agent: that Node may then become npm only where ``ca`` or
``cafile`` is in force, Node then ignoring the bundle in those connections (``npm/network.py``).

Like npm started by ``run_child``, it is killed if ipnpm dies: nothing may outlive the proxy.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

DISMISS_WAIT = 2.0  # seconds a dismissed Node gets to exit before it is killed
EXTRA_CA = "NODE_EXTRA_CA_CERTS"


def die_with_parent() -> Callable[[], None] | None:
    """On Linux, a ``preexec_fn`` that has the child killed when ipnpm dies, even by SIGKILL.
    SIGKILL, because npm defers SIGTERM until its current install step ends, and meanwhile
    retries the dead proxy for a minute."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        # Runs between fork and exec: only a C call, no Python locks touched.
        prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    return preexec


def _startup_env(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not k.lower().startswith("npm_config_")}


class WaitingNpm:
    """``loader_argv`` (``node config_ls.js NPM_ROOT``) started in ``cwd`` under ``env`` as
    the Node that may become ``npm``; its two pipe ends are appended to the command line.
    ``without_extra_ca``: started without NODE_EXTRA_CA_CERTS, which ``loader_argv`` then
    passes on (``--ca``)."""

    def __init__(
        self,
        loader_argv: Sequence[str],
        npm: str,
        cwd: Path,
        env: Mapping[str, str],
        *,
        without_extra_ca: bool = False,
    ) -> None:
        self._npm, self._cwd, self._env = npm, cwd, dict(env)
        self.without_extra_ca = without_extra_ca
        start_env = dict(env)
        if without_extra_ca:
            del start_env[EXTRA_CA]
        self._out = self._in = -1
        self._became = False
        out_r, out_w = os.pipe()
        in_r, in_w = os.pipe()
        try:
            self.process = subprocess.Popen(
                [*loader_argv, "--wait", str(out_w), str(in_r)],
                cwd=cwd,
                env=start_env,
                pass_fds=(out_w, in_r),
                preexec_fn=die_with_parent(),  # noqa: PLW1509
            )
        except OSError:
            os.close(out_r)
            os.close(in_w)
            raise
        finally:
            os.close(out_w)
            os.close(in_r)
        self._out, self._in = out_r, in_w

    def configuration(self, timeout: float) -> tuple[int | None, str]:
        """(None, what the loader wrote) once it waits; (its exit code, "") if it exited
        without a configuration. Raises ``subprocess.TimeoutExpired``."""
        deadline = time.monotonic() + timeout
        chunks: list[bytes] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._out], [], [], remaining)[0]:
                raise subprocess.TimeoutExpired(self.process.args, timeout)
            chunk = os.read(self._out, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(self._out)
        self._out = -1
        if not chunks:
            return self.process.wait(timeout=max(deadline - time.monotonic(), 0.1)), ""
        return None, b"".join(chunks).decode()

    def become(
        self, argv: Sequence[str], env: Mapping[str, str], cwd: Path
    ) -> subprocess.Popen[bytes] | None:
        """This process running ``argv`` (npm's) in ``cwd`` under ``env``, or None (and the
        Node dismissed) if it cannot be exactly that npm."""
        same = (
            bool(argv)
            and argv[0] == self._npm
            and cwd == self._cwd
            and _startup_env(env) == _startup_env(self._env)
        )
        if not same or self._in < 0 or self.process.poll() is not None:
            self.dismiss()
            return None
        message = json.dumps({"argv": list(argv), "env": dict(env)}).encode()
        try:
            view = memoryview(message)
            while view:
                view = view[os.write(self._in, view) :]
        except OSError:  # it died meanwhile
            self.dismiss()
            return None
        os.close(self._in)
        self._in, self._became = -1, True
        return self.process

    def dismiss(self) -> None:
        """Close the pipes (a waiting Node then exits) and reap it; kill it if it lingers, or
        at once if its configuration was never collected (it is only reading that). A Node
        that became npm is its runner's to reap, and is left alone."""
        collected = self._out < 0
        for fd in (self._out, self._in):
            if fd >= 0:
                os.close(fd)
        self._out = self._in = -1
        if self._became or self.process.returncode is not None:
            return
        try:
            self.process.wait(timeout=DISMISS_WAIT if collected else 0)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait()
