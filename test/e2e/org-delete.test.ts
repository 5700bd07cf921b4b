// Deleting an organization (`roster org delete`, DELETE /api/v1/orgs/{org}): the real CLI process
// on the test server's database. Everything the organization holds goes in one transaction, its
// SCIM token and API keys are refused by the very next request, another organization keeps all
// of its own, the audit entry of the deletion stays, and nothing is deleted without the
// organization's name typed or --yes. On SQLite and PostgreSQL.
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureAccount } from '../../src/console/accounts.ts'
import { addWebhook } from '../../src/events/webhooks.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { declareSchema } from '../../src/provisioning/org-schemas.ts'
import { updateOrgSettings } from '../../src/provisioning/org-settings.ts'
import type { OrgId } from '../../src/store/store.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'
import { BIN } from '../helpers/spawned-server.ts'

const run = promisify(execFile)
const EXT = 'urn:example:params:scim:schemas:extension:deletion:2.0:User'

/** Tables holding an organization's rows, by their org_id column (group_members: SQLite keeps the id as a 16-byte key). */
const TABLES = [
  'orgs', 'org_domains', 'org_schemas', 'scim_tokens', 'api_keys', 'users', 'user_emails', 'groups', 'group_members', 'deleted_users',
  'invitations', 'events', 'webhook_endpoints', 'webhook_deliveries', 'webhook_attempts', 'provisioning_log', 'console_roles', 'audit_log',
  'unique_values',
] as const

/** Every table of the database with an org_id column: a table added later is in TABLES, or the deletion test fails. */
async function tablesWithOrgId(kind: 'sqlite' | 'postgres', url: string): Promise<string[]> {
  if (kind === 'sqlite') {
    const db = new BetterSqlite3(url.slice('sqlite:'.length), { readonly: true })
    try {
      const tables = (db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]).map((r) => r.name)
      return tables.filter((t) => (db.prepare(`select name from pragma_table_info(?)`).all(t) as { name: string }[]).some((c) => c.name === 'org_id')).sort()
    } finally {
      db.close()
    }
  }
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    const r = await c.query<{ t: string }>("select distinct table_name as t from information_schema.columns where column_name = 'org_id' and table_schema = current_schema()")
    return r.rows.map((x) => x.t).sort()
  } finally {
    await c.end()
  }
}

/** Rows of each table that belong to `orgId`, read straight from the database. */
async function rowsOf(kind: 'sqlite' | 'postgres', url: string, orgId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  if (kind === 'sqlite') {
    const db = new BetterSqlite3(url.slice('sqlite:'.length), { readonly: true })
    try {
      for (const t of TABLES) {
        const where = t === 'orgs' ? 'id = ?' : t === 'group_members' ? "org_id = unhex(?, '-')" : 'org_id = ?'
        out[t] = (db.prepare(`select count(*) as n from ${t} where ${where}`).get(orgId) as { n: number }).n
      }
    } finally {
      db.close()
    }
    return out
  }
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    for (const t of TABLES) {
      const r = await c.query<{ n: string }>(`select count(*) as n from ${t} where ${t === 'orgs' ? 'id' : 'org_id'} = $1`, [orgId])
      out[t] = Number(r.rows[0]?.n)
    }
  } finally {
    await c.end()
  }
  return out
}

