#!/usr/bin/env python3
"""Live cross-check of edgegate against the real akamai-edgeauth libraries.

For randomised inputs (ACLs with * and ?, URL paths with +, ~, space, UTF-8, %, IPv4 and
IPv6 in several spellings, id, data, salt, st, leeway), every case is signed by
akamai-edgeauth for Python (in process) and for Node (tests/crosscheck/node_sign.cjs, one
batch), then checked against the `edgegate` binary:

  libs-agree   the Python and Node tokens are byte-identical;
  verify       `edgegate verify` says ok for the library token (even cases: the Python
               token, odd cases: the Node token) on a client spelling of the path;
  sign         `edgegate sign` with the same inputs prints the same token, byte for byte;
  deny         one tampering (hmac digit, path, time or IP) gets the SPEC §5 reason;
  signed-url   (every 4th case) `sign --base-url` puts a token that decodes back to the
               library's in the query or the first path segment.

Failures print the seed and the case number, never a key or an hmac: rerun with the same
--seed (or CROSSCHECK_SEED) to reproduce. The last line is always
`crosscheck: N passed, M failed`; the exit status is 1 when M > 0.
"""

import argparse
import ipaddress
import json
import os
import pathlib
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from importlib import metadata

ROOT = pathlib.Path(__file__).resolve().parents[2]
PY_LIBRARY, PY_VERSION = "akamai-edgeauth", "0.3.2"

try:
    from akamai.edgeauth import EdgeAuth
except ImportError:
    sys.exit("crosscheck: akamai-edgeauth is not importable; run tests/setup.sh and use .venv/bin/python")

# Ordinary characters, and the ones that have broken path handling somewhere before.
PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._"
TRICKY = "+~ !*'();:@&=$,%?#[]"
UNICODE = "éüßÅñçΩжд日本語中文한국🦀🚀"


def pick_chars(rng, n, extra):
    pool = PLAIN + extra * 2
    return "".join(rng.choice(pool) for _ in range(n))


def segment(rng, extra):
    while True:
        s = pick_chars(rng, rng.randint(1, 10), extra)
        if s not in (".", ".."):
            return s


def url_path(rng):
    """A canonical path: starts with '/', no '.'/'..' segments, no control characters."""
    parts = [segment(rng, TRICKY + UNICODE) for _ in range(rng.randint(1, 5))]
    if rng.random() < 0.15:
        parts.insert(rng.randrange(len(parts)), "")  # '//' is kept by SPEC §3
    path = "/" + "/".join(parts)
    return path + "/" if rng.random() < 0.1 else path


# Inside an ACL, '~' is the field delimiter, '!' the ACL delimiter, '*' and '?' wildcards.
ACL_LITERAL = TRICKY.replace("~", "").replace("!", "").replace("*", "").replace("?", "") + UNICODE


def acl_pattern(rng):
    shape = rng.random()
    if shape < 0.05:
        return rng.choice(["/*", "*"])
    parts = [segment(rng, ACL_LITERAL) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.4:
        parts[rng.randrange(len(parts))] = "*"
    pattern = "/" + "/".join(parts)
    chars = list(pattern)
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        at = rng.randrange(1, len(chars))
        chars[at] = "?"
    pattern = "".join(chars)
    if rng.random() < 0.5:
        pattern += rng.choice(["*", "/*", "*.deb", "?*"])
    return pattern


def acl_regex(pattern):
    # Reference semantics of SPEC §2, independent of the Rust matcher.
    out = []
    for ch in pattern:
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def acl_matches(acls, path):
    return any(acl_regex(a).fullmatch(path) for a in acls)


def is_canonical(path):
    # The bucket root names no object (SPEC §3): the gate refuses it, whatever the token.
    if path == "/" or not path.startswith("/") or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in path):
        return False
    return all(s not in (".", "..") for s in path.split("/")[1:])


