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
    """Every tarball the run obtained (from the store or a source), once per fetch."""
    return [event for event in last_run(store) if event["event"] == "tarball"]


def obtained(store: Path) -> dict[str, str]:
    """spec -> the source that delivered it first in the last run (later hits are the store)."""
    first: dict[str, str] = {}
    for event in tarball_events(store):
        first.setdefault(event["spec"], event["source"])
    return first


def served_events(store: Path) -> list[dict[str, Any]]:
    """Every tarball the proxy sent to npm, after verification."""
    return [event for event in last_run(store) if event["event"] == "served"]


def installed_specs(project: Path) -> set[str]:
    """name@version of every registry package npm recorded in node_modules/.package-lock.json."""
    hidden = json.loads((project / "node_modules" / ".package-lock.json").read_text())
    specs = set()
    for key, entry in hidden["packages"].items():
        if "node_modules/" in key and not entry.get("link"):
            name = entry.get("name") or key.rsplit("node_modules/", 1)[-1]
            specs.add(f"{name}@{entry['version']}")
    return specs


def delivered(store: Path) -> dict[str, str]:
    """spec -> how npm got it: "proxy" (served over HTTP) or "npm-cache" (handed to npm's cache
    before it asked). npm checks the integrity either way; ipnpm re-hashes what it serves, and
    what it hands over when no integrity vouches for it (the hand-off's ``tarball`` event says
    ``hashed: false`` otherwise)."""
    found: dict[str, str] = {}
    for event in last_run(store):
        if event["event"] == "served" and event.get("verified"):
            found.setdefault(event["spec"], "proxy")
        elif event["event"] == "handed":
            found.setdefault(event["spec"], "npm-cache")
    return found