describe.each(storeMatrix())('org delete ($name)', (base) => {
  let t: TestApp
  // A receiver that always fails: the doomed organization's deliveries stay pending, with attempts.
  let rx: Receiver
  const { factory, url } = remembering(base)
  beforeAll(async () => {
    t = await startApp(factory, {}, { webhooks: { timeoutMs: 1_000, intervalMs: 50 } })
    rx = await startReceiver()
    rx.answer = () => ({ status: 500 })
  })
  afterAll(async () => {
    await t.close()
    await rx.stop()
  })

  const env = () => ({ ...process.env, ROSTER_DATABASE_URL: url(), LOG_LEVEL: 'warn' })
  const roster = async (...args: string[]) => (await run('node', [BIN, ...args], { env: env() })).stdout
  /** The CLI with `input` on its standard input; its exit code and both outputs. */
  const rosterWithInput = (input: string, ...args: string[]) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const p = spawn('node', [BIN, ...args], { env: env() })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    p.on('error', reject)
    p.on('close', (code) => resolve({ code, stdout, stderr }))
    p.stdin.end(input)
  })
  const scim = (token: string, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown) => t.req(method, path, body, { token })
  const api = async (key: string, method: 'GET' | 'DELETE', path: string) => {
    const r = await t.app.inject({ method, url: `/api/v1${path}`, headers: { authorization: `Bearer ${key}` } })
    return { status: r.statusCode, json: (r.body ? JSON.parse(r.body) : {}) as Record<string, unknown> }
  }

  /** An organization with something in every table: users, a group with members, a domain, a schema, a webhook, keys, a console member. */
  async function populated(name: string, webhook: boolean) {
    const org = await t.newOrg(name)
    // First: an endpoint receives the events written after it was added.
    if (webhook) await addWebhook(t.deps, org.orgId, { url: rx.url }, { allowPrivate: true })
    const domain = `${name.toLowerCase().replace(/[^a-z0-9]/g, '')}.test`
    await updateOrgSettings(t.deps, org.orgId, { domainAdd: [domain], settings: { deprovision: 'suspend', deleteAfterDays: 30 } }, 'test', { sharedDomains: false })
    await declareSchema(t.deps, org.orgId, { id: EXT, name: 'Deletion', attributes: [{ name: 'badge', type: 'string', uniqueness: 'server' }] }, 'test')
    const ids: string[] = []
    for (const n of ['ada', 'grace', 'edsger']) {
      const r = await scim(org.token, 'POST', '/Users', user(`${n}@${domain}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', EXT], [EXT]: { badge: `badge-${n}` } }))
      expect(r.status).toBe(201)
      ids.push(String(r.json.id))
    }
    const g = await scim(org.token, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Everyone', members: ids.map((value) => ({ value })) })
    expect(g.status).toBe(201)
    // Deleted under deprovision: suspend, so that a kept user exists too.
    expect((await t.req('DELETE', `/Users/${ids[2]}`, undefined, { token: org.token })).status).toBe(204)
    const key = await createApiKey(t.deps, { name: `key-${name}`, orgId: org.orgId, scopes: ['directory:read'], expiresAt: null })
    const { account } = await ensureAccount(t.deps, `admin.${org.orgId}@example.com`, false)
    const now = new Date().toISOString()
    await t.store.console.setRole(org.orgId, account.id, 'admin', now, null)
    return { ...org, key: key.key, accountId: account.id }
  }

  it('roster org delete --yes --json removes everything the organization holds at once; another organization keeps its own', async () => {
    expect(await tablesWithOrgId(base.name, url())).toEqual(TABLES.filter((x) => x !== 'orgs').sort())
    const doomed = await populated('Doomed Corp', true)
    const kept = await populated('Kept Corp', false)
    let before = await rowsOf(base.name, url(), doomed.orgId)
    for (let i = 0; i < 200 && (before.webhook_deliveries === 0 || before.webhook_attempts === 0); i++) {
      await new Promise((r) => setTimeout(r, 50))
      before = await rowsOf(base.name, url(), doomed.orgId)
    }
    for (const table of TABLES.filter((x) => x !== 'invitations' && x !== 'provisioning_log')) {
      expect(before[table], table).toBeGreaterThan(0)
    }
    const keptBefore = await rowsOf(base.name, url(), kept.orgId)
    expect((await api(doomed.key, 'GET', `/orgs/${doomed.orgId}/users`)).status).toBe(200)

    const out = JSON.parse(await roster('org', 'delete', 'doomed corp', '--yes', '--json')) as Record<string, unknown>
    expect(out).toMatchObject({
      orgId: doomed.orgId, name: 'Doomed Corp',
      deleted: { users: 2, groups: 1, memberships: 2, domains: 1, schemas: 1, scimTokens: 1, apiKeys: 1, webhooks: 1, consoleMembers: 1, consoleAccounts: 1 },
    })
    expect((out.deleted as { events: number }).events).toBeGreaterThanOrEqual(5)

    // The very next request with its token or its API key is refused.
    const refused = await scim(doomed.token, 'GET', '/Users')
    expect(refused.status).toBe(401)
    expect((await api(doomed.key, 'GET', `/orgs/${doomed.orgId}/users`)).status).toBe(401)
    // Nothing of it is left but the audit entry of its deletion.
    const after = await rowsOf(base.name, url(), doomed.orgId)
    expect(after).toEqual({ ...Object.fromEntries(TABLES.map((x) => [x, 0])), audit_log: 1 })
    expect(await t.store.console.accountById(doomed.accountId)).toBeNull()
    expect(JSON.parse(await roster('org', 'list', '--json'))).not.toContainEqual(expect.objectContaining({ id: doomed.orgId }))
    const audit = JSON.parse(await roster('org', 'audit', doomed.orgId, '--json')) as { data: { actor: string; action: string; details: Record<string, unknown> }[] }
    expect(audit.data).toEqual([expect.objectContaining({
      actor: 'cli', action: 'organization.deleted', details: expect.objectContaining({ name: 'Doomed Corp', domains: ['doomedcorp.test'], deleted: out.deleted }),
    })])

    // The other organization: every row as before, its token and key still work.
    expect(await rowsOf(base.name, url(), kept.orgId)).toEqual({ ...keptBefore, provisioning_log: expect.any(Number) })
    const list = await scim(kept.token, 'GET', '/Users')
    expect(list.status).toBe(200)
    expect(list.json.totalResults).toBe(2)
    expect((await api(kept.key, 'GET', `/orgs/${kept.orgId}/users`)).status).toBe(200)
    expect(await t.store.console.accountById(kept.accountId)).not.toBeNull()
    // The name is free again: a new organization of that name is another one.
    const again = JSON.parse(await roster('org', 'create', 'Doomed Corp', '--json')) as { orgId: string }
    expect(again.orgId).not.toBe(doomed.orgId)
  })

  it('writes past their token check when the organization is deleted write nothing for it: 401 as the next request gets', async () => {
    const org = await t.newOrg('Racing Inc')
    const first = await scim(org.token, 'POST', '/Users', user('first@racing.test'))
    expect(first.status).toBe(201)
    // Every SCIM write waits here, after its token was accepted and before its transaction, until
    // the organization is gone: the deletion commits between a request's check and its write.
    const store = t.store as { write: typeof t.store.write }
    const realWrite = t.store.write.bind(t.store)
    let release: () => void = () => undefined
    const gate = new Promise<void>((r) => { release = r })
    let waiting = 0
    store.write = async (fn, deadline) => {
      waiting++
      await gate
      return realWrite(fn, deadline)
    }
    try {
      const inFlight = [
        scim(org.token, 'POST', '/Users', user('late@racing.test')),
        scim(org.token, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Late' }),
        scim(org.token, 'PATCH', `/Users/${String(first.json.id)}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Late' }] }),
      ]
      for (let i = 0; i < 200 && waiting < inFlight.length; i++) await new Promise((r) => setTimeout(r, 10))
      expect(waiting).toBe(inFlight.length)
      await roster('org', 'delete', org.orgId, '--yes', '--json')
      release()
      const answers = await Promise.all(inFlight)
      // The creates find the organization gone (its policy row); the change finds its user gone.
      expect(answers.map((a) => a.status)).toEqual([401, 401, 404])
      expect(answers[0]?.headers['www-authenticate']).toContain('error="invalid_token"')
    } finally {
      delete (store as { write?: unknown }).write
    }
    // Let the provisioning log's batched appender run before reading every table: the 401s are
    // not logged (no organization to log them under); the 404's row may outlive the deletion, as
    // any request answered around it may (docs/operations.md, "Deleting an organization").
    await new Promise((r) => setTimeout(r, 300))
    const after = await rowsOf(base.name, url(), org.orgId)
    expect(after.provisioning_log).toBeLessThanOrEqual(1)
    expect({ ...after, provisioning_log: 0 }).toEqual({ ...Object.fromEntries(TABLES.map((x) => [x, 0])), audit_log: 1 })
  })

  it('asks for the name: a wrong answer or none deletes nothing (exit 1); the right one deletes', async () => {
    const org = await t.newOrg('Careful Ltd')
    expect((await scim(org.token, 'POST', '/Users', user(`careful.${org.orgId}@example.com`))).status).toBe(201)
    const wrong = await rosterWithInput('Careless Ltd\n', 'org', 'delete', 'Careful Ltd')
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('Type the organization\'s name to confirm')
    expect(wrong.stderr).toContain('error ROSTER_ERR_ORG_NOT_CONFIRMED: Nothing was deleted')
    const none = await rosterWithInput('', 'org', 'delete', 'Careful Ltd', '--json')
    expect(none.code).toBe(1)
    expect(none.stdout).toBe('')
    expect((await scim(org.token, 'GET', '/Users')).status).toBe(200)
    expect((await rowsOf(base.name, url(), org.orgId)).users).toBe(1)

    const right = await rosterWithInput('Careful Ltd\n', 'org', 'delete', org.orgId)
    expect(right.code).toBe(0)
    expect(right.stdout).toMatch(/^Deleted the organization "Careful Ltd" \(.+\): 1 users, 0 groups/)
    expect((await scim(org.token, 'GET', '/Users')).status).toBe(401)
    await expect(roster('org', 'delete', 'Careful Ltd', '--yes')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('ROSTER_ERR_ORG_NOT_FOUND') })
  })

  it('DELETE /api/v1/orgs/{org}: the operator only; the organization\'s own key gets 403, then 401 once it is gone', async () => {
    const org = await populated('Api Deleted', false)
    const operator = await createApiKey(t.deps, { name: 'operator-delete', orgId: null, scopes: ['org:admin'], expiresAt: null })
    const own = await createApiKey(t.deps, { name: 'own-admin', orgId: org.orgId as OrgId, scopes: ['org:admin'], expiresAt: null })
    expect((await api(own.key, 'DELETE', `/orgs/${org.orgId}`)).status).toBe(403)
    const r = await api(operator.key, 'DELETE', `/orgs/${org.orgId}`)
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ orgId: org.orgId, name: 'Api Deleted', deleted: { users: 2, groups: 1, apiKeys: 2 } })
    expect((await api(own.key, 'GET', `/orgs/${org.orgId}/users`)).status).toBe(401)
    expect((await api(operator.key, 'DELETE', `/orgs/${org.orgId}`)).status).toBe(404)
    const [entry] = await t.store.listAudit(org.orgId as OrgId, 10, null)
    expect(entry).toMatchObject({ action: 'organization.deleted', actor: `api-key:${operator.id}` })
  })
})
