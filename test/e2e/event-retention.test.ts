// Event retention (docs/events.md, "Retention"): ROSTER_EVENT_RETENTION_DAYS reaches `roster
// serve`'s feed (a cursor older than it is a 410 cursor_expired telling the consumer to
// resynchronise), and the server itself deletes events past it, by its clock, on both stores.
import { afterAll, describe, expect, it } from 'vitest'
import { encodeFeedCursor, decodeFeedCursor } from '../../src/events/cursor.ts'
import { startApp, user } from '../helpers/app.ts'
import { onPostgresDatabase, onSqliteFile } from '../helpers/scratch-database.ts'
import { call, startServer, type Server } from '../helpers/spawned-server.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { seedDatabase } from '../reliability/lib/seed.ts'

const DAY = 86_400_000
const adminUrl = process.env.TEST_DATABASE_URL
const databases: [string, <T>(fn: (url: string) => Promise<T>) => Promise<T>][] = [
  ['sqlite', (fn) => onSqliteFile('roster-retention', fn)],
  ...(adminUrl ? [['postgres', (fn: (url: string) => Promise<unknown>) => onPostgresDatabase(adminUrl, 'roster_retention', fn)]] as never[] : []),
]

describe.each(databases)('ROSTER_EVENT_RETENTION_DAYS through roster serve on %s', (_name, onDatabase) => {
  const servers: Server[] = []
  afterAll(async () => {
    for (const s of servers) await s.kill('SIGTERM')
  })

  it('a cursor 36 hours old is a 410 with a retention of 1 day, and read on with the default 30', async () => {
    await onDatabase(async (databaseUrl) => {
      const { tokens: [token = ''], orgIds: [orgId = ''], key } = await seedDatabase(databaseUrl, ['retention'], 0, String, ['events:read'])
      const answers: Record<string, number> = {}
      for (const [days, env] of [['1', { ROSTER_EVENT_RETENTION_DAYS: '1' }], ['default', {}]] as const) {
        const s = await startServer(databaseUrl, env)
        servers.push(s)
        expect((await call(s.base, 'POST', '/scim/v2/Users', token, user(`kept-${days}@example.com`))).status).toBe(201)
        const page = await call(s.base, 'GET', `/api/v1/orgs/${orgId}/events`, key)
        expect(page.status).toBe(200)
        const fresh = decodeFeedCursor(String(page.json.nextCursor))
        if (!fresh) throw new Error('the feed returned no cursor')
        const aged = encodeFeedCursor(fresh.position, Date.now() - 36 * 3_600_000)
        const r = await call(s.base, 'GET', `/api/v1/orgs/${orgId}/events?after=${aged}`, key)
        answers[days] = r.status
        if (r.status === 410) expect(r.json).toMatchObject({ error: 'cursor_expired', message: expect.stringContaining('directory API') })
        await s.kill('SIGTERM')
      }
      expect(answers).toEqual({ 1: 410, default: 200 })
    })
  }, 60_000)
})

describe.each(storeMatrix())('the server deletes events past the retention on $name', (factory) => {
  it('by its own clock: events older than 2 days go, newer ones stay', async () => {
    const start = Date.parse('2026-03-01T00:00:00Z')
    let now = start
    const t = await startApp(factory, {}, { now: () => new Date(now), eventRetentionDays: 2, pruneIntervalMs: 50 })
    try {
      const types = async () => (await t.store.readEvents(t.orgId, 0, 100, null)).map((e) => e.type)
      for (let i = 0; i < 3; i++) expect((await t.req('POST', '/Users', user(`old${i}@example.com`))).status).toBe(201)
      now = start + 1.5 * DAY
      expect((await t.req('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Newer' })).status).toBe(201)
      // On PostgreSQL an event enters the feed once the stamper has given it its position, just after its commit.
      for (let i = 0; i < 100 && (await types()).length < 4; i++) await new Promise((r) => setTimeout(r, 20))
      expect(await types()).toEqual(['user.created', 'user.created', 'user.created', 'group.created'])
      // Past 2 days for the users, not for the group: the server's pruning (every 50 ms) removes the users' events only.
      now = start + 2.5 * DAY
      for (let i = 0; i < 100 && (await types()).length > 1; i++) await new Promise((r) => setTimeout(r, 50))
      expect(await types()).toEqual(['group.created'])
    } finally {
      await t.close()
    }
  })
})
