// The PostgreSQL store: a pg connection pool under Kysely. Commits are durable: the server's
// settings are checked at open (postgres-durability.ts: fsync=off refused, synchronous_commit=off
// raised to on for Roster's sessions); the server groups concurrent commits' WAL flushes itself. Reads and writes share the pool; a write's row locks come from FOR UPDATE.
import { recordWriteBatch, registerPool, writeBatches } from '../../ops/store-stats.ts'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { KyselyStore } from '../kysely/kysely-store.ts'
import type { Conn } from '../kysely/prepared.ts'
import type { Database } from '../kysely/schema.ts'
import { observedConn, observedDriver, type StatementObserver } from '../kysely/observed.ts'
import type { StoreDriver } from '../kysely/store-driver.ts'
import { migrateToLatest } from '../migrations/index.ts'
import { withMigrationLock } from './postgres-migration-lock.ts'
import { StoreUnavailable, UniqueViolation } from '../store.ts'
import { checkDeadline, DeadlineExceeded, type Deadline } from '../deadline.ts'
import { postgresSql } from './postgres-sql.ts'
import { postgresStatements } from './postgres-statements.ts'
import { EventStamper, stampEvents } from '../kysely/event-stamper.ts'
import { applyDurability, durabilityPlan, readDurabilitySettings, type DurabilityPlan } from './postgres-durability.ts'

export interface PostgresOptions {
  readonly url: string
  readonly poolSize?: number
  /** Server-side statement timeout, under identity providers' client timeouts. */
  readonly statementTimeoutMs?: number
  readonly migrate?: boolean
  /** Start on a server with fsync=off, with a warning (ROSTER_POSTGRES_ALLOW_FSYNC_OFF). */
  readonly allowFsyncOff?: boolean
  /** Sees every statement the store executes (kysely/observed.ts; tests only). */
  readonly observe?: StatementObserver
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
  // node-postgres refuses a statement on a client whose connection died or that was closed with
  // "… is not queryable" (no SQLSTATE): the next statement of a transaction whose connection died
  // between two statements got it, and was answered 500 (postgres-errors.test.ts).
  if (UNAVAILABLE.test(code) || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection terminated|is not queryable|timeout exceeded when trying to connect/i.test(`${code} ${e.message}`)) {
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

function pgConn(client: pg.Pool | pg.PoolClient, cancels?: pg.Pool): Conn {
  return {
    async all<R>(text: string, params: readonly unknown[], deadline?: Deadline) {
      if (deadline !== undefined && client instanceof pg.Pool && cancels) return (await untilDeadline(client, cancels, query(text, params), deadline)).rows as R[]
      return (await client.query(query(text, params))).rows as R[]
    },
    async run(text: string, params: readonly unknown[]) {
      return (await client.query(query(text, params))).rowCount ?? 0
    },
  }
}

/**
 * Runs a read that stops at the request's deadline: PostgreSQL is asked to cancel it then
 * (pg_cancel_backend, from a connection of `cancels`, a pool of its own that reads exhausting the
 * main pool cannot take; the statement fails with 57014, a 503). No SET
 * statement_timeout round trip on the way, and the pool's own statement_timeout still bounds it.
 * A statement that ended with 57014 took its cancel with it; a connection that was sent a cancel
 * its statement did not take (it finished first) is closed rather than reused, so that the cancel
 * can never reach the next statement run on it.
 */
async function untilDeadline(pool: pg.Pool, cancels: pg.Pool, q: pg.QueryConfig, deadline: Deadline): Promise<pg.QueryResult> {
  checkDeadline(deadline)
  const client = await pool.connect()
  if (Date.now() >= deadline.atMs || deadline.abandoned) {
    client.release()
    throw new DeadlineExceeded()
  }
  let cancelled: Promise<unknown> | null = null
  let consumed = false
  const timer = setTimeout(() => {
    const pid = (client as unknown as { processID: number | null }).processID
    if (pid !== null) cancelled = cancels.query('select pg_cancel_backend($1)', [pid]).catch(() => undefined)
  }, Math.max(0, deadline.atMs - Date.now()))
  try {
    return await client.query(q)
  } catch (e) {
    consumed = e instanceof Error && 'code' in e && e.code === '57014'
    if (cancelled !== null) throw new DeadlineExceeded()
    throw e
  } finally {
    clearTimeout(timer)
    if (cancelled !== null) await cancelled
    client.release(cancelled !== null && !consumed)
  }
}

/** Deadlocks and serialization failures are retried: the work is re-run from the start. */
const RETRYABLE = new Set(['40P01', '40001'])

/**
 * How long a COMMIT whose connection died is looked up (txid_status) before it is given up as
 * unknown (and answered 503, as before): a crashed PostgreSQL that restarts within it is asked.
 */
const IN_DOUBT_MS = 5_000

/**
 * Whether transaction `xid`, whose COMMIT was sent on a connection that died before its answer,
 * committed: asked on another connection with txid_status (PostgreSQL documentation, "Transaction
 * ID and Snapshot Information Functions": meant for exactly this), again while PostgreSQL is
 * unreachable or recovering, for up to IN_DOUBT_MS. A server that crashed counts a transaction
 * whose commit record did not reach its WAL as aborted; null when it never answered.
 */
async function commitOutcome(pool: pg.Pool, xid: string): Promise<'committed' | 'aborted' | null> {
  const until = Date.now() + IN_DOUBT_MS
  while (Date.now() < until) {
    try {
      const r = await pool.query<{ s: string | null }>('select txid_status($1::bigint) as s', [xid])
      const s = r.rows[0]?.s
      if (s === 'committed') return 'committed'
      if (s === 'aborted') return 'aborted'
      if (s === null || s === undefined) return null
      // 'in progress': the old session has not ended its COMMIT yet.
    } catch {
      // Unreachable, or still in recovery: ask again.
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return null
}

async function transaction<T>(pool: pg.Pool, fn: (conn: Conn) => Promise<T>, deadline?: Deadline): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    // Waiting for a connection may take the request's time: then nothing begins.
    checkDeadline(deadline)
    const client = await pool.connect()
    let broken: Error | undefined
    // A checked-out client whose server connection dies emits 'error' on itself (the pool only
    // listens on idle ones): the failing query rejects too, so the event itself needs no handling.
    const ignore = (): void => undefined
    client.on('error', ignore)
    let xid: string | null = null
    try {
      const started = performance.now()
      // The transaction's id comes with its BEGIN (one round trip): a COMMIT whose answer is lost
      // is then looked up by it rather than answered 503 for a change that may have committed.
      const begun = (await client.query('begin; select txid_current()::text as xid')) as unknown as pg.QueryResult<{ xid: string }>[]
      xid = begun[1]?.rows[0]?.xid ?? null
      const value = await fn(pgConn(client))
      // Past the deadline the work rolls back (the client was answered 503); once the commit is
      // sent the request waits for it, so no client is told 503 about a change that commits.
      checkDeadline(deadline)
      if (deadline !== undefined) deadline.committing = true
      try {
        await client.query('commit')
      } catch (e) {
        // The connection died with the COMMIT on it: committed or not, PostgreSQL knows.
        const code = e instanceof Error && 'code' in e ? String(e.code) : ''
        if (xid === null || RETRYABLE.has(code) || !(mapPostgresError(e) instanceof StoreUnavailable)) throw e
        broken = e as Error
        if ((await commitOutcome(pool, xid)) !== 'committed') throw e
      }
      recordWriteBatch(1, (performance.now() - started) / 1000)
      return value
    } catch (e) {
      await client.query('rollback').catch((err: unknown) => {
        broken = err instanceof Error ? err : new Error(String(err))
      })
      const code = e instanceof Error && 'code' in e ? String(e.code) : ''
      if (!RETRYABLE.has(code) || attempt >= 3) throw e
      writeBatches.retried++
    } finally {
      client.off('error', ignore)
      client.release(broken)
    }
  }
}

/**
 * Applies the pending migrations on a connection of their own, with no statement_timeout: a
 * migration of a large database (an index built over the provisioning log) outlasts a request's
 * bound, and so may its wait for the locks of a killed migration's session, which PostgreSQL
 * ends only once its statement is done. Under the pool's timeout such a start failed every time:
 * a server that could not start (docs/architecture.md DUR-12).
 */
async function migrate(url: string, durability: DurabilityPlan): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 5_000 })
  pool.on('error', () => undefined)
  // Sent first on the connection (a client runs its queries in order), also over a database or role default.
  pool.on('connect', (client) => void client.query('set statement_timeout = 0').catch(() => undefined))
  applyDurability(pool, durability)
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) })
  try {
    await migrateToLatest(db, 'postgres')
  } finally {
    await db.destroy()
  }
}

