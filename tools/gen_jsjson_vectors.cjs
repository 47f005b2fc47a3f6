#!/usr/bin/env node
// Generates tests/fixtures/jsjson_vectors.json: what Node's JSON.stringify /
// JSON.parse (and the ao-loader's Emscripten stringToUTF8Array) actually do,
// so tests/unit/test_jsjson.py can check aocu/jsjson.py without needing node.
//
//   node tools/gen_jsjson_vectors.cjs > tests/fixtures/jsjson_vectors.json
//
// Deterministic: every "random" vector comes from a seeded PRNG.
'use strict';

// ---- seeded PRNG (mulberry32) -------------------------------------------
let seed = 0x5eed1234;
function rnd32() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}
function rndInt(n) { return rnd32() % n; }

// ---- doubles as IEEE-754 bit patterns (16 hex digits, big-endian) -------
const dv = new DataView(new ArrayBuffer(8));
function bitsOf(x) { dv.setFloat64(0, x); return dv.getBigUint64(0).toString(16).padStart(16, '0'); }
function fromBits(hi, lo) { dv.setUint32(0, hi); dv.setUint32(4, lo); return dv.getFloat64(0); }
function nextUp(x) {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  dv.setFloat64(0, x);
  let b = dv.getBigUint64(0);
  b = x > 0 ? b + 1n : b - 1n;
  dv.setBigUint64(0, b);
  return dv.getFloat64(0);
}
function nextDown(x) { return -nextUp(-x); }

const doubles = [];
function addD(x) { doubles.push(x); }
for (const x of [0, -0, NaN, Infinity, -Infinity, 1, -1, 0.1, 0.2, 0.1 + 0.2, 1 / 3, 2 / 3, Math.PI, Math.E,
  Number.MIN_VALUE, -Number.MIN_VALUE, 2.2250738585072014e-308, 2.225073858507201e-308, Number.MAX_VALUE,
  -Number.MAX_VALUE, Number.EPSILON, 2 ** 53, 2 ** 53 - 1, 2 ** 53 + 2, -(2 ** 53), 2 ** 63, 2 ** 64, 2 ** 70,
  2 ** 100, 2 ** -1074, 2 ** -1022, 2 ** 31, 2 ** 32, 2 ** 32 - 1, 1e21, 1e20, 999999999999999900000,
  123456789012345680000, 1.5e21, 1e-6, 1e-7, 1.5e-7, 1.234e-6, 123e-9, 0.000001234, 0.0000001234,
  5e-324, 1.7976931348623157e308, 9007199254740993, 4.35, 0.5, 1.5, 100, 1e100, 1e-100, 1e308, 1e-308,
  1e-323, 123.456, -123.456, 1e15, 1e16, 1e17, 12345678901234567, 0.000001, 0.0000001, 1.7e-7]) addD(x);
// Powers of ten and their neighbours, across the whole exponent range.
for (let e = -325; e <= 309; e++) {
  const x = Number('1e' + e);
  addD(x); addD(nextUp(x)); addD(nextDown(x)); addD(-x);
}
// Format boundaries (toString switches notation at 1e21 and 1e-6).
for (const base of [1e21, 1e-6, 1e-7, 1e20, 1e-5]) {
  let u = base, d = base;
  for (let i = 0; i < 5; i++) { u = nextUp(u); d = nextDown(d); addD(u); addD(d); }
  for (const m of [1.5, 2, 9.99, 1.2345678901234567]) addD(base * m);
}
// Integers near 2^53 and other integer widths.
for (const p of [31, 32, 52, 53, 54, 55, 60, 63, 64, 69, 70]) {
  for (let k = -4; k <= 4; k++) { addD(2 ** p + k); addD(-(2 ** p) + k); }
}
// Subnormals.
for (let i = 0; i < 40; i++) addD(fromBits(rndInt(0x000fffff + 1), rnd32()));
for (let i = 0; i < 10; i++) addD(fromBits(0, rndInt(1000) + 1));
// Uniformly random bit patterns (the exponent is uniform too).
for (let i = 0; i < 600; i++) addD(fromBits(rnd32(), rnd32()));
// Random "human" numbers: few digits, moderate exponents.
for (let i = 0; i < 300; i++) {
  const digits = String(rndInt(10 ** (1 + rndInt(9))));
  addD(Number(digits + 'e' + (rndInt(60) - 30)));
  addD(rndInt(2 ** 31) / 2 ** rndInt(40));
}
const numbers = doubles.map((x) => [bitsOf(x), JSON.stringify(x)]);

