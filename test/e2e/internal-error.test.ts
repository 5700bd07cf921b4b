// An unexpected error is a bug: the client gets a 500 SCIM error carrying only a request id
// (no stack, no SQL, no path), the log gets the error with that id, and the server keeps serving.
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.ts'
import { uuidV7Generator } from '../../src/ids.ts'
import { DEFAULT_LIMITS, type Deps } from '../../src/provisioning/deps.ts'
import { createOrg } from '../../src/provisioning/orgs.ts'
import type { Store } from '../../src/store/store.ts'
import { storeMatrix } from '../helpers/stores.ts'

describe.each(storeMatrix())('internal errors on $name', (factory) => {
  it('a failing read is a 500 with a request id and no internals; the next request succeeds', async () => {
    const { store, cleanup } = await factory.open()
    let failNext = true
    // The real store, with getUser failing once the way a bug would.
    const faulty = new Proxy(store, {
      get(target, prop, receiver) {
        const v: unknown = Reflect.get(target, prop, receiver)
        if (prop === 'getUser' && typeof v === 'function') {
          return (...args: unknown[]) => {
            if (failNext) {
              failNext = false
              return Promise.reject(new Error('boom at /srv/roster/src/secret.ts: select * from users'))
            }
            return (v as (...a: unknown[]) => unknown).apply(target, args)
          }
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    }) as Store
    const deps: Deps = { store: faulty, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
    const { token } = await createOrg(deps, 'errors', [])
    const logs: string[] = []
    const app = await buildApp({ deps, config: { publicUrl: null, requestTimeoutMs: 20_000, logLevel: 'error' }, logStream: new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done() } }) })
    try {
      const headers = { authorization: `Bearer ${token}` }
      const r = await app.inject({ method: 'GET', url: '/scim/v2/Users/0189abcd-0000-7000-8000-000000000001', headers })
      expect(r.statusCode).toBe(500)
      const body = JSON.parse(r.body) as { status: string; detail: string; schemas: string[] }
      expect(body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error'])
      const id = /request id (\S+)/.exec(body.detail)?.[1]
      expect(id).toBeTruthy()
      expect(r.body).not.toMatch(/boom|secret|select|\/srv|at .*\.ts/)
      expect(logs.join('')).toContain(id)
      expect(logs.join('')).toContain('boom')
      const again = await app.inject({ method: 'GET', url: '/scim/v2/Users/0189abcd-0000-7000-8000-000000000001', headers })
      expect(again.statusCode).toBe(404)
    } finally {
      await app.close()
      await cleanup()
    }
  })
})
