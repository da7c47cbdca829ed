// The peer for the Node handler benchmark: a plain Node.js EdgeAuth 2.0 verifier, written
// the way a Lambda@Edge author would without edgegate: node:crypto createHmac +
// timingSafeEqual, parsing in JavaScript. Same contract as index.mjs for the requests the
// benchmark sends (token in path segment, query or cookie; ACL or URL tokens), and it
// reads edgegate.json beside itself the same way. Not a product: no canonicalisation
// beyond percent-decoding, minimal path checks.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

const config = JSON.parse(readFileSync(new URL('./edgegate.json', import.meta.url), 'utf8'));
const NAME = config.token_name;
const LEEWAY = config.leeway_seconds;
const SALT = config.salt;
const METHODS = new Set(config.methods);
const PUBLIC = config.public_prefixes;
const KEYS = config.keys.map((k) => Buffer.from(k.secret, 'hex'));
const PATH_PREFIX = `/${NAME}=`;
const PARAM_PREFIX = `${NAME}=`;

function deny(status, reason) {
  return {
    status: String(status),
    statusDescription: status === 405 ? 'Method Not Allowed' : status === 400 ? 'Bad Request' : 'Forbidden',
    headers: {
      'cache-control': [{ key: 'Cache-Control', value: 'no-store' }],
      'content-type': [{ key: 'Content-Type', value: 'text/plain; charset=utf-8' }],
      'x-edgegate-reason': [{ key: 'X-Edgegate-Reason', value: reason }],
    },
    body: `${status} ${reason}`,
  };
}

// `*` any run (slashes included), `?` one character.
function glob(pattern, text) {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    const c = pattern.charCodeAt(p);
    if (p < pattern.length && (c === 63 || c === text.charCodeAt(t))) {
      p++;
      t++;
    } else if (p < pattern.length && c === 42) {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 42) p++;
  return p === pattern.length;
}

function verify(token, path, clientIp, now) {
  const at = token.lastIndexOf('~hmac=');
  if (at < 0) return 'malformed-token';
  const body = token.slice(0, at);
  const mac = token.slice(at + 6);
  if (mac.length !== 64) return 'malformed-token';
  let ip, st, exp, acl;
  for (const part of body.split('~')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) return 'malformed-token';
    const value = part.slice(eq + 1);
    switch (part.slice(0, eq)) {
      case 'ip': ip = value; break;
      case 'st': st = value; break;
      case 'exp': exp = value; break;
      case 'acl': acl = value; break;
      case 'id': case 'data': break;
      default: return 'malformed-token';
    }
  }
  if (exp === undefined || !/^\d{1,12}$/.test(exp) || (st !== undefined && !/^\d{1,12}$/.test(st))) return 'malformed-token';
  let data = acl === undefined ? `${body}~url=${path}` : body;
  if (SALT) data += `~salt=${SALT}`;
  const given = Buffer.from(mac, 'hex');
  if (given.length !== 32) return 'malformed-token';
  let signed = false;
  for (const key of KEYS) {
    if (timingSafeEqual(createHmac('sha256', key).update(data).digest(), given)) {
      signed = true;
      break;
    }
  }
  if (!signed) return 'bad-signature';
  if (now > Number(exp) + LEEWAY) return 'expired';
  if (st !== undefined && Number(st) - LEEWAY > now) return 'not-yet-valid';
  if (ip !== undefined && ip !== clientIp) return 'ip-mismatch';
  if (acl !== undefined && !acl.split('!').some((pattern) => glob(pattern, path))) return 'acl-mismatch';
  return null;
}

export const handler = async (event) => {
  const request = event.Records[0].cf.request;
  if (!METHODS.has(request.method)) return deny(405, 'method');
  let uri = request.uri;
  let token;
  if (uri.startsWith(PATH_PREFIX)) {
    const end = uri.indexOf('/', 1);
    token = end < 0 ? uri.slice(PATH_PREFIX.length) : uri.slice(PATH_PREFIX.length, end);
    uri = end < 0 ? '/' : uri.slice(end);
  }
  const query = request.querystring;
  if (query && query.includes(PARAM_PREFIX)) {
    const kept = [];
    for (const param of query.split('&')) {
      if (param.startsWith(PARAM_PREFIX)) token ??= param.slice(PARAM_PREFIX.length);
      else kept.push(param);
    }
    request.querystring = kept.join('&');
  }
  const cookies = request.headers.cookie;
  if (cookies !== undefined) {
    const values = [];
    for (const { value } of cookies) {
      const kept = [];
      for (const cookie of value.split(/;\s*/)) {
        if (cookie.startsWith(PARAM_PREFIX)) token ??= cookie.slice(PARAM_PREFIX.length);
        else if (cookie) kept.push(cookie);
      }
      if (kept.length) values.push(kept.join('; '));
    }
    if (values.length) request.headers.cookie = values.map((value) => ({ key: cookies[0].key, value }));
    else delete request.headers.cookie;
  }
  let path;
  try {
    path = decodeURIComponent(uri);
  } catch {
    return deny(400, 'bad-path');
  }
  if (!path.startsWith('/') || /%2f/i.test(uri) || path.split('/').includes('..')) return deny(400, 'bad-path');
  if (!PUBLIC.some((prefix) => path.startsWith(prefix))) {
    if (token === undefined) return deny(403, 'missing-token');
    let text;
    try {
      text = decodeURIComponent(token);
    } catch {
      return deny(403, 'malformed-token');
    }
    const reason = verify(text, path, request.clientIp, Math.floor(Date.now() / 1000));
    if (reason !== null) {
      console.log(JSON.stringify({ reason, request_id: event.Records[0].cf.config.requestId }));
      return deny(403, reason);
    }
  }
  request.uri = uri;
  return request;
};
