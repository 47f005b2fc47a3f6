#!/usr/bin/env node
// Record what @permaweb/ao-loader@0.0.49 returns for each message of a scenario file.
//
// Usage:
//   AO_TEST_MODULES=/path/to/ao node tools/loader_diff/record.cjs \
//     [--out DIR] [--refnode DIR] [--timeout S] [--dump-memory DIR] scenario.json ...
//
//   --out DIR         where recordings go (default $AOCU_LOADER_GOLDEN or /work/loader-golden);
//                     one <scenario name>.json per scenario file
//   --refnode DIR     a folder whose node_modules holds @permaweb/ao-loader@0.0.49
//                     (and @permaweb/weavedrive for WeaveDrive scenarios); default
//                     $AO_LOADER_NODE or /work/refnode
//   --timeout S       per-message timeout in seconds (default 600); a message that does not
//                     settle is recorded as {"hang": true} and ends the scenario
//   --dump-memory DIR also write every result's Memory to DIR/<name>.<index>.bin (debugging)
//   --verbose         log every message's time to stderr
//
// Each scenario file runs in its own Node process (the glue replaces Date.now, Math.random,
// performance.now and process.hrtime globally, so scenarios must not share a process), started
// with TZ=UTC and --experimental-wasm-memory64, and with process.argv rewritten to
// [node, './this.program'] before the loader is loaded: the gen 1/2 glue reads
// process.argv[1] as `thisProgram` (env var `_`, and gen 2 main's argv[0]) and
// process.argv.slice(2) as main's extra arguments (gen 2), both of which land in wasm memory.
// './this.program' with no extra arguments is what aocu.wasm uses.
//
// Messages are evaluated the way the CU's worker (servers/cu/src/effects/worker/evaluate.js)
// does: the cached handle gets the previous good Memory with every message; when the loader
// throws, or the result has a truthy Error, the previous Memory is kept and the handle is
// dropped, so the next message starts a fresh loader handle with that Memory. An Output that
// ends with 'not enough memory for buffer allocation' keeps the previous Memory and the handle.
// A message with "new_instance": true forces a fresh handle (with the previous Memory).
// A scenario may start from "initial_memory_utf8" instead of null (the CU's tests pass 'Hello').
'use strict'

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const childProcess = require('child_process')

function parseArgs (argv) {
  const opts = {
    out: process.env.AOCU_LOADER_GOLDEN || '/work/loader-golden',
    refnode: process.env.AO_LOADER_NODE || '/work/refnode',
    timeout: 600,
    dumpMemory: null,
    child: false,
    files: []
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--out') opts.out = argv[++i]
    else if (a === '--refnode') opts.refnode = argv[++i]
    else if (a === '--timeout') opts.timeout = Number(argv[++i])
    else if (a === '--dump-memory') opts.dumpMemory = argv[++i]
    else if (a === '--child') opts.child = true
    else if (a === '--verbose' || a === '-v') opts.verbose = true
    else opts.files.push(a)
  }
  return opts
}

function log (s) { fs.writeSync(2, s + '\n') }

// ---------------------------------------------------------------- parent: one child per file
function parent (opts) {
  if (!process.env.AO_TEST_MODULES) {
    log('AO_TEST_MODULES is not set (folder laid out like the permaweb/ao repo)')
    process.exit(2)
  }
  if (opts.files.length === 0) {
    const dir = path.join(__dirname, 'scenarios')
    opts.files = fs.readdirSync(dir).filter(f => f.endsWith('.json')).sort().map(f => path.join(dir, f))
  }
  fs.mkdirSync(opts.out, { recursive: true })
  let failed = 0
  for (const file of opts.files) {
    const args = ['--experimental-wasm-memory64', '--no-warnings', __filename, '--child',
      '--out', opts.out, '--refnode', opts.refnode, '--timeout', String(opts.timeout)]
    if (opts.dumpMemory) args.push('--dump-memory', opts.dumpMemory)
    if (opts.verbose) args.push('--verbose')
    args.push(path.resolve(file))
    const t0 = Date.now()
    // Lua print() in gen 1/2 reaches the child's stdout (the glue bound console.log before the
    // loader muted it), so the child's stdout is discarded; results go to files.
    const r = childProcess.spawnSync(process.execPath, args, {
      env: { ...process.env, TZ: 'UTC' },
      stdio: ['ignore', 'ignore', 'inherit'],
      maxBuffer: 1 << 30
    })
    const dt = ((Date.now() - t0) / 1000).toFixed(1)
    if (r.status !== 0) {
      failed++
      log(`FAILED ${path.basename(file)} (exit ${r.status}, signal ${r.signal}) after ${dt}s`)
    } else {
      log(`recorded ${path.basename(file)} in ${dt}s`)
    }
  }
  process.exit(failed ? 1 : 0)
}

