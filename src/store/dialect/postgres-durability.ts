// Whether the PostgreSQL server's acknowledged commits are on stable storage. Roster answers a
// write only after its COMMIT returns, which means "durable" only when the server has flushed the
// transaction's WAL by then: `synchronous_commit` at `local` or stronger, and `fsync` on
// (PostgreSQL documentation, "Write Ahead Log" settings and "Asynchronous Commit": with
// synchronous_commit=off a crash of the server loses the last transactions it acknowledged; with
// fsync=off a crash of its machine may lose or corrupt any of them).
import pg from 'pg'

/** The server cannot keep the commits it acknowledges (ROSTER_ERR_DB_NOT_DURABLE, docs/errors.md). */
export class NotDurable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'NotDurable'
  }
}

export interface DurabilitySettings {
  readonly fsync: string
  readonly synchronousCommit: string
}

export interface DurabilityPlan {
  /** Roster's sessions set synchronous_commit=on themselves (the server's or role's default is off). */
  readonly forceSynchronousCommit: boolean
  /** Said at start when the operator allowed fsync=off. */
  readonly warning: string | null
}

/**
 * What Roster does with the settings its sessions start with. A session may raise its own
 * synchronous_commit, so `off` (a server, database or role default) is overridden rather than
 * refused; `local`, `on`, `remote_write` and `remote_apply` all flush the WAL locally before the
 * COMMIT returns and are kept. fsync is the server's alone: off is refused unless allowed.
 */
export function durabilityPlan(s: DurabilitySettings, allowFsyncOff: boolean): DurabilityPlan {
  const forceSynchronousCommit = s.synchronousCommit === 'off'
  if (s.fsync === 'on') return { forceSynchronousCommit, warning: null }
  const message = 'PostgreSQL runs with fsync=off: a crash of its machine can lose or corrupt commits it has acknowledged'
  if (!allowFsyncOff) {
    throw new NotDurable(`${message}, and Roster acknowledges a write only once it is durable. Set fsync=on in postgresql.conf and reload the server; for a throwaway test database only, ROSTER_POSTGRES_ALLOW_FSYNC_OFF=1 starts anyway`)
  }
  return { forceSynchronousCommit, warning: `${message} (allowed by ROSTER_POSTGRES_ALLOW_FSYNC_OFF=1): writes acknowledged by Roster may be lost` }
}

/** Makes every connection of `pool` follow the plan (its SET runs before the pool hands the connection out: a client's queries run in order). */
export function applyDurability(pool: pg.Pool, plan: DurabilityPlan): void {
  if (plan.forceSynchronousCommit) pool.on('connect', (client) => void client.query('set synchronous_commit = on').catch(() => undefined))
}

/** The settings a new session of `url` starts with, read on a connection of its own. */
export async function readDurabilitySettings(url: string): Promise<DurabilitySettings> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  // A connection that dies while it is read: the query rejects too.
  client.on('error', () => undefined)
  await client.connect()
  try {
    const r = await client.query<{ fsync: string; sync: string }>(`select current_setting('fsync') as fsync, current_setting('synchronous_commit') as sync`)
    const row = r.rows[0]
    if (row === undefined) throw new Error('PostgreSQL returned no settings')
    return { fsync: row.fsync, synchronousCommit: row.sync }
  } finally {
    await client.end().catch(() => undefined)
  }
}
