#!/usr/bin/env bash
# `edgegate serve` vs Debian's nginx with secure_link, same directory, same run, same
# machine: wrk with valid tokens for a 1 KB and a 1 MB file. Prints requests/s for both
# and the ratio (goal: edgegate >= 0.8x nginx). Loopback only.
#
# Fair-comparison choices, stated so the figures can be judged:
# - nginx: `worker_processes auto` (one per core) and Debian's stock `sendfile on;
#   tcp_nopush on` (BENCH_NGINX_SENDFILE=off to change); edgegate: one connection worker
#   per core.
# - Both write one access-log line per request to a file.
# - nginx's `keepalive_requests` is raised so it does not close wrk's connections every
#   1000 requests (hyper never does); otherwise nginx would be measured reconnecting.
# - nginx's check is secure_link's MD5 over "expires + uri + secret"; edgegate's is the
#   EdgeAuth HMAC-SHA256 URL token of SPEC §2 with the full decide() of SPEC §5.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

die() { echo "serve-vs-nginx: $*" >&2; exit 1; }
for tool in nginx wrk curl taskset python3; do
  command -v "$tool" >/dev/null || die "$tool not installed (run: tests/setup.sh)"
done
nginx -V 2>&1 | grep -q -- '--with-http_secure_link_module' || die "this nginx has no secure_link module"

duration=${BENCH_DURATION:-10s}
# Debian's stock nginx.conf has `sendfile on`; on some VMs nginx is faster with it off for
# large files (BENCH_NGINX_SENDFILE=off to compare against that).
nginx_sendfile=${BENCH_NGINX_SENDFILE:-on}
connections=${BENCH_CONNECTIONS:-32}

cargo build --quiet --release -p edgegate
edgegate="$root/target/release/edgegate"
config="$root/fixtures/config/edgegate.toml"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
# nginx workers run as an unprivileged user when started by root: they must read the files.
chmod 755 "$tmp"
www="$tmp/www"
mkdir -p "$www" "$tmp/nginx"
head -c 1024 /dev/urandom >"$www/f1k.bin"
head -c $((1024 * 1024)) /dev/urandom >"$www/f1m.bin"
chmod 755 "$www" && chmod 644 "$www"/*.bin

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
secret="bench-secret-$RANDOM$RANDOM"

# start_servers WORKERS [taskset-prefix...]: nginx with WORKERS worker processes and
# edgegate serve, both under the given CPU pinning; sets nginx_url, edgegate_url, pids.
start_servers() {
  local workers=$1; shift
  local nginx_port
  nginx_port=$(free_port)
  cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
worker_processes $workers;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log $tmp/nginx/access.log;
  sendfile $nginx_sendfile;
  tcp_nopush on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path $tmp/nginx/client_body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $www;
    location / {
      secure_link \$arg_md5,\$arg_expires;
      secure_link_md5 "\$secure_link_expires\$uri $secret";
      if (\$secure_link = "") { return 403; }
      if (\$secure_link = "0") { return 410; }
    }
  }
}
EOF
  "$@" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" &
  pids+=($!)
  rm -f "$tmp/edgegate.out"
  "$@" "$edgegate" serve --config "$config" --origin "$www" --listen 127.0.0.1:0 >"$tmp/edgegate.out" 2>"$tmp/edgegate.log" &
  pids+=($!)
  edgegate_url=""
  for _ in $(seq 1 100); do
    edgegate_url=$(sed -n 's/^edgegate serve: listening on \(http:[^ ]*\).*/\1/p' "$tmp/edgegate.out")
    [ -n "$edgegate_url" ] && break
    sleep 0.1
  done
  [ -n "$edgegate_url" ] || die "edgegate serve did not start: $(cat "$tmp/edgegate.log")"
  nginx_url="http://127.0.0.1:$nginx_port"
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$nginx_url/" && break
    sleep 0.1
  done
}
stop_servers() {
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}

expires=$(($(date +%s) + 3600))
nginx_signed() {
  local md5
  # secure_link_md5 "$secure_link_expires$uri SECRET": base64url of the MD5, no padding.
  md5=$(python3 -c 'import base64, hashlib, sys; print(base64.urlsafe_b64encode(hashlib.md5(sys.argv[1].encode()).digest()).decode().rstrip("="))' "$expires$1 $secret")
  echo "$nginx_url$1?md5=$md5&expires=$expires"
}
edgegate_signed() { "$edgegate" sign --config "$config" --url "$1" --ttl 3600 --base-url "$edgegate_url"; }

