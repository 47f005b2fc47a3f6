#!/usr/bin/env node
// Record what @permaweb/ao-loader@0.0.49 returns for the aocu test modules.
//
// Usage:
//   node tools/testmodules/record_golden.cjs [--refnode DIR] [--out DIR] [scenario-name ...]
//
//   --refnode DIR  folder whose node_modules holds @permaweb/ao-loader@0.0.49
//                  (default $AO_LOADER_NODE or /work/refnode); set it up with
//                  mkdir -p /work/refnode && cd /work/refnode && npm init -y &&
//                  npm install @permaweb/ao-loader@0.0.49
//   --out DIR      where golden files go (default tests/fixtures/golden)
//
// Scenarios come from tools/testmodules/scenarios.json; modules from
// tests/fixtures/modules.  Each scenario is written to <out>/<name>.json with
// the fully expanded messages, so the Python test needs nothing else.
//
// How the reference is run:
// - one Node process per scenario (the glue replaces Date.now, Math.random,
//   performance.now and process.hrtime process-wide), with TZ=UTC;
// - process.argv is set to [node, './this.program'] before the loader is
//   loaded: the gen 1-3 glue reads process.argv[1] as thisProgram (env `_`,
//   and gen 2 main's argv[0]) and process.argv.slice(2) as gen 2 main's extra
//   arguments when a loader is created; aocu.wasm's default is
//   './this.program' with no arguments.  The c_echo "Argv"/"Env" actions
//   print what the module saw, so the golden files show it took effect;
// - messages follow the CU worker: the handle gets the previous good Memory
//   with every message; when the loader throws, or a result has a truthy
//   Error, the previous Memory is kept and the handle is dropped, so the next
//   message runs on a fresh `AoLoader(binary, options)` handle with that Memory.
'use strict'

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const childProcess = require('child_process')

const HERE = __dirname
const REPO = path.resolve(HERE, '..', '..')
const MODULES = path.join(REPO, 'tests', 'fixtures', 'modules')
const SCENARIOS = path.join(HERE, 'scenarios.json')
// Outputs longer than this are stored as a digest instead of verbatim.
const MAX_INLINE_OUTPUT = 65536

function parseArgs (argv) {
  const opts = {
    refnode: process.env.AO_LOADER_NODE || '/work/refnode',
    out: path.join(REPO, 'tests', 'fixtures', 'golden'),
    child: null,
    names: []
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--refnode') opts.refnode = argv[++i]
    else if (a === '--out') opts.out = argv[++i]
    else if (a === '--child') opts.child = argv[++i]
    else opts.names.push(a)
  }
  return opts
}

function log (s) { fs.writeSync(2, s + '\n') }

// Expand a scenario's message list: each entry's msg/env are shallow
// overrides of the file's defaults (key order: defaults first, then new keys).
function expandScenario (doc, sc) {
  const steps = sc.messages.map((m, i) => {
    const msg = { ...doc.defaults.msg, ...(m.msg || {}) }
    const env = { ...doc.defaults.env, ...(sc.env || {}), ...(m.env || {}) }
    return { msg, env }
  })
  return steps
}

// ---------------------------------------------------------------- parent
function parent (opts) {
  const doc = JSON.parse(fs.readFileSync(SCENARIOS, 'utf8'))
  let scenarios = doc.scenarios
  if (opts.names.length) scenarios = scenarios.filter(s => opts.names.includes(s.name))
  fs.mkdirSync(opts.out, { recursive: true })
  let failed = 0
  for (const sc of scenarios) {
    const t0 = Date.now()
    const r = childProcess.spawnSync(process.execPath, [__filename, '--child', sc.name,
      '--refnode', opts.refnode, '--out', opts.out], {
      env: { ...process.env, TZ: 'UTC' },
      // gen 1/2 print() reaches stdout (the glue bound console.log early): discard it
      stdio: ['ignore', 'ignore', 'inherit']
    })
    const dt = ((Date.now() - t0) / 1000).toFixed(1)
    if (r.status !== 0) {
      failed++
      log(`FAILED ${sc.name} (exit ${r.status}, signal ${r.signal}) after ${dt}s`)
    } else {
      log(`recorded ${sc.name} in ${dt}s`)
    }
  }
  process.exit(failed ? 1 : 0)
}

