// Request deadlines (docs/security.md, "Request deadlines"): a request not answered by its
// deadline is answered 503 with Retry-After and its work is abandoned: a scan is stopped (a
// SQLite read worker replaced, a PostgreSQL statement cancelled), a write rolls back or is never
// begun. One organization hammering expensive filters leaves another's lookups answered.
// Assertions count answers; the one bound on time is twenty deadlines (never a hang).
import { afterEach, describe, expect, it } from 'vitest'
import { createUser } from '../../src/provisioning/users.ts'
import { userResource } from '../../src/scim/schema/registry.ts'
import { holdUser, patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix, type StoreFactory } from '../helpers/stores.ts'
import { openSqliteStore } from '../../src/store/dialect/sqlite.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { OrgId } from '../../src/store/store.ts'

const DEADLINE_MS = 1_000
const USERS = 4_000

/** An `or` of 850 `co` comparisons on an attribute kept only in the JSON body: every row, every term (seconds per scan). */
const EXPENSIVE = Array.from({ length: 850 }, (_, i) => `title co "${i}"`).join(' or ')

/**
 * A title long enough that every comparison of EXPENSIVE has work to do: without one, a quiet
 * machine answers the scan within the deadline (no title, nothing to compare).
 */
const LONG_TITLE = 'Principal Engineer, Identity and Access Management, Platform Reliability '.repeat(6)

async function seed(t: TestApp, orgId: OrgId, prefix: string, n: number, title?: string): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, j) => createUser(t.deps, orgId, user(`${prefix}${i + j}`, title ? { title } : {}), undefined, userResource)))
  }
}

/** SQLite with two read workers: one organization's scans take at most half of them (scan-slots.ts). */
const sqliteTwoWorkers: StoreFactory = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'roster-deadline-'))
    const store = await openSqliteStore({ path: join(dir, 'roster.db'), readWorkers: 2 })
    return { store, url: `sqlite:${join(dir, 'roster.db')}`, cleanup: async () => {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    } }
  },
}

