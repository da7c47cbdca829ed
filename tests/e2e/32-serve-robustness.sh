#!/usr/bin/env bash
# `edgegate serve` under hostile or broken clients and origins (issue 11, defect 7):
#   - a client that never reads its response, and one that stops sending its request body,
#     are cut after --timeout (server side: its open sockets fall back to the baseline);
#   - --max-connections answers the excess 503 with retry-after, and one log line per burst;
#   - a FIFO in the origin directory is a prompt 404 and shutdown still completes;
#   - symlinks resolving outside the origin are 404 unless --follow-symlinks; inside, 200;
#   - with a URL origin, a Referer (or any header) carrying the signed URL reaches the
#     upstream without the token.
# Loopback only; every wait is bounded. Prints RSS before/peak/after 100 never-reading +
# 100 stalled-body clients. Ends with `serve-robustness: N passed, M failed`; exits
# non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

edgegate="${CARGO_TARGET_DIR:-$root/target}/debug/edgegate"
config="$root/fixtures/config/edgegate.toml"

. "$root/tests/e2e/lib/common.sh"
e2e_init serve-robustness
[ -x "$edgegate" ] || die "$edgegate not built (run: cargo build -p edgegate)"
for tool in curl python3 mkfifo timeout; do
  command -v "$tool" >/dev/null || die "$tool not installed"
done

# start NAME ARGS...: `edgegate serve ARGS --listen 127.0.0.1:0`; sets url_NAME, pid_NAME.
start() { local name=$1; shift; listen "$name" "url_$name" "$edgegate" serve "$@" --listen 127.0.0.1:0; }
# status URL [curl args...]: the status code; 000 when there is none within 5 s.
status() { local u=$1; shift; curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$u" 2>/dev/null || true; }
# sockets PID: TCP sockets the process holds open (listeners included).
# (find fails when a descriptor closes mid-walk: that is not an error here)
sockets() { { find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null || true; } | wc -l; }
rss_kb() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }
# settles PID LIMIT SECONDS: true once PID holds at most LIMIT sockets, polling for SECONDS.
settles() {
  local i
  for i in $(seq 1 $(($3 * 10))); do
    [ "$(sockets "$1")" -le "$2" ] && return 0
    sleep 0.1
  done
  echo "       (still $(sockets "$1") sockets, want <= $2)"
  return 1
}

# hold.py MODE PORT N SECONDS PATH: N connections that misbehave for SECONDS, then exit.
#   noread: GET PATH with a tiny receive buffer, never reading;
#   stall:  GET PATH announcing a 1 MB body, sending 10 bytes, then nothing;
#   stall-read: one such client, reading; prints the seconds until the server closed;
#   idle:   connect and send nothing.
cat >"$tmp/hold.py" <<'EOF'
import socket, sys, time
mode, port, n, seconds, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
socks = []
for _ in range(n):
    s = socket.socket()
    if mode == "noread":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    if mode == "noread":
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    elif mode in ("stall", "stall-read"):
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n0123456789".encode())
    socks.append(s)
if mode == "stall-read":
    # One client: how long until the server ends the connection (or SECONDS pass)?
    start, s = time.time(), socks[0]
    try:
        while time.time() - start < seconds:
            s.settimeout(max(0.1, seconds - (time.time() - start)))
            if not s.recv(65536):
                break
    except OSError:
        pass
    print(f"{time.time() - start:.1f}")
else:
    time.sleep(seconds)
EOF

# echo.py PORTFILE: an upstream that reads any request body, then answers with the request
# headers it received (one `name: value` per line); under /stall-response/ it promises
# 1000 bytes, sends 10 and goes silent; under /trickle/ it answers at once, never reads
# the request body, and sends a byte every 0.2 s for 20 s.
cat >"$tmp/echo.py" <<'EOF'
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        length = int(self.headers.get("content-length") or 0)
        if self.path.startswith("/stall-response/"):
            self.send_response(200)
            self.send_header("content-length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            time.sleep(10)
            self.close_connection = True
            return
        if self.path.startswith("/trickle/"):
            self.send_response(200)
            self.send_header("content-length", "100")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b".")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
            self.close_connection = True
            return
        try:
            if length:
                self.rfile.read(length)
            body = "".join(f"{k.lower()}: {v}\n" for k, v in self.headers.items()).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            # The gate cut a stalled body: this connection is gone, as it should be.
            self.close_connection = True
    do_GET = do_POST = do_HEAD = answer
    def log_message(self, *args):
        pass
class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass
server = Server(("127.0.0.1", 0), Echo)
server.daemon_threads = True
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
EOF

cat >"$tmp/public.toml" <<'EOF'
# everything public: these checks are about the server, not the token
public_prefixes = ["/"]
[[keys]]
id = "robust"
secret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
EOF

