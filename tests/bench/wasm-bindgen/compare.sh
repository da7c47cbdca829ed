#!/usr/bin/env bash
# One-off measurement behind the "Lambda@Edge runtime" section of crates/handler/README.md:
# the product's raw exports against wasm-bindgen on the same decision code. Needs
# wasm-bindgen-cli 0.2.130 (cargo install wasm-bindgen-cli --version 0.2.130) on PATH or
# in $WASM_BINDGEN. Not part of `make bench`: wasm-bindgen is not a dependency of edgegate.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
bindgen=${WASM_BINDGEN:-wasm-bindgen}
version=$("$bindgen" --version 2>/dev/null || true)
if [ "$version" != "wasm-bindgen 0.2.130" ]; then
  echo "compare.sh: needs wasm-bindgen-cli 0.2.130 (found: ${version:-none})" >&2
  exit 2
fi
# The product's dependency versions, so only the binding differs.
[ -f "$here/Cargo.lock" ] || cp "$root/Cargo.lock" "$here/Cargo.lock"
cargo build --quiet --release --target wasm32-unknown-unknown --manifest-path "$here/Cargo.toml" \
  --target-dir "$root/target/wasm-bindgen-variant"
cargo build --quiet -p edgegate --manifest-path "$root/Cargo.toml"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bindgen" --target web --out-dir "$tmp/wbg" --out-name edgegate \
  "$root/target/wasm-bindgen-variant/wasm32-unknown-unknown/release/edgegate_wasm_bindgen_variant.wasm"
"$root/target/debug/edgegate" bundle --config "$root/fixtures/config/edgegate.toml" --out "$tmp/edgegate.zip" > /dev/null
python3 -m zipfile -e "$tmp/edgegate.zip" "$tmp/bundle"
node "$here/compare.mjs" "$tmp/bundle" "$tmp/wbg"
