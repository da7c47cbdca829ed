#!/usr/bin/env bash
# Every fuzz target in fuzz/ (cargo-fuzz, libFuzzer, AddressSanitizer, debug assertions)
# for FUZZ_SECONDS each (default 20; `make fuzz` passes 60). Each run starts from its
# working corpus fuzz/corpus/<target>/ (gitignored, grows across runs) plus the committed
# seeds fuzz/seeds/<target>/ (and, for `event`, the event fixtures), with a fixed seed
# (FUZZ_SEED, default 1) so that a run on a fresh clone repeats itself.
#
# Prints each target's executions and final coverage, then `fuzz: N passed, M failed`.
# A crash, a timeout, an out-of-memory or a build failure is a failure; the input that
# caused it is printed (fuzz/artifacts/<target>/...). Reproduce one with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>   (or RUSTC_BOOTSTRAP=1 cargo fuzz ...)
# Toolchain: nightly when installed, else the machine's stable one with RUSTC_BOOTSTRAP=1
# (a new machine can fetch no other toolchain; cargo-fuzz treats that as nightly).
# FUZZ_TOOLCHAIN overrides (e.g. FUZZ_TOOLCHAIN=stable). A missing cargo-fuzz is a
# failure, not a skip (tests/setup.sh installs it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

seconds=${FUZZ_SECONDS:-20}
seed=${FUZZ_SEED:-1}
toolchain=${FUZZ_TOOLCHAIN:-$(rustup toolchain list | grep '^nightly' >/dev/null && echo nightly || echo stable)}
if [ "$toolchain" != nightly ]; then
  export RUSTC_BOOTSTRAP=1
fi
fuzz() { cargo "+$toolchain" fuzz "$@"; }

if ! fuzz --version >/dev/null 2>&1; then
  echo "fuzz: cargo-fuzz not installed for toolchain $toolchain (run tests/setup.sh)" >&2
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
echo "fuzz: toolchain $toolchain, $seconds s per target"

# One build for every target; `fuzz run` below then finds them up to date.
if ! fuzz build >/dev/null 2>"${TMPDIR:-/tmp}/edgegate-fuzz-build.log"; then
  tail -n 40 "${TMPDIR:-/tmp}/edgegate-fuzz-build.log" >&2
  echo "fuzz: 0 passed, 1 failed (build)"
  exit 1
fi

mapfile -t targets < <(fuzz list)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0
failed=0
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus"
  extra=()
  [ -d "fuzz/seeds/$target" ] && extra+=("fuzz/seeds/$target")
  # libFuzzer reads corpus directories recursively: every fixture event is a seed.
  [ "$target" = event ] && extra+=(fixtures/events)
  status=0
  # -timeout: one input running 10 s is a hang (the gate's worst case is milliseconds).
  fuzz run "$target" "$corpus" "${extra[@]}" -- \
    -max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
    printf 'fuzz: %-10s ok    %s executions in %ss, %s\n' "$target" "${runs:-?}" "$seconds" "${cov:-cov: ?}"
  else
    failed=$((failed + 1))
    artifact=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -n 1 | sed 's/Test unit written to //' || true)
    printf 'fuzz: %-10s FAIL  exit %s after %s executions; input: %s\n' "$target" "$status" "${runs:-?}" "${artifact:-none}"
    grep -E 'panicked|ERROR: |SUMMARY' "$log" | head -n 5 | sed 's/^/fuzz:   /' || true
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
