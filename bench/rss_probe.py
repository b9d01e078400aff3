"""Run ipnpm in this process and record its peak resident set size and CPU time at exit.

    python -m bench.rss_probe OUT.json [IPNPM ARGS...]

npm runs as ipnpm's child, so measuring the process tree would measure npm. Here the only
Python code besides ipnpm is this module, and the kernel's high-water mark of this very
process (VmHWM in /proc/self/status) is ipnpm's peak, written to OUT.json at exit with the
process's own CPU seconds (user + system, all threads, npm not included).
"""

from __future__ import annotations

import atexit
import json
import resource
import sys
from pathlib import Path


def peak_rss_bytes(status: str) -> int:
    """VmHWM from the text of /proc/<pid>/status, in bytes."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # the kernel reports kB
    raise ValueError("no VmHWM line")


def _record(out: Path) -> None:
    peak = peak_rss_bytes(Path("/proc/self/status").read_text())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.write_text(
        json.dumps({"peak_rss_bytes": peak, "cpu_seconds": usage.ru_utime + usage.ru_stime})
    )


def main() -> None:
    out, args = Path(sys.argv[1]), sys.argv[2:]
    atexit.register(_record, out)  # for an exit from inside ipnpm (a SystemExit)
    from ipnpm.cli.entry import dispatch, leave

    sys.argv = ["ipnpm", *args]
    # dispatch() returns the exit code (execs npm only for pass-through lines, which the
    # benchmark never sends here); then ipnpm's own way out, which skips atexit.
    code = dispatch(args)
    _record(out)
    atexit.unregister(_record)
    leave(code)


if __name__ == "__main__":
    main()
