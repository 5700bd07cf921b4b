// DUR-10 (docs/architecture.md): a failure at statement k of a write's transaction, for every k.
// Each write is first sent once to count the statements its transactions run (N); then, for
// every k in 1..N, a fresh organization is seeded the same way and the write is sent through the
// real HTTP server with statement k failing as a full disk fails (SQLITE_FULL, PostgreSQL 53100):
// the answer is a 503 that names nothing of the database, every table is as it was, the failed
// request's provisioning-log row is the one row it adds (docs/provisioning-log.md: a request
// that changed nothing is logged by the appender, failures included), and the same request sent
// again succeeds with exactly the events the unfailed write made. RFC 7644 §3.12 (503 for a
// service that cannot answer now); the transactional outbox of docs/architecture.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, user, patchOp, holdUser, type TestApp } from '../helpers/app.ts'
import { listening } from '../helpers/typed-client.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'
import { pools } from '../../src/ops/store-stats.ts'
import type { OrgId } from '../../src/store/store.ts'
import { installStatementFaults, type CountedStatement, type StatementFaults } from './lib/statement-faults.ts'
import { openDbReader, type DbReader } from './lib/db-dump.ts'
import { jsonBody } from '../helpers/json-body.ts'

interface Answer { status: number; text: string; json: Record<string, unknown> }
interface Org { orgId: OrgId; token: string; ids: Record<string, string> }
interface Write { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; path: string; body?: unknown }

const USERS = ['s1', 's2', 's3', 's4']

function withEmails(name: string): Record<string, unknown> {
  return user(name, { emails: [{ value: `${name}@example.com`, type: 'work', primary: true }, { value: `${name}@home.example`, type: 'home' }] })
}

/** The writes under test, each against an organization seeded by seed(). */
const WRITES: { name: string; write: (o: Org) => Write }[] = [
  { name: 'POST /Users with emails', write: () => ({ method: 'POST', path: '/Users', body: withEmails('newcomer') }) },
  {
    name: 'PATCH /Users changing attributes and active',
    write: (o) => ({ method: 'PATCH', path: `/Users/${o.ids.s1}`, body: patchOp({ op: 'replace', path: 'title', value: 'Engineer' }, { op: 'replace', path: 'name.givenName', value: 'Grace' }, { op: 'replace', path: 'active', value: false }) }),
  },
  {
    name: 'PATCH /Groups adding and removing members',
    write: (o) => ({ method: 'PATCH', path: `/Groups/${o.ids.g}`, body: patchOp({ op: 'add', path: 'members', value: [{ value: o.ids.s3 }] }, { op: 'remove', path: `members[value eq "${o.ids.s1}"]` }) }),
  },
  { name: 'DELETE /Users of a user in groups', write: (o) => ({ method: 'DELETE', path: `/Users/${o.ids.s4}` }) },
]

/** A Bulk request's operations (RFC 7644 §3.7); failOnErrors 1 runs them one at a time, in order. */
function bulkOps(o: Org): Record<string, unknown>[] {
  return [
    { method: 'POST', path: '/Users', bulkId: 'b1', data: withEmails('bulk1') },
    { method: 'POST', path: '/Users', bulkId: 'b2', data: withEmails('bulk2') },
    { method: 'PATCH', path: `/Groups/${o.ids.g}`, data: patchOp({ op: 'add', path: 'members', value: [{ value: o.ids.s3 }] }) },
    { method: 'PATCH', path: `/Users/${o.ids.s2}`, data: patchOp({ op: 'replace', path: 'active', value: false }) },
    { method: 'DELETE', path: `/Users/${o.ids.s1}` },
  ]
}

function bulk(ops: readonly Record<string, unknown>[]): Write {
  return { method: 'POST', path: '/Bulk', body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], failOnErrors: 1, Operations: ops } }
}

