#!/usr/bin/env bash
# The Lambda@Edge runtime under Node.js: build the real bundle with the CLI, unzip it as
# Lambda would, and run tests/node/handler.test.mjs against it (every fixture event, the
# failure paths, bundle determinism).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

# The debug binary `make e2e` builds; build it here when run on its own.
bin="${CARGO_TARGET_DIR:-$root/target}/debug/edgegate"
cargo build --quiet -p edgegate
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" bundle --config fixtures/config/edgegate.toml --out "$tmp/edgegate.zip"

python3 -m zipfile -e "$tmp/edgegate.zip" "$tmp/bundle"

EDGEGATE_BUNDLE_DIR="$tmp/bundle" EDGEGATE_BIN="$bin" node --test tests/node/handler.test.mjs
