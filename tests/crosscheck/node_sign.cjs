// Signs a batch of cases with the real akamai-edgeauth for Node (tests/node/node_modules).
// stdin: JSON array of cases; stdout: JSON array of tokens, same order. One process for
// the whole batch keeps the cross-check fast.
//
// The library is CommonJS (and tests/node is "type": "module"), hence .cjs. It keys the
// HMAC with `new Buffer(key, 'hex')`, deprecated in Node: the warning is silenced by the
// caller (NODE_NO_WARNINGS), not worked around, so we test the library as published.
'use strict'
const fs = require('fs')
const path = require('path')

const WANT_VERSION = '0.2.0'
const dir = path.resolve(__dirname, '..', 'node', 'node_modules', 'akamai-edgeauth')
let pkg
try {
  pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
} catch (e) {
  console.error(`node_sign: akamai-edgeauth not installed in tests/node (run tests/setup.sh): ${e.code || e}`)
  process.exit(2)
}
if (pkg.version !== WANT_VERSION) {
  console.error(`node_sign: akamai-edgeauth ${pkg.version} installed, ${WANT_VERSION} expected`)
  process.exit(2)
}
const EdgeAuth = require(dir)

const cases = JSON.parse(fs.readFileSync(0, 'utf8'))
const tokens = cases.map((c) => {
  // A fresh instance per case: the constructor and _generateToken mutate `options`.
  const options = { key: c.key, algorithm: 'sha256', endTime: c.exp, escapeEarly: false }
  if (c.salt) options.salt = c.salt
  if (c.st !== null) options.startTime = c.st
  if (c.ip !== null) options.ip = c.ip
  if (c.id !== null) options.sessionId = c.id
  if (c.data !== null) options.payload = c.data
  const auth = new EdgeAuth(options)
  return c.kind === 'acl' ? auth.generateACLToken(c.acl) : auth.generateURLToken(c.url)
})
process.stdout.write(JSON.stringify({ library: 'akamai-edgeauth (npm)', version: pkg.version, tokens }))
