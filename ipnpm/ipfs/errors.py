"""The one exception the IPFS codecs raise; it imports only ipnpm's error root, which imports
nothing, so the codecs stay pure and their errors still reach the one error boundary."""

from __future__ import annotations

from ipnpm.errors import ExitCode, IpnpmError


class IpfsFormatError(IpnpmError, ValueError):
    """Bytes that are not what their CID or format promises.

    Raised for malformed CIDs, CAR files, dag-pb nodes or UnixFS data, for a block whose hash
    does not match its CID, and for a block missing from a DAG. The message names the CID or
    offset involved; callers may wrap it in their own error type.
    """

    exit_code = ExitCode.INTEGRITY


class BlockHashError(IpfsFormatError):
    """A block's bytes do not hash to its CID: the sender lied, not just failed."""
