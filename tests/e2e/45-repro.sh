#!/usr/bin/env bash
# The Lambda@Edge bundle is reproducible for real (part of `make test`; `make repro` runs
# it alone). Builds the wasm module twice from two fresh target directories, with the exact command and flags deploy/build.rs uses
# (the `wasm` profile, paths remapped to /edgegate and /cargo), from two different checkout
# paths, and compares both with the module inside the bundle that the already-built
# `edgegate` produces. Any difference fails. Costs two clean wasm builds: about 55 s on two
# cores.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
cargo_home=${CARGO_HOME:-$HOME/.cargo}
bin="${CARGO_TARGET_DIR:-$root/target}/debug/edgegate"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# build NAME: a copy of the tracked sources at a checkout path of its own, built into a
# target directory of its own, exactly as build.rs builds the module.
build() {
  local src="$tmp/$1/edgegate" target="$tmp/$1/target"
  mkdir -p "$src"
  git ls-files -z | xargs -0 cp --parents -t "$src"
  (
    cd "$src"
    env -u RUSTFLAGS CARGO_ENCODED_RUSTFLAGS="--remap-path-prefix=$src=/edgegate"$'\x1f'"-Ctarget-feature=+simd128"$'\x1f'"--remap-path-prefix=$cargo_home=/cargo" \
      cargo build --quiet --locked -p edgegate-handler --lib --target wasm32-unknown-unknown --profile wasm \
      --target-dir "$target"
  )
  sha256sum < "$target/wasm32-unknown-unknown/wasm/edgegate_handler.wasm" | cut -d' ' -f1
}

a=$(build one)
b=$(build two)
cargo build --quiet -p edgegate
"$bin" bundle --config fixtures/config/edgegate.toml --out "$tmp/edgegate.zip" >/dev/null
python3 -m zipfile -e "$tmp/edgegate.zip" "$tmp/bundle"
embedded=$(sha256sum < "$tmp/bundle/edgegate.wasm" | cut -d' ' -f1)

echo "repro: clean build 1 $a"
echo "repro: clean build 2 $b"
echo "repro: embedded      $embedded"
if [ "$a" = "$b" ] && [ "$a" = "$embedded" ]; then
  echo "repro: 1 passed, 0 failed"
else
  echo "repro: 0 passed, 1 failed (the wasm module depends on the build's path or state)"
  exit 1
fi
