// On SQLite the writer's COMMIT does not wait for the disk: the WAL is fsynced off the event loop
// (src/store/dialect/sqlite-wal-sync.ts). These tests hold the disk's answer back and check the
// rule that replaces synchronous=FULL: no answer, to the writer or to anyone reading, shows a
// change before an fsync has made it durable; a disk that refuses is a 503 with Retry-After.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/http/app.ts'
import { DEFAULT_LIMITS, type Deps } from '../../src/provisioning/deps.ts'
import { createOrg } from '../../src/provisioning/orgs.ts'
import { openSqliteStore } from '../../src/store/dialect/sqlite.ts'
import type { SyncFile } from '../../src/store/dialect/sqlite-wal-sync.ts'
import type { FastifyInstance } from 'fastify'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'

describe('answers wait for the disk on sqlite', () => {
  let dir = ''
  let app: FastifyInstance
  let token = ''
  let close: () => Promise<void>
  // The disk: answers at once unless held; when held, each fsync waits for the test.
  let held = false
  let refuse = false
  const waiting: ((err: NodeJS.ErrnoException | null) => void)[] = []
  const syncFile: SyncFile = (_fd, done) => {
    if (!held) return void setImmediate(() => done(null))
    waiting.push(done)
  }
  const release = () => {
    for (const done of waiting.splice(0)) done(refuse ? Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }) : null)
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roster-durable-'))
    const store = await openSqliteStore({ path: join(dir, 'r.db'), syncFile })
    const deps: Deps = { store, now: () => new Date(), newId: randomUUID, limits: DEFAULT_LIMITS }
    token = (await createOrg(deps, 'durable', [])).token
    app = await buildApp({ deps, config: { publicUrl: null, requestTimeoutMs: 20_000, logLevel: 'silent' } })
    close = async () => {
      held = false
      release()
      await app.close()
      await store.close()
    }
  })
  afterAll(async () => {
    await close()
    rmSync(dir, { recursive: true, force: true })
  })

  const headers = () => ({ authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' })
  const create = (userName: string) => app.inject({ method: 'POST', url: '/scim/v2/Users', headers: headers(), payload: JSON.stringify({ schemas: [USER], userName }) })
  const settledWithin = async <T>(p: Promise<T>, turns: number): Promise<boolean> => {
    let done = false
    void p.finally(() => (done = true)).catch(() => {})
    for (let i = 0; i < turns && !done; i++) await new Promise((r) => setTimeout(r, 5))
    return done
  }

  it('a create is answered only after the fsync, and a read that sees it waits for the same fsync', async () => {
    held = true
    const created = create('held@example.com')
    // Other commits (the token's last use) may come first: their fsyncs are let through one at
    // a time until the create's COMMIT has happened (another connection sees the row). Its own
    // fsync is then held: no answer leaves before the disk has it.
    const other = new BetterSqlite3(join(dir, 'r.db'), { readonly: true })
    const visible = () => other.prepare("select count(*) as n from users where user_name = 'held@example.com'").get() as { n: number }
    for (let i = 0; i < 400 && visible().n === 0; i++) {
      if (waiting.length > 0) (waiting.shift() as (err: null) => void)(null)
      await new Promise((r) => setTimeout(r, 5))
    }
    other.close()
    for (let i = 0; i < 100 && waiting.length === 0; i++) await new Promise((r) => setTimeout(r, 5))
    expect(waiting.length).toBeGreaterThan(0)
    const listed = app.inject({ method: 'GET', url: '/scim/v2/Users?filter=userName eq "held@example.com"', headers: headers() })
    expect(await settledWithin(created, 20)).toBe(false)
    expect(await settledWithin(listed, 20)).toBe(false)
    held = false
    release()
    expect((await created).statusCode).toBe(201)
    const list = await listed
    expect(list.statusCode).toBe(200)
    expect(JSON.parse(list.body).totalResults).toBe(1)
  })

  it('a disk that refuses the fsync is a 503 with Retry-After, and the next write succeeds', async () => {
    held = true
    refuse = true
    const refused = create('refused@example.com')
    for (let i = 0; i < 100 && waiting.length === 0; i++) await new Promise((r) => setTimeout(r, 5))
    release()
    const r = await refused
    expect(r.statusCode).toBe(503)
    expect(r.headers['retry-after']).toBeDefined()
    expect(JSON.parse(r.body)).toMatchObject({ status: '503' })
    held = false
    refuse = false
    release()
    expect((await create('after@example.com')).statusCode).toBe(201)
  })
})