export async function openPostgresStore(opts: PostgresOptions): Promise<KyselyStore> {
  const durability = durabilityPlan(await readDurabilitySettings(opts.url), opts.allowFsyncOff === true)
  if (durability.warning !== null) process.emitWarning(durability.warning, { code: 'ROSTER_DB_NOT_DURABLE' })
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 16,
    statement_timeout: opts.statementTimeoutMs ?? 20_000,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  })
  // An idle client that loses its connection emits 'error' on the pool; the pool replaces it.
  pool.on('error', () => undefined)
  applyDurability(pool, durability)
  const unregister = registerPool('postgres', () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }))
  // Cancels of reads past their deadline (untilDeadline); connects only when one is needed.
  const cancels = new pg.Pool({ connectionString: opts.url, max: 2, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 10_000 })
  cancels.on('error', () => undefined)
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (e) {
      throw mapPostgresError(e)
    }
  }
  if (opts.migrate !== false) await guard(() => withMigrationLock(opts.url, () => migrate(opts.url, durability)))
  const poolConn = pgConn(pool, cancels)
  const { observe } = opts
  const stamp = observe ? (conn: Conn) => stampEvents(observedConn(conn, 'writer', observe)) : stampEvents
  const eventStamper = new EventStamper(() => guard(() => transaction(pool, stamp)))
  const driver: StoreDriver = {
    eventStamper,
    kind: 'postgres',
    sql: postgresSql,
    builder: db,
    // One pool for both: every list page goes the scanner's way (within the organization's slots,
    // stopped at the request's deadline); a read without a deadline is a plain pool query.
    reader: poolConn,
    scanner: poolConn,
    // A quarter of the pool (at least one) for one organization's scans: the rest serve the others
    // (a cancelled scan's connection is replaced, which takes a moment of its own).
    scanSlotsPerOrg: Math.max(1, Math.floor((opts.poolSize ?? 16) / 4)),
    lockRows: true,
    statements: postgresStatements(db),
    transaction: (fn, o) => guard(() => transaction(pool, fn, o?.deadline)),
    read: guard,
    close: async () => {
      unregister()
      await db.destroy()
      // Kysely ends the pool only once it has used it itself (for the migrations): a store opened
      // with migrate: false (roster migrate --dry-run) kept a connection open for
      // idleTimeoutMillis, and its process alive 30 s after it had answered.
      if (!pool.ending) await pool.end()
      await cancels.end()
    },
  }
  return new KyselyStore(observe ? observedDriver(driver, observe) : driver)
}
