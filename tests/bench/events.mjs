// Viewer-request events for the Node handler benchmarks, shaped like
// fixtures/events/query-token.json: an apt client fetching packages with a valid token in
// the query (60%), as a signed base URL path segment (30%) or in a cookie (10%); ACL tokens
// with an id (80%) or URL tokens for the one path (20%). Signed here with node:crypto and
// the first key of the configuration, valid for an hour from `now`.
import { createHmac, randomBytes } from 'node:crypto';

export function makeEvents({ config, now, count }) {
  const key = Buffer.from(config.keys[0].secret, 'hex');
  const name = config.token_name;
  const sign = (fields, signed = fields) => `${fields}~hmac=${createHmac('sha256', key).update(signed).digest('hex')}`;
  const events = [];
  for (let i = 0; i < count; i++) {
    const pkg = `pkg${i % 997}`;
    const path = `/acme/main/debian/pool/main/${pkg[3]}/${pkg}/${pkg}_1.${i % 13}.${i}-1_amd64.deb`;
    // A URL token's HMAC covers `~url=PATH`, which the token text does not carry.
    const token =
      i % 5 === 4
        ? sign(`exp=${now + 3600}~id=user-${i % 50}`, `exp=${now + 3600}~id=user-${i % 50}~url=${path}`)
        : sign(`exp=${now + 3600}~acl=/acme/main/*~id=user-${i % 50}`);
    const value = encodeURIComponent(token);
    const headers = {
      host: [{ key: 'Host', value: 'd111111abcdef8.cloudfront.net' }],
      'user-agent': [{ key: 'User-Agent', value: 'Debian APT-HTTP/1.3 (2.6.1)' }],
      accept: [{ key: 'Accept', value: '*/*' }],
    };
    let uri = path;
    let querystring = '';
    if (i % 10 < 6) querystring = `${name}=${value}`;
    else if (i % 10 < 9) uri = `/${name}=${value}${path}`;
    else headers.cookie = [{ key: 'Cookie', value: `session=abc${i}; ${name}=${value}` }];
    events.push({
      Records: [
        {
          cf: {
            config: {
              distributionDomainName: 'd111111abcdef8.cloudfront.net',
              distributionId: 'EDFDVBD6EXAMPLE',
              eventType: 'viewer-request',
              requestId: randomBytes(30).toString('base64url'),
            },
            request: { clientIp: `203.0.113.${i % 250}`, headers, method: 'GET', querystring, uri },
          },
        },
      ],
    });
  }
  return events;
}

export function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// Per-request time: warm every handler, then alternate rounds over fresh copies of the
// events (handlers edit events in place) so that drift and GC hit all alike.
export async function timePerRequest(handlers, template, rounds) {
  const run = async (handler, events) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < events.length; i++) await handler(events[i]);
    return Number(process.hrtime.bigint() - start) / events.length;
  };
  const names = Object.keys(handlers);
  for (let i = 0; i < 3; i++) for (const n of names) await run(handlers[n], structuredClone(template));
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const n of order) times[n].push(await run(handlers[n], structuredClone(template)));
  }
  return Object.fromEntries(names.map((n) => [n, median(times[n])]));
}

// Cold start: wall time of a fresh `node` process that imports DIR/index.mjs and answers
// one event (node's own start-up included, as Lambda pays it); the child also reports its
// import + first answer alone. Runs alternate between the handlers.
export function timeColdStart(spawnSync, dirs, eventFile, coldScript, runs) {
  const names = Object.keys(dirs);
  const once = (dir) => {
    const start = process.hrtime.bigint();
    const child = spawnSync(process.execPath, [coldScript, `${dir}/index.mjs`, eventFile], { encoding: 'utf8' });
    const wall = Number(process.hrtime.bigint() - start) / 1e6;
    if (child.status !== 0) throw new Error(`cold start in ${dir} failed: ${child.stderr}`);
    return { wall, handler: JSON.parse(child.stdout).handlerMs };
  };
  for (const n of names) once(dirs[n]);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) {
    for (const n of i % 2 === 0 ? names : [...names].reverse()) times[n].push(once(dirs[n]));
  }
  return Object.fromEntries(
    names.map((n) => [n, { wall: median(times[n].map((t) => t.wall)), handler: median(times[n].map((t) => t.handler)) }]),
  );
}

export const COLD_SCRIPT = `import { readFileSync } from 'node:fs';
const event = JSON.parse(readFileSync(process.argv[3], 'utf8'));
const start = performance.now();
const { handler } = await import(process.argv[2]);
const result = await handler(event);
const handlerMs = performance.now() - start;
if (result.status !== undefined) { console.error(JSON.stringify(result)); process.exit(1); }
console.log(JSON.stringify({ handlerMs }));
`;
