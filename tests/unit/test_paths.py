from __future__ import annotations

import pytest

from ipnpm.npm.names import escape_name
from ipnpm.proxy.paths import packument_name, scope_of, tarball_ref


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/a/-/a-1.0.0.tgz", ("a", "1.0.0")),
        ("/@s/n/-/n-2.0.0-beta.1.tgz", ("@s/n", "2.0.0-beta.1")),
        ("/@s%2fn/-/n-2.0.0.tgz", ("@s/n", "2.0.0")),
        ("/api/npm/remote/a/-/a-1.1.0.tgz", ("a", "1.1.0")),
        ("/api/npm/remote/@s/n/-/n-1.0.0.tgz", ("@s/n", "1.0.0")),
        ("/a", None),
        ("/a/-/b-1.0.0.tgz", None),
        ("/-/whoami", None),
    ],
)
def test_tarball_ref(path: str, expected: tuple[str, str] | None) -> None:
    assert tarball_ref(path) == expected


def test_packument_names() -> None:
    assert packument_name("/left-pad") == "left-pad"
    assert packument_name("/@scope%2fname") == "@scope/name"
    assert packument_name("/@scope%2Fname") == "@scope/name"
    assert packument_name("/-/whoami") is None
    assert packument_name("/-/npm/v1/security/advisories/bulk") is None
    assert packument_name("/a/b") is None


def test_scope_and_escape() -> None:
    assert scope_of("/@acme%2fsecret") == "@acme"
    assert scope_of("/plain") is None
    assert escape_name("@acme/secret") == "@acme%2fsecret"
    assert escape_name("plain") == "plain"
