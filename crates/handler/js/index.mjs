// edgegate: the Lambda@Edge viewer-request and origin-response handler.
//
// Every decision is made by the Rust code compiled to `edgegate.wasm`; this module only
// moves the request's strings into the WebAssembly memory and the answer back into the
// event (ABI: crates/handler/src/wasm.rs). A viewer request fails closed: any exception or
// trap answers 500 `internal`, never a forward. An origin response (`cf.config.eventType`
// `origin-response`) gets its `cache-control` from the object's cache class; any exception
// or trap returns the origin's response unchanged, never an error for a file that exists.
import { readFileSync } from 'node:fs';

// `response(Reason::Internal, None)` as the Rust side serializes it. Kept here because it is
// needed exactly when the module cannot be trusted to produce it; tests/node checks that
// the two are identical.
const INTERNAL =
  '{"status":"500","statusDescription":"Internal Server Error","headers":{"cache-control":[{"key":"Cache-Control","value":"no-store"}],"content-type":[{"key":"Content-Type","value":"text/plain; charset=utf-8"}],"x-edgegate-reason":[{"key":"X-Edgegate-Reason","value":"internal"}]},"body":"500 Internal Server Error: internal error"}';

const ABSENT = 0xffffffff;
const DENY = 1;
const URI = 2;
const QUERY = 4;
const COOKIES = 8;
const SET = 16;
const KEEP = 32;
const ORIGIN_RESPONSE = 'origin-response';
// `response.status` as CloudFront writes it; the Rust side reads the same set.
const STATUS = /^[1-9][0-9]{2}$/;
const FIXED_WORDS = 7;
// First input region: larger than any request CloudFront delivers, so it is never regrown.
const MIN_INPUT = 16384;

// Cold start: compile once. A missing or broken module still loads this file, so that every
// request gets our own 500 `internal` rather than a Lambda initialisation error.
let wasmModule = null;
try {
  wasmModule = new WebAssembly.Module(readFileSync(new URL('./edgegate.wasm', import.meta.url)));
} catch (error) {
  console.error(JSON.stringify({ edgegate: 'cannot load edgegate.wasm', error: String(error) }));
}
// Read at each instantiation (cold start, and after a fault) and zeroed once copied in:
// the keys are not kept in JavaScript memory between requests. A missing edgegate.json is
// an invalid configuration: the Rust side answers `misconfigured`.
function readConfig() {
  try {
    return readFileSync(new URL('./edgegate.json', import.meta.url));
  } catch {
    return Buffer.alloc(0);
  }
}

const encoder = new TextEncoder();
// Output the module wrote that is not UTF-8 is a fault (fail closed), never U+FFFD.
const decoder = new TextDecoder('utf-8', { fatal: true });

// The live instance and views of its memory (refreshed whenever the memory grows). Null
// after a fault: the next request instantiates the cached module afresh.
let gate = null;

function instantiate() {
  const { exports } = new WebAssembly.Instance(wasmModule, {});
  const g = {
    exports,
    memory: exports.memory,
    u32: null,
    input: 0,
    capacity: 0,
    output: 0,
    // Set while a call into the module is running: a fault then may have left its state
    // half-updated (a held borrow, a moved arena pointer), so the instance is dropped.
    busy: false,
  };
  const configBytes = readConfig();
  g.capacity = Math.max(configBytes.length, MIN_INPUT);
  g.input = exports.edgegate_input(g.capacity) >>> 0;
  if (g.input === 0) throw new Error('edgegate_input failed');
  // `set` throws rather than write past the region.
  region(g).set(configBytes);
  configBytes.fill(0);
  const status = exports.edgegate_init(configBytes.length);
  g.output = (exports.edgegate_output() >>> 0) >>> 2;
  refresh(g);
  if (status !== 0) {
    // The text names the offending field, never a secret value.
    const [ptr, len] = [g.u32[g.output], g.u32[g.output + 1]];
    console.error(
      JSON.stringify({ edgegate: 'invalid edgegate.json: every request is answered 500 misconfigured', error: text(g, ptr, len) }),
    );
  }
  return g;
}

function refresh(g) {
  if (g.u32 === null || g.u32.buffer !== g.memory.buffer) {
    g.u32 = new Uint32Array(g.memory.buffer);
  }
}

// The input region and nothing else: the Gate (the keys) lives right after it, so no
// write may reach past its end.
function region(g) {
  return new Uint8Array(g.memory.buffer, g.input, g.capacity);
}

// A string the module wrote; a pointer or length outside the memory throws (RangeError).
function text(g, ptr, len) {
  return decoder.decode(new Uint8Array(g.memory.buffer, ptr, len));
}

