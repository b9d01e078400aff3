"""Which version of a packument a dependency range picks, closely enough to look ahead.

The proxy fetches the packuments npm is about to ask for (``ipnpm.proxy.lookahead``); for that
it needs the version npm will choose for ``name@range``, to read that version's dependencies.
This follows npm-pick-manifest's rule — the ``latest`` tag if it satisfies the range, else the
highest satisfying version, prereleases only when the range names one — with node-semver's
range grammar minus its rarest corners. A wrong pick only costs a useless prefetch: npm still
resolves everything itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_PARTIAL = re.compile(r"^v?(\d+|[xX*])?(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?$")
_COMPARATOR = re.compile(r"^(\^|~>?|>=|<=|>|<|=)?\s*(.*)$")

Key = tuple[int, int, int, tuple[tuple[int, int | str], ...]]
_Bound = tuple[str, Key]  # (operator, version key)
_TOP: tuple[tuple[int, int | str], ...] = ((2, 0),)  # sorts after every prerelease tag


def version_key(version: str) -> Key | None:
    match = _VERSION.match(version.strip())
    if match is None:
        return None
    pre = match.group(4)
    tags = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")) if pre else _TOP
    return int(match.group(1)), int(match.group(2)), int(match.group(3)), tags


def _partial(text: str) -> tuple[list[int | None], str | None] | None:
    match = _PARTIAL.match(text)
    if match is None or not text:
        return None
    parts = [None if p is None or p in "xX*" else int(p) for p in match.groups()[:3]]
    for i in range(1, 3):  # "1.x.3" means "1.x"
        if parts[i - 1] is None:
            parts[i] = None
    return parts, match.group(4)


def _key(parts: list[int | None], pre: str | None) -> Key:
    numbers = [p or 0 for p in parts]
    text = f"{numbers[0]}.{numbers[1]}.{numbers[2]}" + (f"-{pre}" if pre else "")
    key = version_key(text)
    assert key is not None
    return key


def _lowest(major: int, minor: int = 0, patch: int = 0) -> Key:
    return major, minor, patch, ((0, -1),)  # below every prerelease of that version


def _caret(parts: list[int | None], pre: str | None) -> list[_Bound]:
    major, minor, patch = parts
    low = ">=", _key(parts, pre)
    if major is None:
        return []
    if major > 0 or minor is None:
        return [low, ("<", _lowest(major + 1))]
    if minor > 0 or patch is None:
        return [low, ("<", _lowest(0, minor + 1))]
    return [low, ("<", _lowest(0, 0, patch + 1))]


def _tilde(parts: list[int | None], pre: str | None) -> list[_Bound]:
    major, minor, _ = parts
    if major is None:
        return []
    low = ">=", _key(parts, pre)
    if minor is None:
        return [low, ("<", _lowest(major + 1))]
    return [low, ("<", _lowest(major, minor + 1))]


def _plain(op: str, parts: list[int | None], pre: str | None) -> list[_Bound]:
    major, minor, patch = parts
    if major is None:
        return [] if op in ("", "=", ">=", "<=") else [("<", _lowest(0))]
    if minor is None or patch is None:  # an x-range: 1, 1.2, 1.x
        bump = _lowest(major + 1) if minor is None else _lowest(major, minor + 1)
        if op in ("", "="):
            return [(">=", _key(parts, pre)), ("<", bump)]
        if op == ">":
            return [(">=", bump)]
        if op == "<=":
            return [("<", bump)]
        return [(op, _key(parts, pre))]
    return [(op or "=", _key(parts, pre))]


def _comparators(text: str) -> list[_Bound] | None:
    text = re.sub(r"(\^|~>?|>=|<=|>|<|=)\s+", r"\1", text.strip())
    hyphen = re.match(r"^(\S+)\s+-\s+(\S+)$", text)
    if hyphen:
        text = f">={hyphen.group(1)} <={hyphen.group(2)}"
    bounds: list[_Bound] = []
    for token in text.split():
        op, rest = _COMPARATOR.match(token).groups()  # type: ignore[union-attr]
        parsed = _partial(rest)
        if parsed is None:
            return None
        parts, pre = parsed
        if op == "^":
            bounds += _caret(parts, pre)
        elif op and op.startswith("~"):
            bounds += _tilde(parts, pre)
        else:
            bounds += _plain(op or "", parts, pre)
    return bounds


def _satisfies(key: Key, bounds: list[_Bound]) -> bool:
    for op, bound in bounds:
        ok = {
            "=": key == bound,
            ">=": key >= bound,
            ">": key > bound,
            "<=": key <= bound,
            "<": key < bound,
        }[op]
        if not ok:
            return False
    return True


def pick(versions: Iterable[str], spec: str, tags: Mapping[str, str]) -> str | None:
    """The version npm would most likely install for ``spec``, or ``None`` (unparsable, none)."""
    spec = spec.strip()
    if spec in tags:
        return tags[spec]
    alternatives = [_comparators(part) for part in (spec or "*").split("||")]
    if any(bounds is None for bounds in alternatives):
        return None
    keyed = [(key, v) for v in versions if (key := version_key(v)) is not None]
    allow_pre = "-" in spec

    def ok(key: Key) -> bool:
        if key[3] != _TOP and not allow_pre:
            return False
        return any(_satisfies(key, bounds or []) for bounds in alternatives)

    latest = tags.get("latest")
    latest_key = version_key(latest) if latest else None
    if latest and latest_key is not None and ok(latest_key):
        return latest
    chosen = max((kv for kv in keyed if ok(kv[0])), default=None)
    return chosen[1] if chosen else None
