// A database at an older schema holding enough rows that the migrations after it take a
// noticeable time, on a SQLite file and on PostgreSQL, for the tests that kill a process during
// a migration (docs/architecture.md DUR-12). The schema is the one `migrationsUpTo` left; the
// rows are written in that schema's form, in SQL, so that building them is quick: users,
// groups with many members each (SQLite's 0005 rebuilds the membership table, 0007 counts every
// group's members) and provisioning-log rows (0014 indexes them). Ids are canonical UUIDs, as
// src/ids.ts makes them (0005 turns each into a 16-byte key). Also what a test checks afterwards:
// the applied migrations, the schema, the row counts.
import { copyFileSync } from 'node:fs'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Migration } from 'kysely'
import pg from 'pg'
import { generateToken } from '../../../src/orgs/tokens.ts'
import { MIGRATION_LOCK_KEY } from '../../../src/store/dialect/postgres-migration-lock.ts'
import { migrationsUpTo } from '../../../src/store/migrations/index.ts'

/** The last migration the old database has: every later one (0005–) is pending. */
export const OLD_LAST = '0004-provisioning-log'
export const ORG_ID = '0190a1b2-c3d4-7e5f-8a6b-0000000000aa'
const NOW = '2026-01-01T00:00:00.000Z'

export interface Size {
  readonly users: number
  readonly groups: number
  readonly membersPerGroup: number
  readonly logRows: number
}

/** The i-th user's, group's or log row's id: a canonical UUID (src/ids.ts's shape). */
export const userId = (i: number): string => `0190a1b2-c3d4-7e5f-8a6b-${i.toString(16).padStart(12, '0')}`
export const groupId = (g: number): string => `0190a1b2-c3d4-7e5f-8a6c-${g.toString(16).padStart(12, '0')}`
export const userName = (i: number): string => `user${i}@kill.test`
/** The groups user `i` is a member of: group g holds users g·STRIDE … g·STRIDE + membersPerGroup − 1 (mod users). */
const STRIDE = 457
export const groupsOf = (i: number, s: Size): number[] =>
  Array.from({ length: s.groups }, (_, g) => g).filter((g) => (((i - g * STRIDE) % s.users) + s.users) % s.users < s.membersPerGroup)

export interface Counts {
  readonly users: number
  readonly groups: number
  readonly memberships: number
  readonly logRows: number
  /** Groups whose stored member count (0007) is not their number of membership rows. */
  readonly wrongMemberCounts: number
}

export const expectedCounts = (s: Size): Counts => ({ users: s.users, groups: s.groups, memberships: s.groups * s.membersPerGroup, logRows: s.logRows, wrongMemberCounts: 0 })

/** What a test needs of a database of either kind. */
export interface Target {
  readonly url: string
  /** An identical copy of this database (for a measuring run, or another scenario). */
  copy(): Promise<Target>
  /** Whether a process holds the migration's lock now (SQLite: the write lock; PostgreSQL: the advisory lock). */
  lockHeld(): Promise<boolean>
  /** The kysely_migration rows' names, in their order of application (name order: they are numbered). */
  applied(): Promise<string[]>
  /** The schema as text to compare with a fresh database's. */
  schema(): Promise<string>
  counts(): Promise<Counts>
  /** SQLite's `PRAGMA integrity_check` (and `foreign_key_check`); PostgreSQL: ['ok']. */
  integrity(): Promise<string[]>
  drop(): Promise<void>
}

async function migrateUpTo(db: Kysely<unknown>, kind: 'sqlite' | 'postgres'): Promise<void> {
  const migrations: Record<string, Migration> = migrationsUpTo(kind, OLD_LAST)
  const { error } = await new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrations) } }).migrateToLatest()
  if (error) throw error
}

// ---- SQLite

