// Two Roster processes on one PostgreSQL database, driven at once (the PostgreSQL store's
// scale-out): they migrate an empty database together, enforce uniqueness across each other,
// see a token refresh made elsewhere at the next request, and interleave membership changes
// without losing any.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrationNames } from '../../src/store/migrations/index.ts'
import { BIN, call, healthy } from '../helpers/spawned-server.ts'

const run = promisify(execFile)
const adminUrl = process.env.TEST_DATABASE_URL
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

// Without PostgreSQL there is nothing to scale out onto: test/global-setup.ts starts one
// whenever the machine has its binaries, and .ci/run installs them.
describe.skipIf(!adminUrl)('two servers on one PostgreSQL', () => {
  const dbName = `roster_two_${randomBytes(5).toString('hex')}`
  let url = ''
  const servers: { proc: ChildProcess; base: string }[] = []
  let env: NodeJS.ProcessEnv = {}
  let token = ''

  const send = (base: string, method: string, path: string, body?: unknown, tok = token) => call(base, method, path, tok, body)

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: adminUrl })
    await admin.connect()
    await admin.query(`create database ${dbName}`)
    await admin.end()
    const u = new URL(adminUrl as string)
    u.pathname = `/${dbName}`
    url = u.toString()
    env = { ...process.env, ROSTER_DATABASE_URL: url, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ROSTER_NO_MAIL_WORKER: '1' }
    // Both start on the empty database at the same moment: both run the migrations.
    for (let i = 0; i < 2; i++) {
      const port = 21_000 + Math.floor(Math.random() * 20_000)
      servers.push({ proc: spawn('node', [BIN, 'serve'], { env: { ...env, PORT: String(port) }, stdio: 'ignore' }), base: `http://127.0.0.1:${port}/scim/v2` })
    }
    for (const s of servers) expect(await healthy(s.base.replace('/scim/v2', ''), { proc: s.proc })).toBe(true)
    const out = await run('node', [BIN, 'org', 'create', 'two-servers', '--json'], { env })
    token = (JSON.parse(out.stdout) as { token: string }).token
  }, 60_000)

  afterAll(async () => {
    for (const s of servers) s.proc.kill('SIGTERM')
    await Promise.all(servers.map((s) => new Promise((r) => (s.proc.exitCode !== null ? r(null) : s.proc.once('exit', r)))))
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

  it('concurrent duplicate creates split across both servers: exactly one 201', async () => {
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(Array.from({ length: 32 }, (_, i) => {
        const base = servers[i % 2]?.base ?? ''
        return send(base, 'POST', '/Users', { schemas: [USER], userName: i % 3 ? `Both${round}@Example.com` : `both${round}@example.com` })
      }))
      const statuses = results.map((r) => r.status)
      expect(statuses.filter((s) => s === 201)).toHaveLength(1)
      expect(statuses.filter((s) => s === 409)).toHaveLength(31)
    }
  })

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
