from __future__ import annotations

import pytest

from ipnpm.npm.commands import needs_registry


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["install"], True),
        (["i", "left-pad"], True),
        (["ci"], True),
        (["x", "cowsay"], True),
        (["view", "a"], True),
        (["publish"], True),
        (["audit"], True),
        (["run", "build"], False),
        (["test"], False),
        (["ls"], False),
        (["--version"], False),
        ([], False),
        (["init"], False),
        (["init", "-y"], False),
        (["init", "vite"], True),
        (["login"], False),
        (["config", "get", "registry"], False),
    ],
)
def test_needs_registry(args: list[str], expected: bool) -> None:
    assert needs_registry(args) is expected
