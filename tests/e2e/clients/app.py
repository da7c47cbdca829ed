#!/usr/bin/env python3
"""The "repository application" of the seed's flow, for tests/e2e/35-clients.sh.

    .venv/bin/python tests/e2e/clients/app.py --gate URL --key HEX [--ttl S] [--listen HOST:PORT]

Answers every GET/HEAD with a 302 to the gate URL + the same path, carrying a URL token
(no ACL) for that path in the query. It signs with the real `akamai-edgeauth` library,
never with edgegate, so the suite checks the gate against an independent signer.

A URL token covers one canonical path (SPEC §2, §3): the percent-decoded path, so the
library is handed `unquote(path)` while the Location keeps the path as the client sent it
(`/@acme%2fwidget`, `libedge%2B%2B...`). Other query parameters are kept, in order.

Prints `app: listening on http://HOST:PORT` once bound (port 0: the kernel picks), then
one line per request on stderr: method, path, status. Never the token.
"""

import argparse
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from akamai.edgeauth import EdgeAuth


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gate", required=True, help="gate base URL, no trailing slash")
    parser.add_argument("--key", required=True, help="hex secret (the gate's first key)")
    parser.add_argument("--ttl", type=int, default=300)
    parser.add_argument("--token-name", default="__token__")
    parser.add_argument("--listen", default="127.0.0.1:0")
    # Test-only: where the HMACs it issued go, so the suite can prove none reaches the gate's log.
    parser.add_argument("--hmac-log")
    args = parser.parse_args()
    # escape_early=False: the token text is signed exactly as given (as edgegate verifies).
    auth = EdgeAuth(key=args.key, window_seconds=args.ttl, escape_early=False, token_name=args.token_name)

    class Redirect(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self):
            raw_path, _, query = self.path.partition("?")
            if not raw_path.startswith("/"):
                self.send_error(400)
                return
            token = auth.generate_url_token(urllib.parse.unquote(raw_path))
            if args.hmac_log:
                with open(args.hmac_log, "a") as f:
                    f.write(token.rpartition("hmac=")[2] + "\n")
            param = f"{args.token_name}={urllib.parse.quote(token, safe='')}"
            location = f"{args.gate}{raw_path}?{query + '&' if query else ''}{param}"
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = answer
        do_HEAD = answer

        def log_message(self, fmt, *a):
            # The default line holds the request line only (no token: that is in our answer).
            sys.stderr.write("app: %s\n" % (fmt % a))

    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Redirect)
    server.daemon_threads = True
    print(f"app: listening on http://{host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
