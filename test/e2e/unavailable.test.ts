// A database that cannot serve is 503 with Retry-After, never a 401 or a 500 (docs/architecture.md,
// durability and availability rules: Entra ID quarantines jobs whose calls keep failing).
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
import type { FastifyInstance } from 'fastify'

describe('database unavailable on sqlite', () => {
  let dir = ''
  let app: FastifyInstance
  let token = ''
  let close: () => Promise<void>
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'roster-lock-'))
    const store = await openSqliteStore({ path: join(dir, 'r.db'), busyTimeoutMs: 50 })
    const deps: Deps = { store, now: () => new Date(), newId: randomUUID, limits: DEFAULT_LIMITS }
    token = (await createOrg(deps, 'locked', [])).token
    app = await buildApp({ deps, config: { publicUrl: null, requestTimeoutMs: 20_000, logLevel: 'silent' } })
    close = async () => {
      await app.close()
      await store.close()
    }
  })
  afterAll(async () => {
    await close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('a write while another process holds the write lock is 503 with Retry-After; reads still work; it recovers', async () => {
    const other = new BetterSqlite3(join(dir, 'r.db'))
    other.exec('BEGIN IMMEDIATE')
    const body = JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'locked@example.com' })
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }
    const r = await app.inject({ method: 'POST', url: '/scim/v2/Users', headers, payload: body })
    expect(r.statusCode).toBe(503)
    expect(r.headers['retry-after']).toBe('5')
    expect(JSON.parse(r.body)).toMatchObject({ status: '503' })
    const read = await app.inject({ method: 'GET', url: '/scim/v2/Users', headers })
    expect(read.statusCode).toBe(200)
    other.exec('ROLLBACK')
    other.close()
    const again = await app.inject({ method: 'POST', url: '/scim/v2/Users', headers, payload: body })
    expect(again.statusCode).toBe(201)
  })
})