// String fields as the Rust event types read them: a missing field takes serde's default,
// a field of the wrong type fails the request (500 `internal`), as it fails to parse there.
function field(object, name, fallback) {
  const value = object[name];
  if (typeof value === 'string') return value;
  if (value === undefined && fallback !== undefined) return fallback;
  throw new TypeError(`event field ${name} is not a string`);
}

// Writes what the Rust side reads of a request into the input region (layout in wasm.rs)
// and returns what a forward edits: the headers and the querystring. `names`: the cookie
// header names whose values are written (from `checkShape`); null writes none (none sent,
// or an origin response, whose class does not depend on them).
function writeInput(g, request, config, names) {
  const method = field(request, 'method');
  const uri = field(request, 'uri');
  const query = request.querystring;
  if (query !== undefined && query !== null && typeof query !== 'string') {
    throw new TypeError('event field querystring is not a string');
  }
  const hasQuery = typeof query === 'string';
  const clientIp = field(request, 'clientIp', '');
  const requestId = field(config, 'requestId', '');
  const distributionId = field(config, 'distributionId', '');
  const headers = request.headers === undefined ? {} : request.headers;
  if (headers === null || typeof headers !== 'object') throw new TypeError('event field headers is not an object');
  const cookies = [];
  if (names !== null) {
    for (const name of names) {
      const entries = headers[name];
      if (!Array.isArray(entries)) throw new TypeError('event header is not a list');
      for (const entry of entries) cookies.push(field(entry, 'value'));
    }
  }

  // Worst case 3 UTF-8 bytes per UTF-16 unit; the region grows (rarely) when needed.
  const n = cookies.length;
  let need = 4 * (FIXED_WORDS + n) + 3 * (method.length + uri.length + clientIp.length + requestId.length + distributionId.length);
  if (hasQuery) need += 3 * query.length;
  for (let i = 0; i < n; i++) need += 3 * cookies[i].length;
  if (need > g.capacity) {
    g.busy = true;
    g.input = g.exports.edgegate_input(need) >>> 0;
    g.busy = false;
    if (g.input === 0) throw new Error('edgegate_input failed');
    g.capacity = need;
  }
  refresh(g);
  const bytes = region(g);
  const header = 4 * (FIXED_WORDS + n);
  if (header > bytes.length) throw new RangeError('request does not fit the input region');
  const words = new Uint32Array(g.memory.buffer, g.input, FIXED_WORDS + n);
  let at = header;
  // Each string goes into what is left of the region; one that does not fit whole throws
  // (a lone surrogate is written as U+FFFD).
  const put = (value) => {
    const { read, written } = encoder.encodeInto(value, bytes.subarray(at));
    if (read !== value.length) throw new RangeError('request does not fit the input region');
    at += written;
    return written;
  };
  words[0] = put(method);
  words[1] = put(uri);
  words[2] = hasQuery ? put(query) : ABSENT;
  words[3] = put(clientIp);
  words[4] = put(requestId);
  words[5] = put(distributionId);
  words[6] = n;
  // The cookie values in one piece: a viewer can send hundreds of cookie headers, and a
  // call per value was a third of such a request's time (`make bench`, node hostile).
  // Text that is all ASCII (what browsers and package clients send) is one byte per
  // UTF-16 unit, so each value's length in bytes is its length; any other text is
  // written again value by value (a value ending in a lone surrogate must not pair with
  // the next one's, and each gets its own U+FFFD).
  const cookiesAt = at;
  const joined = cookies.join('');
  if (put(joined) === joined.length) {
    for (let i = 0; i < n; i++) words[FIXED_WORDS + i] = cookies[i].length;
  } else {
    at = cookiesAt;
    for (let i = 0; i < n; i++) words[FIXED_WORDS + i] = put(cookies[i]);
  }
  return { headers, query };
}

