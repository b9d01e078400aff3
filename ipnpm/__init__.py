"""ipnpm: install npm packages from IPFS through a verifying, ephemeral registry proxy."""

__version__ = "0.1.0"