origin="$tmp/origin"
mkdir -p "$origin/sub" "$tmp/outside"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$origin/big.bin"
echo small >"$origin/small.txt"
echo secret-outside >"$tmp/outside/secret.txt"
ln -s small.txt "$origin/inside-link"
ln -s ../small.txt "$origin/sub/up-link"
ln -s /etc/passwd "$origin/passwd-link"
ln -s "$tmp/outside" "$origin/outside-dir"
mkfifo "$origin/fifo"

# --- timeouts -------------------------------------------------------------------------
echo "serve-robustness: timeouts (--timeout 2)"
start dir --config "$tmp/public.toml" --origin "$origin" --timeout 2
port_dir=${url_dir##*:}
check "small file → 200" test "$(status "$url_dir/small.txt")" = 200
base_dir=$(sockets "$pid_dir")
python3 "$tmp/hold.py" noread "$port_dir" 30 8 /big.bin &
hold=$!
sleep 1
check "30 never-reading clients are connected" test "$(sockets "$pid_dir")" -ge $((base_dir + 30))
check "never-reading clients are cut after the timeout" settles "$pid_dir" "$base_dir" 6
kill "$hold" 2>/dev/null || true; wait "$hold" 2>/dev/null || true

# Idle keep-alive and silent connections: hyper's header-read clock, set from --timeout.
python3 "$tmp/hold.py" idle "$port_dir" 20 8 / &
hold=$!
sleep 1
check "20 silent connections are connected" test "$(sockets "$pid_dir")" -ge $((base_dir + 20))
check "silent connections are closed after the timeout" settles "$pid_dir" "$base_dir" 6
kill "$hold" 2>/dev/null || true; wait "$hold" 2>/dev/null || true

# A stalled request body matters where the body is read: a URL origin streams it upstream.
python3 "$tmp/echo.py" "$tmp/echo.port" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$tmp/echo.port" ] && break; sleep 0.1; done
[ -s "$tmp/echo.port" ] || die "echo upstream did not start"
upstream="http://127.0.0.1:$(cat "$tmp/echo.port")"
start body --config "$tmp/public.toml" --origin "$upstream" --timeout 2 --max-connections 1000
port_body=${url_body##*:}
check "URL origin answers" test "$(status "$url_body/x")" = 200
base_body=$(sockets "$pid_body")
python3 "$tmp/hold.py" stall "$port_body" 20 8 /upload &
hold=$!
sleep 1
check "20 stalled-body clients are connected (and forwarded)" test "$(sockets "$pid_body")" -ge $((base_body + 20))
check "stalled request bodies are cut after the timeout (both sides)" settles "$pid_body" $((base_body + 1)) 6
kill "$hold" 2>/dev/null || true; wait "$hold" 2>/dev/null || true
check "URL origin still answers" test "$(status "$url_body/x")" = 200
# The upstream answers while the viewer's body stalls: only the body's own clock cuts it.
took=$(python3 "$tmp/hold.py" stall-read "$port_body" 1 8 /trickle/x)
check "a stalled body is cut even while the upstream answers (${took} s)" \
  python3 -c "import sys; sys.exit(0 if float('$took') < 6 else 1)"
t0=$(date +%s%N)
curl -sS -o /dev/null --max-time 8 "$url_body/stall-response/x" 2>/dev/null && cut=0 || cut=1
waited_ms=$((($(date +%s%N) - t0) / 1000000))
check "an upstream stalling mid-body is cut after the timeout (${waited_ms} ms)" \
  bash -c "[ $cut = 1 ] && [ $waited_ms -lt 6000 ]"

# --- memory under 100 + 100 bad clients ---------------------------------------------------
rss0=$(rss_kb "$pid_dir" VmRSS)
python3 "$tmp/hold.py" noread "$port_dir" 100 6 /big.bin &
h1=$!
python3 "$tmp/hold.py" stall "$port_dir" 100 6 /small.txt &
h2=$!
peak=$rss0 open_peak=0
for _ in $(seq 1 30); do
  r=$(rss_kb "$pid_dir" VmRSS); ((r > peak)) && peak=$r
  s=$(sockets "$pid_dir"); ((s > open_peak)) && open_peak=$s
  sleep 0.1
done
settles "$pid_dir" "$base_dir" 8 >/dev/null && closed=1 || closed=0
rss1=$(rss_kb "$pid_dir" VmRSS)
echo "       100 never-reading + 100 stalled-body clients: RSS before ${rss0} kB, peak ${peak} kB, after ${rss1} kB;" \
  "sockets peak ${open_peak}, now $(sockets "$pid_dir")"
check "all 200 bad clients closed within the timeout" test "$closed" = 1
# Each never-reading client may pin a file chunk in flight; buffering its 4 MB would be 400 MB.
check "RSS growth under 200 bad clients < 1 MB per client" test $((peak - rss0)) -lt $((100 * 1024))
kill "$h1" "$h2" 2>/dev/null || true; wait "$h1" "$h2" 2>/dev/null || true

# --- connection cap ---------------------------------------------------------------------
echo "serve-robustness: --max-connections 5"
start cap --config "$tmp/public.toml" --origin "$origin" --max-connections 5
port_cap=${url_cap##*:}
python3 "$tmp/hold.py" idle "$port_cap" 5 6 / &
hold=$!
sleep 1
curl -sS --max-time 5 -o "$tmp/cap.body" -D "$tmp/cap.h" "$url_cap/small.txt" 2>/dev/null || true
check "over the cap → 503" grep -q '^HTTP/1.1 503' "$tmp/cap.h"
check "over the cap → retry-after" grep -qi '^retry-after: 1' "$tmp/cap.h"
for _ in $(seq 1 9); do status "$url_cap/small.txt" >/dev/null; done
sleep 1.5
lines=$(grep -c 'connection limit reached' "$tmp/cap.err" || true)
check "one log line for a burst of 10 refusals" test "$lines" = 1
check "the line names the flag and the count" grep -q -- '--max-connections 5): refused 10 connection' "$tmp/cap.err"
kill "$hold" 2>/dev/null || true; wait "$hold" 2>/dev/null || true
sleep 0.3
check "below the cap again → 200" test "$(status "$url_cap/small.txt")" = 200

# --- FIFO and symlinks ----------------------------------------------------------------------
echo "serve-robustness: regular files only, symlinks"
# One request per worker and more: a blocked worker would hang the later ones.
fifo_codes=""
for _ in 1 2 3 4; do fifo_codes+="$(status "$url_cap/fifo" --max-time 3) "; done
check "FIFO → 404, promptly, every time" test "$fifo_codes" = "404 404 404 404 "
check "still serving after the FIFO" test "$(status "$url_cap/small.txt" --max-time 3)" = 200
check "symlink inside the origin → 200" test "$(status "$url_cap/inside-link")" = 200
check "symlink to ../ staying inside → 200" test "$(status "$url_cap/sub/up-link")" = 200
check "symlink to /etc/passwd → 404" test "$(status "$url_cap/passwd-link")" = 404
check "file under a symlinked outside directory → 404" test "$(status "$url_cap/outside-dir/secret.txt")" = 404
kill -TERM "$pid_cap"
timeout 15 bash -c "while kill -0 $pid_cap 2>/dev/null; do sleep 0.1; done" && stopped=1 || stopped=0
check "SIGTERM after the FIFO requests: serve stops" test "$stopped" = 1
[ "$stopped" = 1 ] || kill -KILL "$pid_cap" 2>/dev/null || true
wait "$pid_cap" && rc=0 || rc=$?
check "SIGTERM: exit 0" test "$rc" = 0

start follow --config "$tmp/public.toml" --origin "$origin" --follow-symlinks
check "--follow-symlinks: symlink to /etc/passwd → 200" test "$(status "$url_follow/passwd-link")" = 200
check "--follow-symlinks: outside directory → 200" test "$(status "$url_follow/outside-dir/secret.txt")" = 200
check "--follow-symlinks: FIFO still 404" test "$(status "$url_follow/fifo" --max-time 3)" = 404

# --- URL origin: no token in forwarded headers ------------------------------------------------
echo "serve-robustness: URL origin strips the token from forwarded headers"
start gate --config "$config" --origin "$upstream"
sign() { "$edgegate" sign --config "$config" "$@"; }
base=$(sign --acl '/*' --ttl 600 --base-url "$url_gate/" --place path)
file_url=$(sign --url /pool/a.deb --ttl 600 --base-url "$url_gate")
[[ $base == "$url_gate/__token__="*/ ]] || die "unexpected signed base URL: $base"
curl -sS -f --max-time 5 -o "$tmp/echo.body" "${base}pool/a.deb" \
  -H "Referer: ${base}simple/page.html?a=1" -H "X-Original-URL: ${file_url}&b=2" \
  -H "X-Note: plain" 2>/dev/null || true
check "forwarded through the gate" grep -q '^x-note: plain' "$tmp/echo.body"
check "Referer path token stripped, rest kept" grep -qx "referer: $url_gate/simple/page.html?a=1" "$tmp/echo.body"
check "query token stripped from another URL header" grep -qx "x-original-url: $url_gate/pool/a.deb?b=2" "$tmp/echo.body"
check "no token or hmac reaches the upstream" bash -c "! grep -qiE '__token__|hmac' '$tmp/echo.body'"

echo "serve-robustness: $passed passed, $failed failed"
[ "$failed" = 0 ]
