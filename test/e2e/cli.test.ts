// The `roster` command and the server process, as a user runs them.
import { spawn, execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import BetterSqlite3 from 'better-sqlite3'
import { migrationNames } from '../../src/store/migrations/index.ts'
import { BIN, healthy } from '../helpers/spawned-server.ts'

const run = promisify(execFile)

describe('roster CLI and server process', () => {
  let dir = ''
  let env: NodeJS.ProcessEnv = {}
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'roster-cli-'))
    env = { ...process.env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'r.db')}`, PORT: String(20_000 + Math.floor(Math.random() * 20_000)), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const roster = async (...args: string[]) => {
    const r = await run('node', [BIN, ...args], { env })
    return r.stdout
  }

  it('several processes starting at once on a new SQLite database apply each migration once, none fails', async () => {
    // Each migrates (and builds its bundle when src/ is newer than dist/, renamed into place): the migrations run in
    // one transaction that the others wait for.
    const fresh = { ...env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'race.db')}` }
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => run('node', [BIN, 'migrate', '--json'], { env: fresh })))
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([])
    const db = new BetterSqlite3(join(dir, 'race.db'), { readonly: true })
    const rows = db.prepare('select name, count(*) as n from kysely_migration group by name').all() as { name: string; n: number }[]
    db.close()
    expect(rows.map((r) => r.n)).toEqual(migrationNames().map(() => 1))
    expect(rows.map((r) => r.name)).toEqual(migrationNames())
  })

  it('serve on a port in use exits at once with its code, instead of hanging on its open store', async () => {
    const taken = net.createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as AddressInfo).port
    try {
      const started = Date.now()
      const r = await run('node', [BIN, 'serve'], { env: { ...env, PORT: String(port), ROSTER_DATABASE_URL: `sqlite:${join(dir, 'port.db')}` }, timeout: 20_000 }).then(
        () => ({ code: 0, stderr: '' }), (e: { code?: number; stderr?: string }) => ({ code: e.code, stderr: e.stderr ?? '' }))
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`error ROSTER_ERR_PORT_IN_USE: 127.0.0.1:${port} is in use by another process`)
      expect(Date.now() - started).toBeLessThan(15_000)
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()))
    }
  })

  it('a database that cannot be opened or reached is named with its cause and a code (the password never shown)', async () => {
    const fail = (url: string) => run('node', [BIN, 'migrate'], { env: { ...env, ROSTER_DATABASE_URL: url }, timeout: 30_000 }).then(
      () => ({ code: 0, stderr: '' }), (e: { code?: number; stderr?: string }) => ({ code: e.code, stderr: e.stderr ?? '' }))
    const garbage = join(dir, 'garbage.db')
    writeFileSync(garbage, 'this is not a database, whatever its name says\n'.repeat(100))
    expect(await fail(`sqlite:${garbage}`)).toEqual({ code: 1, stderr: `error ROSTER_ERR_DB_OPEN: The SQLite database ${garbage} cannot be opened: file is not a database\n` })
    const unreachable = await fail('postgres://roster:s3cret-pw@127.0.0.1:1/roster')
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toBe('error ROSTER_ERR_DB_UNREACHABLE: PostgreSQL at postgres://roster:***@127.0.0.1:1/roster cannot be reached: connect ECONNREFUSED 127.0.0.1:1\n')
  })

  it('org create --json prints the org id, tenant URL and a token; token refresh replaces it; lists work', async () => {
    const created = JSON.parse(await roster('org', 'create', 'Acme Corp', '--domain', 'acme.test', '--json')) as { orgId: string; tenantUrl: string; token: string }
    expect(created.tenantUrl).toBe(`http://127.0.0.1:${String(env.PORT)}/scim/v2`)
    expect(created.token).toMatch(/^roster_scim_/)
    const orgs = JSON.parse(await roster('org', 'list', '--json')) as { id: string; name: string; domains: string[] }[]
    expect(orgs).toEqual([expect.objectContaining({ id: created.orgId, name: 'Acme Corp', domains: ['acme.test'] })])
    const refreshed = JSON.parse(await roster('token', 'refresh', 'acme corp', '--json')) as { orgId: string; token: string }
    expect(refreshed.orgId).toBe(created.orgId)
    expect(refreshed.token).not.toBe(created.token)

    // The server process: started as `npm start` starts it, it serves SCIM with the new token only.
    const server = spawn('node', [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const base = `http://127.0.0.1:${String(env.PORT)}`
      expect(await healthy(base, { proc: server })).toBe(true)
      const post = await fetch(`${base}/scim/v2/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${refreshed.token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'cli.user@acme.test' }),
      })
      expect(post.status).toBe(201)
      const old = await fetch(`${base}/scim/v2/Users`, { headers: { authorization: `Bearer ${created.token}` } })
      expect(old.status).toBe(401)
    } finally {
      server.kill('SIGTERM')
      await new Promise((r) => server.once('exit', r))
    }
    const users = JSON.parse(await roster('user', 'list', created.orgId, '--json')) as { totalResults: number; users: { userName: string }[] }
    expect(users.totalResults).toBe(1)
    expect(users.users[0]?.userName).toBe('cli.user@acme.test')
    const groups = JSON.parse(await roster('group', 'list', 'Acme Corp', '--json')) as { totalResults: number }
    expect(groups.totalResults).toBe(0)
  })

  it('a duplicate organization or an unknown one fails with a stable error code', async () => {
    await roster('org', 'create', 'Dupe Inc', '--json')
    await expect(roster('org', 'create', 'dupe inc')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_ERR_ORG_EXISTS') })
    await expect(roster('token', 'refresh', 'nobody')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_ERR_ORG_NOT_FOUND') })
    await expect(roster('frobnicate')).rejects.toMatchObject({ code: 2 })
  })
})

describe('roster log and roster api-key', () => {
  let dir = ''
  let env: NodeJS.ProcessEnv = {}
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'roster-cli-log-'))
    env = { ...process.env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'r.db')}`, PORT: String(20_000 + Math.floor(Math.random() * 20_000)), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const roster = async (...args: string[]) => (await run('node', [BIN, ...args], { env })).stdout

  it('shows what the server logged, one line per request, filtered; api-key create, list and revoke', async () => {
    const org = JSON.parse(await roster('org', 'create', 'Log Corp', '--json')) as { orgId: string; token: string }
    const server = spawn('node', [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let userId = ''
    try {
      const base = `http://127.0.0.1:${String(env.PORT)}`
      expect(await healthy(base, { proc: server })).toBe(true)
      const post = (userName: string) => fetch(`${base}/scim/v2/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/scim+json', 'user-agent': 'Okta SCIM Client 1.0.0' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, password: 'cli-canary-secret' }),
      })
      const created = await post('log.cli@acme.test')
      expect(created.status).toBe(201)
      userId = String(((await created.json()) as { id: string }).id)
      expect((await post('LOG.CLI@acme.test')).status).toBe(409)
      expect((await fetch(`${base}/scim/v2/Users/${userId}`, { headers: { authorization: `Bearer ${org.token}` } })).status).toBe(200)
    } finally {
      // SIGTERM: the server writes the rows it still buffers before it exits.
      server.kill('SIGTERM')
      await new Promise((r) => server.once('exit', r))
    }

    const lines = (await roster('log', 'Log Corp')).trim().split('\n')
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z\s+unknown\s+GET\s+200\s+[\d.]+ms\s+\/scim\/v2\/Users\//)
    expect(lines[1]).toMatch(/okta\s+POST\s+409 .*uniqueness: userName "LOG.CLI@acme.test" is already taken/)
    expect(lines[2]).toMatch(/okta\s+POST\s+201 .*changed userName, password/)
    expect(lines.join('\n')).not.toContain('cli-canary')

    const page = JSON.parse(await roster('log', org.orgId, '--status', '4xx', '--json')) as { items: { status: number; scimType: string }[]; nextCursor: string | null }
    expect(page.items.map((i) => [i.status, i.scimType])).toEqual([[409, 'uniqueness']])
    const okta = JSON.parse(await roster('log', org.orgId, '--idp', 'okta', '--json')) as { items: { status: number }[] }
    expect(okta.items.map((i) => i.status)).toEqual([409, 201])
    await expect(roster('log', 'Log Corp', '--idp', 'azure')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('identityProvider') })
    const mine = JSON.parse(await roster('log', org.orgId, '--user', userId, '--since', '1h', '--limit', '1', '--json')) as { items: { method: string }[]; nextCursor: string | null }
    expect(mine.items.map((i) => i.method)).toEqual(['GET'])
    expect(mine.nextCursor).not.toBeNull()
    const older = JSON.parse(await roster('log', org.orgId, '--user', userId, '--cursor', mine.nextCursor ?? '', '--json')) as { items: { method: string }[]; nextCursor: string | null }
    expect(older.items.map((i) => i.method)).toEqual(['POST'])
    expect(older.nextCursor).toBeNull()
    await expect(roster('log', 'Log Corp', '--since', 'last tuesday')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('ROSTER_ERR_LOG_FILTER') })
    await expect(roster('log', 'Nobody Inc')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_ERR_ORG_NOT_FOUND') })

    const key = JSON.parse(await roster('api-key', 'create', 'console', '--json')) as { id: string; name: string; key: string }
    expect(key.key).toMatch(/^roster_api_[A-Za-z0-9_-]{43}$/)
    const listed = await roster('api-key', 'list')
    expect(listed).toContain('console')
    expect(listed).not.toContain(key.key)
    expect(JSON.parse(await roster('api-key', 'revoke', 'console', '--json'))).toEqual({ revoked: 1 })
    const after = JSON.parse(await roster('api-key', 'list', '--json')) as { revokedAt: string | null }[]
    expect(after[0]?.revokedAt).not.toBeNull()
    await expect(roster('api-key', 'revoke', 'console')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_ERR_API_KEY_NOT_FOUND') })
  })
})
