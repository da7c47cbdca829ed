#!/usr/bin/env bash
# Installs everything `make test` needs, idempotently, on a fresh machine or a warm one:
# the wasm32 target, Debian packages (nginx, wrk, curl, dpkg-dev, ...), a Python venv with
# the test peers (akamai-edgeauth, moto, pip), the npm test peers, and cargo-lambda.
# Each step checks first, so a warm machine spends seconds here.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
step() { printf 'setup: %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# Debian packages: peers and real clients.
# dnf..ruby: the real clients and repository tools of tests/e2e/35-clients.sh.
debs=(nginx wrk curl dpkg-dev apt-utils hyperfine procps
  dnf dnf-plugins-core createrepo-c rpm ruby python3-venv)
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  step "apt-get install ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python venv for test peers; reinstalled only when requirements change.
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  step "python3 -m venv .venv"
  python3 -m venv "$venv"
fi
req="$root/tests/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "pip install -r tests/requirements.txt"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi

# npm test peers, in a local folder (never global).
node_dir="$root/tests/node"
nstamp="$node_dir/node_modules/.package-lock.sha256"
nwant=$(cat "$node_dir/package.json" "$node_dir/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ "$(cat "$nstamp" 2>/dev/null)" != "$nwant" ]; then
  step "npm install (tests/node)"
  if [ -f "$node_dir/package-lock.json" ]; then
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
  echo "$nwant" > "$nstamp"
fi

# cargo-lambda (the Lambda Runtime API emulator) comes pinned from tests/requirements.txt,
# into .venv/bin: PyPI ships its prebuilt binary. Checked, not assumed.
[ -x "$venv/bin/cargo-lambda" ] || { echo "setup: $venv/bin/cargo-lambda missing after pip install" >&2; exit 1; }

# --- fuzzing (tests/e2e/40-fuzz.sh, `make fuzz`) ---
# libFuzzer builds need unstable flags (-Zsanitizer). A nightly toolchain is used when one
# is installed; a machine that cannot fetch one (only its own toolchain is reachable) runs
# the stable toolchain with RUSTC_BOOTSTRAP=1, which cargo-fuzz accepts as nightly. So a
# failed nightly install is reported, not fatal.
if ! rustup toolchain list | grep '^nightly' >/dev/null; then
  step "rustup toolchain install nightly --profile minimal"
  timeout 600 rustup toolchain install nightly --profile minimal ||
    step "no nightly toolchain: fuzzing will use stable with RUSTC_BOOTSTRAP=1"
fi
# cargo-fuzz pinned: 40-fuzz.sh parses its command line and libFuzzer's output (~1.5 min
# to build once). Built with the machine's toolchain; the binary does not depend on it.
cargo_fuzz_version=0.13.2
if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$cargo_fuzz_version" ]; then
  step "cargo install cargo-fuzz@$cargo_fuzz_version --locked (one-time, ~1.5 min)"
  cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi
# --- end fuzzing ---
step "ok"