def expand(rng, pattern):
    """A path the pattern matches: '*' becomes any run, '?' one character (even '~')."""
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(pick_chars(rng, rng.randint(0, 12), TRICKY + UNICODE + "/"))
        elif ch == "?":
            out.append(rng.choice(PLAIN + TRICKY + UNICODE))
        else:
            out.append(ch)
    return "".join(out)


def client_spelling(rng, path):
    """How some client might send a canonical path: '%', '?' and '#' must be escaped,
    anything else except '/' may be, with either hex case."""
    out = []
    for ch in path:
        if ch == "/" or (ch not in "%?#" and rng.random() < 0.6):
            out.append(ch)
            continue
        fmt = "%%%02X" if rng.random() < 0.5 else "%%%02x"
        out.append("".join(fmt % b for b in ch.encode("utf-8")))
    return "".join(out)


def ip_spellings(rng):
    """(spelling in the token, spelling the viewer arrives with, a different viewer)."""
    if rng.random() < 0.5:
        addr = ipaddress.IPv4Address(rng.getrandbits(32))
        viewer = str(addr) if rng.random() < 0.7 else "::ffff:" + str(addr)
        other = ipaddress.IPv4Address((int(addr) + 1) % 2**32)
        return str(addr), viewer, str(other)
    # Runs of zero groups, so that '::' compression (and its absence) is exercised.
    groups = [0 if rng.random() < 0.4 else rng.getrandbits(16) for _ in range(8)]
    groups[0] = groups[0] or 0x2001  # never ::ffff:a.b.c.d, which is an IPv4 viewer
    addr = ipaddress.IPv6Address(sum(g << (16 * (7 - i)) for i, g in enumerate(groups)))
    spell = lambda a: rng.choice([a.compressed, a.exploded, a.compressed.upper(), a.exploded.upper()])
    other = ipaddress.IPv6Address((int(addr) + 1) % 2**128)
    return spell(addr), spell(addr), spell(other)


def free_text(rng):
    # id/data/salt: anything but '~' (the field delimiter), never empty.
    return pick_chars(rng, rng.randint(1, 16), TRICKY.replace("~", "") + UNICODE + "/")


def make_case(rng, n, base_now):
    key_bytes = rng.randint(16, 64)
    key = "".join(rng.choice("0123456789abcdef") for _ in range(key_bytes * 2))
    if rng.random() < 0.2:
        key = key.upper()
    case = {
        "n": n,
        "key": key,
        "salt": free_text(rng) if rng.random() < 0.3 else "",
        "leeway": rng.choice([0, 1, 30, 300]),
        "token_name": rng.choice(["__token__", "__token__", "tok", "edge-auth.t"]),
        "st": None,
        "ip": None,
        "viewer_ip": None,
        "other_ip": None,
        "id": free_text(rng) if rng.random() < 0.3 else None,
        "data": free_text(rng) if rng.random() < 0.3 else None,
    }
    now = base_now + rng.randint(-10**6, 10**6)
    if rng.random() < 0.4:
        case["st"] = now - rng.randint(1, 5000)
    case["exp"] = now + rng.randint(1, 10**6)
    # Anywhere in the valid window, leeway included, edges on purpose now and then.
    low = (case["st"] if case["st"] is not None else now - 10**6) - case["leeway"]
    high = case["exp"] + case["leeway"]
    case["now"] = rng.choice([low, high, rng.randint(low, high)]) if case["st"] is not None else rng.choice([high, rng.randint(now - 10**6, high)])
    if rng.random() < 0.35:
        case["ip"], case["viewer_ip"], case["other_ip"] = ip_spellings(rng)
    elif rng.random() < 0.5:
        case["viewer_ip"] = ip_spellings(rng)[1]  # an unbound token ignores the viewer

    if rng.random() < 0.5:
        case["kind"] = "acl"
        for _ in range(1000):
            acls = [acl_pattern(rng) for _ in range(rng.randint(1, 4))]
            path = expand(rng, rng.choice(acls))
            if is_canonical(path) and acl_matches(acls, path):
                break
        else:
            raise RuntimeError("could not build an ACL case")
        case["acl"], case["path"], case["url"] = acls, path, None
    else:
        case["kind"] = "url"
        case["url"] = case["path"] = url_path(rng)
        case["acl"] = None
    case["request_path"] = client_spelling(rng, case["path"])
    return case