describe.each(storeMatrix())('a failure at every statement of a write ($name)', (base) => {
  const { factory, url } = remembering(base)
  let t: TestApp
  let origin = ''
  let faults: StatementFaults
  let db: DbReader

  beforeAll(async () => {
    t = await startApp(factory)
    origin = await listening(t)
    db = await openDbReader(base.name, url())
    faults = installStatementFaults()
  })
  afterAll(async () => {
    faults.uninstall()
    await db.close()
    await t.close()
  })

  async function send(o: Org, w: Write): Promise<Answer> {
    const r = await fetch(`${origin}/scim/v2${w.path}`, {
      method: w.method,
      headers: { authorization: `Bearer ${o.token}`, ...(w.body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
      ...(w.body === undefined ? {} : { body: JSON.stringify(w.body) }),
    })
    const text = await r.text()
    const json = jsonBody(text)
    return { status: r.status, text, json }
  }

  /** A fresh organization with users s1…s4 (two emails each), group g of s1, s2, s4 and group h of s4. */
  async function seed(): Promise<Org> {
    const { orgId, token } = await t.newOrg(`wf-${Math.random().toString(36).slice(2)}`)
    const o: Org = { orgId, token, ids: {} }
    for (const n of USERS) {
      const r = await send(o, { method: 'POST', path: '/Users', body: withEmails(n) })
      expect(r.status).toBe(201)
      o.ids[n] = String(r.json.id)
    }
    for (const [g, members] of [['g', ['s1', 's2', 's4']], ['h', ['s4']]] as const) {
      const r = await send(o, { method: 'POST', path: '/Groups', body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: g, members: members.map((m) => ({ value: o.ids[m] })) } })
      expect(r.status).toBe(201)
      o.ids[g] = String(r.json.id)
    }
    await settled()
    return o
  }

  /** Waits for the work a commit leaves behind (PostgreSQL's event stamping). */
  async function settled(): Promise<void> {
    while ((await db.unstamped()) > 0) await new Promise((r) => setTimeout(r, 10))
  }

  /** The organization as its SCIM client sees it, ids replaced by names (comparable across organizations). */
  async function view(o: Org): Promise<unknown> {
    const users = (await send(o, { method: 'POST', path: '/Users/.search', body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], count: 100, sortBy: 'userName' } })).json.Resources as Record<string, unknown>[]
    const groups = (await send(o, { method: 'POST', path: '/Groups/.search', body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], count: 100, sortBy: 'displayName' } })).json.Resources as Record<string, unknown>[]
    const names = (xs: unknown) => ((xs ?? []) as { display?: string }[]).map((x) => x.display).sort()
    return {
      users: users.map((u) => ({ userName: u.userName, active: u.active, title: u.title, name: u.name, emails: u.emails, groups: names(u.groups) })),
      groups: groups.map((g) => ({ displayName: g.displayName, members: names(g.members) })),
      events: await db.eventCounts(o.orgId),
    }
  }

  async function failedRows(o: Org): Promise<number> {
    const rows = await t.store.listLog(o.orgId, { before: null, sinceId: null, status: null, statusClass: 5, resourceId: null, limit: 100 })
    return rows.length
  }

  /** The failed request's log row arrives through the batched appender, after its answer. */
  async function awaitFailedRow(o: Org, before: number): Promise<number> {
    for (;;) {
      const n = await failedRows(o)
      if (n > before) return n
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  function expectUnavailable(r: Answer): void {
    expect(r.status).toBe(503)
    // Nothing of the database in the answer: no driver message, code or statement.
    expect(r.text).not.toMatch(/SQLITE|53100|disk is full|No space|insert into|update "|select /i)
  }

  function sameStatement(counted: readonly CountedStatement[], k: number, reference: readonly CountedStatement[]): void {
    expect(counted.length).toBe(k)
    expect(counted[k - 1]?.sql).toBe(reference[k - 1]?.sql)
  }

  describe.each(WRITES)('$name', ({ write }) => {
    it('answers 503, leaves every table as it was, and succeeds when sent again', async () => {
      const ref = await seed()
      const refEventsBefore = await db.eventCounts(ref.orgId)
      faults.arm(0)
      const ok = await send(ref, write(ref))
      const reference = faults.disarm()
      expect(ok.status).toBeLessThan(300)
      await settled()
      const refAfter = await view(ref)
      const refEventsAdded = diff(await db.eventCounts(ref.orgId), refEventsBefore)
      expect(Object.values(refEventsAdded).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
      expect(reference.length).toBeGreaterThan(1)

      for (let k = 1; k <= reference.length; k++) {
        const o = await seed()
        const before = await db.dump()
        const failedBefore = await failedRows(o)
        faults.arm(k)
        const r = await send(o, write(o))
        const counted = faults.disarm()
        expect(faults.thrown(), `statement ${k}`).toBe(1)
        sameStatement(counted, k, reference)
        expectUnavailable(r)
        await settled()
        expect(await db.dump(), `statement ${k} of ${reference.length}: ${reference[k - 1]?.sql}`).toEqual(before)
        // Its log row: exactly one, a 503, appended after the answer.
        expect(await awaitFailedRow(o, failedBefore)).toBe(failedBefore + 1)

        const eventsBefore = await db.eventCounts(o.orgId)
        const again = await send(o, write(o))
        expect(again.status).toBe(ok.status)
        await settled()
        expect(diff(await db.eventCounts(o.orgId), eventsBefore)).toEqual(refEventsAdded)
        expect(await view(o)).toEqual(refAfter)
      }
    })
  })

  it('POST /Bulk: the operation whose statement fails answers 503, the earlier ones stay, a retry of the rest finishes the work', async () => {
    // The organization after the first u operations, for every u.
    const prefixes: unknown[] = []
    const ref = await seed()
    prefixes.push(await view(ref))
    const all = bulkOps(ref)
    for (let u = 1; u <= all.length; u++) {
      const o = await seed()
      const ops = bulkOps(o)
      faults.arm(0)
      const r = await send(o, bulk(ops.slice(0, u)))
      faults.disarm()
      expect(r.status).toBe(200)
      await settled()
      prefixes.push(await view(o))
    }
    const full = await seed()
    faults.arm(0)
    expect((await send(full, bulk(bulkOps(full)))).status).toBe(200)
    const reference = faults.disarm()
    // One transaction an operation.
    expect(new Set(reference.map((s) => s.unit)).size).toBe(all.length)

    for (let k = 1; k <= reference.length; k++) {
      const failing = reference[k - 1]?.unit ?? -1
      const o = await seed()
      const ops = bulkOps(o)
      faults.arm(k)
      const r = await send(o, bulk(ops))
      const counted = faults.disarm()
      sameStatement(counted, k, reference)
      expect(r.status).toBe(200)
      const results = r.json.Operations as { status: string; response?: unknown }[]
      // failOnErrors 1: processing stops at the first error (RFC 7644 §3.7.3).
      expect(results.map((x) => Number(x.status) < 300)).toEqual([...Array<boolean>(failing).fill(true), false])
      expect(results[failing]?.status).toBe('503')
      expect(JSON.stringify(results[failing])).not.toMatch(/SQLITE|53100|disk is full|No space/i)
      await settled()
      expect(await view(o), `statement ${k}, operation ${failing}`).toEqual(prefixes[failing])

      const again = await send(o, bulk(ops.slice(failing)))
      expect(again.status).toBe(200)
      expect((again.json.Operations as { status: string }[]).every((x) => Number(x.status) < 300)).toBe(true)
      await settled()
      expect(await view(o)).toEqual(prefixes[all.length])
    }
  })

  it.runIf(base.name === 'sqlite')('two requests in one group commit: the one whose savepoint fails is undone alone', async () => {
    const o = await seed()
    const writer = pools.get('sqlite_writer')
    expect(writer).toBeDefined()
    /** A and B queued behind a held write, so that both run in one batch; statement k failing. */
    const pair = async (k: number, tag: string) => {
      const hold = holdUser(t, await anyUser(t))
      await hold.locked
      faults.arm(k)
      const a = send(o, { method: 'POST', path: '/Users', body: withEmails(`a-${tag}`) })
      const b = send(o, { method: 'POST', path: '/Users', body: withEmails(`b-${tag}`) })
      while ((writer?.().waiting ?? 0) < 2) await new Promise((r) => setTimeout(r, 5))
      hold.release()
      await hold.holder
      const answers = await Promise.all([a, b])
      return { answers, counted: faults.disarm() }
    }
    const reference = await pair(0, 'ref')
    expect(reference.answers.map((r) => r.status)).toEqual([201, 201])
    expect(new Set(reference.counted.map((s) => s.batch)).size).toBe(1)
    expect(new Set(reference.counted.map((s) => s.unit)).size).toBe(2)
    const n = reference.counted.length

    for (let k = 1; k <= n; k++) {
      const eventsBefore = await db.eventCounts(o.orgId)
      const { answers, counted } = await pair(k, String(k))
      // Both ran in one transaction: the batch numbers of their statements agree.
      expect(new Set(counted.map((s) => s.batch)).size).toBe(1)
      const failed = answers.findIndex((r) => r.status !== 201)
      expect(answers.filter((r) => r.status === 201)).toHaveLength(1)
      expectUnavailable(answers[failed] as Answer)
      const [lost, kept] = failed === 0 ? [`a-${k}`, `b-${k}`] : [`b-${k}`, `a-${k}`]
      for (const [name, present] of [[lost, 0], [kept, 1]] as const) {
        const r = await send(o, { method: 'GET', path: `/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}` })
        expect(r.json.totalResults, name).toBe(present)
      }
      expect(diff(await db.eventCounts(o.orgId), eventsBefore)).toEqual({ 'user.created': 1 })
    }
  })
})

async function anyUser(t: TestApp): Promise<string> {
  const r = await t.req('POST', '/Users', user(`holder-${Math.random().toString(36).slice(2)}`))
  return String(r.json.id)
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0)
  return out
}
