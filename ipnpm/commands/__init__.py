"""``ipnpm ipfs …``: one module per command of ipnpm's own."""
