// `make bench`, Node handler section: the bundle's index.mjs (Rust decide in WebAssembly)
// against a plain Node.js verifier (peer-index.mjs: node:crypto createHmac +
// timingSafeEqual, JavaScript parsing) on the same 10,000 viewer-request events.
//
//   node tests/bench/node-handler.mjs BUNDLE_DIR
//
// Prints (1) per-request ns for both and the ratio (goal <= 1.0x), (2) cold start of a
// fresh `node` process importing each handler and answering one event (goal <= 1.1x).
// Both handlers must forward every event with identical results, or the bench fails:
// a fast wrong answer is not a result.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { COLD_SCRIPT, makeEvents, timeColdStart, timePerRequest } from './events.mjs';

const bundleDir = process.argv[2];
assert.ok(bundleDir, 'usage: node tests/bench/node-handler.mjs BUNDLE_DIR');
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 31);

const scratch = mkdtempSync(join(tmpdir(), 'edgegate-bench-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const dirs = { edgegate: join(scratch, 'edgegate'), peer: join(scratch, 'peer') };
mkdirSync(dirs.edgegate);
mkdirSync(dirs.peer);
for (const file of ['index.mjs', 'edgegate.wasm', 'edgegate.json']) copyFileSync(join(bundleDir, file), join(dirs.edgegate, file));
// The peer reads edgegate.json beside itself too: both cold starts read the same file.
copyFileSync(new URL('./peer-index.mjs', import.meta.url), join(dirs.peer, 'index.mjs'));
copyFileSync(join(bundleDir, 'edgegate.json'), join(dirs.peer, 'edgegate.json'));

const config = JSON.parse(readFileSync(join(bundleDir, 'edgegate.json'), 'utf8'));
const now = Math.floor(Date.now() / 1000);
const template = makeEvents({ config, now, count: EVENTS });

// Keep a handle on the instance index.mjs creates, to time the wasm call alone.
const instances = [];
const RealInstance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  const instance = new RealInstance(module, imports);
  instances.push(instance);
  return instance;
};
const handlers = {};
for (const [name, dir] of Object.entries(dirs)) handlers[name] = (await import(pathToFileURL(join(dir, 'index.mjs')).href)).handler;
WebAssembly.Instance = RealInstance;

// Correctness first: every event forwarded, both handlers agree on every result.
{
  const a = structuredClone(template);
  const b = structuredClone(template);
  for (let i = 0; i < EVENTS; i++) {
    const ours = await handlers.edgegate(a[i]);
    const peer = await handlers.peer(b[i]);
    assert.equal(ours.status, undefined, `edgegate denied event ${i}: ${JSON.stringify(ours)}`);
    assert.equal(peer.status, undefined, `peer denied event ${i}: ${JSON.stringify(peer)}`);
    assert.deepStrictEqual(ours, peer, `event ${i}: results differ`);
  }
}

const per = await timePerRequest(handlers, template, ROUNDS);
const ratio = per.edgegate / per.peer;
console.log(
  `node handler per request (${EVENTS} events, median of ${ROUNDS} rounds): edgegate ${per.edgegate.toFixed(0)} ns, ` +
    `peer ${per.peer.toFixed(0)} ns, ratio ${ratio.toFixed(2)}x (goal <= 1.0x: ${ratio <= 1.0 ? 'met' : 'NOT met'})`,
);

// Where the time goes: the wasm call alone (re-deciding the request the handler last
// wrote into the input region: an ACL token in the query), and node:crypto's HMAC alone.
{
  assert.equal(instances.length, 1);
  const { exports } = instances[0];
  await handlers.edgegate(structuredClone(template[0]));
  const N = 100_000;
  const time = (f) => {
    for (let i = 0; i < N / 10; i++) f();
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) f();
    return Number(process.hrtime.bigint() - start) / N;
  };
  const decideNs = time(() => exports.edgegate_decide(now));
  const key = Buffer.from(config.keys[0].secret, 'hex');
  const body = `exp=${now + 3600}~acl=/acme/main/*~id=user-0`;
  const hmacNs = time(() => createHmac('sha256', key).update(body).digest());
  console.log(
    `node handler split: edgegate_decide alone ${decideNs.toFixed(0)} ns (JavaScript marshalling is the rest); ` +
      `peer's createHmac().update().digest() alone ${hmacNs.toFixed(0)} ns`,
  );
}

const eventFile = join(scratch, 'event.json');
writeFileSync(eventFile, JSON.stringify(template[0]));
const coldScript = join(scratch, 'cold.mjs');
writeFileSync(coldScript, COLD_SCRIPT);
const cold = timeColdStart(spawnSync, dirs, eventFile, coldScript, COLD_RUNS);
const coldRatio = cold.edgegate.wall / cold.peer.wall;
console.log(
  `node handler cold start (fresh process: node start-up, import, one event; median of ${COLD_RUNS}): ` +
    `edgegate ${cold.edgegate.wall.toFixed(1)} ms, peer ${cold.peer.wall.toFixed(1)} ms, ratio ${coldRatio.toFixed(2)}x ` +
    `(goal <= 1.1x: ${coldRatio <= 1.1 ? 'met' : 'NOT met'}); import + first answer alone: ` +
    `edgegate ${cold.edgegate.handler.toFixed(2)} ms, peer ${cold.peer.handler.toFixed(2)} ms`,
);
