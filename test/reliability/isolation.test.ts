// Tenant isolation on each store (RFC 7644 §6.1), through the app's HTTP pipeline: organization
// A's SCIM token and API key aimed at every endpoint with organization B's ids, names, filters,
// cursors, event ids and webhook ids. 0 of B's strings in any answer, the same answer as for
// values that belong to nobody, and B's data unchanged. `npm run isolation` runs 10,000 probes
// per store; ISOLATION_SEED=<n> replays a run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { prng } from '../helpers/filter-fuzz.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { injectSender } from './lib/inject.ts'
import { makeAttacker, makeVictim, runProbes, snapshot, type Attacker, type Send, type Victim } from './lib/isolation.ts'

const SEED = Number(process.env.ISOLATION_SEED ?? Math.floor(Math.random() * 2 ** 31))
const PROBES = Number(process.env.ISOLATION_PROBES ?? 1_000)

describe.each(storeMatrix())('tenant isolation on $name', (factory) => {
  let t: TestApp
  let send: Send
  let victim: Victim
  let attacker: Attacker

  beforeAll(async () => {
    t = await startApp(factory)
    send = injectSender(t.app)
    victim = await makeVictim(t.deps, send)
    attacker = await makeAttacker(t.deps, send)
  })
  afterAll(async () => t.close())

  it(`${PROBES} cross-organization probes leak nothing and change nothing (seed ${SEED})`, async () => {
    console.log(`[isolation] ${factory.name}: ISOLATION_SEED=${SEED}`)
    const before = await snapshot(send, victim)
    const stats = await runProbes(send, victim, attacker, prng(SEED), PROBES)
    console.log(`[isolation] ${factory.name}: ${stats.probes} probes, statuses ${JSON.stringify(stats.statuses)}`)
    expect(stats.leaks.slice(0, 10), `ISOLATION_SEED=${SEED}`).toEqual([])
    expect(stats.oracles.slice(0, 10), `ISOLATION_SEED=${SEED}`).toEqual([])
    expect(await snapshot(send, victim)).toBe(before)
    expect(stats.probes).toBe(PROBES)
  }, 120_000)

  it('the check can fail: B reading its own data shows its strings', async () => {
    const own = await send('GET', `/scim/v2/Users/${victim.target.userId}`, victim.token)
    expect(victim.secrets.filter((s) => own.text.includes(s))).toContain(victim.target.userName)
  })

  it("a manager naming another organization's user is kept as an opaque id and resolves nothing of it", async () => {
    const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
    const body = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: `${ENT}:manager`, value: victim.target.userId }] }
    const r = await send('PATCH', `/scim/v2/Users/${attacker.userId}`, attacker.token, body)
    expect(r.status).toBe(200)
    const reads = [
      r,
      await send('GET', `/scim/v2/Users/${attacker.userId}`, attacker.token),
      await send('GET', `/api/v1/orgs/${attacker.orgId}/users/${attacker.userId}`, attacker.key),
      await send('GET', `/api/v1/orgs/${attacker.orgId}/events?limit=1000`, attacker.key),
    ]
    for (const read of reads) {
      expect(read.status).toBe(200)
      expect(victim.secrets.filter((s) => s !== victim.target.userId && read.text.includes(s))).toEqual([])
    }
  })
})