describe.each(storeMatrix().map((f) => (f.name === 'sqlite' ? sqliteTwoWorkers : f)))('request deadlines on $name', (factory) => {
  let t: TestApp | null = null
  afterEach(async () => {
    await t?.close()
    t = null
  })

  it('a scan past the deadline is a 503 with Retry-After, not a hang; another organization\'s lookups are answered meanwhile', async () => {
    // PostgreSQL's other lookups share its CPU with the scans: a longer deadline there.
    const deadlineMs = factory.name === 'postgres' ? 2 * DEADLINE_MS : DEADLINE_MS
    t = await startApp(factory, {}, { requestDeadlineMs: deadlineMs })
    const b = await t.newOrg('deadline-b')
    await seed(t, t.orgId, 'a', USERS, LONG_TITLE)
    await seed(t, b.orgId, 'b', 20)
    // POST /.search: the filter is longer than a request line's headers may be (431 over a socket).
    const expensive = () => t!.req('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], count: 10, filter: EXPENSIVE })
    // The first run of a filter shape runs its first page on the event loop (the store then moves
    // that shape to the read workers): run it once before the other organization starts.
    const first = await expensive()
    expect([200, 503]).toContain(first.status)

    // The hammering goes on until the other organization's lookups are done: all of them run under it.
    let bDone = false
    const hammer = (async () => {
      const statuses: number[] = []
      while (!bDone) {
        const rs = await Promise.all(Array.from({ length: 4 }, () => expensive()))
        for (const r of rs) {
          statuses.push(r.status)
          if (r.status === 503) {
            expect(r.headers['retry-after']).toBe('5')
            expect(r.json).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '503' })
          }
        }
      }
      return statuses
    })()
    // The other organization starts once the hammering requests are under way: parsing four filters
    // of 850 comparisons is event-loop time, which rate limits bound, not deadlines.
    await new Promise((r) => setTimeout(r, 300))
    const lookups: { status: number; total: unknown; ms: number }[] = []
    for (let i = 0; i < 6; i++) {
      const t0 = Date.now()
      // A prefix filter counts its matches on the read workers (PostgreSQL: the pool), where the scans run.
      const r = await t.req('GET', `/Users?filter=${encodeURIComponent('userName sw "b1"')}`, undefined, { token: b.token })
      lookups.push({ status: r.status, total: r.json.totalResults, ms: Date.now() - t0 })
    }
    bDone = true
    const statuses = await hammer
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true)
    expect(statuses).toContain(503)
    // The other organization was answered, each lookup in bounded time, at least once with its
    // result while the hammering went on (on a machine of two cores a scanning database can still
    // make one of its lookups miss its own deadline: that is a 503 with Retry-After, never a hang).
    for (const l of lookups) expect(l.status === 200 ? l.total : l.status).toBe(l.status === 200 ? 11 : 503)
    expect(lookups.filter((l) => l.status === 200).length).toBeGreaterThanOrEqual(1)
    // Generous: well under the 20 s request timeout, however loaded the machine running the suite.
    expect(Math.max(...lookups.map((l) => l.ms))).toBeLessThan(20 * deadlineMs)
  }, 60_000)

  it('a write that cannot finish before its deadline is a 503 and writes nothing (dropped from the SQLite queue, rolled back on PostgreSQL)', async () => {
    t = await startApp(factory, {}, { requestDeadlineMs: 400 })
    const created = await t.req('POST', '/Users', user('slow-write'))
    expect(created.status).toBe(201)
    const id = String(created.json.id)
    const etag = created.headers.etag
    // Another write holds what the PATCH needs for longer than its deadline: on SQLite the group
    // committer (this batch yields for 1.5 s before its COMMIT), on PostgreSQL the user's row lock.
    const { release, holder, locked } = holdUser(t!, id)
    await locked
    const patched = t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Written Too Late' }))
    const timer = setTimeout(release, 1_500)
    const r = await patched
    expect(r.status).toBe(503)
    expect(r.headers['retry-after']).toBe('5')
    await holder
    clearTimeout(timer)
    // Whatever the PATCH had done is gone: the user is as it was, its version unchanged.
    await new Promise((r2) => setTimeout(r2, 300))
    const after = await t.req('GET', `/Users/${id}`)
    expect(after.status).toBe(200)
    expect(after.json.displayName).toBeUndefined()
    expect(after.headers.etag).toBe(etag)
    // And the next write goes through.
    const next = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'displayName', value: 'On Time' }))
    expect(next.status).toBe(200)
    expect(next.json.displayName).toBe('On Time')
  })

  // A client that goes away abandons its request (http/client-gone.ts): seen on its connection's
  // close, which only a real socket has.
  it('a write whose client closes its connection while it waits writes nothing', async () => {
    t = await startApp(factory, {}, { requestDeadlineMs: 10_000 })
    const created = await t.req('POST', '/Users', user('gone-client'))
    const id = String(created.json.id)
    const etag = created.headers.etag
    const { release, holder, locked } = holdUser(t!, id)
    await locked
    // The test app listens on a port of 127.0.0.1 (test/helpers/app.ts).
    const port = (t.app.server.address() as { port: number }).port
    const abort = new AbortController()
    const gone = fetch(`http://127.0.0.1:${port}/scim/v2/Users/${id}`, {
      method: 'PATCH', signal: abort.signal,
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify(patchOp({ op: 'replace', path: 'displayName', value: 'Nobody Waits For This' })),
    }).catch(() => null)
    // The PATCH is waiting behind the held user when its client goes away.
    await new Promise((r) => setTimeout(r, 300))
    abort.abort()
    expect(await gone).toBeNull()
    await new Promise((r) => setTimeout(r, 100))
    release()
    await holder
    await new Promise((r) => setTimeout(r, 300))
    const after = await t.req('GET', `/Users/${id}`)
    expect(after.json.displayName).toBeUndefined()
    expect(after.headers.etag).toBe(etag)
  })
})
