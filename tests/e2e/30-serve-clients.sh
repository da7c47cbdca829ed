#!/usr/bin/env bash
# Real clients through `edgegate serve` (SPEC §7 serve, §4, §5): pip and apt with a signed
# base URL (path token), curl for Range/HEAD/denials/odd file names, a URL origin that
# streams 50 MB with flat memory, graceful shutdown and clear start-up errors.
# Every check counts; any failure makes the script exit non-zero.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

edgegate="${CARGO_TARGET_DIR:-$root/target}/debug/edgegate"
config="$root/fixtures/config/edgegate.toml"
demo="$root/fixtures/demo-repo"
pip="$root/.venv/bin/pip"
deb_path='/pool/libdemo++_1.0~rc1_all.deb'
deb_file="$demo/pool/libdemo++_1.0~rc1_all.deb"
wheel_file="$demo/packages/edgegate_demo-0.1.0-py3-none-any.whl"

. "$root/tests/e2e/lib/common.sh"
e2e_init serve-clients
# Missing tools are errors, not skips.
[ -x "$edgegate" ] || die "$edgegate not built (run: cargo build -p edgegate)"
[ -x "$pip" ] || die "$pip missing (run: tests/setup.sh)"
for tool in curl apt-get sha256sum head cmp; do
  command -v "$tool" >/dev/null || die "$tool not installed (run: tests/setup.sh)"
done

# start NAME ARGS...: `edgegate serve ARGS --listen 127.0.0.1:0`; sets url_NAME, pid_NAME.
start() { local name=$1; shift; listen "$name" "url_$name" "$edgegate" serve "$@" --listen 127.0.0.1:0; }

sign() { "$edgegate" sign --config "$config" "$@"; }
# status URL [curl args...]: the HTTP status code only.
status() { local u=$1; shift; curl -sS -o /dev/null -w '%{http_code}' "$@" "$u"; }
# reason URL [curl args...]: the x-edgegate-reason header.
reason() {
  local u=$1; shift
  curl -sS -o /dev/null -D - "$@" "$u" | tr -d '\r' | sed -n 's/^x-edgegate-reason: //Ip'
}

echo "serve-clients: directory origin (fixtures/demo-repo, test config)"
start gate --config "$config" --origin "$demo"
base=$(sign --acl '/*' --ttl 600 --base-url "$url_gate/" --place path)
file_url=$(sign --url "$deb_path" --ttl 600 --base-url "$url_gate")
[[ $base == "$url_gate/__token__="*/ ]] || die "unexpected signed base URL: $base"

# --- pip: signed base URL with a path token -------------------------------------------
mkdir -p "$tmp/pip"
pip_out=$(PIP_CONFIG_FILE=/dev/null "$pip" download --isolated --disable-pip-version-check --no-deps --no-cache-dir \
  -d "$tmp/pip" --index-url "${base}simple/" edgegate-demo 2>&1) || true
check "pip download edgegate-demo via path-token index URL" same_file "$tmp/pip/$(basename "$wheel_file")" "$wheel_file"
[ -f "$tmp/pip/$(basename "$wheel_file")" ] || printf '%s\n' "$pip_out" | tail -5 | sed 's/^/       pip: /'

# --- apt: flat repository from a signed base URL, isolated from the host --------------
host_lists=$(ls -la --time-style=full-iso /var/lib/apt/lists 2>/dev/null | sha256sum)
apt_dir="$tmp/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/dl"
touch "$apt_dir/status"
apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
  -o "Dir::State=$apt_dir" -o "Dir::State::lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
  -o "Dir::Cache=$apt_dir/cache" -o "Dir::Cache::archives=$apt_dir/cache/archives"
  -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root -o Acquire::Retries=0
  -o "Acquire::http::Proxy::127.0.0.1=DIRECT")
# apt percent-decodes a sources.list URI once: the token goes in encoded twice.
echo "deb [trusted=yes] ${base//%/%25} ./" > "$apt_dir/sources.list"
if apt_update=$(apt-get "${apt_opts[@]}" update 2>&1) && ! grep -qE '^(Err|W:|E:)' <<<"$apt_update"; then
  ok "apt-get update from the signed base URL"
else
  bad "apt-get update from the signed base URL" "$(grep -E '^(Err|W:|E:)' <<<"$apt_update" | head -3 | tr '\n' ' ')"
fi
(cd "$apt_dir/dl" && apt-get "${apt_opts[@]}" download 'libdemo++' >/dev/null 2>&1) || true
check "apt-get download libdemo++ (+ and ~ in the file name)" same_file "$apt_dir/dl/libdemo++_1.0~rc1_all.deb" "$deb_file"
# Without a token apt must be refused: proves the gate is in the path, not just a file server.
echo "deb [trusted=yes] $url_gate/ ./" > "$apt_dir/sources.list"
rm -rf "$apt_dir/lists" && mkdir -p "$apt_dir/lists/partial"
unsigned_apt=$(apt-get "${apt_opts[@]}" update 2>&1 || true)
check "apt-get update without a token is refused (403)" grep -q '403' <<<"$unsigned_apt"
check "the host's apt lists are untouched" test "$host_lists" = "$(ls -la --time-style=full-iso /var/lib/apt/lists 2>/dev/null | sha256sum)"

