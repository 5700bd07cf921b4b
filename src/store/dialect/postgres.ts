// The PostgreSQL store: a pg connection pool under Kysely. Commits are durable with
// synchronous_commit=on (PostgreSQL's default); the server groups concurrent commits' WAL
// flushes itself. Reads and writes share the pool; a write's row locks come from FOR UPDATE.
import { recordWriteBatch, registerPool } from '../../ops/store-stats.ts'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { KyselyStore } from '../kysely/kysely-store.ts'
import type { Conn } from '../kysely/prepared.ts'
import type { Database } from '../kysely/schema.ts'
import type { StoreDriver } from '../kysely/store-driver.ts'
import { migrateToLatest } from '../migrations/index.ts'
import { withMigrationLock } from './postgres-migration-lock.ts'
import { StoreUnavailable, UniqueViolation } from '../store.ts'
import { postgresSql } from './postgres-sql.ts'
import { postgresStatements } from './postgres-statements.ts'
import { EventStamper, stampEvents } from '../kysely/event-stamper.ts'

export interface PostgresOptions {
  readonly url: string
  readonly poolSize?: number
  /** Server-side statement timeout, under identity providers' client timeouts. */
  readonly statementTimeoutMs?: number
  readonly migrate?: boolean
}

/** SQLSTATE classes that mean "the database cannot serve now", not "the request is wrong". */
const UNAVAILABLE = /^(08|53|57|58)|^40001$|^40P01$|^55P03$/

export function mapPostgresError(e: unknown): unknown {
  if (!(e instanceof Error)) return e
  const code = 'code' in e && typeof e.code === 'string' ? e.code : ''
  if (code === '23505') {
    const c = 'constraint' in e && typeof e.constraint === 'string' ? e.constraint : ''
    const what = c === 'users_user_name' ? 'userName' : c === 'groups_display_name' ? 'displayName' : c === 'orgs_name_folded_key' ? 'org' : 'other'
    return new UniqueViolation(what, { cause: e })
  }
  if (UNAVAILABLE.test(code) || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection terminated|timeout exceeded when trying to connect/i.test(`${code} ${e.message}`)) {
    return new StoreUnavailable(`database unavailable (${code || e.message})`, { cause: e })
  }
  return e
}

/** Most statement texts given a name; beyond it (filter shapes without end), statements run unnamed. */
const MAX_NAMED = 2_000
const names = new Map<string, string>()

/**
 * A statement with a name is parsed once per connection and its plan can be kept (the
 * connection remembers the names it prepared); an unnamed one is parsed and planned on every
 * call. The store's statements are fixed texts and list queries one text per filter shape.
 */
function query(text: string, params: readonly unknown[]): pg.QueryConfig {
  let name = names.get(text)
  if (name === undefined && names.size < MAX_NAMED) {
    name = `roster_${names.size}`
    names.set(text, name)
  }
  return { name, text, values: params as unknown[] }
}

function pgConn(client: pg.Pool | pg.PoolClient): Conn {
  return {
    async all<R>(text: string, params: readonly unknown[]) {
      return (await client.query(query(text, params))).rows as R[]
    },
    async run(text: string, params: readonly unknown[]) {
      return (await client.query(query(text, params))).rowCount ?? 0
    },
  }
}

/** Deadlocks and serialization failures are retried: the work is re-run from the start. */
const RETRYABLE = new Set(['40P01', '40001'])

async function transaction<T>(pool: pg.Pool, fn: (conn: Conn) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect()
    let broken: Error | undefined
    // A checked-out client whose server connection dies emits 'error' on itself (the pool only
    // listens on idle ones): the failing query rejects too, so the event itself needs no handling.
    const ignore = (): void => undefined
    client.on('error', ignore)
    try {
      const started = performance.now()
      await client.query('begin')
      const value = await fn(pgConn(client))
      await client.query('commit')
      recordWriteBatch(1, (performance.now() - started) / 1000)
      return value
    } catch (e) {
      await client.query('rollback').catch((err: unknown) => {
        broken = err instanceof Error ? err : new Error(String(err))
      })
      const code = e instanceof Error && 'code' in e ? String(e.code) : ''
      if (!RETRYABLE.has(code) || attempt >= 3) throw e
    } finally {
      client.off('error', ignore)
      client.release(broken)
    }
  }
}

export async function openPostgresStore(opts: PostgresOptions): Promise<KyselyStore> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 16,
    statement_timeout: opts.statementTimeoutMs ?? 20_000,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  })
  // An idle client that loses its connection emits 'error' on the pool; the pool replaces it.
  pool.on('error', () => undefined)
  const unregister = registerPool('postgres', () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }))
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (e) {
      throw mapPostgresError(e)
    }
  }
  if (opts.migrate !== false) await guard(() => withMigrationLock(opts.url, () => migrateToLatest(db as Kysely<unknown>, 'postgres')))
  const eventStamper = new EventStamper(() => guard(() => transaction(pool, stampEvents)))
  const driver: StoreDriver = {
    eventStamper,
    kind: 'postgres',
    sql: postgresSql,
    builder: db,
    reader: pgConn(pool),
    scanner: pgConn(pool),
    lockRows: true,
    statements: postgresStatements(db),
    transaction: (fn) => guard(() => transaction(pool, fn)),
    read: guard,
    close: () => {
      unregister()
      return db.destroy()
    },
  }
  return new KyselyStore(driver)
}
