"""Profile ipnpm in one benchmark scenario with py-spy (every thread, sampled).

    pip install py-spy
    python -m bench.profile --project large-semantic-release --scenario ipnpm-lan

Builds the same world as bench.run, prepares the project, runs the scenario once with ipnpm
under `py-spy record`, and prints where ipnpm's own process spent its CPU: the functions on
top of the stack (self) and the ipnpm functions below them (inclusive). The raw collapsed
stacks are kept next to the summary (--out) for a flame graph tool.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.commands import profiled
from bench.projects import prepare
from bench.scenarios import ALL
from bench.slow_proxy import OFFICE, REMOTE
from bench.world import building_world

REPO_ROOT = Path(__file__).resolve().parents[1]
RATE = 250  # samples per second
# py-spy cannot tell idle threads here (it counts blocked ones too), so samples whose top frame
# is one of these blocking calls are counted as waiting, the rest as running.
WAITING = frozenset(
    {
        "SocketIO.readinto",
        "_worker",
        "_PollLikeSelector.select",
        "Popen._try_wait",
        "poll_wait_for_socket.<locals>.do_poll",
        "Condition.wait",
        "Event.wait",
        "Thread.join",
        "_wait_for_tstate_lock",
        "Popen.wait",
    }
)


def summarise(raw: str, rate: int = RATE, top: int = 20) -> str:
    """Self and inclusive sample counts from py-spy's raw (collapsed stack) output."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    waiting: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        names = [frame.split(" (")[0] for frame in stack.split(";")]
        frames = [name + _where(frame) for name, frame in zip(names, stack.split(";"), strict=True)]
        ipnpm = [frame for frame in frames if "ipnpm/" in frame]
        if names[-1] in WAITING:
            waiting[f"{names[-1]} in {ipnpm[-1] if ipnpm else frames[0]}"] += int(count)
            continue
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(ipnpm):
            inclusive[frame] += int(count)
    lines = [f"running: {total} samples at {rate}/s = {total / rate:.2f} s (all threads)", ""]
    lines += ["self (on top of the stack):", *_table(own, total, top), ""]
    lines += ["inclusive (ipnpm functions):", *_table(inclusive, total, top), ""]
    waited = sum(waiting.values())
    lines += [f"waiting: {waited / rate:.2f} s (thread-seconds), where:"]
    lines += _table(waiting, waited, top // 2)
    return "\n".join(lines)


def _where(frame: str) -> str:
    # "verified_path (ipnpm/store.py:190)" -> " ipnpm/store.py"; line numbers would split it
    inside = frame.partition(" (")[2].rstrip(")")
    return f" {inside.rsplit(':', 1)[0]}" if inside else ""


def _table(counter: collections.Counter[str], total: int, top: int) -> list[str]:
    return [f"  {n / total:6.1%}  {name}" for name, n in counter.most_common(top)]


def main(argv: Sequence[str] | None = None) -> int:
    keys = [s.key for s in ALL if not s.key.startswith("npm")]
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--project", default="large-semantic-release")
    parser.add_argument("--scenario", default="ipnpm-lan", choices=keys)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results" / "profiles")
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        parser.error("py-spy is not installed: pip install py-spy")
    scenario = next(s for s in ALL if s.key == args.scenario)
    args.out.mkdir(parents=True, exist_ok=True)
    raw = args.out / f"{args.project}-{args.scenario}.raw.txt"
    with tempfile.TemporaryDirectory(prefix="ipnpm-profile-") as tmp:
        work = Path(tmp)
        with building_world(work / "world", OFFICE, REMOTE) as world:
            project = prepare(world, args.project, work / "project")
            record = [py_spy, "record", "--format", "raw", "--rate", str(RATE)]
            with profiled([*record, "--output", str(raw), "--"]):
                measured = scenario.run(project, world, work / "run")
    cpu = f", ipnpm {measured.probe.cpu_seconds:.2f} s CPU" if measured.probe else ""
    summary = f"{args.project} / {args.scenario}: {measured.seconds:.2f} s wall{cpu}\n\n"
    summary += summarise(raw.read_text())
    (args.out / f"{args.project}-{args.scenario}.txt").write_text(summary + "\n")
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