// Header names compared as the Rust side compares them: ASCII case only. `toLowerCase`
// also folds characters such as U+212A (KELVIN SIGN) to `k`, which would make `coo\u212Aie`
// a cookie here and not there.
function asciiLower(name) {
  return name.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

// The event shape rule of every runtime: exactly what the Rust event types (serde) accept,
// checked before anything is read, so that `edgegate handle` (which parses the text) and
// this module (which Lambda hands a parsed object) answer every odd event alike. Fields we
// do not model are free; a modelled one must have its type, `null` only where the Rust
// side has an `Option`. Every record is checked, as serde parses them all.
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
function optionalString(object, name, nullable) {
  const value = object[name];
  if (value === undefined || typeof value === 'string' || (nullable && value === null)) return;
  throw new TypeError(`event field ${name} has the wrong type`);
}
// One pass over a headers object: a request may hold thousands of headers (`a: b` over
// 3,000 times fits CloudFront's 20 KB request), and each pass over their names costs about 50 ns a name.
// Notes the entries whose `key` is null in `nullKeys`, and the names that are `cookie` in
// ASCII case in `cookies` (each when given).
function checkHeaders(headers, nullable, nullKeys, cookies) {
  if (headers === undefined || (nullable && headers === null)) return;
  if (!isObject(headers)) throw new TypeError('event field headers is not an object');
  for (const name in headers) {
    const entries = headers[name];
    if (!Array.isArray(entries)) throw new TypeError('event header is not a list');
    if (cookies !== undefined && name.length === 6 && asciiLower(name) === 'cookie') cookies.push(name);
    for (const entry of entries) {
      if (!isObject(entry) || typeof entry.value !== 'string') throw new TypeError('event header entry has no value');
      const key = entry.key;
      if (key === null) {
        if (nullKeys !== undefined) nullKeys.push(entry);
      } else if (key !== undefined && typeof key !== 'string') {
        throw new TypeError('event field key has the wrong type');
      }
    }
  }
}
// Returns the names of record 0's request cookie headers (matched case-insensitively, as
// `CfRequest::cookie_values`), in the byte order of the Rust BTreeMap so that values are
// passed in the same order; null: none.
function checkShape(event) {
  if (!isObject(event) || !Array.isArray(event.Records)) throw new TypeError('event has no Records list');
  // What record 0 (the only record read) holds: its request's cookie header names, and the
  // header entries whose `key` is null.
  const cookies = [];
  const nullKeys = [];
  let first = true;
  for (const record of event.Records) {
    if (!isObject(record) || !isObject(record.cf)) throw new TypeError('event record has no cf object');
    const { config, request, response } = record.cf;
    if (config !== undefined) {
      if (!isObject(config)) throw new TypeError('event field config is not an object');
      for (const name of ['distributionDomainName', 'distributionId', 'eventType', 'requestId']) optionalString(config, name, false);
    }
    if (!isObject(request)) throw new TypeError('event field request is not an object');
    if (typeof request.method !== 'string' || typeof request.uri !== 'string') {
      throw new TypeError('event request has no method or uri');
    }
    optionalString(request, 'clientIp', false);
    optionalString(request, 'querystring', true);
    checkHeaders(request.headers, false, first ? nullKeys : undefined, first ? cookies : undefined);
    if (response !== undefined && response !== null) {
      if (!isObject(response) || typeof response.status !== 'string') throw new TypeError('event response has no status');
      optionalString(response, 'statusDescription', true);
      checkHeaders(response.headers, true, first ? nullKeys : undefined);
    }
    first = false;
  }
  // Valid: a `null` where the Rust side has an `Option` means absent, and serde writes it
  // back absent. Done only once the whole event passed, so a refused event stays exactly
  // as it came (the Rust side returns an origin response it cannot read unchanged).
  const dropNull = (object, name) => {
    if (object[name] === null) delete object[name];
  };
  for (const entry of nullKeys) dropNull(entry, 'key');
  const cf = event.Records[0].cf;
  if (isObject(cf.response)) {
    dropNull(cf.response, 'statusDescription');
    dropNull(cf.response, 'headers');
  }
  if (cookies.length === 0) return null;
  return cookies.sort();
}

function decide(event, now) {
  const names = checkShape(event);
  if (gate === null) gate = instantiate();
  const g = gate;
  const cf = event.Records[0].cf;
  const request = cf.request;
  const config = cf.config === undefined ? {} : cf.config;
  const { headers, query } = writeInput(g, request, config, names);

  g.busy = true;
  const flags = g.exports.edgegate_decide(now) >>> 0;
  g.busy = false;
  // Anything but the documented flags (0xFFFFFFFF: input refused) is a fault: fail closed.
  if (flags > (DENY | URI | QUERY | COOKIES)) throw new Error('edgegate_decide refused its input');
  refresh(g);
  const out = g.output;
  const o32 = g.u32;
  if (flags & DENY) {
    const response = JSON.parse(text(g, o32[out], o32[out + 1]));
    console.log(text(g, o32[out + 2], o32[out + 3]));
    return response;
  }
  // Forward: the same edits as `apply_forward` (crates/handler/src/apply.rs), in place.
  if (flags & URI) request.uri = text(g, o32[out], o32[out + 1]);
  if (flags & QUERY) request.querystring = text(g, o32[out + 2], o32[out + 3]);
  else if (query === null) delete request.querystring; // serde reads null as absent
  if (flags & COOKIES) {
    const values = [];
    const pairs = o32[out + 4] >>> 2;
    for (let i = 0; i < o32[out + 5]; i++) {
      const ptr = o32[pairs + 2 * i];
      values.push(text(g, ptr, o32[pairs + 2 * i + 1]));
    }
    const name = names === null ? 'cookie' : names[0];
    const first = names === null ? undefined : headers[name][0];
    const key = first !== undefined && typeof first.key === 'string' ? first.key : undefined;
    if (names !== null) for (const old of names) delete headers[old];
    if (values.length > 0) {
      headers[name] = values.map((value) => (key === undefined ? { value } : { key, value }));
      if (request.headers === undefined) request.headers = headers;
    }
  }
  return request;
}

// The origin's answer with `cache-control` set from the object's cache class (SPEC §9). The
// response is changed only after the module has answered, so a fault anywhere before
// leaves it exactly as the origin sent it.
function originResponse(event) {
  checkShape(event);
  if (gate === null) gate = instantiate();
  const g = gate;
  const cf = event.Records[0].cf;
  const response = cf.response;
  if (response === null || typeof response !== 'object') throw new TypeError('event field response is not an object');
  const status = field(response, 'status');
  if (!STATUS.test(status)) throw new TypeError('response status is not an HTTP status');
  const headers = response.headers === undefined ? {} : response.headers;
  if (headers === null || typeof headers !== 'object') throw new TypeError('event field headers is not an object');
  const config = cf.config === undefined ? {} : cf.config;
  writeInput(g, cf.request, config, null);

  g.busy = true;
  const flags = g.exports.edgegate_origin_response(Number(status)) >>> 0;
  g.busy = false;
  refresh(g);
  const out = g.output;
  const o32 = g.u32;
  if (flags === KEEP) {
    console.log(text(g, o32[out + 2], o32[out + 3]));
    return response;
  }
  if (flags !== SET) throw new Error('edgegate_origin_response refused its input');
  const value = text(g, o32[out], o32[out + 1]);
  // As `set_cache_control`: every spelling of the name goes, one lower-case entry stays.
  for (const name of Object.keys(headers)) {
    if (name.length === 13 && asciiLower(name) === 'cache-control') delete headers[name];
  }
  headers['cache-control'] = [{ key: 'Cache-Control', value }];
  if (response.headers === undefined) response.headers = headers;
  return response;
}

// True for an origin-response event; never throws (it is asked again after a fault).
function isOriginResponse(event) {
  try {
    return event.Records[0].cf.config.eventType === ORIGIN_RESPONSE;
  } catch {
    return false;
  }
}

// One JSON log line for a fault, in the shape of the Rust log line (SPEC §5); the error's
// class only, never request data beyond what that line carries.
function logInternal(event, error) {
  const pick = (get) => {
    try {
      const value = get();
      return typeof value === 'string' ? value : '';
    } catch {
      return '';
    }
  };
  const request = () => event.Records[0].cf.request;
  console.log(
    JSON.stringify({
      reason: 'internal',
      request_id: pick(() => event.Records[0].cf.config.requestId),
      distribution_id: pick(() => event.Records[0].cf.config.distributionId),
      method: pick(() => request().method),
      path: '',
      client_ip: pick(() => request().clientIp),
      error: error instanceof WebAssembly.RuntimeError ? 'wasm trap' : String(error && error.name),
    }),
  );
}

// Instantiate during the cold start, so the first request does not pay for it and a bad
// configuration is reported once, at load.
if (wasmModule !== null) {
  try {
    gate = instantiate();
  } catch (error) {
    console.error(JSON.stringify({ edgegate: 'cannot instantiate edgegate.wasm', error: String(error) }));
  }
}

export const handler = async (event) => {
  const origin = isOriginResponse(event);
  try {
    if (wasmModule === null) throw new Error('edgegate.wasm not loaded');
    if (origin) return originResponse(event);
    return decide(event, Math.floor(Date.now() / 1000));
  } catch (error) {
    // A fault inside the module (trap, stack overflow): never reuse that instance. The
    // next request instantiates the cached module afresh. A malformed event rejected
    // before the call leaves the instance as it was.
    if (gate !== null && gate.busy) gate = null;
    logInternal(event, error);
    // The origin's answer as it came (the Rust `fault`); without one, nothing but an
    // error can be returned.
    if (origin) {
      const response = event.Records[0].cf.response;
      if (response !== undefined && response !== null) return response;
    }
    return JSON.parse(INTERNAL);
  }
};
