#!/usr/bin/env python3
"""Driver of tests/e2e/25-cargo-lambda.sh: runs every fixture through the native binary under
`cargo lambda watch` / `cargo lambda invoke` (see that script for the design). Run from the
project root."""
import json, os, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path

root = Path.cwd()
events = root / "fixtures/events"
good_config = root / "fixtures/config/edgegate.json"
broken_config = events / "misconfigured/edgegate.json"
# options/: cases that need other configuration options, with the folder's own file.
options_config = events / "options/edgegate.json"
FUNCTION = "edgegate-lambda"
# First invocation may compile the binary inside the emulator; later ones take milliseconds.
READY_SECONDS, INVOKE_SECONDS = 600, 300

def cases(folder):
    out = []
    for event in sorted(folder.glob("*.json")):
        if event.name.endswith(".expected.json") or event.name == "edgegate.json":
            continue
        expected = event.with_name(event.name[: -len(".json")] + ".expected.json")
        if not expected.exists():
            sys.exit(f"cargo-lambda: {event.relative_to(root)} has no expectation")
        out.append((event, json.loads(expected.read_text())))
    return out

def request_id(event_path):
    records = json.loads(event_path.read_text()).get("Records") or [{}]
    return records[0].get("cf", {}).get("config", {}).get("requestId", "")

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

class Emulator:
    """One `cargo lambda watch` instance; stopped by its own process group id."""

    def __init__(self, label, config, now):
        self.label, self.port = label, free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="cargo-lambda-watch-", suffix=".log", delete=False)
        env = dict(os.environ, EDGEGATE_CONFIG=str(config))
        env.pop("EDGEGATE_NOW", None)
        if now is not None:
            env["EDGEGATE_NOW"] = str(now)
        self.proc = subprocess.Popen(
            ["cargo", "lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", str(self.port),
             "-p", "edgegate-handler", "--bin", FUNCTION, "--features", "test-clock"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,
        )
        deadline = time.time() + READY_SECONDS
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"cargo-lambda: watch ({label}) exited early:\n{self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit(f"cargo-lambda: watch ({label}) not listening:\n{self.output()}")
                time.sleep(0.3)

    def invoke(self, event_path):
        run = subprocess.run(
            ["cargo", "lambda", "invoke", FUNCTION, "--data-file", str(event_path),
             "--invoke-address", "127.0.0.1", "--invoke-port", str(self.port)],
            capture_output=True, text=True, timeout=INVOKE_SECONDS,
        )
        if run.returncode != 0:
            return None, f"invoke exited {run.returncode}: {run.stderr.strip()[-2000:]}"
        try:
            return json.loads(run.stdout), None
        except json.JSONDecodeError as e:
            return None, f"invoke printed non-JSON ({e}): {run.stdout[:500]!r}"

    def output(self):
        return Path(self.log.name).read_text(errors="replace")

    def log_lines(self):
        """The function's JSON log lines (decisions), keyed by request id."""
        by_id = {}
        for line in self.output().splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "reason" in record:
                by_id.setdefault(record.get("request_id", ""), []).append(record)
        return by_id

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.unlink(self.log.name)

passed, failures = 0, []

def run_group(label, config, now, group):
    global passed
    emulator = Emulator(label, config, now)
    try:
        results = [(path, expected, *emulator.invoke(path)) for path, expected in group]
        # The function prints its log line before it answers, but the line reaches the
        # watch output through another process: wait (bounded) until all are there.
        want_lines = sum(1 for _, expected in group if expected["log_reason"])
        deadline = time.time() + 10
        while True:
            logs = emulator.log_lines()
            if sum(map(len, logs.values())) >= want_lines or time.time() > deadline:
                break
            time.sleep(0.2)
        for path, expected, got, error in results:
            name = f"{label}: {path.relative_to(events)}"
            problems = []
            if error:
                problems.append(error)
            elif got != expected["result"]:
                problems.append(f"result differs\n    expected: {json.dumps(expected['result'], sort_keys=True)}"
                                f"\n    got:      {json.dumps(got, sort_keys=True)}")
            reasons = [r.get("reason") for r in logs.get(request_id(path), [])]
            want = [expected["log_reason"]] if expected["log_reason"] else []
            if reasons != want:
                problems.append(f"log reasons {reasons}, expected {want}")
            if problems:
                failures.append(f"{name}: " + "; ".join(problems))
            else:
                passed += 1
    finally:
        emulator.stop()

main_cases = cases(events)
misconfigured_cases = cases(events / "misconfigured")
if len(main_cases) < 30 or not misconfigured_cases:
    sys.exit(f"cargo-lambda: only {len(main_cases)} fixtures and {len(misconfigured_cases)} misconfigured ones")
# Origin-response events go through the same function (it dispatches on eventType).
origin_cases = cases(events / "origin-response")
if len(origin_cases) < 8:
    sys.exit(f"cargo-lambda: only {len(origin_cases)} origin-response fixtures")

by_now = {}
for path, expected in main_cases + origin_cases:
    by_now.setdefault(expected["now"], []).append((path, expected))
for now, group in sorted(by_now.items()):
    run_group(f"now={now}", good_config, now, group)
option_cases = cases(events / "options")
if not option_cases:
    sys.exit("cargo-lambda: no option fixtures")
for now in sorted({expected["now"] for _, expected in option_cases}):
    run_group(f"options now={now}", options_config, now,
              [(p, e) for p, e in option_cases if e["now"] == now])
run_group("broken config", broken_config, None, misconfigured_cases)
run_group("missing config", root / "fixtures/events/misconfigured/does-not-exist.json", None, misconfigured_cases)

for failure in failures:
    print("FAIL", failure)
print(f"cargo-lambda: {passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
