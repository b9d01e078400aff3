from __future__ import annotations

import pytest

from ipnpm.npm.overrides import registry_overrides


@pytest.mark.parametrize(
    "args",
    [
        ["--registry", "http://r.invalid/", "i", "foo"],
        ["--registry=http://r.invalid/", "i", "foo"],
        ["--reg", "http://r.invalid/", "i", "foo"],  # npm's shorthand
        ["-reg=http://r.invalid/", "i", "foo"],
        ["i", "--regi", "http://r.invalid/", "foo"],  # an abbreviation npm expands
    ],
)
def test_every_spelling_of_registry_names_the_upstream(args: list[str]) -> None:
    assert registry_overrides(args) == (["i", "foo"], {"registry": "http://r.invalid/"})


def test_scoped_registries_and_what_is_not_a_registry_stay_apart() -> None:
    args = ["--@acme:registry=http://p.invalid/", "--no-registry", "i", "--", "--reg", "x"]
    kept, found = registry_overrides(args)
    assert found == {"@acme:registry": "http://p.invalid/"}
    assert kept == ["--no-registry", "i", "--", "--reg", "x"]
    # `--re` is ambiguous (registry, replace-registry-host, ...): npm reads it as an unknown flag.
    assert registry_overrides(["--re", "i"]) == (["--re", "i"], {})
