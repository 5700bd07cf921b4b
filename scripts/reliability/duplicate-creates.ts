// `npm run duplicate-creates`: docs/architecture.md DUR-1 at full size. Per store, --rounds N
// (default 1,000; DUPLICATE_ROUNDS) rounds of 64 concurrent POST /Users of one userName in two
// cases through a listening server; each round must give one 201, 63 × 409 uniqueness and one
// user found by filter, and the event feed one user.created per round. Prints the counts and the
// first problems; exits 1 on any.
import { user } from '../../test/helpers/app.ts'
import { drainFeed } from '../../test/helpers/feed-over-http.ts'
import { httpOrgs } from '../../test/helpers/http-orgs.ts'
import { createdEventProblems, duplicateCreateRound, roundProblems } from '../../test/reliability/lib/duplicate-creates.ts'
import { eachStoreApp, numberArg } from './stores.ts'

const rounds = numberArg('rounds', 'DUPLICATE_ROUNDS', 1_000)
await eachStoreApp(async (factory, t) => {
  const org = await (await httpOrgs(t)).fresh('duplicate-creates')
  const send = (method: string, path: string, body?: unknown) => org.send(method, path, body)
  const problems: string[] = []
  const winners: string[] = []
  const started = Date.now()
  for (let round = 0; round < rounds; round++) {
    const r = await duplicateCreateRound(send, round, (userName) => user(userName))
    problems.push(...roundProblems(round, r))
    winners.push(...r.created)
    if (round % 10 === 9) process.stdout.write(`\r${factory.name}: ${round + 1} rounds`)
  }
  const events = await drainFeed(org.feed)
  problems.push(...createdEventProblems(events, winners))
  console.log(`\r${factory.name}: ${rounds} rounds of 64 creates in ${((Date.now() - started) / 1000).toFixed(1)} s; users created ${winners.length}, user.created events ${events.filter((e) => e.type === 'user.created').length}, problems ${problems.length}`)
  for (const line of problems.slice(0, 20)) console.log(`  ${line}`)
  return problems.length === 0
})
