# Shared by the e2e scripts that start servers and count checks (30, 32, 35). Sourced, not
# run: `make test` runs tests/e2e/*.sh only.
#
#   e2e_init LABEL     die() prefix, a temporary directory $tmp, server pids killed (and
#                      waited for, at most 12 s each) on exit, the passed/failed counters
#   ok/bad/check       one assertion each: `check NAME CMD...`; same_file A B
#   listen NAME VAR CMD...
#                      runs CMD in the background (stdout $tmp/NAME.out, stderr
#                      $tmp/NAME.err), waits for its "listening on http://HOST:PORT" line
#                      and sets VAR to that URL and pid_NAME to its pid (port 0: no
#                      free-port race)

e2e_init() {
  e2e_label=$1
  tmp=$(mktemp -d)
  pids=()
  trap e2e_cleanup EXIT
  passed=0 failed=0
}

die() { echo "$e2e_label: $*" >&2; exit 1; }

e2e_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # A server stuck for good (a worker blocked in open(2)) must not hang the script.
  for pid in "${pids[@]}"; do
    timeout 12 bash -c "while kill -0 $pid 2>/dev/null; do sleep 0.1; done" || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [ -n "${KEEP_TMP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}

ok() { passed=$((passed + 1)); echo "  ok   $1"; }
bad() { failed=$((failed + 1)); echo "  FAIL $1${2:+: $2}"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
same_file() { cmp -s "$1" "$2"; }

listen() {
  local name=$1 var=$2; shift 2
  # Created first: the background job opens them only when it gets to run.
  : >"$tmp/$name.out"
  : >"$tmp/$name.err"
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  local pid=$!
  pids+=("$pid")
  local url=""
  for _ in $(seq 1 150); do
    url=$(sed -n 's/^.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$tmp/$name.out" | head -1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/$name.err" >&2; die "$name exited at start"; }
    sleep 0.1
  done
  [ -n "$url" ] || die "$name printed no listening line"
  printf -v "$var" '%s' "$url"
  printf -v "pid_$name" '%s' "$pid"
}