def python_token(c):
    auth = EdgeAuth(
        key=c["key"],
        algorithm="sha256",
        salt=c["salt"] or None,
        ip=c["ip"],
        session_id=c["id"],
        payload=c["data"],
        start_time=c["st"],
        end_time=c["exp"],
        escape_early=False,
    )
    return auth.generate_acl_token(c["acl"]) if c["kind"] == "acl" else auth.generate_url_token(c["url"])


def node_tokens(cases):
    script = ROOT / "tests" / "crosscheck" / "node_sign.cjs"
    env = dict(os.environ, NODE_NO_WARNINGS="1")
    payload = json.dumps([{k: c[k] for k in ("key", "salt", "kind", "acl", "url", "st", "exp", "ip", "id", "data")} for c in cases])
    proc = subprocess.run(["node", str(script)], input=payload.encode(), capture_output=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"crosscheck: node signer failed: {proc.stderr.decode(errors='replace').strip()}")
    answer = json.loads(proc.stdout)
    if len(answer["tokens"]) != len(cases):
        sys.exit("crosscheck: node signer returned the wrong number of tokens")
    return answer["version"], answer["tokens"]


def signed_part(token):
    """The token without its hmac: safe to print."""
    return token.rsplit("~hmac=", 1)[0]


class Runner:
    def __init__(self, binary, workdir, seed):
        self.binary, self.workdir, self.seed = binary, workdir, seed
        self.passed = self.failed = 0
        self.checks = {}

    def config(self, case, keys):
        path = pathlib.Path(self.workdir) / f"case-{case['n']}-{len(keys)}.json"
        doc = {
            "token_name": case["token_name"],
            "leeway_seconds": case["leeway"],
            "salt": case["salt"],
            "keys": [{"id": kid, "secret": secret} for kid, secret in keys],
        }
        path.write_text(json.dumps(doc), encoding="utf-8")
        return str(path)

    def run(self, args):
        proc = subprocess.run([self.binary, *args], capture_output=True)
        return proc.returncode, proc.stdout.decode("utf-8", "replace").strip(), proc.stderr.decode("utf-8", "replace").strip()

    def record(self, case, check, ok, detail=""):
        self.checks.setdefault(check, [0, 0])[0 if ok else 1] += 1
        if ok:
            self.passed += 1
            return
        self.failed += 1
        shown = {k: case[k] for k in ("kind", "acl", "url", "request_path", "st", "exp", "now", "leeway", "ip", "viewer_ip", "id", "data")}
        shown["salt"] = "(set)" if case["salt"] else ""
        print(f"FAIL seed={self.seed} case={case['n']} check={check}: {detail}", file=sys.stderr)
        print(f"     inputs (key withheld): {json.dumps(shown, ensure_ascii=False)}", file=sys.stderr)

    def verify(self, config, token, path, now, ip, json_out=False):
        args = ["verify", f"--config={config}", f"--token={token}", f"--path={path}", f"--now={now}"]
        if ip is not None:
            args.append(f"--ip={ip}")
        if json_out:
            args.append("--output=json")
        return self.run(args)


def encode_token(rng, token):
    """The token as some client would carry it: raw when that is unambiguous, else
    percent-encoded the way Python's quote or JavaScript's encodeURIComponent does."""
    mode = rng.choice(["raw", "quote", "component"]) if "%" not in token else rng.choice(["quote", "component"])
    if mode == "raw":
        return token
    if mode == "quote":
        return urllib.parse.quote(token, safe="")
    return urllib.parse.quote(token, safe="-_.!~*'()")


