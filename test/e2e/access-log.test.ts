// One JSON line per request, with what an operator needs and never a credential: the SCIM
// token, an API key, a password sent in a user's body, a webhook's signing secret.
import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const PASSWORD = 'Pa55word-canary-91c2'

describe.each(storeMatrix())('the request log ($name)', (base) => {
  let t: TestApp | null = null
  afterEach(async () => {
    await t?.close()
    t = null
  })

  it('writes one line per request with its id, organization, identity provider, route, status and duration; no credential', async () => {
    const lines: string[] = []
    const stream = new PassThrough()
    stream.on('data', (b: Buffer) => lines.push(...b.toString('utf8').split('\n').filter((l) => l !== '')))
    t = await startApp(base, {}, { logStream: stream })
    const key = await createApiKey(t.deps, { name: 'log-test', orgId: t.orgId, scopes: ['*'], expiresAt: null })
    const created = await t.req('POST', '/Users?attributes=userName', user('ada@example.com', { password: PASSWORD }), { headers: { 'user-agent': 'Okta SCIM Client 1.0.0' } })
    expect(created.status).toBe(201)
    expect((await t.req('GET', '/Users', undefined, { token: `${t.token}x` })).status).toBe(401)
    const hook = await t.app.inject({
      method: 'POST', url: `/api/v1/orgs/${t.orgId}/webhooks`, headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ url: 'https://hooks.example.com/roster' }),
    })
    expect(hook.statusCode).toBe(201)
    const secret = String((JSON.parse(hook.body) as { secret: string }).secret)
    expect(secret.length).toBeGreaterThan(10)
    await new Promise((r) => setImmediate(r))

    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request')
    expect(requests).toHaveLength(3)
    expect(requests[0]).toMatchObject({
      level: 30, reqId: expect.any(String), orgId: t.orgId, identityProvider: 'okta', method: 'POST', route: '/scim/v2/Users', path: '/scim/v2/Users', status: 201, durationMs: expect.any(Number),
    })
    expect(requests[1]).toMatchObject({ route: '/scim/v2/Users', status: 401 })
    expect(requests[2]).toMatchObject({ orgId: t.orgId, apiKeyId: key.id, route: '/api/v1/orgs/:org/webhooks', status: 201 })
    const all = lines.join('\n')
    for (const credential of [t.token, key.key, PASSWORD, secret]) expect(all).not.toContain(credential)
  })

  it('writes no request line with ROSTER_REQUEST_LOG=0', async () => {
    const lines: string[] = []
    const stream = new PassThrough()
    stream.on('data', (b: Buffer) => lines.push(b.toString('utf8')))
    t = await startApp(base, {}, { logStream: stream, requestLog: false })
    expect((await t.req('GET', '/Users')).status).toBe(200)
    await new Promise((r) => setImmediate(r))
    expect(lines.join('')).not.toContain('"msg":"request"')
  })
})
