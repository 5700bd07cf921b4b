// The `roster` command and the server process, as a user runs them.
import { spawn, execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const BIN = join(import.meta.dirname, '../../bin/roster.js')

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
      for (let i = 0; i < 100; i++) {
        const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false)
        if (ok) break
        await new Promise((r) => setTimeout(r, 100))
      }
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
