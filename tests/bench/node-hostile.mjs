// `make bench`, Node handler section: the normal request and the costliest ones within
// CloudFront's limits (crates/handler/benches/shapes.rs, written out by the
// `hostile_events` example: the very shapes `decide` and the native handler are timed on),
// through the bundle as Lambda@Edge runs it (index.mjs + edgegate.wasm, JavaScript
// marshalling and the event's JSON included), in one run. Prints per-request µs and the
// ratio to normal.
//
//   node tests/bench/node-hostile.mjs BUNDLE_DIR SHAPES_JSON
//
// Each answer must be the one the shape expects (a forward, or a denial with its reason):
// a fast wrong answer is not a result.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [bundleDir, shapesFile] = process.argv.slice(2);
assert.ok(bundleDir && shapesFile, 'usage: node tests/bench/node-hostile.mjs BUNDLE_DIR SHAPES_JSON');
// Every denial is logged on stdout; the bench prints only its own lines.
const print = console.log.bind(console);
console.log = () => {};
const { handler } = await import(pathToFileURL(join(bundleDir, 'index.mjs')).href);
const shapes = JSON.parse(readFileSync(shapesFile, 'utf8'));
assert.equal(shapes[0].name, 'normal');
// Each invocation as the Node.js Lambda runtime makes it: the event's JSON text parsed,
// the handler called, its answer written as JSON. Two figures per shape, from the same
// rounds: the whole invocation, and the handler alone (the runtime's JSON.parse and
// JSON.stringify are the same for any function, and for an event of thousands of headers
// they are most of the time).
const texts = Object.fromEntries(shapes.map(({ name, event }) => [name, JSON.stringify(event)]));
const expected = Object.fromEntries(shapes.map(({ name, expect }) => [name, expect]));

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const median = (samples) => samples.sort((a, b) => a - b)[samples.length >> 1];
// Per shape, the median µs of an invocation of `fn` and of the call alone, from the same rounds.
async function time(fn, name, text) {
  const runs = name === 'normal' ? 20_000 : 500;
  const whole = [];
  const alone = [];
  for (let round = 0; round < ROUNDS; round++) {
    let inHandler = 0n;
    const start = process.hrtime.bigint();
    for (let i = 0; i < runs; i++) {
      const event = JSON.parse(text);
      const called = process.hrtime.bigint();
      const result = await fn(event);
      inHandler += process.hrtime.bigint() - called;
      JSON.stringify(result);
    }
    whole.push(Number(process.hrtime.bigint() - start) / runs);
    alone.push(Number(inHandler) / runs);
  }
  return [median(whole), median(alone)];
}
// The least any viewer-request function does: forward the request unchanged. Its
// invocation is the runtime's JSON work alone, the floor under every function's worst case.
const identity = async (event) => event.Records[0].cf.request;

const invocation = {};
const handlerAlone = {};
const floor = {};
for (const [name, text] of Object.entries(texts)) {
  const answer = await handler(JSON.parse(text));
  const got = answer.status === undefined ? 'forward' : answer.headers?.['x-edgegate-reason']?.[0]?.value;
  assert.equal(got, expected[name], `${name}: ${JSON.stringify(answer).slice(0, 200)}`);
  [invocation[name], handlerAlone[name]] = await time(handler, name, text);
  [floor[name]] = await time(identity, name, text);
}
// Each table against its normal; the floor against edgegate's normal invocation, the
// figure it bounds.
const tables = [
  ['handler', handlerAlone, handlerAlone.normal, 'normal', ' (goal <= 20x)'],
  ['invocation', invocation, invocation.normal, 'normal', ' (goal <= 20x)'],
  ['floor (identity function)', floor, invocation.normal, "edgegate's normal invocation", ''],
];
for (const [label, results, base, against, goal] of tables) {
  for (const [name, ns] of Object.entries(results)) {
    const ratio = results === floor || name !== 'normal' ? `, ${(ns / base).toFixed(1)}x ${against}` : '';
    print(`node hostile, ${label}: ${name.padEnd(40)} ${(ns / 1000).toFixed(2)} µs${ratio}`);
  }
  const [slowest, ns] = Object.entries(results)
    .filter(([name]) => name !== 'normal')
    .reduce((a, b) => (b[1] > a[1] ? b : a));
  print(`node hostile, ${label}: slowest is ${slowest}, ${(ns / base).toFixed(1)}x ${against}${goal}`);
}
