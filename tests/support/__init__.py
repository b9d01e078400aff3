"""Helpers for ipnpm's tests: real Verdaccio, isolated npm environments, fixture packages."""
