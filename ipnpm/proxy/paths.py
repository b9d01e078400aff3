"""What a request path names. npm's paths: ``/name``, ``/@scope%2fname`` (packuments),
``[/prefix]/name/-/name-1.0.0.tgz`` and ``[/prefix]/@scope/name/-/name-1.0.0.tgz`` (tarballs;
the prefix survives when npm rewrote an upstream URL's host only)."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

# npm's rules, strict enough for a path: no control characters, no "." or ".." segments.
_CHAR = r"[^/@\x00-\x1f\x7f]"
_FIRST = r"[^/@.\x00-\x1f\x7f]"
_NAME = re.compile(rf"^(?:@{_FIRST}{_CHAR}*/)?{_FIRST}{_CHAR}*$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$")


def split_query(raw_path: str) -> tuple[str, str]:
    parts = urlsplit(raw_path)
    return parts.path, parts.query


def tarball_ref(path: str) -> tuple[str, str] | None:
    """``(name, version)`` of a tarball path, or ``None`` when ``path`` is no tarball."""
    decoded = unquote(path)
    head, sep, filename = decoded.rpartition("/-/")
    if not sep or not filename.endswith(".tgz") or "/" in filename:
        return None
    segments = [segment for segment in head.split("/") if segment]
    if not segments:
        return None
    name = (
        "/".join(segments[-2:])
        if len(segments) > 1 and segments[-2].startswith("@")
        else (segments[-1])
    )
    basename = name.rsplit("/", 1)[-1]
    stem = filename[: -len(".tgz")]
    if not stem.startswith(basename + "-") or not _NAME.match(name):
        return None
    version = stem[len(basename) + 1 :]
    return (name, version) if _VERSION.match(version) else None


def packument_name(path: str) -> str | None:
    """The package name of a packument path (``/@scope%2fname`` arrives escaped)."""
    name = unquote(path).lstrip("/")
    return name if _NAME.match(name) else None


def scope_of(path: str) -> str | None:
    """``@scope`` when the path is about a scoped package (routing to a scoped registry)."""
    decoded = unquote(path).lstrip("/")
    if decoded.startswith("@") and "/" in decoded:
        return decoded.split("/", 1)[0]
    return None
