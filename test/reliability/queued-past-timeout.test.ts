// Writes that wait past the request timeout (docs/security.md, "Request deadlines"), through real
// sockets to `roster serve` on PostgreSQL with a 2 s request timeout (so a 2 s deadline) and a pool
// of two connections: PATCHes of one user wait behind a row lock another client holds, and
// creates wait behind them for a connection. Every one of them is answered 503 with Retry-After
// and a SCIM error body, none is left without an answer (a socket closed without a response was
// the behaviour before request deadlines), and once the lock is gone nothing of them is stored.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase } from '../helpers/pg-database.ts'
import { seedDatabase } from './lib/seed.ts'
import { call, startServer, type Server } from '../helpers/spawned-server.ts'

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'
const adminUrl = process.env.TEST_DATABASE_URL

describe.runIf(adminUrl)('writes queued past the request timeout on postgres', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let server: Server
  let token = ''
  let orgId = ''
  let userId = ''

  beforeAll(async () => {
    db = await createTestDatabase(adminUrl as string, 'roster_queued')
    ;({ tokens: [token = ''], orgIds: [orgId = ''], userIds: [userId = ''] } = await seedDatabase(db.url, ['queued'], 1, () => 'held@queued.example'))
    server = await startServer(db.url, { ROSTER_REQUEST_TIMEOUT_MS: '2000', ROSTER_DB_POOL_SIZE: '2' })
  })
  afterAll(async () => {
    await server?.kill('SIGTERM')
    await db?.drop()
  })

  it('are each answered 503 with Retry-After, and none of them is stored', async () => {
    const holder = new pg.Client({ connectionString: db.url })
    await holder.connect()
    await holder.query('begin')
    await holder.query('select 1 from users where org_id = $1 and id = $2 for update', [orgId, userId])
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => {
      const sent = i < 4
        ? call(server.base, 'PATCH', `/scim/v2/Users/${userId}`, token, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { title: 'never' } }] })
        : call(server.base, 'POST', '/scim/v2/Users', token, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `queued${i}@queued.example` })
      return sent.then((r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), error: Array.isArray(r.json.schemas) && r.json.schemas.includes(ERROR) }), (e: unknown) => ({ status: 0, retryAfter: null, error: String((e as { cause?: unknown }).cause ?? e) }))
    }))
    await holder.query('rollback')
    await holder.end()
    // Time for a write that wrongly went on after its 503 to commit before the reads below.
    await new Promise((r) => setTimeout(r, 500))
    expect(answers).toEqual(answers.map(() => ({ status: 503, retryAfter: '5', error: true })))

    const user = await call(server.base, 'GET', `/scim/v2/Users/${userId}`, token)
    expect(user.status).toBe(200)
    expect(user.json.title).toBeUndefined()
    const created = await call(server.base, 'GET', `/scim/v2/Users?filter=${encodeURIComponent('userName sw "queued"')}`, token)
    expect(created.json.totalResults).toBe(0)
  }, 60_000)
})