// ---------------------------------------------------------------- child
function describeThrown (e) {
  if (e instanceof Error) {
    // out of gas, Aborted(...), WebAssembly.RuntimeError traps, SyntaxError from JSON.parse
    return { type: 'error', name: e.name, message: e.message }
  }
  if (e && typeof e === 'object' && e.constructor && e.constructor.name === 'ExitStatus') {
    return { type: 'exit', name: 'ExitStatus', message: e.message, status: e.status }
  }
  // the module's `response` when it reports ok = false: a string or an object
  return { type: 'value', value: e === undefined ? null : e }
}

function digest (s) {
  return { length: s.length, sha256: crypto.createHash('sha256').update(s, 'utf8').digest('hex') }
}

async function child (opts) {
  // Before anything loads the glue: see the header comment.
  process.argv = [process.argv[0], './this.program']
  if (process.env.TZ !== 'UTC') throw new Error('TZ must be UTC')
  const doc = JSON.parse(fs.readFileSync(SCENARIOS, 'utf8'))
  const sc = doc.scenarios.find(s => s.name === opts.child)
  const pkgDir = { paths: [opts.refnode] }
  const AoLoader = require(require.resolve('@permaweb/ao-loader', pkgDir))
  const loaderVersion = require(require.resolve('@permaweb/ao-loader/package.json', pkgDir)).version
  if (loaderVersion !== '0.0.49') throw new Error(`need @permaweb/ao-loader 0.0.49, found ${loaderVersion}`)
  const binary = fs.readFileSync(path.join(MODULES, sc.module))
  const newOptions = () => ({ format: sc.format, ...(sc.options || {}) })

  const steps = expandScenario(doc, sc)
  const results = []
  let handle = null
  let prevMemory = null
  for (let i = 0; i < steps.length; i++) {
    const { msg, env } = steps[i]
    const fresh = handle === null
    const r = { i, msg, env, fresh_instance: fresh }
    try {
      if (handle === null) handle = await AoLoader(binary, newOptions())
      const res = await handle(prevMemory, msg, env)
      const mem = Buffer.from(res.Memory.buffer, res.Memory.byteOffset, res.Memory.byteLength)
      r.ok = true
      for (const k of ['Output', 'Messages', 'Spawns', 'Assignments', 'Patches', 'Error', 'GasUsed']) {
        if (res[k] !== undefined) r[k] = res[k]
      }
      if (typeof r.Output === 'string' && r.Output.length > MAX_INLINE_OUTPUT) {
        r.OutputDigest = digest(r.Output)
        delete r.Output
      }
      r.MemoryLength = mem.length
      r.MemorySha256 = crypto.createHash('sha256').update(mem).digest('hex')
      if (res.Error) {
        r.next = 'reinstantiate' // CU: keep the previous Memory, drop the handle
        handle = null
      } else {
        r.next = 'continue'
        prevMemory = res.Memory
      }
    } catch (e) {
      r.ok = false
      r.threw = describeThrown(e)
      r.next = 'reinstantiate'
      handle = null
    }
    results.push(r)
  }
  const record = {
    name: sc.name,
    description: sc.description || '',
    module: sc.module,
    module_sha256: crypto.createHash('sha256').update(binary).digest('hex'),
    format: sc.format,
    options: sc.options || {},
    loader: loaderVersion,
    node: process.version,
    tz: process.env.TZ,
    this_program: './this.program',
    results
  }
  fs.writeFileSync(path.join(opts.out, `${sc.name}.json`), JSON.stringify(record, null, 1) + '\n')
  process.exit(0) // a module may leave listeners or timers behind
}

const opts = parseArgs(process.argv.slice(2))
if (opts.child) {
  child(opts).catch((e) => { log(`${opts.child}: ${e && e.stack ? e.stack : e}`); process.exit(1) })
} else {
  parent(opts)
}
