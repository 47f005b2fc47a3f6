#!/usr/bin/env node
// Meter a module at build time the way the gen 1/2 ao modules were: the
// @permaweb/wasm-metering transform (i32) inserts `metering.usegas` calls; the
// gen 2 glue serves that import and reports GasUsed / enforces computeLimit.
//
// Usage: node tools/testmodules/meter.cjs IN.wasm OUT.wasm [--refnode DIR]
//   --refnode DIR  folder whose node_modules holds @permaweb/wasm-metering
//                  (installed with @permaweb/ao-loader; default $AO_LOADER_NODE or /work/refnode)
'use strict'
const fs = require('fs')

const args = process.argv.slice(2)
let refnode = process.env.AO_LOADER_NODE || '/work/refnode'
const files = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--refnode') refnode = args[++i]
  else files.push(args[i])
}
if (files.length !== 2) {
  process.stderr.write('usage: meter.cjs IN.wasm OUT.wasm [--refnode DIR]\n')
  process.exit(2)
}
const metering = require(require.resolve('@permaweb/wasm-metering', { paths: [refnode] }))
const out = metering.meterWASM(fs.readFileSync(files[0]), { meterType: 'i32' })
fs.writeFileSync(files[1], Buffer.from(out))
