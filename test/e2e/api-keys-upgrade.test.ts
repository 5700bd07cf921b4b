// API keys made before keys belonged to organizations (the schema up to migration 0006) become
// operator keys with every scope when the database is upgraded (migration 0007; docs/api.md,
// "API keys"): the same key then reads every organization's directory, events and provisioning
// log through /api/v1, on SQLite and PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import type { DatabaseConfig } from '../../src/config.ts'
import { buildApp } from '../../src/http/app.ts'
import { uuidV7Generator } from '../../src/ids.ts'
import { generateApiKey } from '../../src/orgs/api-keys.ts'
import { DEFAULT_LIMITS, type Deps } from '../../src/provisioning/deps.ts'
import { migrationsUpTo } from '../../src/store/migrations/index.ts'
import { openStore } from '../../src/store/open.ts'
import { createTestDatabase } from '../helpers/pg-database.ts'

const adminUrl = process.env.TEST_DATABASE_URL
const NOW = '2026-01-01T00:00:00.000Z'
const ORGS = [['0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a01', 'First Corp'], ['0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a02', 'Second Corp']] as const
const KEY = generateApiKey()

/** A database at migration 0006 with two organizations, a user in each, and an API key of that time. */
async function atSchema0006(db: Kysely<unknown>, kind: 'sqlite' | 'postgres'): Promise<void> {
  const { error } = await new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrationsUpTo(kind, '0006-postgres-page-indexes')) } }).migrateToLatest()
  expect(error).toBeUndefined()
  for (const [i, [id, name]] of ORGS.entries()) {
    await sql`insert into orgs (id, name, name_folded, created_at) values (${id}, ${name}, ${name.toLowerCase()}, ${NOW})`.execute(db)
    const userId = `0190a1b2-c3d4-7e5f-8a6b-0000000000${i}a`
    const userName = `user${i}@old.test`
    await sql`insert into users (org_id, id, user_name, user_name_folded, active, version, created_at, updated_at, data)
      values (${id}, ${userId}, ${userName}, ${userName}, 1, 1, ${NOW}, ${NOW}, ${JSON.stringify({ userName, active: true })})`.execute(db)
  }
  await sql`insert into api_keys (id, name, hash, prefix, created_at) values ('key-0006', 'old key', ${KEY.hash}, ${KEY.prefix}, ${NOW})`.execute(db)
}

async function expectOperatorKey(config: DatabaseConfig): Promise<void> {
  const store = await openStore(config, { migrate: true, sqliteReadWorkers: 0, poolSize: 2 })
  const deps: Deps = { store, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
  const app = await buildApp({ deps, config: { publicUrl: null, requestTimeoutMs: 20_000, logLevel: 'silent' }, webhooks: false })
  try {
    expect(await store.apiKeyByHash(KEY.hash)).toMatchObject({ id: 'key-0006', orgId: null, scopes: ['*'], expiresAt: null, revokedAt: null })
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const get = async (path: string) => {
      const r = await fetch(`${base}/api/v1${path}`, { headers: { authorization: `Bearer ${KEY.key}` } })
      return { status: r.status, json: (await r.json()) as { data?: { userName?: string }[] } }
    }
    for (const [i, [id]] of ORGS.entries()) {
      const users = await get(`/orgs/${id}/users`)
      expect(users.status).toBe(200)
      expect(users.json.data?.map((u) => u.userName)).toEqual([`user${i}@old.test`])
      expect((await get(`/orgs/${id}/events`)).status).toBe(200)
      expect((await get(`/orgs/${id}/provisioning-log`)).status).toBe(200)
    }
  } finally {
    await app.close()
    await store.close()
  }
}

describe('API keys from before migration 0007 become operator keys with every scope', () => {
  it('sqlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-keys-upgrade-'))
    const path = join(dir, 'r.db')
    try {
      const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(path) }) })
      try {
        await atSchema0006(db, 'sqlite')
      } finally {
        await db.destroy()
      }
      await expectOperatorKey({ kind: 'sqlite', path })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.skipIf(!adminUrl)('postgres', async () => {
    const t = await createTestDatabase(adminUrl as string, 'roster_keys_upgrade')
    try {
      const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: t.url, max: 1 }) }) })
      try {
        await atSchema0006(db, 'postgres')
      } finally {
        await db.destroy()
      }
      await expectOperatorKey({ kind: 'postgres', url: t.url })
    } finally {
      await t.drop()
    }
  })
})
