// PostgreSQL stopped under a running server, then started again (docs/architecture.md DUR-8): every
// request in between is a 503 with Retry-After, never a 401 or a 500 (Entra ID quarantines jobs
// whose calls keep failing), and the server serves again on the first request after the
// database returns, without a restart. Runs on its own cluster, which it stops.
import { describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.ts'
import { uuidV7Generator } from '../../src/ids.ts'
import { DEFAULT_LIMITS, type Deps } from '../../src/provisioning/deps.ts'
import { createOrg } from '../../src/provisioning/orgs.ts'
import { openPostgresStore } from '../../src/store/dialect/postgres.ts'
import { createCluster, postgresBin } from '../helpers/pg-cluster.ts'

const bin = postgresBin()

describe.skipIf(!bin)('PostgreSQL outage', () => {
  it('answers 503 with Retry-After while the database is down and recovers by itself', async () => {
    const cluster = await createCluster(bin as string)
    const store = await openPostgresStore({ url: cluster.url, poolSize: 4 })
    const deps: Deps = { store, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
    const app = await buildApp({ deps, config: { publicUrl: null, requestTimeoutMs: 20_000, logLevel: 'silent' } })
    try {
      const { token } = await createOrg(deps, 'outage', [])
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }
      const user = (n: string) => JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: n })
      expect((await app.inject({ method: 'POST', url: '/scim/v2/Users', headers, payload: user('before@example.com') })).statusCode).toBe(201)

      cluster.stop()
      for (const [method, payload] of [['GET', undefined], ['POST', user('during@example.com')]] as const) {
        const r = await app.inject({ method, url: '/scim/v2/Users', headers, payload })
        expect(r.statusCode).toBe(503)
        expect(r.headers['retry-after']).toBe('5')
        expect(JSON.parse(r.body)).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '503' })
      }
      // Not ready (a load balancer sends traffic elsewhere), yet alive (no restart for an outage of the database).
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503)
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)

      cluster.start()
      const after = await app.inject({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('userName eq "before@example.com"')}`, headers })
      expect(after.statusCode).toBe(200)
      expect(JSON.parse(after.body)).toMatchObject({ totalResults: 1 })
      expect((await app.inject({ method: 'POST', url: '/scim/v2/Users', headers, payload: user('after@example.com') })).statusCode).toBe(201)
    } finally {
      await app.close()
      await store.close()
      cluster.destroy()
    }
  }, 60_000)
})
