// The event feed with several servers on one PostgreSQL database: 2,000 writes through two
// servers at once (each with its own pool and its own stamper), while a follower on each server
// long-polls the organization's feed with its cursor. Both followers see every committed event
// exactly once, in the same order, and per resource the versions never go down: the positions
// that two stampers give out never let a reader pass an event (src/store/kysely/event-stamper.ts).
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.ts'
import { uuidV7Generator } from '../../src/ids.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { DEFAULT_LIMITS, type Deps } from '../../src/provisioning/deps.ts'
import { createOrg } from '../../src/provisioning/orgs.ts'
import { openPostgresStore } from '../../src/store/dialect/postgres.ts'
import type { FastifyInstance } from 'fastify'
import { createTestDatabase } from '../helpers/pg-database.ts'

const adminUrl = process.env.TEST_DATABASE_URL
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

interface Event { id: string; type: string; data: { id: string; version: number } }

describe.skipIf(!adminUrl)('event feed with two servers on one PostgreSQL', () => {
  let drop: () => Promise<void> = async () => undefined
  const apps: FastifyInstance[] = []
  const depsOf: Deps[] = []

  beforeAll(async () => {
    const db = await createTestDatabase(adminUrl as string, 'roster_feed')
    drop = db.drop
    for (let i = 0; i < 2; i++) {
      const store = await openPostgresStore({ url: db.url, poolSize: 8 })
      const deps: Deps = { store, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
      depsOf.push(deps)
      apps.push(await buildApp({ deps, config: { publicUrl: 'https://roster.test', requestTimeoutMs: 20_000, logLevel: 'silent' }, logger: false, webhooks: false }))
    }
  })

  afterAll(async () => {
    for (const [i, app] of apps.entries()) {
      await app.close()
      await depsOf[i]?.store.close()
    }
    await drop()
  })

  it('2,000 writes through both servers: each server\'s follower sees every event exactly once, in one order', async () => {
    const deps = depsOf[0] as Deps
    const org = await createOrg(deps, `feed-${randomUUID()}`, [])
    const key = (await createApiKey(deps, { name: 'f', orgId: org.orgId, scopes: ['events:read'], expiresAt: null })).key
    const call = (app: FastifyInstance, method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown, auth = org.token) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${auth}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) }, payload: body === undefined ? undefined : JSON.stringify(body) })

    // Once the writes are done: how many events the followers must reach (a commit's events are
    // readable once a stamper gave them positions, a moment after the commit on PostgreSQL).
    let expected = Number.POSITIVE_INFINITY
    const follow = async (app: FastifyInstance) => {
      const seen: Event[] = []
      let after = ''
      const until = () => Date.now() + 20_000
      let deadline = Number.POSITIVE_INFINITY
      while (seen.length < expected && Date.now() < deadline) {
        const r = await call(app, 'GET', `/api/v1/orgs/${org.orgId}/events?limit=97&wait=1${after ? `&after=${after}` : ''}`, undefined, key)
        expect(r.statusCode).toBe(200)
        const page = r.json<{ data: Event[]; nextCursor: string }>()
        seen.push(...page.data)
        after = page.nextCursor
        if (expected !== Number.POSITIVE_INFINITY && deadline === Number.POSITIVE_INFINITY) deadline = until()
      }
      // Nothing more may come.
      const r = await call(app, 'GET', `/api/v1/orgs/${org.orgId}/events?limit=97${after ? `&after=${after}` : ''}`, undefined, key)
      seen.push(...r.json<{ data: Event[] }>().data)
      return seen
    }
    const followers = apps.map((app) => follow(app))

    // 1,000 users created and then renamed, half through each server, 64 at a time.
    const acknowledged: string[] = []
    let next = 0
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < 1_000) {
        const i = next++
        const app = apps[i % 2] as FastifyInstance
        const c = await call(app, 'POST', '/scim/v2/Users', { schemas: [USER], userName: `s${i}@example.com` })
        expect(c.statusCode).toBe(201)
        const id = c.json<{ id: string }>().id
        acknowledged.push(`user.created ${id}`)
        const p = await call(apps[(i + 1) % 2] as FastifyInstance, 'PATCH', `/scim/v2/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: `S ${i}` }] })
        expect(p.statusCode).toBe(200)
        acknowledged.push(`user.updated ${id}`)
      }
    }))
    expected = acknowledged.length
    const [a, b] = await Promise.all(followers) as [Event[], Event[]]
    const keys = (seen: Event[]) => seen.map((e) => `${e.type} ${e.data.id}`)
    for (const seen of [a, b]) {
      expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length)
      expect(keys(seen).sort()).toEqual([...acknowledged].sort())
      const version = new Map<string, number>()
      for (const e of seen) {
        expect(e.data.version).toBeGreaterThanOrEqual(version.get(e.data.id) ?? 0)
        version.set(e.data.id, e.data.version)
      }
    }
    expect(a.map((e) => e.id)).toEqual(b.map((e) => e.id))
  }, 120_000)
})