# --- curl -------------------------------------------------------------------------------
code=$(curl -sS -r 100-299 -o "$tmp/part" -D "$tmp/part.h" -w '%{http_code}' "$file_url")
check "Range 100-299 → 206" test "$code" = 206
check "Range body is exactly bytes 100..299 of the file" same_file "$tmp/part" <(tail -c +101 "$deb_file" | head -c 200)
check "Content-Range: bytes 100-299/842" grep -qi '^content-range: bytes 100-299/842' "$tmp/part.h"
code=$(curl -sS -r 5000- -o /dev/null -w '%{http_code}' "$file_url")
check "unsatisfiable Range → 416" test "$code" = 416
curl -sS -I -o /dev/null -D "$tmp/head.h" "$file_url"
check "HEAD → 200" grep -q '^HTTP/1.1 200' "$tmp/head.h"
check "HEAD has Content-Length 842, ETag and Last-Modified" \
  bash -c "grep -qi '^content-length: 842' '$tmp/head.h' && grep -qi '^etag: \"' '$tmp/head.h' && grep -qi '^last-modified: ' '$tmp/head.h'"
etag=$(tr -d '\r' <"$tmp/head.h" | sed -n 's/^etag: //Ip')
check "If-None-Match with the ETag → 304" test "$(status "$file_url" -H "If-None-Match: $etag")" = 304
check "content-type of a .deb" grep -qi '^content-type: application/vnd.debian.binary-package' "$tmp/head.h"

unsigned="$url_gate/pool/libdemo%2B%2B_1.0~rc1_all.deb"
check "unsigned → 403" test "$(status "$unsigned")" = 403
check "unsigned → x-edgegate-reason: missing-token" test "$(reason "$unsigned")" = missing-token
expired_url=$(sign --url "$deb_path" --exp $(($(date +%s) - 3600)) --base-url "$url_gate")
check "expired → 403" test "$(status "$expired_url")" = 403
check "expired → x-edgegate-reason: expired" test "$(reason "$expired_url")" = expired
check "bad signature → 403 bad-signature" test "$(reason "${file_url%?????}00000")" = bad-signature
dotdot="${base}pool/../Packages"
check "'..' → 400" test "$(status "$dotdot" --path-as-is)" = 400
check "'..' → x-edgegate-reason: bad-path" test "$(reason "$dotdot" --path-as-is)" = bad-path
check "POST → 405 with allow" bash -c "curl -sS -o /dev/null -D - -X POST '$file_url' | tr -d '\r' | grep -qi '^allow: GET, HEAD'"

curl -sS -f -o "$tmp/plus-raw" "${base}pool/libdemo++_1.0~rc1_all.deb" || true
check "file with '+' and '~' (sent raw) downloads" same_file "$tmp/plus-raw" "$deb_file"
curl -sS -f -o "$tmp/plus-enc" "${base}pool/libdemo%2B%2B_1.0%7Erc1_all.deb" || true
check "file with '+' and '~' (sent %2B %7E) downloads" same_file "$tmp/plus-enc" "$deb_file"
curl -sS -f -o "$tmp/plus-url" "$file_url" || true
check "file URL (query token) downloads" same_file "$tmp/plus-url" "$deb_file"
curl -sS -f -o "$tmp/space" "${base}files/read%20me.txt" || true
check "file with a space in its name downloads" same_file "$tmp/space" "$demo/files/read me.txt"
curl -sS -f -o "$tmp/cookie" -b "__token__=$(sign --acl '/pool/*' --ttl 600)" "$url_gate/pool/libdemo++_1.0~rc1_all.deb" || true
check "cookie token downloads" same_file "$tmp/cookie" "$deb_file"
check "missing file → 404" test "$(status "${base}pool/nope.deb")" = 404

# Tokens and their HMACs never reach a log line.
leaked=0
for token_url in "$base" "$file_url" "$expired_url"; do
  hmac=$(grep -o 'hmac%3D[0-9a-f]*' <<<"$token_url" | head -1 | cut -c8-)
  [ -n "$hmac" ] && grep -q "$hmac" "$tmp/gate.err" && leaked=1
done
check "no token HMAC in the server's log" test "$leaked" = 0
check "one access line per request" bash -c "[ \$(grep -c '\"kind\":\"access\"' '$tmp/gate.err') -ge 20 ]"

# --- cache classes: the same Cache-Control as the edge (SPEC §9) -----------------------
# cache_control URL: the cache-control header of a HEAD request.
cache_control() { curl -sS -o /dev/null -I -D - "$1" | tr -d '\r' | sed -n 's/^cache-control: //Ip'; }
package_cc='public, max-age=31536000, immutable'
metadata_cc='no-cache, no-store, max-age=0'
check "package (.deb) answers with the package Cache-Control" \
  test "$(cache_control "$file_url")" = "$package_cc"
check "wheel under packages/ answers with the package Cache-Control" \
  test "$(cache_control "${base}packages/$(basename "$wheel_file")")" = "$package_cc"
