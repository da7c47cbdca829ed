// `make bench`, Node handler section: the costliest unsigned requests of
// crates/handler/benches/worst_case.rs, through the bundle as Lambda@Edge runs it
// (index.mjs + edgegate.wasm, JavaScript marshalling included), against a normal request
// in the same run. Prints per-request µs and the ratio to normal for each shape.
//
//   node tests/bench/node-hostile.mjs BUNDLE_DIR
//
// The events are the fixture missing-token.json with the uri and cookie header replaced;
// each must be denied (a fast wrong answer is not a result).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const bundleDir = process.argv[2];
assert.ok(bundleDir, 'usage: node tests/bench/node-hostile.mjs BUNDLE_DIR');
const root = new URL('../..', import.meta.url);
// Every denial is logged on stdout; the bench prints only its own lines.
const print = console.log.bind(console);
console.log = () => {};
const { handler } = await import(pathToFileURL(join(bundleDir, 'index.mjs')).href);
const base = JSON.parse(readFileSync(new URL('fixtures/events/missing-token.json', root), 'utf8'));

function event(uri, cookies) {
  const e = structuredClone(base);
  const request = e.Records[0].cf.request;
  request.uri = uri;
  request.querystring = '';
  request.headers.cookie = cookies.map((value) => ({ key: 'Cookie', value }));
  return e;
}
const fill = (start, unit, limit) => {
  let text = start;
  while (text.length < limit) text += unit;
  return text;
};
const MAX_URI = 8192;
const dots = `${fill('/acme/main', '/a/.', MAX_URI - 8)}/a.deb`;
const escapes = fill('/acme/main', '/.%2E%41%42', MAX_URI - 16);
const nameLike = Array.from({ length: 204 }, () => '_=;'.repeat(31));
const cases = {
  normal: event('/acme/main/debian/pool/main/libs/libstdc%2B%2B6_12.2.0-14_amd64.deb', ['session=abc123']),
  'dot-segments-kept': event(dots, []),
  escapes: event(escapes, []),
  'tiny-cookies': event('/acme/main/x.deb', Array.from({ length: 20 }, () => '_=;'.repeat(340))),
  'combined-dots-and-cookies': event(dots, nameLike),
  'combined-escapes-and-cookies': event(escapes, nameLike),
};

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const results = {};
for (const [name, e] of Object.entries(cases)) {
  const answer = await handler(structuredClone(e));
  assert.match(String(answer.status), /^4\d\d$/, `${name}: ${JSON.stringify(answer).slice(0, 200)}`);
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
  print(`node hostile: ${name.padEnd(30)} ${(ns / 1000).toFixed(2)} µs${ratio}`);
}
