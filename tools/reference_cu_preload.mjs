// Preloaded into the reference Node CU (`node --import`) by tools/compare_reference.py.
//
// scheduler-utils 0.0.25 first asks the hard-coded https://su-router.ao-testnet.xyz for every
// process and a network failure there fails the whole lookup (reference-cu.md §2.4), so on a
// machine without internet the reference can locate nothing. This wraps the global fetch that
// scheduler-utils captures: requests to the su-router go to $AOCU_SU_ROUTER_URL when it is set
// (as aocu's own setting of that name), else they get the 404 an unknown process gets, after
// which the reference asks the gateway, as aocu does with no router configured.
//
// The reference targets Node 22 (its Dockerfile); on Node 20 it also needs Promise.withResolvers
// (domain/lib/evaluate.js), added here with the standard semantics.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const ROUTER = 'https://su-router.ao-testnet.xyz'
const target = process.env.AOCU_SU_ROUTER_URL
const realFetch = globalThis.fetch

globalThis.fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : (input instanceof URL ? input.href : input.url)
  if (!url.startsWith(ROUTER)) return realFetch(input, init)
  if (target) return realFetch(target.replace(/\/$/, '') + url.slice(ROUTER.length), init)
  return new Response(JSON.stringify({ error: 'process not found' }), {
    status: 404, headers: { 'content-type': 'application/json' }
  })
}
