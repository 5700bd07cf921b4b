// The console's token and operator endpoints with API keys (docs/api.md): the scope each needs,
// another organization's token out of reach, the operator key's organizations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import type { OrgId } from '../../src/store/store.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { call } from '../helpers/console.ts'
import { storeMatrix } from '../helpers/stores.ts'

describe.each(storeMatrix())('SCIM token endpoints with API keys on $name', (factory) => {
  let t: TestApp
  const key = async (orgId: OrgId | null, scopes: string[]) => (await createApiKey(t.deps, { orgId, scopes, expiresAt: null })).key
  const auth = (k: string) => ({ headers: { authorization: `Bearer ${k}` } })

  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  it('directory:read reads the token metadata; only org:admin refreshes, rotates or revokes; another organization is a 404', async () => {
    const reader = await key(t.orgId, ['directory:read'])
    const admin = await key(t.orgId, ['org:admin'])
    const meta = await call(t, 'GET', `/api/v1/orgs/${t.orgId}/scim-token`, auth(reader))
    expect(meta.status).toBe(200)
    expect(meta.json).toEqual({ rotating: false, tokens: [expect.objectContaining({ lastFour: t.token.slice(-4), lastUsedAt: null })] })
    expect((await call(t, 'POST', `/api/v1/orgs/${t.orgId}/scim-token`, auth(reader))).json.error).toBe('insufficient_scope')
    const r = await call(t, 'POST', `/api/v1/orgs/${t.orgId}/scim-token`, auth(admin))
    expect(r.status).toBe(201)
    expect(r.headers['cache-control']).toBe('no-store')
    expect((await t.req('GET', '/Users')).status).toBe(401)
    const other = await t.newOrg('Elsewhere')
    expect((await call(t, 'POST', `/api/v1/orgs/${other.orgId}/scim-token`, auth(admin))).status).toBe(404)
    expect((await t.req('GET', '/Users', undefined, { token: other.token })).status).toBe(200)
    expect((await call(t, 'DELETE', `/api/v1/orgs/${t.orgId}/scim-token/nope`, auth(admin))).status).toBe(404)
    const audit = await call(t, 'GET', `/api/v1/orgs/${t.orgId}/audit`, auth(admin))
    expect((audit.json.data as { actor: string }[])[0]?.actor).toMatch(/^api-key:/)
  })

  it('rotating an organization without a live token is a 409', async () => {
    const admin = await key(t.orgId, ['org:admin'])
    const tokens = (await call(t, 'GET', `/api/v1/orgs/${t.orgId}/scim-token`, auth(admin))).json.tokens as { id: string }[]
    for (const tk of tokens) expect((await call(t, 'DELETE', `/api/v1/orgs/${t.orgId}/scim-token/${tk.id}`, auth(admin))).status).toBe(204)
    const r = await call(t, 'POST', `/api/v1/orgs/${t.orgId}/scim-token/rotate`, auth(admin))
    expect(r.status).toBe(409)
  })

  it('/orgs needs an operator key holding org:admin; an organization\'s key is refused', async () => {
    const op = await key(null, ['org:admin'])
    const opReader = await key(null, ['directory:read'])
    const orgKey = await key(t.orgId, ['*'])
    const list = await call(t, 'GET', '/api/v1/orgs?limit=1', auth(op))
    expect(list.status).toBe(200)
    expect(list.json.data).toHaveLength(1)
    expect(list.json.nextCursor).toEqual(expect.any(String))
    const next = await call(t, 'GET', `/api/v1/orgs?limit=1&cursor=${String(list.json.nextCursor)}`, auth(op))
    expect((next.json.data as { id: string }[])[0]?.id).not.toBe((list.json.data as { id: string }[])[0]?.id)
    expect((await call(t, 'GET', '/api/v1/orgs', auth(opReader))).status).toBe(403)
    expect((await call(t, 'GET', '/api/v1/orgs', auth(orgKey))).status).toBe(403)
    const bad = await call(t, 'POST', '/api/v1/orgs', { ...auth(op), body: { name: 'X', domains: ['*.wild.test'] } })
    expect(bad.status).toBe(400)
    expect(bad.json.message).toMatch(/^domain/)
    expect((await call(t, 'POST', '/api/v1/orgs', { ...auth(op), body: { name: '' } })).status).toBe(400)
  })
})
