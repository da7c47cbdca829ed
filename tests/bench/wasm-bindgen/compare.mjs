// Raw exports (the bundle's index.mjs) against the two wasm-bindgen variants, on the same
// events as tests/bench/node-handler.mjs: size, per-request time, cold start. Every handler
// must return the same result as the bundle for every event.
//
//   node compare.mjs BUNDLE_DIR WASM_BINDGEN_DIR
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { COLD_SCRIPT, makeEvents, timeColdStart, timePerRequest } from '../events.mjs';

const [bundleDir, wbgDir] = process.argv.slice(2);
assert.ok(bundleDir && wbgDir, 'usage: node compare.mjs BUNDLE_DIR WASM_BINDGEN_DIR');
const scratch = mkdtempSync(join(tmpdir(), 'edgegate-wbg-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

const dirs = { raw: join(scratch, 'raw'), 'bindgen-json': join(scratch, 'bindgen-json'), 'bindgen-fields': join(scratch, 'bindgen-fields') };
for (const dir of Object.values(dirs)) mkdirSync(dir);
for (const f of ['index.mjs', 'edgegate.wasm', 'edgegate.json']) copyFileSync(join(bundleDir, f), join(dirs.raw, f));
for (const [name, loader] of [['bindgen-json', 'handler-json.mjs'], ['bindgen-fields', 'handler-fields.mjs']]) {
  copyFileSync(new URL(`./${loader}`, import.meta.url), join(dirs[name], 'index.mjs'));
  for (const f of ['edgegate.js', 'edgegate_bg.wasm']) copyFileSync(join(wbgDir, f), join(dirs[name], f));
  copyFileSync(join(bundleDir, 'edgegate.json'), join(dirs[name], 'edgegate.json'));
}

// Sizes: the .wasm, the JavaScript, and the same zip of each directory (deflate level 9).
const ZIP = `import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for name in sorted(os.listdir(sys.argv[2])):
        z.write(os.path.join(sys.argv[2], name), name)`;
const zipSize = (dir) => {
  const out = join(scratch, `${dir.split('/').pop()}.zip`);
  assert.equal(spawnSync('python3', ['-c', ZIP, out, dir]).status, 0);
  return statSync(out).size;
};
for (const [name, dir] of Object.entries(dirs)) {
  const wasm = statSync(join(dir, name === 'raw' ? 'edgegate.wasm' : 'edgegate_bg.wasm')).size;
  const js = statSync(join(dir, 'index.mjs')).size + (name === 'raw' ? 0 : statSync(join(dir, 'edgegate.js')).size);
  const mod = new WebAssembly.Module(readFileSync(join(dir, name === 'raw' ? 'edgegate.wasm' : 'edgegate_bg.wasm')));
  console.log(
    `${name}: wasm ${wasm} bytes, JavaScript ${js} bytes, zip ${zipSize(dir)} bytes, ` +
      `${WebAssembly.Module.imports(mod).length} imports, ${WebAssembly.Module.exports(mod).length} exports`,
  );
}

const config = JSON.parse(readFileSync(join(bundleDir, 'edgegate.json'), 'utf8'));
const now = Math.floor(Date.now() / 1000);
const EVENTS = 10_000;
const template = makeEvents({ config, now, count: EVENTS });
const handlers = {};
for (const [name, dir] of Object.entries(dirs)) handlers[name] = (await import(pathToFileURL(join(dir, 'index.mjs')).href)).handler;
for (const name of Object.keys(handlers)) {
  const a = structuredClone(template);
  const b = structuredClone(template);
  for (let i = 0; i < EVENTS; i++) assert.deepStrictEqual(await handlers[name](a[i]), await handlers.raw(b[i]), `${name}, event ${i}`);
}
const per = await timePerRequest(handlers, template, 15);
console.log(
  'per request (10,000 events, median of 15 rounds): ' +
    Object.entries(per).map(([n, ns]) => `${n} ${ns.toFixed(0)} ns (${(ns / per.raw).toFixed(2)}x)`).join(', '),
);
const eventFile = join(scratch, 'event.json');
writeFileSync(eventFile, JSON.stringify(template[0]));
const coldScript = join(scratch, 'cold.mjs');
writeFileSync(coldScript, COLD_SCRIPT);
const cold = timeColdStart(spawnSync, dirs, eventFile, coldScript, 31);
console.log(
  'cold start (fresh process, median of 31): ' +
    Object.entries(cold).map(([n, t]) => `${n} ${t.wall.toFixed(1)} ms (import + first answer ${t.handler.toFixed(2)} ms)`).join(', '),
);
