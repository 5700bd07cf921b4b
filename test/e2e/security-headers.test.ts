// Security headers on every answer, whatever the surface and status (docs/security.md, "Security
// headers"), and no internals in any error answer: a forced internal error outside the SCIM
// surface (its own test: internal-error.test.ts) and in /api/v1 is a 500 with a request id only.
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.ts'
import { API_CSP } from '../../src/http/security-headers.ts'
import { uuidV7Generator } from '../../src/ids.ts'
import { DEFAULT_LIMITS, type Deps } from '../../src/provisioning/deps.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import type { Store } from '../../src/store/store.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const INTERNALS = /boom|secret\.ts|select \*|\/srv\/|\n\s+at /

function expectSecurityHeaders(headers: Record<string, unknown>, what: string): void {
  expect(headers['x-content-type-options'], what).toBe('nosniff')
  expect(headers['x-frame-options'], what).toBe('DENY')
  expect(headers['referrer-policy'], what).toBe('no-referrer')
  expect(headers['strict-transport-security'], what).toContain('max-age=')
  expect(headers['cross-origin-resource-policy'], what).toBe('same-origin')
  expect(String(headers['content-security-policy']), what).toMatch(/frame-ancestors|default-src/)
}

describe.each(storeMatrix())('security headers and error answers on $name', (factory) => {
  let t: TestApp | null = null
  afterEach(async () => {
    await t?.close()
    t = null
  })

  it('every answer carries the security headers; JSON answers may load nothing and are never cached', async () => {
    // A route added after start: inject (a listening app takes no more routes).
    t = await startApp(factory, {}, { rateLimits: { tokenPerSecond: 1, orgPerSecond: 100, burstSeconds: 2 }, transport: 'inject' })
    const other = await t.newOrg('headers-other')
    t.app.get('/boom', async () => {
      throw new Error('boom at /srv/roster/src/secret.ts: select * from users')
    })
    const cases: [string, () => Promise<{ status: number; headers: Record<string, unknown>; text: string }>][] = [
      ['SCIM list', () => t!.req('GET', '/Users')],
      ['SCIM list again', () => t!.req('GET', '/Users')],
      ['SCIM 429', () => t!.req('GET', '/Users')],
      ['SCIM 404', () => t!.req('GET', '/Users/nope', undefined, { token: other.token })],
      ['SCIM discovery', () => t!.req('GET', '/ServiceProviderConfig', undefined, { token: null })],
      ['SCIM 401', () => t!.req('GET', '/Users', undefined, { token: null })],
      ['SCIM 400', () => t!.req('POST', '/Users', '{not json', { token: other.token })],
      ['healthz', () => t!.req('GET', '/healthz')],
      ['unknown path', async () => {
        const r = await t!.app.inject({ method: 'GET', url: '/nowhere' })
        return { status: r.statusCode, headers: r.headers, text: r.body }
      }],
      ['API 401', async () => {
        const r = await t!.app.inject({ method: 'GET', url: '/api/v1/orgs' })
        return { status: r.statusCode, headers: r.headers, text: r.body }
      }],
      ['OpenAPI', async () => {
        const r = await t!.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })
        return { status: r.statusCode, headers: r.headers, text: r.body }
      }],
      ['forced 500', async () => {
        const r = await t!.app.inject({ method: 'GET', url: '/boom' })
        return { status: r.statusCode, headers: r.headers, text: r.body }
      }],
    ]
    const seen = new Set<number>()
    for (const [what, call] of cases) {
      const r = await call()
      seen.add(r.status)
      expectSecurityHeaders(r.headers, what)
      if (String(r.headers['content-type']).includes('json')) {
        expect(r.headers['content-security-policy'], what).toBe(API_CSP)
        expect(r.headers['cache-control'], what).toBe('no-store')
      }
      if (r.status >= 400) expect(r.text, what).not.toMatch(INTERNALS)
    }
    expect([...seen].sort()).toEqual([200, 400, 401, 404, 429, 500])
    // The API reference is a page: it may load its own scripts and styles, and nothing else's.
    const page = await t.app.inject({ method: 'GET', url: '/api/v1/reference/' })
    expect(page.statusCode).toBe(200)
    expect(String(page.headers['content-type'])).toMatch(/^text\/html/)
    expectSecurityHeaders(page.headers, 'reference')
    expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'")
  })

  it('a forced internal error in /api/v1 is a 500 with a request id and no internals; the log has the cause', async () => {
    const { store, cleanup } = await factory.open()
    let fail = false
    const faulty = new Proxy(store, {
      get(target, prop, receiver) {
        const v: unknown = Reflect.get(target, prop, receiver)
        if (prop === 'apiKeyByHash' && typeof v === 'function') {
          return (...args: unknown[]) => (fail ? Promise.reject(new Error('boom at /srv/roster/src/secret.ts: select * from api_keys')) : (v as (...a: unknown[]) => unknown).apply(target, args))
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    }) as Store
    const deps: Deps = { store: faulty, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
    const key = await createApiKey(deps, { name: 'k', orgId: null, scopes: ['*'], expiresAt: null })
    const logs: string[] = []
    const app = await buildApp({ deps, config: { publicUrl: null, requestTimeoutMs: 20_000, logLevel: 'error' }, webhooks: false, logStream: new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done() } }) })
    try {
      fail = true
      const r = await app.inject({ method: 'GET', url: '/api/v1/orgs', headers: { authorization: `Bearer ${key.key}` } })
      expect(r.statusCode).toBe(500)
      expect(r.body).not.toMatch(INTERNALS)
      expectSecurityHeaders(r.headers, 'api 500')
      const id = (JSON.parse(r.body) as { requestId?: string }).requestId
      expect(id).toBeTruthy()
      expect(logs.join('')).toContain(String(id))
      expect(logs.join('')).toContain('boom')
    } finally {
      await app.close()
      await cleanup()
    }
  })
})
