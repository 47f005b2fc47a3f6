// Drives an unmodified @permaweb/aoconnect against a CU and prints what it returned, as JSON.
// Usage: node aoconnect_client.cjs <CU_URL> <process id> <message id>
const { connect } = require('@permaweb/aoconnect')

async function main () {
  const [cuUrl, processId, message] = process.argv.slice(2)
  const ao = connect({ MODE: 'legacy', CU_URL: cuUrl })
  const result = await ao.result({ process: processId, message })
  const results = await ao.results({ process: processId, sort: 'ASC', limit: 3 })
  const dryrun = await ao.dryrun({ process: processId, data: 'x', tags: [{ name: 'Action', value: 'Count' }] })
  console.log(JSON.stringify({ result, results, dryrun }))
}

main().catch((err) => { console.error(err); process.exitCode = 1 })
