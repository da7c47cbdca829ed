// `make bench`, Node handler section: the normal request and the costliest ones within
// CloudFront's limits (crates/handler/benches/shapes.rs, written out by the
// `hostile_events` example: the very shapes `decide` and the native handler are timed on),
// through the bundle as Lambda@Edge runs it (index.mjs + edgegate.wasm, JavaScript
// marshalling included), in one run. Prints per-request µs and the ratio to normal.
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
const cases = Object.fromEntries(shapes.map(({ name, event }) => [name, event]));
const expected = Object.fromEntries(shapes.map(({ name, expect }) => [name, expect]));

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const results = {};
for (const [name, e] of Object.entries(cases)) {
  const answer = await handler(structuredClone(e));
  const got = answer.status === undefined ? 'forward' : answer.headers?.['x-edgegate-reason']?.[0]?.value;
  assert.equal(got, expected[name], `${name}: ${JSON.stringify(answer).slice(0, 200)}`);
  const runs = name === 'normal' ? 20_000 : 1_000;
  const samples = [];
  for (let round = 0; round < ROUNDS; round++) {
    const events = Array.from({ length: runs }, () => structuredClone(e));
    const start = process.hrtime.bigint();
    for (const each of events) await handler(each);
    samples.push(Number(process.hrtime.bigint() - start) / runs);
  }
  samples.sort((a, b) => a - b);
  results[name] = samples[ROUNDS >> 1];
}
for (const [name, ns] of Object.entries(results)) {
  const ratio = name === 'normal' ? '' : `, ${(ns / results.normal).toFixed(1)}x normal`;
  print(`node hostile: ${name.padEnd(40)} ${(ns / 1000).toFixed(2)} µs${ratio}`);
}
const [slowest, ns] = Object.entries(results)
  .filter(([name]) => name !== 'normal')
  .reduce((a, b) => (b[1] > a[1] ? b : a));
print(`node hostile: slowest is ${slowest}, ${(ns / results.normal).toFixed(1)}x normal (goal <= 20x)`);
