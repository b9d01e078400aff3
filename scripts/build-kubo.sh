#!/usr/bin/env bash
# Build Kubo (the reference IPFS node) for tests and benchmarks; see DESIGN.md §5.
# The binary is cached outside the repo and rebuilt only when missing or broken.
# Prints the binary's path as the last line of output.
set -euo pipefail

version=v0.43.1
tools_dir=${IPNPM_TOOLS_DIR:-$HOME/.cache/ipnpm-tools}
out_dir=$tools_dir/kubo-$version
bin=$out_dir/ipfs

if [[ -x $bin ]] && "$bin" version >/dev/null 2>&1; then
    echo "$bin"
    exit 0
fi

go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
# Kubo's go.mod asks for go >= 1.26.5; let Go fetch a newer toolchain only if needed.
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
export CGO_ENABLED=0

# `go install …@version` is refused because Kubo's go.mod has `exclude` directives,
# so build inside the downloaded module directory instead.
mod_json=$("$go" mod download -json "github.com/ipfs/kubo@$version")
mod_dir=$(printf '%s' "$mod_json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
if [[ -z $mod_dir || ! -d $mod_dir ]]; then
    echo "build-kubo: could not find the module directory in:" >&2
    printf '%s\n' "$mod_json" >&2
    exit 1
fi

# Kubo v0.43.1's go.mod replaces go-libp2p with a personal fork that the Go module proxy refuses
# (403 "not available"). The fork only raised quic-go to v0.62.0 and webtransport-go to v0.13.0,
# which is exactly what the go-libp2p v0.50.0 release requires (see the TODO above the replace),
# so build against that release through a private copy of go.mod (-modfile) instead.
libp2p_release=v0.50.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$mod_dir/go.mod" "$mod_dir/go.sum" "$work/"
chmod u+w "$work/go.mod" "$work/go.sum"
(cd "$mod_dir" && "$go" mod edit -modfile="$work/go.mod" \
    -dropreplace=github.com/libp2p/go-libp2p \
    -require="github.com/libp2p/go-libp2p@$libp2p_release")

start=$SECONDS
# -mod=mod lets Go record the release's checksums in the copied go.sum; -modcacherw keeps the
# dependencies it downloads removable (the module cache is read-only by default).
(cd "$mod_dir" && "$go" build -modfile="$work/go.mod" -mod=mod -modcacherw -trimpath \
    -o "$work/ipfs" ./cmd/ipfs)
"$work/ipfs" version >/dev/null
mkdir -p "$out_dir"
# Same file system as the destination, so the final mv is atomic.
tmp=$(mktemp "$out_dir/.ipfs.XXXXXX")
trap 'rm -rf "$work" "$tmp"' EXIT
cp "$work/ipfs" "$tmp"
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
echo "build-kubo: built Kubo $version in $((SECONDS - start))s" >&2
echo "$bin"
