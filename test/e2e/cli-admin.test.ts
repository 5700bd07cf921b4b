// `roster admin create` (bin/roster.js on a SQLite file): an account with its role and a
// one-time link to choose its password, which then signs in through the server's API; the
// operator role needs no organization; bad flags exit 2.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.ts'
import { uuidV7Generator } from '../../src/ids.ts'
import { DEFAULT_LIMITS } from '../../src/provisioning/deps.ts'
import { openSqliteStore } from '../../src/store/dialect/sqlite.ts'
import { BIN } from '../helpers/spawned-server.ts'

const run = promisify(execFile)

describe('roster admin create', () => {
  let dir = ''
  let env: NodeJS.ProcessEnv = {}
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'roster-cli-admin-'))
    env = { ...process.env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'r.db')}`, ROSTER_PUBLIC_URL: 'https://roster.example', LOG_LEVEL: 'warn' }
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const json = async (...args: string[]) => JSON.parse((await run('node', [BIN, ...args, '--json'], { env })).stdout) as Record<string, unknown>

  it('prints a one-time link for a new admin; the link sets the password and the admin signs in with its role', async () => {
    await json('org', 'create', 'Acme Admin')
    const made = await json('admin', 'create', '--email', 'it@acme.test', '--org', 'Acme Admin', '--role', 'admin')
    expect(made).toMatchObject({ email: 'it@acme.test', role: 'admin', link: expect.stringMatching(/^https:\/\/roster\.example\/console\/#\/link\?token=roster_link_/) })
    const op = await json('admin', 'create', '--email', 'op@vendor.test', '--role', 'operator')
    expect(op).toMatchObject({ role: 'operator', orgId: null })

    const store = await openSqliteStore({ path: join(dir, 'r.db') })
    const app = await buildApp({ deps: { store, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }, config: { publicUrl: null, requestTimeoutMs: 20_000, logLevel: 'silent' }, logger: false, webhooks: false })
    try {
      const token = decodeURIComponent(String(made.link).split('token=')[1] ?? '')
      const set = await app.inject({ method: 'POST', url: '/api/v1/console/links/redeem', payload: { token, password: 'a long enough password' } })
      expect(set.statusCode).toBe(200)
      const signed = await app.inject({ method: 'POST', url: '/api/v1/console/sign-in', payload: { email: 'it@acme.test', password: 'a long enough password' } })
      expect(signed.statusCode).toBe(200)
      expect(JSON.parse(signed.body)).toMatchObject({ account: { operator: false }, roles: [{ orgName: 'Acme Admin', role: 'admin' }] })
      // The cookie is not Secure over plain HTTP without an https public URL.
      expect(String(signed.headers['set-cookie'])).not.toMatch(/Secure/)
    } finally {
      await app.close()
      await store.close()
    }
    // An account with a password gets no new link.
    expect(await json('admin', 'create', '--email', 'IT@acme.test', '--org', 'Acme Admin', '--role', 'viewer')).toMatchObject({ role: 'viewer', link: null })
  })

  it('exits 2 on a missing organization for an admin, or an unknown role', async () => {
    await expect(run('node', [BIN, 'admin', 'create', '--email', 'a@b.test', '--role', 'admin'], { env })).rejects.toMatchObject({ code: 2 })
    await expect(run('node', [BIN, 'admin', 'create', '--email', 'a@b.test', '--org', 'x', '--role', 'root'], { env })).rejects.toMatchObject({ code: 2 })
  })
})
