// `roster migrate --dry-run` lists what would run and changes nothing; several servers
// migrating one new PostgreSQL database at once apply each migration exactly once.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { migrationNames } from '../../src/store/migrations/index.ts'
import { BIN } from '../helpers/spawned-server.ts'

const run = promisify(execFile)
const adminUrl = process.env.TEST_DATABASE_URL
const roster = async (env: NodeJS.ProcessEnv, ...args: string[]) => (await run('node', [BIN, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } })).stdout
type Plan = { applied: string[]; pending: string[]; unknown: string[] }

describe('roster migrate --dry-run (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-migrate-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('lists every migration for a new database without creating it, then only what is missing', async () => {
    const file = join(dir, 'r.db')
    const env = { ROSTER_DATABASE_URL: `sqlite:${file}` }
    expect(JSON.parse(await roster(env, 'migrate', '--dry-run', '--json'))).toEqual({ applied: [], pending: migrationNames(), unknown: [] })
    expect(existsSync(file)).toBe(false)
    await roster(env, 'migrate')
    expect(await roster(env, 'migrate', '--dry-run')).toBe('Database is up to date: nothing to apply.\n')
    const last = migrationNames().at(-1) as string
    const db = new BetterSqlite3(file)
    db.prepare('delete from kysely_migration where name = ?').run(last)
    db.close()
    expect(await roster(env, 'migrate', '--dry-run')).toBe(`Would apply 1 migration:\n  ${last}\n`)
    // Still missing: the dry run applied nothing.
    expect((JSON.parse(await roster(env, 'migrate', '--dry-run', '--json')) as Plan).pending).toEqual([last])
  })
})

describe.skipIf(!adminUrl)('migrations on PostgreSQL', () => {
  const names: string[] = []
  const database = async () => {
    const name = `roster_migrate_${randomBytes(5).toString('hex')}`
    names.push(name)
    const admin = new pg.Client({ connectionString: adminUrl })
    await admin.connect()
    await admin.query(`create database ${name}`)
    await admin.end()
    const u = new URL(adminUrl as string)
    u.pathname = `/${name}`
    return u.toString()
  }
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: adminUrl })
    await admin.connect()
    for (const n of names) await admin.query(`drop database if exists ${n} with (force)`)
    await admin.end()
  })

  it('--dry-run lists every migration of a new database and creates nothing', async () => {
    const url = await database()
    expect(JSON.parse(await roster({ ROSTER_DATABASE_URL: url }, 'migrate', '--dry-run', '--json'))).toEqual({ applied: [], pending: migrationNames(), unknown: [] })
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    const tables = await c.query("select count(*)::int as n from information_schema.tables where table_schema = 'public'")
    await c.end()
    expect(tables.rows[0]).toEqual({ n: 0 })
  })

  it('three processes migrating a new database at once: none fails, each migration applied once', { timeout: 60_000 }, async () => {
    const url = await database()
    const results = await Promise.allSettled(Array.from({ length: 3 }, () => roster({ ROSTER_DATABASE_URL: url }, 'migrate', '--json')))
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([])
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    const rows = await c.query<{ name: string; n: number }>('select name, count(*)::int as n from kysely_migration group by name order by name')
    await c.end()
    expect(rows.rows).toEqual(migrationNames().map((name) => ({ name, n: 1 })))
    // The dry run on a migrated database exits once it has answered: it kept a pool connection
    // open, and so its process alive, for the pool's 30 s idle timeout (killed here after 10 s).
    const dry = await run('node', [BIN, 'migrate', '--dry-run', '--json'], { env: { ...process.env, LOG_LEVEL: 'warn', ROSTER_DATABASE_URL: url }, timeout: 10_000 })
    expect(JSON.parse(dry.stdout)).toMatchObject({ pending: [] })
  })
})