// ---- number texts through JSON.parse then JSON.stringify -----------------
const numTexts = ['0', '-0', '1.0', '-1.0', '1e2', '1E2', '1e+2', '1e-2', '0.0', '-0.0', '12345678901234567890',
  '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993', '18446744073709551615',
  '1e400', '-1e400', '1e-400', '-1e-400', '0.1', '100.000', '1.5e300', '4.9e-324', '2.4703282292062328e-324',
  '2.4703282292062327e-324', '1e21', '1e20', '123456789012345678901234567890', '0.30000000000000004',
  '1' + '0'.repeat(400), '1' + '0'.repeat(308), '17976931348623158e292', '17976931348623157e292',
  '0.' + '0'.repeat(300) + '1', '9'.repeat(30), '-' + '9'.repeat(17), '2.5', '1e0', '1.00000000000000011102230246251565404236316680908203125',
  '1.00000000000000011102230246251565404236316680908203126', '7e22', '5e-7', '5e-6'];
for (let i = 0; i < 300; i++) {
  const nd = 1 + rndInt(25);
  let s = String(1 + rndInt(9));
  for (let j = 1; j < nd; j++) s += String(rndInt(10));
  const point = rndInt(nd + 1);
  let t = point > 0 && point < nd ? s.slice(0, point) + '.' + s.slice(point) : s;
  if (rndInt(2)) t += (rndInt(2) ? 'e' : 'E') + ['', '+', '-'][rndInt(3)] + rndInt(330);
  if (rndInt(2)) t = '-' + t;
  numTexts.push(t);
}
const numberTexts = numTexts.map((t) => [t, JSON.stringify(JSON.parse(t))]);

// ---- strings as UTF-16 code unit arrays ----------------------------------
const units = [];
function units_of(s) { const a = []; for (let i = 0; i < s.length; i++) a.push(s.charCodeAt(i)); return a; }
for (let c = 0; c < 0x100; c++) units.push([c]);
for (const c of [0x2028, 0x2029, 0xfeff, 0xfffe, 0xffff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0x7ff, 0x800]) units.push([c]);
for (const s of ['', 'hello', 'a"b\\c', '\u{1F600}', '\u{10FFFF}', '\u{10000}', 'é日本語', '\ud83d', '\ude00',
  '\ude00\ud83d', 'a\ud83d', '\ud83da', '\ud83d\ud83d\ude00', '\ud83d\ude00\ude00', '\udbff\udfff',
  '\t\n\r\b\f\v\0\x1f\x7f', '</script>', '\u0000\u0001', 'mixed 😀 \ud800 x\udfff\u2028']) units.push(units_of(s));
const interesting = [0x00, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f, 0x20, 0x22, 0x2f, 0x5c, 0x41, 0x7f, 0x80, 0xe9, 0x7ff, 0x800,
  0x2028, 0xfeff, 0xffff, 0xd800, 0xd83d, 0xdbff, 0xdc00, 0xde00, 0xdfff, 0xe000];
for (let i = 0; i < 200; i++) {
  const n = rndInt(12);
  const a = [];
  for (let j = 0; j < n; j++) a.push(rndInt(4) ? interesting[rndInt(interesting.length)] : rndInt(0x10000));
  units.push(a);
}
const S = (a) => String.fromCharCode(...a);
const strings = units.map((a) => [a, JSON.stringify(S(a))]);

// ---- Emscripten stringToUTF8Array / lengthBytesUTF8 ------------------------
// Verbatim from @permaweb/ao-loader 0.0.49 dist/index.cjs (every format's glue
// has this same version): ANY surrogate unit, paired or not, swallows the next
// unit (NaN & 1023 == 0 past the end) and is written as a 4-byte sequence.
function stringToUTF8Array(str, heap, outIdx, maxBytesToWrite) {
  if (!(maxBytesToWrite > 0)) return 0;
  const startIdx = outIdx;
  const endIdx = outIdx + maxBytesToWrite - 1;
  for (let i = 0; i < str.length; ++i) {
    let u = str.charCodeAt(i);
    if (u >= 55296 && u <= 57343) {
      const u1 = str.charCodeAt(++i);
      u = 65536 + ((u & 1023) << 10) | u1 & 1023;
    }
    if (u <= 127) {
      if (outIdx >= endIdx) break;
      heap[outIdx++] = u;
    } else if (u <= 2047) {
      if (outIdx + 1 >= endIdx) break;
      heap[outIdx++] = 192 | u >> 6;
      heap[outIdx++] = 128 | u & 63;
    } else if (u <= 65535) {
      if (outIdx + 2 >= endIdx) break;
      heap[outIdx++] = 224 | u >> 12;
      heap[outIdx++] = 128 | u >> 6 & 63;
      heap[outIdx++] = 128 | u & 63;
    } else {
      if (outIdx + 3 >= endIdx) break;
      heap[outIdx++] = 240 | u >> 18;
      heap[outIdx++] = 128 | u >> 12 & 63;
      heap[outIdx++] = 128 | u >> 6 & 63;
      heap[outIdx++] = 128 | u & 63;
    }
  }
  heap[outIdx] = 0;
  return outIdx - startIdx;
}
function lengthBytesUTF8(str) {
  let len = 0;
  for (let i = 0; i < str.length; ++i) {
    let u = str.charCodeAt(i);
    if (u >= 55296 && u <= 57343) u = 65536 + ((u & 1023) << 10) | str.charCodeAt(++i) & 1023;
    if (u <= 127) ++len;
    else if (u <= 2047) len += 2;
    else if (u <= 65535) len += 3;
    else len += 4;
  }
  return len;
}
const emscriptenUtf8 = units.map((a) => {
  const s = S(a);
  const n = lengthBytesUTF8(s);
  const heap = new Uint8Array(n + 1);
  const written = stringToUTF8Array(s, heap, 0, n + 1);
  if (written !== n) throw new Error('lengthBytesUTF8 disagrees with stringToUTF8Array');
  return [a, Buffer.from(heap.subarray(0, n)).toString('hex')];
});

