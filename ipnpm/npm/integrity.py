"""npm's Subresource Integrity strings (``sha512-<base64>``), checked while bytes stream by."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

# Strongest first: like npm (ssri), check the strongest algorithm the string offers.
_ALGORITHMS = ("sha512", "sha384", "sha256", "sha1")


@dataclass(frozen=True)
class Integrity:
    """A parsed SRI string: algorithm -> accepted digests."""

    digests: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, text: str) -> Integrity | None:
        """Parse ``text``; ``None`` when it holds no hash ipnpm can check."""
        found: list[tuple[str, bytes]] = []
        for token in text.split():
            algorithm, sep, encoded = token.partition("-")
            if not sep or algorithm not in _ALGORITHMS:
                continue
            try:
                digest = base64.b64decode(encoded.split("?", 1)[0], validate=True)
            except ValueError:
                continue
            found.append((algorithm, digest))
        return cls(tuple(found)) if found else None

    @property
    def strongest(self) -> str:
        present = {algorithm for algorithm, _ in self.digests}
        return next(algorithm for algorithm in _ALGORITHMS if algorithm in present)

    def accepts(self, algorithm: str, digest: bytes) -> bool:
        return (algorithm, digest) in self.digests

    def __str__(self) -> str:
        return " ".join(sri(algorithm, digest) for algorithm, digest in self.digests)


def sri(algorithm: str, digest: bytes) -> str:
    return f"{algorithm}-{base64.b64encode(digest).decode()}"


class IntegrityHasher:
    """Computes sha512 (what npm writes into new lockfiles) and whatever ``expected`` needs."""

    def __init__(self, expected: Integrity | None = None) -> None:
        self.expected = expected
        algorithms = {"sha512"} | ({expected.strongest} if expected else set())
        self._hashes = {name: hashlib.new(name) for name in algorithms}

    def update(self, data: bytes) -> None:
        for hasher in self._hashes.values():
            hasher.update(data)

    def sha512(self) -> str:
        return sri("sha512", self._hashes["sha512"].digest())

    def matches(self) -> bool:
        """True when there is nothing to check against, or the strongest hash matches."""
        if self.expected is None:
            return True
        algorithm = self.expected.strongest
        return self.expected.accepts(algorithm, self._hashes[algorithm].digest())

    def got(self) -> str:
        algorithm = self.expected.strongest if self.expected else "sha512"
        return sri(algorithm, self._hashes[algorithm].digest())
