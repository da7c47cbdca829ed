// wasm-bindgen variant 1, the usual shape: the whole event as JSON text in, the result as
// JSON text out (handle_event_json). For the comparison in compare.sh only.
import { readFileSync } from 'node:fs';
import { configure, handle_json, initSync } from './edgegate.js';

initSync({ module: readFileSync(new URL('./edgegate_bg.wasm', import.meta.url)) });
const error = configure(readFileSync(new URL('./edgegate.json', import.meta.url), 'utf8'));
if (error !== undefined) console.error(error);

export const handler = async (event) => {
  const [result, log] = JSON.parse(handle_json(JSON.stringify(event), Math.floor(Date.now() / 1000)));
  if (log !== null) console.log(log);
  return result;
};
