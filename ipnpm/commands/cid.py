"""``ipnpm ipfs cid FILE…``: each file's CID under the unixfs-v1-2025 profile."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import BinaryIO

import click

from ipnpm.errors import ExitCode, IpnpmError
from ipnpm.ipfs.unixfs import FileCidHasher


def _file_cid(handle: BinaryIO) -> str:
    hasher = FileCidHasher()
    while chunk := handle.read(1 << 20):
        hasher.update(chunk)
    return str(hasher.cid())


def print_cids(files: Sequence[str]) -> int:
    """``<cid>  <file>`` per file, like sha256sum, so the output pipes into the same tools."""
    for name in files:
        try:
            if name == "-":
                cid = _file_cid(sys.stdin.buffer)
            else:
                with open(name, "rb") as handle:
                    cid = _file_cid(handle)
        except OSError as exc:
            raise IpnpmError(f"cannot read {name}: {exc.strerror}") from exc
        click.echo(f"{cid}  {name}")
    return int(ExitCode.OK)
