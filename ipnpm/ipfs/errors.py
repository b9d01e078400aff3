"""The one exception the IPFS codecs raise; it imports nothing else from ipnpm."""

from __future__ import annotations


class IpfsFormatError(ValueError):
    """Bytes that are not what their CID or format promises.

    Raised for malformed CIDs, CAR files, dag-pb nodes or UnixFS data, for a block whose hash
    does not match its CID, and for a block missing from a DAG. The message names the CID or
    offset involved; callers may wrap it in their own error type.
    """


class BlockHashError(IpfsFormatError):
    """A block's bytes do not hash to its CID: the sender lied, not just failed."""
