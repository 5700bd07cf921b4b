// Which PostgreSQL failures are "unavailable" (503 with Retry-After) rather than a bug (500).
// Found by the chaos run with PostgreSQL crashed under Roster (test/reliability/lib/chaos.ts):
// when a transaction's connection died between two of its statements (a member PATCH, in the
// run), node-postgres refused the next one with "Client has encountered a connection error and
// is not queryable": no SQLSTATE and none of the network messages, so it was answered 500.
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { StoreUnavailable } from '../store.ts'
import { mapPostgresError } from './postgres.ts'

describe('mapPostgresError', () => {
  it('reads a client that lost its connection, or was closed, as unavailable', () => {
    for (const message of ['Client has encountered a connection error and is not queryable', 'Client was closed and is not queryable', 'Connection terminated unexpectedly']) {
      expect(mapPostgresError(new Error(message)), message).toBeInstanceOf(StoreUnavailable)
    }
  })

  it('leaves other errors as they are', () => {
    const e = Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' })
    expect(mapPostgresError(e)).toBe(e)
  })

  const url = process.env.TEST_DATABASE_URL
  it.skipIf(!url)('a statement on a client whose server session was ended is unavailable, and so is the next one on it', async () => {
    const client = new pg.Client({ connectionString: url })
    const broken = new Promise((resolve) => client.on('error', resolve))
    await client.connect()
    const killer = new pg.Client({ connectionString: url })
    await killer.connect()
    try {
      await client.query('begin')
      await killer.query('select pg_terminate_backend($1)', [(client as unknown as { processID: number }).processID])
      const first = await client.query('select 1').then(() => null, (e: unknown) => e)
      await broken
      // The transaction's next statement on that client.
      const next = await client.query('select 2').then(() => null, (e: unknown) => e)
      expect(mapPostgresError(first)).toBeInstanceOf(StoreUnavailable)
      expect((next as Error).message).toMatch(/not queryable/)
      expect(mapPostgresError(next)).toBeInstanceOf(StoreUnavailable)
    } finally {
      await killer.end()
      await client.end().catch(() => undefined)
    }
  })
})
