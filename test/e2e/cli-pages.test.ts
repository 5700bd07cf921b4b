// The CLI for a newcomer: a help page per command, a tenant URL warning identity providers
// would refuse, and user and group lists that page.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { uuidV7Generator } from '../../src/ids.ts'
import { DEFAULT_LIMITS } from '../../src/provisioning/deps.ts'
import { findOrg } from '../../src/provisioning/orgs.ts'
import { createUser } from '../../src/provisioning/users.ts'
import { openSqliteStore } from '../../src/store/dialect/sqlite.ts'
import { userResource } from '../../src/scim/schema/registry.ts'
import { BIN } from '../helpers/spawned-server.ts'

const run = promisify(execFile)

describe('roster help, org create warnings, list paging', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-cli-pages-'))
  const env = { ...process.env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'r.db')}`, LOG_LEVEL: 'warn' }
  const roster = async (args: string[], extra: NodeJS.ProcessEnv = {}) => run('node', [BIN, ...args], { env: { ...env, ...extra } })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('prints the help of the command asked for, not the global usage', async () => {
    const user = (await roster(['user', '--help'])).stdout
    expect(user).toMatch(/^Usage: roster user list ORG \[--filter F\] \[--start-index N\] \[--count N\]/)
    expect(user).not.toContain('webhook')
    expect((await roster(['help', 'backup'])).stdout).toMatch(/^Usage: roster backup PATH/)
    expect((await roster(['org', 'create', '--help'])).stdout).toMatch(/^Usage: roster org create NAME/)
    expect((await roster(['org', 'set', '--help'])).stdout).toContain('roster org set ORG')
    await expect(roster(['frobnicate', '--help'])).rejects.toMatchObject({ code: 2 })
  })

  it('every command, the new ones too, answers --help with its own usage and exit code 0', async () => {
    const commands = [
      'serve', 'migrate', 'config', 'backup', 'restore', 'org create', 'org list', 'org rename', 'org delete', 'org show', 'org set', 'org domain', 'org audit',
      'token', 'user', 'group', 'log', 'api-key', 'schema', 'webhook', 'admin', 'worker',
    ]
    const pages = await Promise.all(commands.map(async (c) => [c, (await roster([...c.split(' '), '--help'])).stdout] as const))
    for (const [c, page] of pages) expect(page, c).toMatch(new RegExp(`^usage: roster ${c}\\b`, 'i'))
    const del = pages.find(([c]) => c === 'org delete')?.[1] ?? ''
    expect(del).toContain('--yes')
    expect(del).not.toContain('org create')
  })

  it('org create warns when the tenant URL is plain http or loopback, and not for a public https one', async () => {
    const local = await roster(['org', 'create', 'Local Co', '--json'])
    expect(local.stderr).toMatch(/^warning: http:\/\/127\.0\.0\.1:8080\/scim\/v2 is a loopback address/)
    const plain = await roster(['org', 'create', 'Plain Co', '--json'], { ROSTER_PUBLIC_URL: 'http://roster.example.com' })
    expect(plain.stderr).toContain('plain http')
    const tls = await roster(['org', 'create', 'Tls Co', '--json'], { ROSTER_PUBLIC_URL: 'https://roster.example.com' })
    expect(tls.stderr).toBe('')
    expect(JSON.parse(tls.stdout)).toMatchObject({ tenantUrl: 'https://roster.example.com/scim/v2' })
  })

  it('user list pages with --start-index and --count, hints at the rest, and --json shows every field', async () => {
    const store = await openSqliteStore({ path: join(dir, 'r.db') })
    const deps = { store, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
    const org = await findOrg(deps, 'Local Co')
    for (let i = 1; i <= 5; i++) {
      await createUser(deps, org.id, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `p${i}@pages.test`, title: `Title ${i}`, name: { givenName: `G${i}` } }, undefined, userResource)
    }
    await store.close()
    const first = (await roster(['user', 'list', 'Local Co', '--count', '2'])).stdout
    expect(first).toContain('5 users (1–2 shown)')
    expect(first).toContain('… 3 more: --start-index 3')
    const page = JSON.parse((await roster(['user', 'list', 'Local Co', '--start-index', '5', '--count', '2', '--json'])).stdout) as { totalResults: number; startIndex: number; itemsPerPage: number; users: Record<string, unknown>[] }
    expect(page).toMatchObject({ totalResults: 5, startIndex: 5, itemsPerPage: 1 })
    expect(page.users[0]).toMatchObject({ userName: expect.stringMatching(/@pages\.test$/), title: expect.stringMatching(/^Title /), name: { givenName: expect.any(String) }, active: true, created: expect.any(String) })
    expect((await roster(['user', 'list', 'Local Co', '--start-index', '5', '--count', '2'])).stdout).not.toContain('more')
  })
})
