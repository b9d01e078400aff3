"""IPFS formats ipnpm needs, in small pure modules: CIDs, dag-pb, UnixFS files and CAR files.

Nothing here imports the rest of ipnpm; every error is an IpfsFormatError.
"""

from __future__ import annotations

from ipnpm.ipfs.errors import IpfsFormatError

__all__ = ["IpfsFormatError"]
