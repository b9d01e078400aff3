"""One npm invocation through ipnpm: its context, the npm child process, prefetch, seeding."""
