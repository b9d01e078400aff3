"""ipnpm's benchmark harness: `python -m bench.run [--quick]` (see BENCHMARKS.md)."""
