// A SCIM token change refused for want of org:admin is recorded (docs/architecture.md AUTH-5;
// OWASP ASVS 4.0.3 7.1.3, 7.2.2: failed access-control decisions are logged), through the
// listening server on each store: a viewer's and a read-scoped key's refusals become entries in
// the organization's audit log (who, when, what, why), bounded to one entry per caller and
// action a minute with a count; another organization's admin gets its 404 and the targeted
// organization's log stays as it was (the refusal goes to the server's log, for the operator).
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { PASSWORD, consoleAccount } from '../helpers/console.ts'
import { jsonBody } from '../helpers/json-body.ts'
import { storeMatrix } from '../helpers/stores.ts'

interface Entry { id: string; at: string; actor: string; action: string; details: Record<string, unknown> }

describe.each(storeMatrix())('refused SCIM token changes on $name', (factory) => {
  let t: TestApp
  let clock = Date.now()
  const lines: Record<string, unknown>[] = []
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>)
      done()
    },
  })
  let adminKey = ''
  let orgPath = ''

  beforeAll(async () => {
    t = await startApp(factory, {}, { now: () => new Date(clock), logStream, requestLog: false })
    adminKey = (await createApiKey(t.deps, { name: 'admin', orgId: t.orgId, scopes: ['org:admin'], expiresAt: null })).key
    orgPath = `/api/v1/orgs/${t.orgId}`
  })
  afterAll(async () => t.close())

  const send = async (method: 'GET' | 'POST' | 'DELETE', path: string, headers: Record<string, string>) => {
    const r = await t.send(method, path, headers)
    return { status: r.status, json: jsonBody(r.body) }
  }
  const withKey = (key: string) => ({ authorization: `Bearer ${key}` })
  const audit = async (orgPathOf = orgPath, key = adminKey) => ((await send('GET', `${orgPathOf}/audit?limit=100`, withKey(key))).json.data ?? []) as Entry[]
  const refusals = async (actor: string) => (await audit()).filter((e) => e.actor === actor && e.action.endsWith('_refused'))
  const scimWorks = async () => (await t.req('GET', '/Users?count=1')).status

  it('a viewer\'s refused refresh, rotation and revocation are each an audit entry: who, when, what and why, the count growing within the minute', async () => {
    await consoleAccount(t, 'viewer@refusals.test', 'viewer')
    const r = await t.send('POST', '/api/v1/console/sign-in', { 'content-type': 'application/json' }, JSON.stringify({ email: 'viewer@refusals.test', password: PASSWORD }))
    expect(r.status).toBe(200)
    const cookie = String(r.headers['set-cookie']).split(';')[0] ?? ''
    const session = { cookie, 'x-csrf-token': String(jsonBody(r.body).csrfToken) }
    const tokenId = String((((await send('GET', `${orgPath}/scim-token`, withKey(adminKey))).json.tokens as { id: string }[])[0])?.id)

    for (let i = 0; i < 3; i++) expect((await send('POST', `${orgPath}/scim-token`, session)).status).toBe(403)
    expect((await send('POST', `${orgPath}/scim-token/rotate`, session)).status).toBe(403)
    expect((await send('DELETE', `${orgPath}/scim-token/${tokenId}`, session)).status).toBe(403)
    expect(await scimWorks()).toBe(200)

    const entries = await refusals('console:viewer@refusals.test')
    expect(entries.map((e) => [e.action, e.details.count]).sort()).toEqual([['token.refresh_refused', 3], ['token.revoke_refused', 1], ['token.rotate_refused', 1]])
    expect(entries.find((e) => e.action === 'token.refresh_refused')).toMatchObject({
      at: new Date(clock).toISOString(),
      details: { operation: 'refresh', status: 403, error: 'insufficient_role', reason: expect.stringMatching(/viewer/), firstAt: new Date(clock).toISOString(), lastAt: new Date(clock).toISOString() },
    })
    expect(entries.find((e) => e.action === 'token.revoke_refused')?.details).toMatchObject({ operation: 'revoke', tokenId })

    // A flood within the minute is one entry whose count holds every refusal; the next minute starts another.
    const flood = await Promise.all(Array.from({ length: 20 }, () => send('POST', `${orgPath}/scim-token`, session)))
    expect(flood.every((x) => x.status === 403)).toBe(true)
    let refresh = (await refusals('console:viewer@refusals.test')).filter((e) => e.action === 'token.refresh_refused')
    expect(refresh.map((e) => e.details.count)).toEqual([23])
    clock += 61_000
    expect((await send('POST', `${orgPath}/scim-token`, session)).status).toBe(403)
    refresh = (await refusals('console:viewer@refusals.test')).filter((e) => e.action === 'token.refresh_refused')
    expect(refresh.map((e) => e.details.count)).toEqual([1, 23])
    expect(refresh[0]?.at).toBe(new Date(clock).toISOString())
  })

  it('an API key of the organization without org:admin is recorded by its id', async () => {
    const reader = await createApiKey(t.deps, { name: 'reader', orgId: t.orgId, scopes: ['directory:read'], expiresAt: null })
    expect((await send('POST', `${orgPath}/scim-token`, withKey(reader.key))).status).toBe(403)
    expect((await send('POST', `${orgPath}/scim-token/rotate`, withKey(reader.key))).status).toBe(403)
    const entries = await refusals(`api-key:${reader.id}`)
    expect(entries.map((e) => [e.action, e.details.count, e.details.error]).sort()).toEqual([
      ['token.refresh_refused', 1, 'insufficient_scope'], ['token.rotate_refused', 1, 'insufficient_scope'],
    ])
    expect(await scimWorks()).toBe(200)
  })

  it('another organization\'s admin gets a 404; neither organization\'s audit log records it, the server\'s log does', async () => {
    const other = await t.newOrg(`refusals-other-${crypto.randomUUID()}`)
    const theirs = await createApiKey(t.deps, { name: 'theirs', orgId: other.orgId, scopes: ['org:admin'], expiresAt: null })
    const before = await audit()
    expect((await send('POST', `${orgPath}/scim-token`, withKey(theirs.key))).status).toBe(404)
    expect((await send('DELETE', `${orgPath}/scim-token/whatever`, withKey(theirs.key))).status).toBe(404)
    expect(await audit()).toEqual(before)
    expect(await audit(`/api/v1/orgs/${other.orgId}`, theirs.key)).toEqual([])
    expect(lines.filter((l) => l.actor === `api-key:${theirs.id}`).map((l) => [l.event, l.org, l.status])).toEqual([
      ['token.refresh_refused', t.orgId, 404], ['token.revoke_refused', t.orgId, 404],
    ])
    expect(await scimWorks()).toBe(200)
  })
})
