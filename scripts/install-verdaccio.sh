#!/usr/bin/env bash
# Install the Verdaccio that the integration tests use as their upstream registry.
#
#   bash scripts/install-verdaccio.sh      # prints the path of the verdaccio bin as last line
#
# Where: ${IPNPM_TOOLS_DIR:-$HOME/.cache/ipnpm-tools}/verdaccio-<version>/ (outside the repo,
# so it survives fresh clones and is never committed). Idempotent: an existing install is
# reused. Atomic: npm runs in a temporary sibling folder that is renamed into place only when
# it succeeded, so an interrupted run never leaves a half-installed tool behind.
set -euo pipefail

VERDACCIO_VERSION=5.33.0
tools_dir="${IPNPM_TOOLS_DIR:-$HOME/.cache/ipnpm-tools}"
dest="$tools_dir/verdaccio-$VERDACCIO_VERSION"
bin="$dest/node_modules/.bin/verdaccio"

if [[ -x "$bin" ]]; then
    echo "$bin"
    exit 0
fi

mkdir -p "$tools_dir"
staging="$(mktemp -d "$tools_dir/.verdaccio-$VERDACCIO_VERSION.XXXXXX")"
chmod 755 "$staging"  # mktemp makes it private; the installed tool is for everyone
trap 'rm -rf "$staging"' EXIT

# The override: verdaccio-audit asks node-fetch for the dist-tag "cjs", which the registry
# reachable from these machines does not serve; 2.7.0 is the CommonJS release it means.
cat >"$staging/package.json" <<JSON
{
  "name": "ipnpm-test-verdaccio",
  "private": true,
  "dependencies": {"verdaccio": "$VERDACCIO_VERSION"},
  "overrides": {"verdaccio-audit": {"node-fetch": "2.7.0"}}
}
JSON

# --ignore-scripts: Verdaccio and its dependencies need no install scripts to run, and
# skipping them keeps the install fast and free of arbitrary code. Its own npm cache keeps
# the user's cache untouched; fund/audit/update checks are noise here.
echo "installing verdaccio@$VERDACCIO_VERSION into $dest" >&2
(
    cd "$staging"
    npm install --ignore-scripts --no-audit --no-fund --update-notifier=false \
        --loglevel=error --cache "$tools_dir/.npm-cache" >&2
)
"$staging/node_modules/.bin/verdaccio" --version >/dev/null

# A concurrent run may have won the race; keep its copy and drop ours.
if mv -T "$staging" "$dest" 2>/dev/null; then
    trap - EXIT
fi
echo "$bin"
