// Two Roster processes on one PostgreSQL database, driven at once (the PostgreSQL store's
// scale-out): they migrate an empty database together, enforce uniqueness across each other
// (docs/architecture.md DUR-1: one 201, 63 × 409, one row, one user.created a round),
// see a token refresh made elsewhere at the next request, and interleave membership changes
// without losing any.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrationNames } from '../../src/store/migrations/index.ts'
import { FeedReader } from '../helpers/api-client.ts'
import { drainFeed, httpApiGet } from '../helpers/feed-over-http.ts'
import { BIN, call, serverEnv, startServer, type Server } from '../helpers/spawned-server.ts'

const run = promisify(execFile)
const adminUrl = process.env.TEST_DATABASE_URL
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
// As many rounds as keep the test short on a loaded machine.
const ROUNDS = 20
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

// Without PostgreSQL there is nothing to scale out onto: test/global-setup.ts starts one
// whenever the machine has its binaries, and .ci/run installs them.
describe.skipIf(!adminUrl)('two servers on one PostgreSQL', () => {
  const dbName = `roster_two_${randomBytes(5).toString('hex')}`
  let url = ''
  const servers: { server: Server; root: string; base: string }[] = []
  let env: NodeJS.ProcessEnv = {}
  let token = ''
  let feedKey = ''

  const send = (base: string, method: string, path: string, body?: unknown, tok = token) => call(base, method, path, tok, body)

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: adminUrl })
    await admin.connect()
    await admin.query(`create database ${dbName}`)
    await admin.end()
    const u = new URL(adminUrl as string)
    u.pathname = `/${dbName}`
    url = u.toString()
    env = serverEnv(url)
    // Both start on the empty database at the same moment: both run the migrations.
    for (const server of await Promise.all([startServer(url), startServer(url)])) servers.push({ server, root: server.base, base: `${server.base}/scim/v2` })
    const out = await run('node', [BIN, 'org', 'create', 'two-servers', '--json'], { env })
    token = (JSON.parse(out.stdout) as { token: string }).token
    const key = await run('node', [BIN, 'api-key', 'create', 'feed', '--org', 'two-servers', '--scope', 'events:read', '--json'], { env })
    feedKey = (JSON.parse(key.stdout) as { key: string }).key
  }, 60_000)

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.server.kill('SIGTERM')))
    const admin = new pg.Client({ connectionString: adminUrl })
    await admin.connect()
    await admin.query(`drop database if exists ${dbName} with (force)`)
    await admin.end()
  })

  it('started together on an empty database, they applied each migration exactly once', async () => {
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    const { rows } = await c.query<{ name: string; n: string }>('select name, count(*) as n from kysely_migration group by name order by name')
    await c.end()
    expect(rows.map((r) => [r.name, Number(r.n)])).toEqual(migrationNames().map((name) => [name, 1]))
  })

  it(`64 concurrent creates of one userName in case variants split across both servers, ${ROUNDS} rounds: one 201, 63 × 409 uniqueness, one row, one user.created`, async () => {
    const winners: string[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all(Array.from({ length: 64 }, (_, i) => {
        const base = servers[i % 2]?.base ?? ''
        return send(base, 'POST', '/Users', { schemas: [USER], userName: i % 3 ? `Both${round}@Example.com` : `both${round}@example.COM` })
      }))
      const created = results.filter((r) => r.status === 201)
      const refused = results.filter((r) => r.status === 409)
      expect(created, `round ${round}`).toHaveLength(1)
      expect(refused, `round ${round}: ${results.filter((r) => r.status !== 201 && r.status !== 409).map((r) => `${r.status} ${r.text}`).join(' | ')}`).toHaveLength(63)
      expect(refused.map((r) => r.json.scimType)).toEqual(Array.from({ length: 63 }, () => 'uniqueness'))
      const id = String(created[0]?.json.id)
      winners.push(id)
      // One row, seen alike by both servers.
      for (const s of servers) {
        const found = await send(s.base, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "BOTH${round}@example.com"`)}`)
        expect((found.json.Resources ?? []).map((r) => r.id)).toEqual([id])
      }
    }
    // Exactly one user.created per round, for the user that was created, whichever server wrote it.
    const events = (await drainFeed(new FeedReader(httpApiGet(servers[1]?.root ?? '', feedKey), 'two-servers'), { types: 'user.created' }))
      .filter((e) => /^both\d+@example\.com$/i.test(String(e.data.userName)))
    expect(events.map((e) => e.data.id).sort()).toEqual([...winners].sort())
  }, 120_000)

  it('membership changes from both servers interleave without loss', async () => {
    const base = (i: number) => servers[i % 2]?.base ?? ''
    const created = await Promise.all(Array.from({ length: 200 }, (_, i) => send(base(i), 'POST', '/Users', { schemas: [USER], userName: `m${i}@example.com` })))
    const ids = created.map((c) => String(c.json.id))
    const g = await send(base(0), 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Shared' })
    const gid = String(g.json.id)
    const statuses = await Promise.all(Array.from({ length: 20 }, async (_, k) => {
      const mine = ids.slice(k * 10, k * 10 + 10)
      const a = await send(base(k), 'PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: mine.map((value) => ({ value })) }] })
      const r = await send(base(k + 1), 'PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${mine[0] ?? ''}"]` }] })
      return [a.status, r.status]
    }))
    expect(statuses.flat().every((s) => s === 204)).toBe(true)
    const got = await send(base(1), 'GET', `/Groups/${gid}`)
    const held = ((got.json.members as { value: string }[] | undefined) ?? []).map((m) => m.value).sort()
    expect(held).toEqual(ids.filter((_, i) => i % 10 !== 0).sort())
  })

  it('a token refreshed elsewhere is refused by both servers at their next request; the new one works on both', async () => {
    const out = await run('node', [BIN, 'token', 'refresh', 'two-servers', '--json'], { env })
    const fresh = (JSON.parse(out.stdout) as { token: string }).token
    for (const s of servers) {
      expect((await send(s.base, 'GET', '/Users?count=1', undefined, token)).status).toBe(401)
      expect((await send(s.base, 'GET', '/Users?count=1', undefined, fresh)).status).toBe(200)
    }
    token = fresh
  })
})
