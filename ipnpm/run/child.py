"""The signal policy while npm runs as ipnpm's child.

Ctrl-C reaches npm directly (the terminal signals the whole foreground process group), so the
parent only notes it and gives npm time to stop; if npm does not, it is escalated to SIGTERM
then SIGKILL so that nothing is left behind. SIGTERM and SIGHUP sent to ipnpm are forwarded.
Death by signal N is reported as 128+N, the shell's convention.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from ipnpm.errors import NpmNotFoundError

if TYPE_CHECKING:
    import subprocess

    from ipnpm.npm.waiting import WaitingNpm

# subprocess, threading and ctypes (npm/waiting.py) are imported where a child is started:
# the pass-through path only execs npm (exec_npm), and must not pay for them.

GRACE = 5.0  # seconds npm gets to stop by itself after Ctrl-C, and again after SIGTERM


def _escalate(process: subprocess.Popen[bytes]) -> None:
    import subprocess

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            process.wait(timeout=GRACE)
            return
        except subprocess.TimeoutExpired:
            process.send_signal(sig)


def exit_code(returncode: int, interrupted: bool) -> int:
    # After Ctrl-C, whatever way npm went down (its own exit code, or our escalation), the
    # user interrupted it: report 130 like a shell does.
    if interrupted and returncode != 0:
        return 128 + signal.SIGINT
    if returncode < 0:
        return 128 + -returncode
    return returncode


def _descendants(root: int) -> list[int]:
    """Every live descendant of ``root``, deepest first (Linux /proc; elsewhere none)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if entry.name.isdigit():
            try:
                # The command name may contain spaces and parentheses: split after the last ")".
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found[::-1]


def run_child(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path, *, waiting: WaitingNpm | None = None
) -> int:
    """Run ``argv`` with inherited stdio and the policy above; return the exit code to use.
    ``waiting``: a Node that becomes this npm if it can (npm/waiting.py), else a fresh start."""
    import subprocess
    import threading

    from ipnpm.npm.waiting import die_with_parent

    process = waiting.become(argv, env, cwd) if waiting is not None else None
    if process is None:
        process = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            preexec_fn=die_with_parent(),  # noqa: PLW1509
        )
    interrupted = threading.Event()

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        if not interrupted.is_set():
            interrupted.set()
            threading.Thread(target=_escalate, args=(process,), daemon=True).start()

    def forward(signum: int, _frame: FrameType | None) -> None:
        # npm passes SIGTERM on to nothing it started: signal its whole tree, or a lifecycle
        # script would outlive both npm and the proxy it talks to.
        for pid in [*_descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, on_interrupt),
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
        signal.SIGHUP: signal.signal(signal.SIGHUP, forward),
    }
    try:
        returncode = process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if process.poll() is None:
            process.kill()
            process.wait()
    return exit_code(returncode, interrupted.is_set())


def exec_npm(npm: str, args: Sequence[str]) -> NoReturn:
    """Replace this process with npm: signals, TTY and exit code are npm's own. The one place,
    with ``run_child``, where ipnpm starts npm."""
    try:
        os.execv(npm, [npm, *args])  # noqa: S606 - exec'ing the user's npm is the point
    except OSError as exc:
        raise NpmNotFoundError(f"cannot run {npm}: {exc.strerror}") from exc