// ---------------------------------------------------------------- child: run one scenario
function describeThrown (e) {
  if (e instanceof Error) {
    // out of gas, Aborted(...), WebAssembly.RuntimeError traps, SyntaxError from JSON.parse
    return { type: 'error', name: e.name, message: e.message }
  }
  if (e && typeof e === 'object' && e.constructor && e.constructor.name === 'ExitStatus') {
    return { type: 'exit', name: 'ExitStatus', message: e.message, status: e.status }
  }
  // the process's `response` when the Lua wrapper reports ok = false: a string or an object
  return { type: 'value', value: e === undefined ? null : e }
}

function outputText (res) {
  // the CU's mergeOutput: what it inspects for 'not enough memory for buffer allocation'
  const o = res.Output || ''
  if (typeof o === 'string') return o
  if (typeof o === 'number') return String(o)
  if (o && typeof o === 'object') {
    const v = o.data && o.data.output
    return typeof v === 'string' ? v : ''
  }
  return ''
}

function startDataServer (files) {
  // A loopback stand-in for the Arweave gateway, serving the scenario's WeaveDrive files with
  // HEAD (Content-Length) and GET with an inclusive `Range: bytes=a-b`, like a gateway does.
  const http = require('http')
  const blobs = {}
  for (const [id, f] of Object.entries(files)) {
    blobs[id] = typeof f === 'string' ? Buffer.from(f, 'utf8') : Buffer.from(f.base64, 'base64')
  }
  const server = http.createServer((req, res) => {
    const id = decodeURIComponent(req.url.split('?')[0].replace(/^\/+/, ''))
    const b = blobs[id]
    if (!b) { res.writeHead(404, { 'Content-Length': '0' }); res.end(); return }
    const range = req.headers.range
    if (req.method === 'GET' && range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range)
      const start = Number(m[1])
      const end = Math.min(m[2] === '' ? b.length - 1 : Number(m[2]), b.length - 1)
      if (start >= b.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${b.length}`, 'Content-Length': '0' })
        res.end()
        return
      }
      const part = b.subarray(start, end + 1)
      res.writeHead(206, { 'Content-Length': String(part.length), 'Content-Range': `bytes ${start}-${end}/${b.length}` })
      res.end(part)
      return
    }
    res.writeHead(200, { 'Content-Length': String(b.length) })
    res.end(req.method === 'HEAD' ? undefined : b)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

async function child (opts) {
  // Before anything loads the glue: see the header comment.
  process.argv = [process.argv[0], './this.program']
  const file = opts.files[0]
  const scenario = JSON.parse(fs.readFileSync(file, 'utf8'))
  const name = scenario.name || path.basename(file, '.json')
  const AoLoader = require(require.resolve('@permaweb/ao-loader', { paths: [opts.refnode] }))
  const binary = fs.readFileSync(path.join(process.env.AO_TEST_MODULES, scenario.module))

  let server = null
  const baseOptions = () => {
    const o = { format: scenario.format, ...(scenario.options || {}) }
    if (scenario.weavedrive) {
      const impl = scenario.weavedrive.impl || 'package'
      o.WeaveDrive = impl === 'package'
        ? require(require.resolve('@permaweb/weavedrive', { paths: [opts.refnode] }))
        : require(path.join(process.env.AO_TEST_MODULES, 'loader/test/aos64/weavedrive.cjs'))
      o.ARWEAVE = `http://127.0.0.1:${server.address().port}`
      o.mode = 'test'
    }
    return o
  }
  if (scenario.weavedrive) server = await startDataServer(scenario.weavedrive.files || {})

  const results = []
  let handle = null
  let prevMemory = scenario.initial_memory_utf8 != null ? new Uint8Array(Buffer.from(scenario.initial_memory_utf8, 'utf8')) : null
  const record = {
    name,
    scenario: path.basename(file),
    module: scenario.module,
    format: scenario.format,
    options: scenario.options || {},
    loader: require(require.resolve('@permaweb/ao-loader/package.json', { paths: [opts.refnode] })).version,
    node: process.version,
    tz: process.env.TZ,
    results
  }
  const messages = scenario.messages
  for (let i = 0; i < messages.length; i++) {
    const step = messages[i]
    if (step.new_instance) handle = null
    const fresh = handle === null
    let timer
    const clock = realClock()
    try {
      const deadline = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new HangSignal()), opts.timeout * 1000) })
      // creating the loader is under the deadline too: after some failures a new instance never
      // becomes ready (e.g. an abort during instantiation leaves its ready promise unsettled)
      if (handle === null) handle = await Promise.race([AoLoader(binary, baseOptions()), deadline])
      const res = await Promise.race([handle(prevMemory, step.msg, step.env), deadline])
      clearTimeout(timer)
      const mem = Buffer.from(res.Memory.buffer, res.Memory.byteOffset, res.Memory.byteLength)
      const r = {
        i,
        fresh_instance: fresh,
        ok: true,
        Output: res.Output,
        Messages: res.Messages,
        Spawns: res.Spawns,
        Assignments: res.Assignments,
        Patches: res.Patches,
        Error: res.Error,
        GasUsed: res.GasUsed,
        MemoryLength: mem.length,
        MemorySha256: crypto.createHash('sha256').update(mem).digest('hex'),
        ms: clock()
      }
      if (opts.dumpMemory) {
        fs.mkdirSync(opts.dumpMemory, { recursive: true })
        fs.writeFileSync(path.join(opts.dumpMemory, `${name}.${i}.bin`), mem)
      }
      if (res.Error) {
        r.next = 'reinstantiate' // CU: keep the previous Memory, drop the cached instance
        handle = null
      } else if (outputText(res).endsWith('not enough memory for buffer allocation')) {
        r.next = 'restore-previous-memory' // CU: keep the previous Memory and the instance
      } else {
        r.next = 'continue'
        prevMemory = res.Memory
      }
      results.push(r)
      if (opts.verbose) log(`${name} #${i} ${r.ms.toFixed(0)} ms${res.Error ? ' Error' : ''}`)
    } catch (e) {
      clearTimeout(timer)
      if (e instanceof HangSignal) {
        results.push({ i, fresh_instance: fresh, ok: false, hang: true, ms: clock() })
        log(`${name} #${i}: no result after ${opts.timeout}s; scenario ends here`)
        break
      }
      results.push({ i, fresh_instance: fresh, ok: false, threw: describeThrown(e), next: 'reinstantiate', ms: clock() })
      if (opts.verbose) log(`${name} #${i} threw ${JSON.stringify(describeThrown(e)).slice(0, 200)}`)
      handle = null
    }
  }
  if (server) server.close()
  fs.writeFileSync(path.join(opts.out, `${name}.json`), JSON.stringify(record, null, 1) + '\n')
  // a scenario that left a hung promise or a listener behind must still end
  process.exit(0)
}

class HangSignal extends Error {}

// Date.now, performance.now and process.hrtime are replaced by the glue; keep a real clock.
const realHrtimeBigint = process.hrtime.bigint.bind(process.hrtime)
function realClock () {
  const t0 = realHrtimeBigint()
  return () => Number(realHrtimeBigint() - t0) / 1e6
}

const opts = parseArgs(process.argv.slice(2))
if (opts.child) {
  process.on('unhandledRejection', (e) => { log(`unhandled rejection: ${e && e.message ? e.message : e}`) })
  child(opts).catch((e) => { log(`${opts.files[0]}: ${e && e.stack ? e.stack : e}`); process.exit(1) })
} else {
  parent(opts)
}