/** The old database at `path`, with a SCIM token whose secret is returned. */
export async function buildSqlite(path: string, s: Size): Promise<{ target: Target; token: string }> {
  const raw = new BetterSqlite3(path)
  raw.pragma('journal_mode = WAL')
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) })
  await migrateUpTo(db, 'sqlite')
  const token = generateToken()
  raw.transaction(() => {
    raw.prepare('insert into orgs (id, name, name_folded, created_at) values (?, ?, ?, ?)').run(ORG_ID, 'Kill Corp', 'kill corp', NOW)
    raw.prepare('insert into scim_tokens (org_id, id, hash, prefix, created_at) values (?, ?, ?, ?, ?)').run(ORG_ID, 'token-1', token.hash, token.prefix, NOW)
    const seq = (n: number) => `with recursive n(i) as (select 0 union all select i + 1 from n where i < ${n - 1})`
    const uid = (e: string) => `printf('0190a1b2-c3d4-7e5f-8a6b-%012x', ${e})`
    raw.exec(`${seq(s.users)} insert into users (org_id, id, user_name, user_name_folded, active, version, created_at, updated_at, data)
      select '${ORG_ID}', ${uid('i')}, 'user' || i || '@kill.test', 'user' || i || '@kill.test', 1, 1, '${NOW}', '${NOW}',
        json_object('userName', 'user' || i || '@kill.test', 'active', json('true')) from n`)
    raw.exec(`${seq(s.groups)} insert into groups (org_id, id, display_name, display_name_folded, version, created_at, updated_at, data)
      select '${ORG_ID}', printf('0190a1b2-c3d4-7e5f-8a6c-%012x', i), 'Group ' || i, 'group ' || i, 1, '${NOW}', '${NOW}', json_object('displayName', 'Group ' || i) from n`)
    for (let g = 0; g < s.groups; g++) {
      raw.exec(`${seq(s.membersPerGroup)} insert into group_members (org_id, group_id, member_id, member_type)
        select '${ORG_ID}', '${groupId(g)}', ${uid(`(i + ${g * STRIDE}) % ${s.users}`)}, 'User' from n`)
    }
    raw.exec(`${seq(s.logRows)} insert into provisioning_log (org_id, id, at, request_id, identity_provider, method, path, resource_type, resource_id, status, duration_us)
      select '${ORG_ID}', printf('0190a1b2-c3d4-7e5f-8a6d-%012x', i), '${NOW}', 'req-' || i, 'entra', 'GET', '/scim/v2/Users', 'User', ${uid(`i % ${s.users}`)}, 200, 100 from n`)
  })()
  await db.destroy()
  return { target: sqliteTarget(path), token: token.token }
}

export function sqliteTarget(path: string): Target {
  let probe: BetterSqlite3.Database | null = null
  const read = <T>(fn: (d: BetterSqlite3.Database) => T): T => {
    const d = new BetterSqlite3(path, { readonly: true })
    try {
      return fn(d)
    } finally {
      d.close()
    }
  }
  return {
    url: `sqlite:${path}`,
    async copy() {
      const to = path.replace(/\.db$/, `-${Math.random().toString(36).slice(2, 8)}.db`)
      // The file alone: the builder closed its connection, which checkpointed and removed the WAL.
      copyFileSync(path, to)
      return sqliteTarget(to)
    },
    async lockHeld() {
      // BEGIN IMMEDIATE takes the write lock or, with no busy wait, fails at once while another
      // connection holds it: a migrating process holds it from its first statement to its COMMIT.
      probe ??= new BetterSqlite3(path, { timeout: 0 })
      try {
        probe.exec('BEGIN IMMEDIATE')
        probe.exec('ROLLBACK')
        return false
      } catch (e) {
        if ((e as { code?: string }).code === 'SQLITE_BUSY') return true
        throw e
      }
    },
    async applied() {
      return read((d) => (d.prepare('select name from kysely_migration order by name').all() as { name: string }[]).map((r) => r.name))
    },
    async schema() {
      return read((d) => JSON.stringify({
        objects: d.prepare("select type, name, tbl_name, sql from sqlite_schema where name not like 'kysely_%' order by type, name").all(),
        stats: d.prepare('select tbl, idx, stat from sqlite_stat1 order by tbl, idx').all(),
      }, null, 1))
    },
    async counts() {
      return read((d) => {
        const n = (q: string) => (d.prepare(q).get() as { n: number }).n
        return {
          users: n('select count(*) as n from users'),
          groups: n('select count(*) as n from groups'),
          memberships: n('select count(*) as n from group_members'),
          logRows: n('select count(*) as n from provisioning_log'),
          wrongMemberCounts: n(`select count(*) as n from groups g where member_count <>
            (select count(*) from group_members m where m.org_id = unhex(g.org_id, '-') and m.group_id = unhex(g.id, '-'))`),
        }
      })
    },
    async integrity() {
      return read((d) => [
        ...(d.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check),
        ...(d.pragma('foreign_key_check') as unknown[]).map((r) => JSON.stringify(r)),
      ])
    },
    async drop() {
      probe?.close()
      probe = null
    },
  }
}

// ---- PostgreSQL

async function onDb<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

const dbUrl = (adminUrl: string, name: string): string => {
  const u = new URL(adminUrl)
  u.pathname = `/${name}`
  return u.toString()
}

