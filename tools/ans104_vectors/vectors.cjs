#!/usr/bin/env node
// ANS-104 data items from a second implementation (arbundles), for aocu/arweave's tests.
//
//   node vectors.cjs generate <jwk.json> <out.json>
//       Signs data items of several shapes with the JWK (arbundles' ArweaveSigner) and writes
//       them with what aocu must read back: tests/fixtures/ans104/vectors.json.
//   node vectors.cjs verify <items.json>
//       <items.json> is [{"name", "raw"}] (raw = base64url data item). Prints, as JSON, what
//       arbundles makes of each: valid (DataItem.verify), id, owner address, target, anchor,
//       tags, data sha256; or the error it threw.
//
// arbundles is resolved from ./node_modules (npm install here) or NODE_PATH (the interop test
// points that at tests/interop/node_modules).
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const { createData, ArweaveSigner, DataItem } = require('arbundles');

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest();

// Deterministic bytes: a sha256 counter stream, so the data is the same on every run (the
// signatures are not: RSA-PSS salts are random).
function bytes(seed, n) {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; off += 32, i++) {
    sha256(Buffer.from(`${seed}:${i}`)).copy(out, off, 0, Math.min(32, n - off));
  }
  return out;
}

function arbundlesVersion() {
  // the package's "exports" hide package.json; it sits three levels above build/node/cjs/index.js
  const main = require.resolve('arbundles');
  return JSON.parse(fs.readFileSync(require('path').join(main, '..', '..', '..', '..', 'package.json'), 'utf8')).version;
}

function describe(item) {
  return {
    id: item.id,
    owner_address: b64url(sha256(item.rawOwner)),
    signature_type: item.signatureType,
    target: item.rawTarget.length ? b64url(item.rawTarget) : '',
    anchor: item.rawAnchor.length ? b64url(item.rawAnchor) : '',
    tags: item.tags,
    data_size: item.rawData.length,
    data_sha256: sha256(item.rawData).toString('hex'),
  };
}

const CASES = [
  { name: 'empty', data: Buffer.alloc(0) },
  { name: 'empty-data-with-tags', data: '', tags: [{ name: 'Type', value: 'Checkpoint' }] },
  {
    name: 'target-anchor-tags',
    data: 'hello',
    tags: [{ name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Message' }, { name: 'Action', value: 'Eval' }],
    target: b64url(bytes('target', 32)),
    anchor: '00000000000000000000000000001234',
  },
  { name: 'target-only', data: 'to someone', target: b64url(bytes('target-only', 32)) },
  { name: 'anchor-only', data: 'anchored', anchor: 'abcdefghijklmnopqrstuvwxyz012345' },
  {
    name: 'unicode-tags',
    data: 'ünïcödé data ✓',
    tags: [
      { name: 'é', value: '€ and ü' },
      { name: 'emoji-😀', value: '🚀🌍' },
      { name: '中文名', value: '价值'.repeat(30) },  // > 64 bytes: the Buffer.write path
      { name: 'empty-value', value: '' },
      { name: 'Content-Type', value: 'text/plain; charset=utf-8' },
    ],
  },
  {
    name: '128-tags',
    data: 'many tags',
    tags: Array.from({ length: 128 }, (_, i) => ({ name: `Tag-${i}`, value: `value ${i}` })),
  },
  {
    name: 'long-tag-strings',
    data: 'x',
    tags: [{ name: 'N'.repeat(1024), value: 'V'.repeat(2900) }],
  },
  { name: 'binary-64k', data: bytes('binary', 65536), tags: [{ name: 'Content-Type', value: 'application/octet-stream' }] },
  { name: 'all-byte-values', data: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) },
];

async function generate(jwkPath, outPath) {
  const jwk = JSON.parse(fs.readFileSync(jwkPath, 'utf8'));
  const signer = new ArweaveSigner(jwk);
  const vectors = [];
  for (const c of CASES) {
    const opts = {};
    if (c.tags) opts.tags = c.tags;
    if (c.target) opts.target = c.target;
    if (c.anchor) opts.anchor = c.anchor;
    const item = createData(c.data, signer, opts);
    await item.sign(signer);
    if (!(await item.isValid())) throw new Error(`${c.name}: arbundles does not verify its own item`);
    vectors.push({ name: c.name, raw: b64url(item.getRaw()), ...describe(item) });
  }
  const doc = {
    generator: `arbundles ${arbundlesVersion()}, node ${process.version}`,
    command: 'node tools/ans104_vectors/vectors.cjs generate tests/fixtures/ans104/test_jwk.json tests/fixtures/ans104/vectors.json',
    owner_address: b64url(sha256(signer.publicKey)),
    vectors,
  };
  fs.writeFileSync(outPath, JSON.stringify(doc, null, 1) + '\n');
}

async function verify(itemsPath) {
  const items = JSON.parse(fs.readFileSync(itemsPath, 'utf8'));
  const results = [];
  for (const { name, raw } of items) {
    const buf = Buffer.from(raw, 'base64url');
    try {
      const valid = await DataItem.verify(buf);
      results.push({ name, valid, ...describe(new DataItem(buf)) });
    } catch (err) {
      results.push({ name, valid: false, error: String(err && err.message ? err.message : err) });
    }
  }
  process.stdout.write(JSON.stringify(results) + '\n');
}

const [cmd, ...args] = process.argv.slice(2);
const run = cmd === 'generate' && args.length === 2 ? generate(...args)
  : cmd === 'verify' && args.length === 1 ? verify(...args)
    : null;
if (run === null) {
  process.stderr.write('usage: vectors.cjs generate <jwk.json> <out.json> | verify <items.json>\n');
  process.exit(2);
}
run.catch((err) => { process.stderr.write(`${err.stack || err}\n`); process.exit(1); });
