"""Everything ipnpm knows about npm: its commands, configuration, lockfiles and process."""
