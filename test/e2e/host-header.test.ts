// The base URL of SCIM answers never comes from an unchecked Host header (host-header injection,
// docs/architecture.md ROS-8): ROSTER_PUBLIC_URL when set; else the Host header only when it is
// on the allow-list (loopback by default, ROSTER_ALLOWED_HOSTS); else the server's own address.
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.ts'
import { uuidV7Generator } from '../../src/ids.ts'
import { createOrg } from '../../src/provisioning/orgs.ts'
import { DEFAULT_LIMITS, type Deps } from '../../src/provisioning/deps.ts'
import { user } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

describe.each(storeMatrix().slice(0, 1))('the base URL of SCIM answers on $name', (factory) => {
  let cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups) await c()
    cleanups = []
  })

  const start = async (config: { publicUrl: string | null; allowedHosts?: readonly string[] }) => {
    const { store, cleanup } = await factory.open()
    const deps: Deps = { store, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
    const app = await buildApp({ deps, config: { ...config, host: '0.0.0.0', port: 8443, requestTimeoutMs: 20_000, logLevel: 'silent' } })
    cleanups.push(async () => {
      await app.close()
      await cleanup()
    })
    const org = await createOrg(deps, `host-${Math.random().toString(36).slice(2)}`, [])
    return async (host: string, userName: string) => {
      const r = await app.inject({
        method: 'POST', url: '/scim/v2/Users', payload: user(userName) as Record<string, unknown>,
        headers: { host, authorization: `Bearer ${org.token}`, 'content-type': 'application/scim+json' },
      })
      expect(r.statusCode).toBe(201)
      const body = JSON.parse(r.body) as { id: string; meta: { location: string } }
      expect(body.meta.location).toBe(r.headers.location)
      return String(r.headers.location).replace(`/scim/v2/Users/${body.id}`, '')
    }
  }

  it('without ROSTER_PUBLIC_URL, a Host header off the allow-list is ignored: the answer names the server itself', async () => {
    const post = await start({ publicUrl: null })
    expect(await post('evil.example', 'a@example.com')).toBe('http://127.0.0.1:8443')
    expect(await post('evil.example:443', 'b@example.com')).toBe('http://127.0.0.1:8443')
    expect(await post('localhost:3000', 'c@example.com')).toBe('http://localhost:3000')
    expect(await post('127.0.0.1', 'd@example.com')).toBe('http://127.0.0.1')
  })

  it('ROSTER_ALLOWED_HOSTS names the hosts that may stand for the server (with or without a port)', async () => {
    const post = await start({ publicUrl: null, allowedHosts: ['scim.acme.com', 'other.acme.com:8443'] })
    expect(await post('SCIM.acme.com', 'a@example.com')).toBe('http://scim.acme.com')
    expect(await post('other.acme.com:8443', 'b@example.com')).toBe('http://other.acme.com:8443')
    expect(await post('other.acme.com:9999', 'c@example.com')).toBe('http://127.0.0.1:8443')
    expect(await post('localhost', 'd@example.com')).toBe('http://127.0.0.1:8443')
  })

  it('ROSTER_PUBLIC_URL wins over any Host header', async () => {
    const post = await start({ publicUrl: 'https://roster.acme.com' })
    expect(await post('evil.example', 'a@example.com')).toBe('https://roster.acme.com')
  })
})
