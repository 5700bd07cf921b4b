// Roster acknowledges a write once its COMMIT returns: on PostgreSQL that means durable only when
// the server flushes its WAL first (docs/storage.md, "PostgreSQL durability"; docs/architecture.md
// DUR-7). A database whose default is synchronous_commit=off gets it raised to on for Roster's
// sessions; a server running with fsync=off is refused unless the operator allows it.
import { spawn } from 'node:child_process'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyDurability, durabilityPlan, readDurabilitySettings } from '../../src/store/dialect/postgres-durability.ts'
import { freePort } from '../helpers/free-port.ts'
import { createTestDatabase } from '../helpers/pg-database.ts'
import { createCluster, postgresBin, type Cluster } from '../helpers/pg-cluster.ts'
import { BIN, healthy, serverEnv } from '../helpers/spawned-server.ts'

const adminUrl = process.env.TEST_DATABASE_URL
const bin = postgresBin()

/** What `synchronous_commit` each of `n` sessions of the pool holds at once. */
async function sessions(pool: pg.Pool, n: number): Promise<string[]> {
  const clients = await Promise.all(Array.from({ length: n }, () => pool.connect()))
  try {
    return await Promise.all(clients.map(async (c) => (await c.query<{ synchronous_commit: string }>('show synchronous_commit')).rows[0]?.synchronous_commit ?? ''))
  } finally {
    for (const c of clients) c.release()
  }
}

describe.skipIf(!adminUrl)('PostgreSQL with synchronous_commit=off by default', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  beforeAll(async () => {
    db = await createTestDatabase(adminUrl as string, 'roster_async')
    const c = new pg.Client({ connectionString: db.url })
    await c.connect()
    await c.query(`alter database ${new URL(db.url).pathname.slice(1)} set synchronous_commit = off`)
    await c.end()
  })
  afterAll(async () => db.drop())

  it('Roster\'s sessions run with synchronous_commit=on; a pool without the plan would not', async () => {
    const settings = await readDurabilitySettings(db.url)
    expect(settings).toEqual({ fsync: 'on', synchronousCommit: 'off' })
    const plain = new pg.Pool({ connectionString: db.url, max: 3 })
    const roster = new pg.Pool({ connectionString: db.url, max: 3 })
    applyDurability(roster, durabilityPlan(settings, false))
    try {
      expect(await sessions(plain, 3)).toEqual(['off', 'off', 'off'])
      expect(await sessions(roster, 3)).toEqual(['on', 'on', 'on'])
    } finally {
      await plain.end()
      await roster.end()
    }
  })
})

describe.skipIf(!bin)('PostgreSQL running with fsync=off', () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await createCluster(bin as string, ['fsync=off'])
  }, 60_000)
  afterAll(() => cluster.destroy())

  async function serve(extra: Record<string, string>): Promise<{ code: number | null; stderr: string; up: boolean }> {
    const port = await freePort()
    const proc = spawn(process.execPath, [BIN, 'serve'], { env: { ...serverEnv(cluster.url, extra), PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
    const up = await healthy(`http://127.0.0.1:${port}`, { proc, timeoutMs: 20_000 })
    if (up) proc.kill('SIGTERM')
    const code = await exited
    return { code, stderr, up }
  }

  it('roster serve refuses to start: ROSTER_ERR_DB_NOT_DURABLE, and why', async () => {
    const r = await serve({})
    expect(r.up).toBe(false)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ROSTER_ERR_DB_NOT_DURABLE')
    expect(r.stderr).toContain('fsync=off')
  })

  it('starts with ROSTER_POSTGRES_ALLOW_FSYNC_OFF=1, and warns', async () => {
    const r = await serve({ ROSTER_POSTGRES_ALLOW_FSYNC_OFF: '1' })
    expect(r.up).toBe(true)
    expect(r.stderr).toMatch(/fsync=off.*may be lost/)
  })
})
