"""A ``node`` put first on PATH that records each start (its NODE_EXTRA_CA_CERTS, or
``unset``, then its arguments, one line per start) and then runs the real node."""

from __future__ import annotations

import shutil
from pathlib import Path


def recording_node(tmp_path: Path) -> tuple[Path, Path]:
    """(the directory to put first on PATH, the log of starts)."""
    real_node = shutil.which("node")
    assert real_node is not None
    starts = tmp_path / "node-starts.log"
    wrapper = tmp_path / "bin" / "node"
    wrapper.parent.mkdir()
    wrapper.write_text(
        f'#!/bin/sh\necho "${{NODE_EXTRA_CA_CERTS-unset}} $*" >> {starts}\nexec {real_node} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper.parent, starts
