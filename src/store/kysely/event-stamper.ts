// Gives committed events their feed positions on PostgreSQL (migration 0007). A position taken
// inside the writing transaction is not commit order: a transaction that took 11 can commit
// before the one that took 10, and a reader that saw 11 and stored it would never see 10.
// Instead rows are written without a position and stamped after they commit, oldest first, by
// one stamper at a time across every server (a transaction-scoped advisory lock): a stamping
// pass starts after the previous one committed, so any reader that sees a position sees every
// smaller one, and an event of a transaction still running is stamped by a later pass with a
// larger position. Each server stamps right after its own commits that wrote events and on an
// interval (events other servers or the CLI wrote, a pass that failed).
import type { Conn } from './prepared.ts'

/** Most events one pass stamps; a full pass runs again at once. */
export const STAMP_BATCH = 10_000
/** pg_advisory_xact_lock key of the stampers ("roster events" as a 64-bit number). */
const LOCK_KEY = '7237954093846311283'

/** One stamping pass in the transaction `conn`; returns how many events it stamped. */
export async function stampEvents(conn: Conn): Promise<number> {
  await conn.all('select pg_advisory_xact_lock($1::bigint)', [LOCK_KEY])
  const rows = await conn.all<{ seq: string; count: number }>('select seq, count from events where position is null order by seq limit $1', [STAMP_BATCH])
  if (rows.length === 0) return 0
  // A row of n events takes n positions.
  const total = rows.reduce((n, r) => n + Number(r.count), 0)
  const [counter] = await conn.all<{ last: string }>('update event_positions set last = last + $1 where id = 1 returning last', [total])
  let next = BigInt(counter?.last ?? '0') - BigInt(total) + 1n
  const positions: string[] = []
  for (const r of rows) {
    positions.push(next.toString())
    next += BigInt(r.count)
  }
  await conn.run('update events e set position = r.position from unnest($1::bigint[], $2::bigint[]) as r(seq, position) where e.seq = r.seq',
    [rows.map((r) => r.seq), positions])
  return rows.length
}

/** Runs stamping passes: at most one at a time per server, again if asked while one ran. */
export class EventStamper {
  readonly #pass: () => Promise<number>
  readonly #timer: NodeJS.Timeout
  #running: Promise<void> | null = null
  #again = false
  #stopped = false
  /** Called after a pass that stamped events (they are readable now). */
  onStamped: () => void = () => undefined

  constructor(pass: () => Promise<number>, intervalMs = 200) {
    this.#pass = pass
    this.#timer = setInterval(() => this.kick(), intervalMs)
    this.#timer.unref()
  }

  kick(): void {
    if (this.#stopped) return
    if (this.#running) {
      this.#again = true
      return
    }
    this.#running = this.#loop().finally(() => {
      this.#running = null
    })
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false
      let n = 0
      try {
        n = await this.#pass()
      } catch {
        // The database is unavailable: the next interval tries again; nothing is lost (rows wait unstamped).
        return
      }
      if (n > 0) this.onStamped()
      if (n >= STAMP_BATCH) this.#again = true
    } while (this.#again && !this.#stopped)
  }

  /** Waits for the pass in progress; then stamps nothing more. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    await this.#running
  }
}
