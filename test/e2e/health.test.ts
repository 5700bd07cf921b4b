// /healthz (alive) and /readyz (database, migrations, workers) through the real app and store.
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { startApp, type TestApp } from '../helpers/app.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'
import { migrationNames } from '../../src/store/migrations/index.ts'

/** Runs one statement on the test's database, beside the store. */
async function exec(url: string, statement: string): Promise<void> {
  if (url.startsWith('sqlite:')) {
    const db = new BetterSqlite3(url.slice('sqlite:'.length))
    db.exec(statement)
    db.close()
    return
  }
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  await c.query(statement)
  await c.end()
}

describe.each(storeMatrix())('health probes ($name)', (base) => {
  let t: TestApp | null = null
  afterEach(async () => {
    await t?.close()
    t = null
  })

  it('/healthz answers while the process does; /readyz lists its checks, each ok', async () => {
    t = await startApp(base, {}, { webhooks: { intervalMs: 50 } })
    const live = await t.app.inject({ method: 'GET', url: '/healthz' })
    expect(live.statusCode).toBe(200)
    expect(live.json()).toEqual({ status: 'ok' })
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({ status: 'ready', checks: { database: { ok: true }, migrations: { ok: true }, webhookDispatcher: { ok: true } } })
  })

  it('/readyz is a 503 naming the migration a database lacks', async () => {
    const { factory, url } = remembering(base)
    t = await startApp(factory)
    const last = migrationNames().at(-1) as string
    await exec(url(), `delete from kysely_migration where name = '${last}'`)
    const r = await t.app.inject({ method: 'GET', url: '/readyz' })
    expect(r.statusCode).toBe(503)
    expect(r.headers['retry-after']).toBe('5')
    expect(r.json()).toMatchObject({ status: 'unavailable', checks: { database: { ok: true }, migrations: { ok: false, detail: `pending: ${last} (run roster migrate)` } } })
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
  })

  it('/readyz is a 503 when a background worker of the server has stopped', async () => {
    t = await startApp(base, {}, { webhooks: { intervalMs: 50 } })
    await t.app.webhookDispatcher?.stop()
    const r = await t.app.inject({ method: 'GET', url: '/readyz' })
    expect(r.statusCode).toBe(503)
    expect(r.json()).toMatchObject({ checks: { database: { ok: true }, webhookDispatcher: { ok: false, detail: 'not running' } } })
  })

  it('/readyz is a 503 while the server drains before closing, and answers close their connections', async () => {
    t = await startApp(base)
    t.app.draining = true
    const r = await t.app.inject({ method: 'GET', url: '/readyz' })
    expect(r.statusCode).toBe(503)
    expect(r.json()).toMatchObject({ checks: { shutdown: { ok: false } } })
    const users = await t.req('GET', '/Users')
    expect(users.status).toBe(200)
    expect(users.headers.connection).toBe('close')
  })
})
