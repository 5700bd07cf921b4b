// `npm run set-algebra`: docs/architecture.md DUR-2 at full size. Per store, a group of --members
// N (default 50,000; SET_ALGEBRA_MEMBERS) and as many users outside it, through a listening
// server; then 32 clients add and remove disjoint, shared and contested member batches of it at
// once (test/reliability/lib/set-algebra.ts). The final membership must be the model's set
// algebra with no phantom member, and the feed one event per effective change. Prints the counts,
// the times and the first problems; exits 1 on any.
import { httpOrgs } from '../../test/helpers/http-orgs.ts'
import { setAlgebraRun } from '../../test/reliability/lib/set-algebra.ts'
import { eachStoreApp, numberArg } from './stores.ts'

const members = numberArg('members', 'SET_ALGEBRA_MEMBERS', 50_000)
await eachStoreApp(async (factory, t) => {
  const org = await (await httpOrgs(t)).fresh('set-algebra')
  const r = await setAlgebraRun(org.send, org.feed, members)
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`
  console.log(`${factory.name}: ${members} members and ${members} users outside; 32 clients' PATCHes in ${s(r.ms.clients)} (setup ${s(r.ms.setup)}, check ${s(r.ms.check)}); final ${r.finalSize} members, ${r.events} member events, ${r.contestedMoved} contested members changed hands, problems ${r.problems.length}`)
  for (const line of r.problems.slice(0, 20)) console.log(`  ${line}`)
  return r.problems.length === 0 && r.contestedMoved > 0
})