// ---- Emscripten UTF8ArrayToString (how the loader reads strings back) ----
// Verbatim logic from the same glue: up to 16 bytes are decoded by hand with
// no validation (and may read up to 2 bytes past the NUL), longer ones by
// TextDecoder('utf8'): U+FFFD replacement, and a leading BOM is dropped.
const UTF8Decoder = new TextDecoder('utf8');
function UTF8ArrayToString(heapOrArray, idx, maxBytesToRead) {
  const endIdx = idx + maxBytesToRead;
  let endPtr = idx;
  while (heapOrArray[endPtr] && !(endPtr >= endIdx)) ++endPtr;
  if (endPtr - idx > 16 && heapOrArray.buffer && UTF8Decoder) {
    return UTF8Decoder.decode(heapOrArray.subarray(idx, endPtr));
  }
  let str = '';
  while (idx < endPtr) {
    let u0 = heapOrArray[idx++];
    if (!(u0 & 128)) { str += String.fromCharCode(u0); continue; }
    const u1 = heapOrArray[idx++] & 63;
    if ((u0 & 224) == 192) { str += String.fromCharCode((u0 & 31) << 6 | u1); continue; }
    const u2 = heapOrArray[idx++] & 63;
    if ((u0 & 240) == 224) {
      u0 = (u0 & 15) << 12 | u1 << 6 | u2;
    } else {
      u0 = (u0 & 7) << 18 | u1 << 12 | u2 << 6 | heapOrArray[idx++] & 63;
    }
    if (u0 < 65536) {
      str += String.fromCharCode(u0);
    } else {
      const ch = u0 - 65536;
      str += String.fromCharCode(55296 | ch >> 10, 56320 | ch & 1023);
    }
  }
  return str;
}
const bytePool = [0x41, 0x00, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xbb,
  0xf0, 0xf1, 0xf4, 0xf5, 0xf8, 0xfc, 0xff, 0x90, 0xa0, 0x9f, 0x8f, 0xa9, 0x9e];
const byteCases = [[], [0], [0x41, 0], [0xef, 0xbb, 0xbf, 0x41], [0xef, 0xbb, 0xbf, ...Array(20).fill(0x41)],
  [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, ...Array(20).fill(0x41)], [0xed, 0xa0, 0x80], [0xed, 0xa0, 0x80, ...Array(16).fill(0x41)],
  [0xc3], [0xc3, 0, 0x41, 0x42], [0xf0, 0, 0xbf, 0xbf], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xff, 0xff, 0xff, 0xff],
  [...Buffer.from('{"ok":true,"response":{"Output":"h\u00e9llo \u{1F600}"}}')]];
for (let i = 0; i < 400; i++) {
  const n = rndInt(i % 2 ? 12 : 30);
  const b = [];
  for (let j = 0; j < n; j++) b.push(rndInt(3) ? bytePool[rndInt(bytePool.length)] : rndInt(256));
  byteCases.push(b);
}
const emscriptenUtf8ToString = byteCases.map((b) => {
  const s = UTF8ArrayToString(Uint8Array.from(b), 0);
  return [Buffer.from(b).toString('hex'), units_of(s)];
});