/** The old database as a new database `name` on the cluster of `adminUrl`, with a SCIM token whose secret is returned. */
export async function buildPostgres(adminUrl: string, name: string, s: Size): Promise<{ target: Target; token: string }> {
  await onDb(adminUrl, (c) => c.query(`create database ${name}`))
  const url = dbUrl(adminUrl, name)
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) })
  await migrateUpTo(db, 'postgres')
  await db.destroy()
  const token = generateToken()
  await onDb(url, async (c) => {
    const uid = (e: string) => `'0190a1b2-c3d4-7e5f-8a6b-' || lpad(to_hex(${e}), 12, '0')`
    await c.query('begin')
    await c.query('insert into orgs (id, name, name_folded, created_at) values ($1, $2, $3, $4)', [ORG_ID, 'Kill Corp', 'kill corp', NOW])
    await c.query('insert into scim_tokens (org_id, id, hash, prefix, created_at) values ($1, $2, $3, $4, $5)', [ORG_ID, 'token-1', token.hash, token.prefix, NOW])
    await c.query(`insert into users (org_id, id, user_name, user_name_folded, active, version, created_at, updated_at, data)
      select '${ORG_ID}', ${uid('i')}, 'user' || i || '@kill.test', 'user' || i || '@kill.test', 1, 1, '${NOW}', '${NOW}',
        jsonb_build_object('userName', 'user' || i || '@kill.test', 'active', true) from generate_series(0, ${s.users - 1}) i`)
    await c.query(`insert into groups (org_id, id, display_name, display_name_folded, version, created_at, updated_at, data)
      select '${ORG_ID}', '0190a1b2-c3d4-7e5f-8a6c-' || lpad(to_hex(i), 12, '0'), 'Group ' || i, 'group ' || i, 1, '${NOW}', '${NOW}',
        jsonb_build_object('displayName', 'Group ' || i) from generate_series(0, ${s.groups - 1}) i`)
    await c.query(`insert into group_members (org_id, group_id, member_id, member_type)
      select '${ORG_ID}', '0190a1b2-c3d4-7e5f-8a6c-' || lpad(to_hex(g), 12, '0'), ${uid(`(i + g * ${STRIDE}) % ${s.users}`)}, 'User'
      from generate_series(0, ${s.groups - 1}) g, generate_series(0, ${s.membersPerGroup - 1}) i`)
    await c.query(`insert into provisioning_log (org_id, id, at, request_id, identity_provider, method, path, resource_type, resource_id, status, duration_us)
      select '${ORG_ID}', '0190a1b2-c3d4-7e5f-8a6d-' || lpad(to_hex(i), 12, '0'), '${NOW}', 'req-' || i, 'entra', 'GET', '/scim/v2/Users', 'User', ${uid(`i % ${s.users}`)}, 200, 100
      from generate_series(0, ${s.logRows - 1}) i`)
    await c.query('commit')
    await c.query('analyze')
  })
  return { target: postgresTarget(adminUrl, name), token: token.token }
}

/** An empty database `name` (for a server to migrate from nothing). */
export async function emptyPostgres(adminUrl: string, name: string): Promise<Target> {
  await onDb(adminUrl, (c) => c.query(`create database ${name}`))
  return postgresTarget(adminUrl, name)
}

export function postgresTarget(adminUrl: string, name: string): Target {
  const url = dbUrl(adminUrl, name)
  let probe: pg.Client | null = null
  return {
    url,
    async copy() {
      const to = `${name.slice(0, 40)}_${Math.random().toString(36).slice(2, 8)}`
      // A template must have no session open. Copied file by file (PostgreSQL 15's default writes
      // the whole copy to the WAL instead, several times slower for a database of this size).
      await onDb(adminUrl, (c) => c.query(`create database ${to} template ${name} strategy = file_copy`))
      return postgresTarget(adminUrl, to)
    },
    async lockHeld() {
      if (probe === null) {
        probe = new pg.Client({ connectionString: adminUrl })
        probe.on('error', () => undefined)
        await probe.connect()
      }
      // A bigint advisory key is pg_locks' classid (high 32 bits) and objid (low 32 bits), objsubid 1.
      const r = await probe.query<{ n: number }>(`select count(*)::int as n from pg_locks l join pg_database d on d.oid = l.database
        where d.datname = $1 and l.locktype = 'advisory' and l.granted and l.objsubid = 1 and ((l.classid::bigint << 32) | l.objid::bigint) = $2::bigint`, [name, MIGRATION_LOCK_KEY])
      return (r.rows[0]?.n ?? 0) > 0
    },
    async applied() {
      return onDb(url, async (c) => (await c.query<{ name: string }>('select name from kysely_migration order by name')).rows.map((r) => r.name))
    },
    async schema() {
      return onDb(url, async (c) => JSON.stringify({
        columns: (await c.query(`select table_name, column_name, ordinal_position, data_type, is_nullable, column_default, collation_name
          from information_schema.columns where table_schema = 'public' and table_name not like 'kysely_%' order by table_name, ordinal_position`)).rows,
        indexes: (await c.query("select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' and tablename not like 'kysely_%' order by tablename, indexname")).rows,
      }, null, 1))
    },
    async counts() {
      return onDb(url, async (c) => {
        const n = async (q: string) => (await c.query<{ n: number }>(q)).rows[0]?.n ?? -1
        return {
          users: await n('select count(*)::int as n from users'),
          groups: await n('select count(*)::int as n from groups'),
          memberships: await n('select count(*)::int as n from group_members'),
          logRows: await n('select count(*)::int as n from provisioning_log'),
          wrongMemberCounts: await n(`select count(*)::int as n from groups g where member_count <>
            (select count(*) from group_members m where m.org_id = g.org_id and m.group_id = g.id)`),
        }
      })
    },
    async integrity() {
      return ['ok']
    },
    async drop() {
      await probe?.end().catch(() => undefined)
      probe = null
      await onDb(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`))
    },
  }
}