# Both gates must really gate: signed → 200 with the right bytes, unsigned → 403.
check_gates() {
  local f url code
  for f in /f1k.bin /f1m.bin; do
    for url in "$(nginx_signed "$f")" "$(edgegate_signed "$f")"; do
      curl -sS -f -o "$tmp/check" "$url" || die "signed request failed: ${url%%\?*}"
      cmp -s "$tmp/check" "$www$f" || die "wrong bytes from ${url%%\?*}"
    done
    for url in "$nginx_url$f" "$edgegate_url$f"; do
      code=$(curl -sS -o /dev/null -w '%{http_code}' "$url")
      [ "$code" = 403 ] || die "unsigned $url answered $code, not 403"
    done
  done
}

# wrk_rps URL [prefix...]: requests/s of one wrk run; any non-2xx answer or socket error
# voids the figure.
wrk_rps() {
  local url=$1 out
  shift
  out=$("$@" wrk -t2 -c"$connections" -d"$duration" "$url")
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    echo "$out" >&2
    die "wrk saw errors for ${url%%\?*}"
  fi
  sed -n 's/^Requests\/sec:[[:space:]]*//p' <<<"$out"
}

# compare SETUP [prefix for wrk...]: alternates edgegate and nginx runs, reports medians
# (on a small VM single runs swing by ±20% with how the scheduler mixes the threads).
compare() {
  local setup=$1 f label n_url e_url es ns
  shift
  for f in /f1k.bin /f1m.bin; do
    label=$([ "$f" = /f1k.bin ] && echo "1 KB" || echo "1 MB")
    n_url=$(nginx_signed "$f")
    e_url=$(edgegate_signed "$f")
    # Warm both (page cache, connections, lazy allocations) before measuring.
    "$@" wrk -t2 -c"$connections" -d2s "$n_url" >/dev/null
    "$@" wrk -t2 -c"$connections" -d2s "$e_url" >/dev/null
    es="" ns=""
    for _ in $(seq 1 "$rounds"); do
      es+=" $(wrk_rps "$e_url" "$@")"
      ns+=" $(wrk_rps "$n_url" "$@")"
    done
    python3 - "$setup" "$label" "$es" "$ns" <<'PY'
import statistics, sys
setup, label = sys.argv[1], sys.argv[2]
es = [float(x) for x in sys.argv[3].split()]
ns = [float(x) for x in sys.argv[4].split()]
e, n = statistics.median(es), statistics.median(ns)
ratio = e / n
runs = lambda xs: "/".join(f"{x:,.0f}" for x in xs)
print(f"serve-vs-nginx: {setup}: {label}: edgegate {e:,.0f} req/s, nginx {n:,.0f} req/s, "
      f"ratio {ratio:.2f}x (goal >= 0.8x: {'met' if ratio >= 0.8 else 'NOT met'})")
print(f"serve-vs-nginx:   runs: edgegate {runs(es)}; nginx {runs(ns)}")
PY
  done
}

cores=$(nproc)
echo "serve-vs-nginx: wrk -t2 -c$connections -d$duration per run, valid tokens, medians of alternating runs, $cores cores, nginx sendfile $nginx_sendfile"

# 1. As specified: servers and wrk share every core (one server worker per core). The
#    noisier setup, so more runs.
rounds=${BENCH_ROUNDS:-5}
start_servers auto
check_gates
compare "shared cores"
stop_servers

# 2. Per-core efficiency: each server pinned to CPU 0 (one nginx worker; edgegate sizes
#    itself to its CPU affinity: one worker), wrk pinned to CPU 1. Steadier than (1),
#    whose figures depend on how the scheduler happens to place wrk's threads.
if ((cores >= 2)); then
  rounds=${BENCH_PINNED_ROUNDS:-3}
  start_servers 1 taskset -c 0
  check_gates
  compare "pinned (server CPU 0, wrk CPU 1)" taskset -c 1
  stop_servers
else
  echo "serve-vs-nginx: the pinned comparison needs 2 cores; this machine has $cores"
fi
