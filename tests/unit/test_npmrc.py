from __future__ import annotations

from pathlib import Path

import pytest

from ipnpm.errors import NpmConfigError
from ipnpm.npm.npmrc import CredentialBook, expand_env, nerf_dart, parse_npmrc


def test_parse_npmrc_skips_comments_and_unquotes() -> None:
    text = '; comment\n# other\nregistry = http://r.invalid/\nkey="quoted"\n[section]\n'
    assert parse_npmrc(text) == {"registry": "http://r.invalid/", "key": "quoted"}


def test_expand_env_required_and_optional() -> None:
    assert expand_env("a${X}b", {"X": "1"}, "f") == "a1b"
    assert expand_env("a${Y?}b", {}, "f") == "ab"
    with pytest.raises(NpmConfigError, match="Y is not set"):
        expand_env("${Y}", {}, "npmrc")


def test_nerf_dart() -> None:
    assert nerf_dart("http://127.0.0.1:4873/") == "//127.0.0.1:4873/"
    assert nerf_dart("https://h.invalid/api/npm/x/-/x-1.tgz") == "//h.invalid/api/npm/x/-/"


def test_credentials_longest_prefix_and_env(tmp_path: Path) -> None:
    rc = tmp_path / "npmrc"
    rc.write_text(
        "//h.invalid/:_authToken=${TOKEN}\n"
        "//h.invalid/private/:_authToken=deeper\n"
        "//b.invalid/:username=u\n//b.invalid/:_password=cGFzcw==\n"
    )
    env = {"TOKEN": "t0k", "npm_config_//e.invalid/:_authToken": "fromenv"}
    book = CredentialBook.load([rc, tmp_path / "missing"], env)
    assert book.for_url("https://h.invalid/pkg") is not None
    assert book.for_url("https://h.invalid/pkg").header == "Bearer t0k"  # type: ignore[union-attr]
    assert book.for_url("https://h.invalid/private/a/-/a-1.tgz").header == "Bearer deeper"  # type: ignore[union-attr]
    assert book.for_url("https://b.invalid/x").header == "Basic dTpwYXNz"  # type: ignore[union-attr]
    assert book.for_url("https://e.invalid/x").header == "Bearer fromenv"  # type: ignore[union-attr]
    assert book.for_url("https://other.invalid/x") is None
    assert "t0k" not in repr(book) and "t0k" not in repr(book.for_url("https://h.invalid/"))
