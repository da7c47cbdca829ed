#!/usr/bin/env bash
# The native `edgegate-lambda` binary under cargo-lambda's Runtime API emulator, over every
# fixture in fixtures/events/ (origin-response/ included): `cargo lambda watch` runs the
# real lambda_runtime loop, and
# `cargo lambda invoke --data-file EVENT.json` sends each event through it. The returned
# JSON must deep-equal the fixture's expected result, and the function's log lines (its
# stdout, captured from the watch process) must carry the expected reason for each
# request id, and nothing for a plain forward.
#
# Clock: fixtures are signed for a fixed `now` in the past. The binary is built with the
# `test-clock` feature (debug only; a release build with it does not compile) and started
# with EDGEGATE_NOW=<fixture now>; one emulator instance per distinct `now`. Re-signing the
# fixtures against the real clock instead would make the one-second leeway cases race the
# clock between signing and invoking.
#
# Misconfiguration: a second instance runs with EDGEGATE_CONFIG pointing at
# fixtures/events/misconfigured/edgegate.json, a third at a file that does not exist;
# both must answer the misconfigured fixtures with 500 `misconfigured`. The options/
# fixtures run with their own fixtures/events/options/edgegate.json.
#
# Prints `cargo-lambda: N passed, 0 failed`; exits non-zero on any difference. A missing
# cargo-lambda is a failure, not a skip (tests/setup.sh installs it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# cargo-lambda is installed into .venv by tests/setup.sh (pinned in tests/requirements.txt).
export PATH="$root/.venv/bin:$HOME/.cargo/bin:$PATH"

if ! command -v cargo-lambda >/dev/null 2>&1; then
  echo "cargo-lambda: not installed in .venv (run tests/setup.sh)" >&2
  exit 1
fi

# Build once up front so a compile error reads as one, not as an emulator timeout.
cargo build --quiet -p edgegate-handler --bin edgegate-lambda --features test-clock

exec python3 tests/e2e/cargo_lambda_driver.py