def check_case(runner, rng, case, py_token, node_token):
    n = case["n"]
    runner.record(case, "libs-agree", py_token == node_token,
                  f"python and node differ: {signed_part(py_token)!r} vs {signed_part(node_token)!r}"
                  + (" (hmac only)" if signed_part(py_token) == signed_part(node_token) else ""))
    lib, token = ("python", py_token) if n % 2 == 0 else ("node", node_token)
    decoy = ("decoy", "".join(rng.choice("0123456789abcdef") for _ in range(64)))
    own = ("case-key", case["key"])
    verify_cfg = runner.config(case, [decoy, own] if rng.random() < 0.3 else [own])
    sign_cfg = runner.config(case, [own])

    # verify: the library's token passes for a client spelling of its path.
    json_out = rng.random() < 0.25
    rc, out, err = runner.verify(verify_cfg, encode_token(rng, token), case["request_path"], case["now"], case["viewer_ip"], json_out)
    if json_out:
        try:
            report = json.loads(out)
            ok = rc == 0 and report["result"] == "ok" and report["key_id"] == "case-key"
        except (ValueError, KeyError):
            ok = False
    else:
        ok = rc == 0 and out == "ok"
    runner.record(case, f"verify-{lib}", ok, f"exit {rc}, stdout {out!r}, stderr {err!r}")

    # sign: same inputs, same bytes. --url gets a client spelling too: sign canonicalises.
    args = ["sign", f"--config={sign_cfg}", f"--exp={case['exp']}", f"--now={case['now']}"]
    if case["kind"] == "acl":
        args += [f"--acl={a}" for a in case["acl"]]
    else:
        url_arg = case["url"] if "%" not in case["url"] and rng.random() < 0.5 else client_spelling(rng, case["url"])
        args.append(f"--url={url_arg}")
    for flag, field in (("st", "st"), ("ip", "ip"), ("id", "id"), ("data", "data")):
        if case[field] is not None:
            args.append(f"--{flag}={case[field]}")
    rc, out, err = runner.run(args)
    same = rc == 0 and out == py_token and out == node_token
    runner.record(case, "sign", same, f"exit {rc}, stderr {err!r}, ours {signed_part(out)!r} vs theirs {signed_part(py_token)!r}"
                  + (" (hmac only)" if rc == 0 and signed_part(out) == signed_part(py_token) else ""))

    # signed URL: the token must come back out of the URL exactly.
    if n % 4 == 0:
        place = rng.choice(["query", "path"])
        rc, out, err = runner.run(args + ["--base-url=https://cdn.example.com", f"--place={place}"])
        name = case["token_name"]
        ok = rc == 0
        if ok:
            parts = urllib.parse.urlsplit(out)
            if place == "query":
                values = [v for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k == name]
                got, rest = (values[0] if len(values) == 1 else None), parts.path
            else:
                first, _, rest = parts.path[1:].partition("/")
                got = urllib.parse.unquote(first[len(name) + 1:]) if first.startswith(name + "=") else None
                rest = "/" + rest
            ok = got == py_token and (case["kind"] == "acl" or urllib.parse.unquote(rest) == case["path"])
        runner.record(case, f"signed-url-{place}", ok, f"exit {rc}, stderr {err!r}")

    # deny: one tampering per case, rotating through the kinds SPEC §5 names.
    kind = n % 4
    if kind == 3 and case["ip"] is None:
        kind = 0
    if kind == 1 and case["kind"] == "acl":
        outside = "/" + segment(rng, ACL_LITERAL) + "/" + segment(rng, ACL_LITERAL)
        if acl_matches(case["acl"], outside):
            kind = 0
    path, now, ip, tampered = case["request_path"], case["now"], case["viewer_ip"], token
    if kind == 0:
        at = token.rindex("~hmac=") + 6 + rng.randrange(64)
        tampered = token[:at] + "%x" % ((int(token[at], 16) + rng.randint(1, 15)) % 16) + token[at + 1:]
        want, what = "bad-signature", "hmac digit changed"
    elif kind == 1 and case["kind"] == "url":
        path, want, what = client_spelling(rng, case["path"] + rng.choice(["x", "/", "é", "+"])), "bad-signature", "other path"
    elif kind == 1:
        path, want, what = client_spelling(rng, outside), "acl-mismatch", "path outside the ACL"
    elif kind == 2:
        if case["st"] is not None and rng.random() < 0.5:
            now, want, what = case["st"] - case["leeway"] - 1, "not-yet-valid", "before st - leeway"
        else:
            now, want, what = case["exp"] + case["leeway"] + 1, "expired", "after exp + leeway"
    else:
        ip, want, what = case["other_ip"], "ip-mismatch", "other viewer address"
    rc, out, err = runner.verify(verify_cfg, encode_token(rng, tampered), path, now, ip)
    runner.record(case, "deny", rc == 1 and out == want, f"{what}: want {want}, got exit {rc} {out!r}")


