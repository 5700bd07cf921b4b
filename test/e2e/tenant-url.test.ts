// `roster org create` and `roster org show` print the tenant URL the running server really serves
// (ROSTER_PUBLIC_URL, or else the address it listens on, recorded in the database when it
// starts), not one rebuilt from the command's own environment; with a warning on standard error
// when it is plain http or loopback, which identity providers refuse. The real server and CLI
// processes, on SQLite and PostgreSQL.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/free-port.ts'
import { createTestDatabase } from '../helpers/pg-database.ts'
import { BIN, healthy } from '../helpers/spawned-server.ts'

const run = promisify(execFile)
const adminUrl = process.env.TEST_DATABASE_URL

const databases: { name: string; open: () => Promise<{ url: string; drop: () => Promise<void> }> }[] = [
  {
    name: 'sqlite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'roster-tenant-url-'))
      return { url: `sqlite:${join(dir, 'r.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) }
    },
  },
  ...(adminUrl ? [{ name: 'postgres', open: () => createTestDatabase(adminUrl, 'roster_tenant_url') }] : []),
]

describe.each(databases)('the tenant URL org create prints ($name)', (database) => {
  let db: { url: string; drop: () => Promise<void> }
  let server: ChildProcess | null = null
  beforeAll(async () => {
    db = await database.open()
  })
  afterAll(async () => {
    await stop()
    await db.drop()
  })

  /** The command's environment: the database, and none of the server's HOST, PORT or ROSTER_PUBLIC_URL. */
  const cliEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, ROSTER_DATABASE_URL: db.url, LOG_LEVEL: 'warn', ...extra }
    for (const k of ['HOST', 'PORT', 'ROSTER_PUBLIC_URL']) if (!(k in extra)) delete env[k]
    return env
  }
  const roster = async (extra: NodeJS.ProcessEnv, ...args: string[]) => run('node', [BIN, ...args], { env: cliEnv(extra) })

  async function start(extra: NodeJS.ProcessEnv): Promise<string> {
    const port = await freePort()
    server = spawn('node', [BIN, 'serve'], { env: { ...cliEnv(), HOST: '127.0.0.1', PORT: String(port), ...extra }, stdio: ['ignore', 'ignore', 'ignore'] })
    const base = `http://127.0.0.1:${port}`
    if (await healthy(base, { proc: server, timeoutMs: 15_000 })) return base
    throw new Error('the server did not start')
  }

  async function stop(): Promise<void> {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM')
      await new Promise((r) => server?.once('exit', r))
    }
    server = null
  }

  const postUser = (url: string, token: string, userName: string) => fetch(`${url}/Users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName }),
  })

  it('the address the server listens on, with a loopback warning; ROSTER_PUBLIC_URL of the server once it sets one', async () => {
    // Before any server started on this database: built from HOST and PORT, and said so.
    const early = await roster({}, 'org', 'create', 'Early Inc', '--json')
    expect((JSON.parse(early.stdout) as { tenantUrl: string }).tenantUrl).toBe('http://127.0.0.1:8080/scim/v2')
    expect(early.stderr).toMatch(/^warning: .*no server has started on this database yet/)

    // A server on a port the command does not know of (PORT unset: 8080 for the command).
    const base = await start({})
    const local = await roster({}, 'org', 'create', 'Local Inc', '--json')
    const created = JSON.parse(local.stdout) as { orgId: string; tenantUrl: string; token: string }
    expect(Object.keys(created)).toEqual(['orgId', 'tenantUrl', 'token'])
    expect(created.tenantUrl).toBe(`${base}/scim/v2`)
    expect(local.stderr).toBe(`warning: ${base}/scim/v2 is a loopback address, which identity providers cannot reach: serve HTTPS (ROSTER_TLS_CERT_FILE and ROSTER_TLS_KEY_FILE) or put Roster behind a TLS proxy, and set ROSTER_PUBLIC_URL to the public https address (docs/operations.md)\n`)
    // It is the URL the server serves: a user provisioned through it.
    expect((await postUser(created.tenantUrl, created.token, 'ada@local.test')).status).toBe(201)
    expect((await roster({}, 'org', 'show', 'Local Inc')).stdout).toMatch(new RegExp(`^Tenant URL\\s+${base.replaceAll('.', '\\.')}/scim/v2$`, 'm'))
    await stop()

    // The server behind a TLS proxy: its ROSTER_PUBLIC_URL, which answers' locations carry too.
    const behind = await start({ ROSTER_PUBLIC_URL: 'https://scim.example.com/' })
    const pub = await roster({}, 'org', 'create', 'Public Inc', '--json')
    const org = JSON.parse(pub.stdout) as { tenantUrl: string; token: string }
    expect(org.tenantUrl).toBe('https://scim.example.com/scim/v2')
    expect(pub.stderr).toBe('')
    const post = await postUser(`${behind}/scim/v2`, org.token, 'grace@public.test')
    expect(post.status).toBe(201)
    expect(post.headers.get('location')?.startsWith(`${org.tenantUrl}/Users/`)).toBe(true)
    const shown = await roster({}, 'org', 'show', 'Public Inc')
    expect(shown.stdout).toMatch(/^Tenant URL\s+https:\/\/scim\.example\.com\/scim\/v2$/m)
    expect(shown.stderr).toBe('')
    await stop()

    // The command's own ROSTER_PUBLIC_URL is the operator's word: it wins, warned about when plain http.
    const own = await roster({ ROSTER_PUBLIC_URL: 'http://roster.internal:8080' }, 'org', 'create', 'Own Inc', '--json')
    expect((JSON.parse(own.stdout) as { tenantUrl: string }).tenantUrl).toBe('http://roster.internal:8080/scim/v2')
    expect(own.stderr).toContain('is plain http, which identity providers (Entra ID, Okta) refuse')
  })
})
