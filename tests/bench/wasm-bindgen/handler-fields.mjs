// wasm-bindgen variant 2: the fields the raw ABI passes, as wasm-bindgen arguments (one
// malloc + copy per string), the outcome back as JSON text. For compare.sh only.
import { readFileSync } from 'node:fs';
import { configure, decide_fields, initSync } from './edgegate.js';

initSync({ module: readFileSync(new URL('./edgegate_bg.wasm', import.meta.url)) });
const error = configure(readFileSync(new URL('./edgegate.json', import.meta.url), 'utf8'));
if (error !== undefined) console.error(error);

export const handler = async (event) => {
  const { config, request } = event.Records[0].cf;
  const names = Object.keys(request.headers).filter((n) => n.toLowerCase() === 'cookie').sort();
  const cookies = names.flatMap((n) => request.headers[n].map((h) => h.value));
  const out = JSON.parse(
    decide_fields(
      request.method,
      request.uri,
      request.querystring ?? undefined,
      cookies,
      request.clientIp,
      config.requestId,
      config.distributionId,
      Math.floor(Date.now() / 1000),
    ),
  );
  if (out.r !== undefined) {
    console.log(out.l);
    return out.r;
  }
  request.uri = out.u;
  if (out.q !== null) request.querystring = out.q;
  if (out.c !== null) {
    const key = names.length ? request.headers[names[0]][0].key : undefined;
    for (const n of names) delete request.headers[n];
    if (out.c.length) request.headers[names[0] ?? 'cookie'] = out.c.map((value) => ({ key, value }));
  }
  return request;
};
