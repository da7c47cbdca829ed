#!/usr/bin/env bash
# Live cross-check: fresh tokens from akamai-edgeauth for Python (PyPI 0.3.2, .venv) and
# for Node (npm 0.2.0, tests/node) over randomised inputs must verify with
# `edgegate verify`, and `edgegate sign` must print the same bytes for the same inputs.
# Details: tests/crosscheck/crosscheck.py.
#
#   CROSSCHECK_SEED=N   replay a run (the seed is printed first)
#   CROSSCHECK_CASES=N  cases per library (default 200)
#   EDGEGATE_BIN=PATH   binary to test (default target/debug/edgegate, from `make build`)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

missing() { echo "crosscheck: missing peer: $*" >&2; exit 1; }
bin=${EDGEGATE_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/edgegate}
[ -x "$bin" ] || missing "$bin (run: make build)"
py="$root/.venv/bin/python"
[ -x "$py" ] || missing ".venv (run: tests/setup.sh)"
"$py" -c 'import akamai.edgeauth' 2>/dev/null || missing "akamai-edgeauth in .venv (run: tests/setup.sh)"
command -v node >/dev/null || missing "node (Node.js) on PATH"
[ -f tests/node/node_modules/akamai-edgeauth/package.json ] || missing "tests/node/node_modules/akamai-edgeauth (run: tests/setup.sh)"

# The committed vectors must still be exactly what the library makes from their inputs.
"$py" fixtures/tokens/generate.py --check

args=(--bin "$bin" --cases "${CROSSCHECK_CASES:-200}")
[ -n "${CROSSCHECK_SEED:-}" ] && args+=(--seed "$CROSSCHECK_SEED")
exec "$py" tests/crosscheck/crosscheck.py "${args[@]}"
