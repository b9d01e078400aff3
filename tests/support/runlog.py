"""Read what ipnpm's proxy recorded about a run (store/logs/run-*.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def last_run(store: Path) -> list[dict[str, Any]]:
    logs = sorted((store / "logs").glob("run-*.jsonl"), key=lambda p: p.stat().st_mtime_ns)
    assert logs, f"ipnpm wrote no run log under {store}"
    return [json.loads(line) for line in logs[-1].read_text().splitlines()]


def tarball_events(store: Path) -> list[dict[str, Any]]:
    return [event for event in last_run(store) if event["event"] == "tarball"]


def installed_specs(project: Path) -> set[str]:
    """name@version of every registry package npm recorded in node_modules/.package-lock.json."""
    hidden = json.loads((project / "node_modules" / ".package-lock.json").read_text())
    specs = set()
    for key, entry in hidden["packages"].items():
        if "node_modules/" in key and not entry.get("link"):
            name = entry.get("name") or key.rsplit("node_modules/", 1)[-1]
            specs.add(f"{name}@{entry['version']}")
    return specs