for meta in Packages Packages.gz Release simple/ simple/edgegate-demo/; do
  check "$meta answers with the metadata Cache-Control" test "$(cache_control "${base}$meta")" = "$metadata_cc"
done
check "a missing package (404) is never cached" \
  test "$(cache_control "${base}pool/absent_1.0_all.deb")" = "$metadata_cc"
check "a denial (403) is never cached" test "$(cache_control "$url_gate$deb_path")" = "no-store"

# --- URL origin: the gate in front of a second serve, 50 MB streamed ------------------
echo "serve-clients: URL origin (front gate → public back serve), 50 MB"
mkdir -p "$tmp/big/blobs"
head -c $((50 * 1024 * 1024)) /dev/urandom >"$tmp/big/blobs/big.bin"
cat >"$tmp/public.toml" <<'EOF'
# back server: everything public (the front gate checks the token)
public_prefixes = ["/"]
[[keys]]
id = "back"
secret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
EOF
start back --config "$tmp/public.toml" --origin "$tmp/big"
start front --config "$config" --origin "$url_back"
big_url=$(sign --url /blobs/big.bin --ttl 600 --base-url "$url_front")
small_url=$(sign --url "/blobs/small.txt" --ttl 600 --base-url "$url_front")
echo small >"$tmp/big/blobs/small.txt"
curl -sS -f -o /dev/null "$small_url" || true # warm the upstream connection pool
rss_kb() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$pid_front/status"; }
rss0=$(rss_kb VmRSS)
# A slow client: a proxy that buffered would hold most of the 50 MB.
curl -sS -f --limit-rate 20M -o "$tmp/big.out" "$big_url" &
curl_pid=$!
peak=$rss0
while kill -0 "$curl_pid" 2>/dev/null; do
  r=$(rss_kb VmRSS); ((r > peak)) && peak=$r
  sleep 0.1
done
wait "$curl_pid" && big_ok=1 || big_ok=0
hwm=$(rss_kb VmHWM)
((hwm > peak)) && peak=$hwm
growth_kb=$((peak - rss0))
echo "       front RSS before ${rss0} kB, peak ${peak} kB (growth ${growth_kb} kB)"
check "50 MB through the URL origin arrives intact" bash -c "[ $big_ok = 1 ] && cmp -s '$tmp/big.out' '$tmp/big/blobs/big.bin'"
check "front RSS growth while streaming < 32 MB" test "$growth_kb" -lt $((32 * 1024))
check "URL origin: Range passes through → 206" test "$(status "$big_url" -r 0-9)" = 206
check "URL origin: unsigned → 403 missing-token" test "$(reason "$url_front/blobs/big.bin")" = missing-token
check "URL origin: upstream 404 passes through" test "$(status "$(sign --url /blobs/none --ttl 60 --base-url "$url_front")")" = 404

# --- graceful shutdown ----------------------------------------------------------------
echo "serve-clients: shutdown and start-up errors"
curl -sS -f --limit-rate 25M -o "$tmp/drain.out" "$url_back/blobs/big.bin" &
drain_pid=$!
sleep 0.5
kill -TERM "$pid_back"
wait "$drain_pid" && drained=1 || drained=0
check "SIGTERM: the in-flight 50 MB download completes" bash -c "[ $drained = 1 ] && cmp -s '$tmp/drain.out' '$tmp/big/blobs/big.bin'"
wait "$pid_back" && back_rc=0 || back_rc=$?
check "SIGTERM: serve exits 0 after draining" test "$back_rc" = 0
check "SIGTERM: no longer accepting" test "$(curl -sS -o /dev/null -w '%{http_code}' "$url_back/blobs/small.txt" 2>/dev/null || true)" = 000
kill -INT "$pid_front"
wait "$pid_front" && front_rc=0 || front_rc=$?
check "SIGINT: serve exits 0" test "$front_rc" = 0

# --- start-up errors name what is wrong -------------------------------------------------
port=${url_gate##*:}
"$edgegate" serve --config "$config" --origin "$demo" --listen "127.0.0.1:$port" >/dev/null 2>"$tmp/inuse.err" && rc=0 || rc=$?
check "port in use → exit 2, says so" bash -c "[ $rc = 2 ] && grep -q 'port in use' '$tmp/inuse.err'"
"$edgegate" serve --config "$config" --origin "$tmp/does-not-exist" --listen 127.0.0.1:0 >/dev/null 2>"$tmp/noorigin.err" && rc=0 || rc=$?
check "missing --origin dir → exit 2, names it" bash -c "[ $rc = 2 ] && grep -q 'does-not-exist' '$tmp/noorigin.err'"
"$edgegate" serve --config "$config" --origin "https://example.com" --listen 127.0.0.1:0 >/dev/null 2>"$tmp/https.err" && rc=0 || rc=$?
check "https origin → exit 2, explains" bash -c "[ $rc = 2 ] && grep -q 'https' '$tmp/https.err'"

echo "serve-clients: $passed passed, $failed failed"
[ "$failed" = 0 ]