def covered(cases):
    """How many cases exercise each input the issue names; a zero means a blind spot."""
    acl = [c for c in cases if c["kind"] == "acl"]
    url = [c["url"] for c in cases if c["kind"] == "url"]
    count = lambda items, pred: sum(1 for i in items if pred(i))
    return {
        "acl": len(acl),
        "acl*": count(acl, lambda c: any("*" in a for a in c["acl"])),
        "acl?": count(acl, lambda c: any("?" in a for a in c["acl"])),
        "acl-several": count(acl, lambda c: len(c["acl"]) > 1),
        "url": len(url),
        "url+": count(url, lambda u: "+" in u),
        "url~": count(url, lambda u: "~" in u),
        "url-space": count(url, lambda u: " " in u),
        "url-utf8": count(url, lambda u: not u.isascii()),
        "ipv4": count(cases, lambda c: c["ip"] is not None and "." in c["ip"]),
        "ipv6": count(cases, lambda c: c["ip"] is not None and ":" in c["ip"]),
        "st": count(cases, lambda c: c["st"] is not None),
        "id": count(cases, lambda c: c["id"] is not None),
        "data": count(cases, lambda c: c["data"] is not None),
        "salt": count(cases, lambda c: c["salt"] != ""),
    }


def main():
    parser = argparse.ArgumentParser(description="edgegate vs akamai-edgeauth (Python and Node)")
    parser.add_argument("--bin", default=str(ROOT / "target" / "debug" / "edgegate"))
    parser.add_argument("--cases", type=int, default=200, help="cases per library (default 200)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    seed = args.seed if args.seed is not None else time.time_ns() % 2**32
    print(f"crosscheck: seed {seed} (replay: CROSSCHECK_SEED={seed} bash tests/e2e/10-crosscheck.sh)")
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"crosscheck: {args.bin} is missing: run `make build` first")
    py_version = metadata.version(PY_LIBRARY)
    if py_version != PY_VERSION:
        sys.exit(f"crosscheck: {PY_LIBRARY} {py_version} installed in .venv, {PY_VERSION} expected")

    rng = random.Random(seed)
    base_now = int(time.time())
    cases = [make_case(rng, n, base_now) for n in range(2 * args.cases)]
    py = [python_token(c) for c in cases]
    node_version, node = node_tokens(cases)
    print(f"crosscheck: {len(cases)} cases; peers: {PY_LIBRARY} {py_version} (PyPI), {PY_LIBRARY} {node_version} (npm); binary: {args.bin}")

    coverage = covered(cases)
    print("crosscheck: inputs " + ", ".join(f"{k} {v}" for k, v in coverage.items()))
    if len(cases) >= 100 and not all(coverage.values()):
        sys.exit("crosscheck: the random inputs missed a category above; the generator is broken")

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="edgegate-crosscheck-") as workdir:
        runner = Runner(args.bin, workdir, seed)
        for case, py_token, node_token in zip(cases, py, node):
            check_case(runner, rng, case, py_token, node_token)
    for check, (ok, bad) in sorted(runner.checks.items()):
        print(f"crosscheck:   {check:<18} {ok:4} passed, {bad} failed")
    print(f"crosscheck: {len(cases)} cases in {time.monotonic() - started:.1f}s")
    print(f"crosscheck: {runner.passed} passed, {runner.failed} failed")
    sys.exit(1 if runner.failed else 0)


if __name__ == "__main__":
    main()
