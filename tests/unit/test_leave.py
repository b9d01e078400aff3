"""ipnpm's way out (``cli.entry.leave``): the exit code and every byte written, without the
interpreter's teardown, unless a thread that is not a daemon still has work to finish."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_PROGRAM = """
import sys, threading, time
from pathlib import Path
from ipnpm.cli.entry import leave
if sys.argv[1] == "thread":
    def finish():
        time.sleep(0.3)
        Path(sys.argv[2]).write_text("finished")
    threading.Thread(target=finish).start()
sys.stdout.write("x" * 200_000)  # more than any pipe buffer holds
sys.stderr.write("said on stderr")
leave(7)
"""


def _run(mode: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    marker = tmp_path / "marker"
    return subprocess.run(
        [sys.executable, "-c", _PROGRAM, mode, str(marker)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_everything_written_is_flushed_and_the_code_kept(tmp_path: Path) -> None:
    result = _run("plain", tmp_path)
    assert result.returncode == 7
    assert result.stdout == "x" * 200_000
    assert result.stderr == "said on stderr"


def test_a_running_thread_that_is_not_a_daemon_is_waited_for(tmp_path: Path) -> None:
    result = _run("thread", tmp_path)
    assert result.returncode == 7
    assert (tmp_path / "marker").read_text() == "finished"
    assert result.stdout == "x" * 200_000
