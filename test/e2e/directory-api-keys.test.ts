// Who may read what in /api/v1, end to end through the real server: an API key of one
// organization sees only that organization (another one is a 404, never a 403), a missing scope
// is a 403 naming it, an expired or revoked key is a 401, an operator key reads every
// organization, a key's use is recorded; and `roster api-key create` makes a key that the server
// honours exactly as scoped.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey, revokeApiKey } from '../../src/provisioning/api-keys.ts'
import type { OrgId } from '../../src/store/store.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { apiGet, type ApiErrorBody, type ApiGet } from '../helpers/api-client.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'
import { BIN } from '../helpers/spawned-server.ts'

const run = promisify(execFile)
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const HOUR = 3_600_000

describe.each(storeMatrix())('API keys on $name', (factory) => {
  let t: TestApp
  let api: ApiGet
  let skewMs = 0
  let other: { orgId: OrgId; token: string }
  let otherUserId = ''
  const keyFor = async (orgId: OrgId | null, scopes: string[], expiresAt: string | null = null) =>
    (await createApiKey(t.deps, { name: `k-${scopes.join('+')}`, orgId, scopes, expiresAt })).key

  beforeAll(async () => {
    t = await startApp(factory, {}, { now: () => new Date(Date.now() + skewMs) })
    api = apiGet(t, () => '')
    other = await t.newOrg(`other-${t.orgId}`)
    expect((await t.req('POST', '/Users', user('mine@example.com'))).status).toBe(201)
    expect((await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Mine' })).status).toBe(201)
    const u = await t.req('POST', '/Users', user('theirs@example.com'), { token: other.token })
    expect(u.status).toBe(201)
    otherUserId = String(u.json.id)
  })
  afterAll(async () => t.close())

  const ENDPOINTS = ['users', 'groups', 'events', 'provisioning-log'] as const

  it('a key of one organization reads its own organization, by id or by name', async () => {
    const key = await keyFor(t.orgId, ['*'])
    for (const e of ENDPOINTS) expect((await api(`/orgs/${t.orgId}/${e}`, { key })).status, e).toBe(200)
    const name = (await t.store.getOrg(t.orgId))?.name ?? ''
    const byName = await api<{ data: { userName: string }[] }>(`/orgs/${encodeURIComponent(name)}/users`, { key })
    expect(byName.json.data.map((u) => u.userName)).toEqual(['mine@example.com'])
  })

  it("a key of one organization asking for another organization's users, groups, events or log gets 404, as for an organization that does not exist", async () => {
    const key = await keyFor(t.orgId, ['*'])
    const missing = await api<ApiErrorBody>('/orgs/no-such-org/users', { key })
    expect(missing.status).toBe(404)
    const otherName = (await t.store.getOrg(other.orgId))?.name ?? ''
    for (const org of [other.orgId, encodeURIComponent(otherName)]) {
      for (const e of ENDPOINTS) {
        const r = await api<ApiErrorBody>(`/orgs/${org}/${e}`, { key })
        expect(r.status, e).toBe(404)
        expect(r.json).toEqual(missing.json)
      }
      expect((await api(`/orgs/${org}/users/${otherUserId}`, { key })).json).toEqual(missing.json)
    }
    // Its own organization does not hold the other organization's user either.
    expect((await api(`/orgs/${t.orgId}/users/${otherUserId}`, { key })).status).toBe(404)
  })

  it('a key without the scope an endpoint needs gets 403 insufficient_scope naming the scope', async () => {
    const eventsOnly = await keyFor(t.orgId, ['events:read'])
    const directoryOnly = await keyFor(t.orgId, ['directory:read'])
    const cases: [string, string, string][] = [
      [eventsOnly, 'users', 'directory:read'], [eventsOnly, 'groups', 'directory:read'], [eventsOnly, 'provisioning-log', 'log:read'],
      [directoryOnly, 'events', 'events:read'], [directoryOnly, 'provisioning-log', 'log:read'],
    ]
    for (const [key, e, scope] of cases) {
      const r = await api<ApiErrorBody>(`/orgs/${t.orgId}/${e}`, { key })
      expect(r.status, e).toBe(403)
      expect(r.json.error).toBe('insufficient_scope')
      expect(r.json.message).toContain(`"${scope}"`)
    }
    expect((await api(`/orgs/${t.orgId}/events`, { key: eventsOnly })).status).toBe(200)
    expect((await api(`/orgs/${t.orgId}/users`, { key: directoryOnly })).status).toBe(200)
  })

  it('an expired key gets 401 from the instant it expires; before that it works', async () => {
    const past = await keyFor(t.orgId, ['*'], new Date(Date.now() - 1_000).toISOString())
    const r = await api<ApiErrorBody>(`/orgs/${t.orgId}/users`, { key: past })
    expect(r.status).toBe(401)
    expect(r.json).toMatchObject({ error: 'unauthorized', message: expect.stringContaining('expired') })
    expect(r.headers['www-authenticate']).toBe('Bearer realm="roster-api"')

    const inAnHour = await keyFor(t.orgId, ['*'], new Date(Date.now() + HOUR).toISOString())
    expect((await api(`/orgs/${t.orgId}/users`, { key: inAnHour })).status).toBe(200)
    skewMs = 2 * HOUR
    try {
      expect((await api(`/orgs/${t.orgId}/users`, { key: inAnHour })).status).toBe(401)
    } finally {
      skewMs = 0
    }
  })

  it('a revoked key gets 401 at its next request', async () => {
    const k = await createApiKey(t.deps, { name: 'to-revoke', orgId: t.orgId, scopes: ['*'], expiresAt: null })
    expect((await api(`/orgs/${t.orgId}/users`, { key: k.key })).status).toBe(200)
    expect(await revokeApiKey(t.deps, k.id)).toBe(1)
    const r = await api<ApiErrorBody>(`/orgs/${t.orgId}/users`, { key: k.key })
    expect(r.status).toBe(401)
    expect(r.json.error).toBe('unauthorized')
  })

  it('no key, a malformed key, an unknown key and a SCIM token all get 401', async () => {
    const unknown = `roster_api_${'A'.repeat(43)}`
    for (const key of [null, 'not-a-key', unknown, t.token]) {
      const r = await api<ApiErrorBody>(`/orgs/${t.orgId}/users`, { key })
      expect(r.status).toBe(401)
      expect(r.json.error).toBe('unauthorized')
    }
  })

  it('an operator key (no organization) reads every organization', async () => {
    const key = await keyFor(null, ['directory:read', 'events:read', 'log:read'])
    for (const org of [t.orgId, other.orgId]) {
      for (const e of ENDPOINTS) expect((await api(`/orgs/${org}/${e}`, { key })).status, `${org} ${e}`).toBe(200)
    }
    const theirs = await api<{ userName: string }>(`/orgs/${other.orgId}/users/${otherUserId}`, { key })
    expect(theirs.json.userName).toBe('theirs@example.com')
    // Its scopes still apply.
    const scoped = await keyFor(null, ['events:read'])
    expect((await api(`/orgs/${other.orgId}/users`, { key: scoped })).status).toBe(403)
  })

  it('records when a key was last used (listApiKeys shows lastUsedAt); an unused key has none', async () => {
    const used = await createApiKey(t.deps, { name: 'used', orgId: t.orgId, scopes: ['*'], expiresAt: null })
    const unused = await createApiKey(t.deps, { name: 'unused', orgId: t.orgId, scopes: ['*'], expiresAt: null })
    const before = Date.now()
    expect((await api(`/orgs/${t.orgId}/users`, { key: used.key })).status).toBe(200)
    // The use is written beside the request, not inside it.
    let lastUsedAt: string | null = null
    for (let i = 0; i < 100 && lastUsedAt === null; i++) {
      lastUsedAt = (await t.store.listApiKeys()).find((k) => k.id === used.id)?.lastUsedAt ?? null
      if (lastUsedAt === null) await new Promise((r) => setTimeout(r, 50))
    }
    expect(lastUsedAt).not.toBeNull()
    expect(Date.parse(lastUsedAt ?? '')).toBeGreaterThanOrEqual(before)
    expect((await t.store.listApiKeys()).find((k) => k.id === unused.id)?.lastUsedAt).toBeNull()
  })
})

describe.each(storeMatrix())('roster api-key create on $name', (base) => {
  let t: TestApp
  // The same database the test's server uses, for the CLI process.
  const { factory, url } = remembering(base)
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  it('--org ORG --scope directory:read,events:read --json prints the key; it reads users and events of ORG, gets 403 on the log and 404 on another org', async () => {
    const orgName = (await t.store.getOrg(t.orgId))?.name ?? ''
    const other = await t.newOrg(`cli-other-${t.orgId}`)
    expect((await t.req('POST', '/Users', user('cli.reader@example.com'))).status).toBe(201)
    const env = { ...process.env, ROSTER_DATABASE_URL: url(), LOG_LEVEL: 'warn' }
    const { stdout } = await run('node', [BIN, 'api-key', 'create', 'cli-reader', '--org', orgName, '--scope', 'directory:read,events:read', '--json'], { env })
    const created = JSON.parse(stdout) as { id: string; key: string; orgId: string; scopes: string[]; expiresAt: string | null }
    expect(created).toMatchObject({ orgId: t.orgId, scopes: ['directory:read', 'events:read'], expiresAt: null })
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(created.key).toMatch(/^roster_api_[A-Za-z0-9_-]{43}$/)

    const api = apiGet(t, () => created.key)
    const users = await api<{ data: { userName: string }[] }>(`/orgs/${t.orgId}/users`)
    expect(users.status).toBe(200)
    expect(users.json.data.map((u) => u.userName)).toEqual(['cli.reader@example.com'])
    expect((await api(`/orgs/${t.orgId}/events`)).status).toBe(200)
    const log = await api<ApiErrorBody>(`/orgs/${t.orgId}/provisioning-log`)
    expect(log.status).toBe(403)
    expect(log.json).toMatchObject({ error: 'insufficient_scope', message: expect.stringContaining('"log:read"') })
    expect((await api(`/orgs/${other.orgId}/users`)).status).toBe(404)
    expect((await t.store.listApiKeys()).find((k) => k.id === created.id)).toMatchObject({ name: 'cli-reader', orgId: t.orgId, revokedAt: null })
  })

  it('--expires takes a duration or an ISO time: the key works until then and is a 401 after; a past or malformed one is refused', async () => {
    const orgName = (await t.store.getOrg(t.orgId))?.name ?? ''
    const env = { ...process.env, ROSTER_DATABASE_URL: url(), LOG_LEVEL: 'warn' }
    const create = (expires: string) => run('node', [BIN, 'api-key', 'create', `expiring-${expires}`, '--org', orgName, '--scope', 'directory:read', '--expires', expires, '--json'], { env })
      .then((r) => ({ code: 0, json: JSON.parse(r.stdout) as { key: string; expiresAt: string }, stderr: '' }), (e: { code: number; stderr: string }) => ({ code: e.code, json: null, stderr: e.stderr }))

    const days = await create('30d')
    expect(days.code).toBe(0)
    expect(Math.abs(Date.parse(days.json?.expiresAt ?? '') - (Date.now() + 30 * 86_400_000))).toBeLessThan(60_000)
    expect((await apiGet(t, () => days.json?.key ?? '')(`/orgs/${t.orgId}/users`)).status).toBe(200)

    const soon = await create(new Date(Date.now() + 2_500).toISOString())
    expect(soon.code).toBe(0)
    const api = apiGet(t, () => soon.json?.key ?? '')
    expect((await api(`/orgs/${t.orgId}/users`)).status).toBe(200)
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(soon.json?.expiresAt ?? '') - Date.now() + 100)))
    expect((await api(`/orgs/${t.orgId}/users`)).status).toBe(401)

    for (const bad of ['2020-01-01T00:00:00Z', 'soon', '30x']) {
      const r = await create(bad)
      expect(r.code, bad).toBe(1)
      expect(r.stderr, bad).toContain('ROSTER_ERR_API_KEY_EXPIRES')
    }
  })
})
