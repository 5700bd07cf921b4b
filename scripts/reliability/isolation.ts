// `npm run isolation`: the tenant-isolation probes of test/reliability/isolation.test.ts at full
// size: --probes N per store (default 10,000; ISOLATION_PROBES), --seed S (ISOLATION_SEED).
// Prints the count, the statuses seen, and every leak or existence oracle; exits 1 on any.
import { prng } from '../../test/helpers/filter-fuzz.ts'
import { injectSender } from '../../test/reliability/lib/inject.ts'
import { makeAttacker, makeVictim, runProbes, snapshot } from '../../test/reliability/lib/isolation.ts'
import { eachStoreApp, numberArg } from './stores.ts'

const probes = numberArg('probes', 'ISOLATION_PROBES', 10_000)
const seed = numberArg('seed', 'ISOLATION_SEED', Math.floor(Math.random() * 2 ** 31))
await eachStoreApp(async (factory, t) => {
  const send = injectSender(t.app)
  const victim = await makeVictim(t.deps, send)
  const attacker = await makeAttacker(t.deps, send)
  const before = await snapshot(send, victim)
  const started = Date.now()
  const stats = await runProbes(send, victim, attacker, prng(seed), probes, (n) => process.stdout.write(`\r${factory.name}: ${n} probes`))
  const unchanged = (await snapshot(send, victim)) === before
  console.log(`\r${factory.name}: ${stats.probes} probes (seed ${seed}) in ${((Date.now() - started) / 1000).toFixed(1)} s; statuses ${JSON.stringify(stats.statuses)}`)
  console.log(`${factory.name}: leaks ${stats.leaks.length}, existence oracles ${stats.oracles.length}, victim's data unchanged: ${unchanged}`)
  for (const line of [...stats.leaks, ...stats.oracles].slice(0, 20)) console.log(`  ${line}`)
  return stats.leaks.length === 0 && stats.oracles.length === 0 && unchanged
})