// ---- JSON texts through JSON.parse then JSON.stringify -------------------
const parseTexts = [
  '{"b":1,"10":2,"9":3,"a":4,"01":5,"4294967294":6,"4294967295":7,"-1":8,"1.5":9,"0":10}',
  '{"a":1,"b":2,"a":3}', '{"1":1,"x":2,"1":3}', '{"__proto__":{"x":1},"constructor":2}',
  '{"":1,"0":2," ":3}', '{"2":"two","1":"one","0":"zero","-0":"m0","1e1":"e","00":"oo"}',
  '{"4294967296":1,"4294967295":2,"4294967294":3,"9007199254740993":4,"3":5}',
  '[]', '{}', '[[]]', '[{}]', '[1,"a",true,false,null,{"k":[1.0,2.50,-0.0,1e-7]}]',
  ' \t\n\r[ 1 , 2 ]\r\n', '"\\u0041\\u00e9\\ud83d\\ude00\\ud800\\udc00\\udfff\\/\\b\\f\\n\\r\\t\\"\\\\"',
  '"\\ud83d"', '"\\ude00\\ud83d"', '"\\uD83D\\uDE00"', '"\u2028\u2029"', '"\x7f"', 'null', 'true', '-0',
  '{"Target":"abc","Tags":[{"name":"Action","value":"Eval"}],"Data":"x","Timestamp":1700000000000,"Block-Height":1234567}',
  '{"nested":{"deep":{"deeper":{"1":[{"2":{"b":0,"a":1}}]}}}}',
];
const parse = parseTexts.map((t) => [t, JSON.stringify(JSON.parse(t))]);
const parseErrors = ['', ' ', 'NaN', 'Infinity', '-Infinity', '[1,]', '{"a":1,}', '01', '-01', '1.', '.5', '+1',
  '0x10', '"\x00"', '"\n"', '"\t"', '\ufeff1', '\u00a01', "'a'", '{a:1}', '[1 2]', '1 2', 'undefined', 'nul',
  '"\\x41"', '"\\u12"', '"\\U0041"', '[', '{"a"}', '{"a":}', '"abc', '1e', '1e+', '-', '--1', '[1]]', 'True',
  '\u20281', '1\u2028'];
for (const t of parseErrors) {
  let threw = false;
  try { JSON.parse(t); } catch (e) { threw = true; }
  if (!threw) throw new Error('expected JSON.parse to throw: ' + JSON.stringify(t));
}

// ---- values built in JS, with undefined ----------------------------------
// Spec trees: {"$u":1} stands for undefined in both JS (here) and Python.
const specs = [
  { '$u': 1 },
  [{ '$u': 1 }],
  [1, { '$u': 1 }, 2],
  { a: { '$u': 1 }, b: 1 },
  { a: { '$u': 1 } },
  { 'Forwarded-By': { '$u': 1 }, Target: 'x', Tags: [{ name: 'A', value: { '$u': 1 } }] },
  { x: [{ '$u': 1 }, { y: { '$u': 1 } }], '7': { '$u': 1 }, '3': 1 },
];
function fromSpec(v) {
  if (Array.isArray(v)) return v.map(fromSpec);
  if (v !== null && typeof v === 'object') {
    if (v['$u'] === 1 && Object.keys(v).length === 1) return undefined;
    const o = {};
    for (const k of Object.keys(v)) o[k] = fromSpec(v[k]);
    return o;
  }
  return v;
}
const undefinedCases = specs.map((s) => {
  const out = JSON.stringify(fromSpec(s));
  return [s, out === undefined ? null : out];
});

// Objects whose keys are inserted in a given order (the spec is a list of
// [key, value] pairs, so the insertion order survives this fixture file).
const pairLists = [
  [['b', 1], ['a', 2], ['2', 3], ['1', 4], ['0', 5]],
  [['z', 1], ['10', 2], ['9', 3], ['010', 4], ['4294967294', 5], ['4294967295', 6], ['1e3', 7]],
  [['x', 1], ['y', 2], ['x', 3]],
  [['5', 'a'], ['x', 'b'], ['5', 'c'], ['3', 'd']],
];
const keyOrder = pairLists.map((pairs) => {
  const o = {};
  for (const [k, v] of pairs) o[k] = v;
  return [pairs, JSON.stringify(o)];
});

// One vector per line keeps the fixture diffable.
const out = {
  generator: 'tools/gen_jsjson_vectors.cjs',
  node: process.version,
  numbers, numberTexts, strings, emscriptenUtf8, emscriptenUtf8ToString, parse, parseErrors, undefinedCases, keyOrder,
};
const lines = ['{'];
const keys = Object.keys(out);
keys.forEach((k, i) => {
  const v = out[k];
  const sep = i < keys.length - 1 ? ',' : '';
  if (Array.isArray(v)) {
    lines.push(JSON.stringify(k) + ': [');
    v.forEach((x, j) => lines.push('  ' + JSON.stringify(x) + (j < v.length - 1 ? ',' : '')));
    lines.push(']' + sep);
  } else {
    lines.push(JSON.stringify(k) + ': ' + JSON.stringify(v) + sep);
  }
});
lines.push('}');
process.stdout.write(lines.join('\n') + '\n');
