#!/usr/bin/env bash
# `edgegate reindex` vs what an operator would otherwise run, the AWS CLI's
#   aws s3 cp s3://B/ s3://B/ --recursive --metadata-directive REPLACE --cache-control V
# one command per cache class (include/exclude globs for the package suffixes), against the
# same moto S3 server, on two identical buckets built from fixtures/cache/classes.tsv's real
# layouts. Reports objects/s for a first run and a re-run of each, the ratios (goals: first
# run >= 1.0x, re-run >= 5x), and edgegate's S3 requests per object. Loopback only; prints
# figures, asserts nothing about time.
#
# Fairness notes: both talk to one moto server (the bottleneck either way, as S3's request
# rate would be); the AWS CLI runs with its default 10 concurrent requests, edgegate with
# its default 32; the CLI cannot tell an object that is already right from one that is not,
# so its re-run copies everything again.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

objects=${BENCH_OBJECTS:-2000}
die() { echo "reindex-vs-awscli: $*" >&2; exit 1; }
[ -x .venv/bin/moto_server ] || die ".venv/bin/moto_server missing (run: tests/setup.sh)"

# The AWS CLI in its own venv, so its botocore pin never moves the test peers' versions.
venv="$root/.venv-bench"
if [ ! -x "$venv/bin/aws" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/bench/requirements.txt
fi

cargo build --quiet --release -p edgegate
edgegate="${CARGO_TARGET_DIR:-$root/target}/release/edgegate"

tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$tmp/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true; wait $moto_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
endpoint="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
for _ in $(seq 1 100); do curl -sf -o /dev/null -X POST "$endpoint/moto-api/reset" && break; sleep 0.1; done

# Two identical buckets: one for each tool.
.venv/bin/python - "$endpoint" "$objects" <<'PY'
import sys, concurrent.futures, boto3
endpoint, want = sys.argv[1], int(sys.argv[2])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
rows = [l.split("\t")[0].strip().lstrip("/") for l in open("fixtures/cache/classes.tsv")
        if l.strip() and not l.startswith("#")]
rows = [r for r in rows if r]
keys, copy = [], 0
while len(keys) < want:
    keys += [f"r{copy}/{r}" for r in rows]
    copy += 1
keys = keys[:want]
for bucket in ("bench-awscli", "bench-edgegate"):
    s3.create_bucket(Bucket=bucket)
    def put(i_key):
        i, key = i_key
        s3.put_object(Bucket=bucket, Key=key, Body=f"{key}:{i}".encode(), ContentType="application/octet-stream")
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(put, enumerate(keys)))
print(f"reindex-vs-awscli: two buckets of {len(keys)} objects from fixtures/cache/classes.tsv")
PY

package_cc='public, max-age=31536000, immutable'
metadata_cc='no-cache, no-store, max-age=0'
# The package class as the CLI's globs can say it (SPEC §9's suffixes and by-hash).
package_globs=(--exclude '*')
for glob in '*.deb' '*.udeb' '*.ddeb' '*.dsc' '*.buildinfo' '*.tar.gz' '*.tar.xz' '*.tar.bz2' '*.tar.zst' \
  '*.diff.gz' '*.rpm' '*.drpm' '*.whl' '*.zip' '*.egg' '*.tgz' '*.gem' '*.metadata' '*.gemspec.rz' '*/by-hash/*'; do
  package_globs+=(--include "$glob")
done
metadata_globs=()
for glob in "${package_globs[@]:2}"; do [ "$glob" = --include ] || metadata_globs+=(--exclude "$glob"); done

awscli_run() {
  "$venv/bin/aws" --endpoint-url "$endpoint" s3 cp s3://bench-awscli/ s3://bench-awscli/ --recursive --quiet \
    --metadata-directive REPLACE --cache-control "$package_cc" "${package_globs[@]}"
  "$venv/bin/aws" --endpoint-url "$endpoint" s3 cp s3://bench-awscli/ s3://bench-awscli/ --recursive --quiet \
    --metadata-directive REPLACE --cache-control "$metadata_cc" "${metadata_globs[@]}"
}
edgegate_run() {
  AWS_ENDPOINT_URL="$endpoint" "$edgegate" --output json reindex --bucket bench-edgegate > "$tmp/report.json"
}
# seconds CMD...: wall time of CMD, in seconds (three decimals).
seconds() { local start end; start=$(date +%s%N); "$@"; end=$(date +%s%N); printf '%d.%03d\n' $(((end - start) / 1000000000)) $(((end - start) / 1000000 % 1000)); }

cli_first=$(seconds awscli_run)
eg_first=$(seconds edgegate_run)
cp "$tmp/report.json" "$tmp/first.json"
cli_again=$(seconds awscli_run)
eg_again=$(seconds edgegate_run)

python3 - "$objects" "$cli_first" "$eg_first" "$cli_again" "$eg_again" "$tmp/first.json" "$tmp/report.json" <<'PY'
import json, sys
n = int(sys.argv[1])
cli1, eg1, cli2, eg2 = map(float, sys.argv[2:6])
first, again = (json.load(open(p)) for p in sys.argv[6:8])
def per_object(report):
    return sum(report["requests"].values()) / max(report["objects"], 1)
changed = sum(c["changed"] for c in first["by_class"].values())
rewritten = sum(c["changed"] for c in again["by_class"].values())
print(f"reindex first run: edgegate {n/eg1:,.0f} objects/s ({eg1:.1f} s, {changed} changed), "
      f"aws s3 cp {n/cli1:,.0f} objects/s ({cli1:.1f} s): ratio {cli1/eg1:.2f}x (goal >= 1.0x)")
print(f"reindex re-run:    edgegate {n/eg2:,.0f} objects/s ({eg2:.1f} s, {rewritten} changed), "
      f"aws s3 cp {n/cli2:,.0f} objects/s ({cli2:.1f} s): ratio {cli2/eg2:.2f}x (goal >= 5x)")
print(f"reindex S3 requests per object: first run {per_object(first):.2f} {first['requests']}, "
      f"re-run {per_object(again):.2f} {again['requests']}")
PY
