// Every row of every table of a Roster database, read over a connection of its own, for
// comparing a database before and after a request ("nothing half-written"). The provisioning log
// is left out (a failed request's row is appended after its answer, docs/provisioning-log.md),
// and so are the migration tables.
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'

export interface DbReader {
  /** Table name → its rows as sorted JSON texts. */
  dump(): Promise<Record<string, string[]>>
  /** The organization's events by type (a membership row counts each of its events). */
  eventCounts(orgId: string): Promise<Record<string, number>>
  /** Events not yet given a feed position (PostgreSQL's stamper works after commit). */
  unstamped(): Promise<number>
  close(): Promise<void>
}

const SKIP = /^(provisioning_log|kysely_migration|kysely_migration_lock|sqlite_sequence|sqlite_stat\d)$/

function text(row: Record<string, unknown>): string {
  return JSON.stringify(row, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? v.toString() : v))
}

function counts(rows: readonly { type: string; n: number | string }[]): Record<string, number> {
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]).sort())
}

export async function openDbReader(kind: 'sqlite' | 'postgres', url: string): Promise<DbReader> {
  if (kind === 'sqlite') {
    const db = new BetterSqlite3(url.replace(/^sqlite:/, ''), { readonly: true })
    const names = () => (db.prepare(`select name from sqlite_master where type = 'table'`).all() as { name: string }[]).map((r) => r.name).filter((n) => !SKIP.test(n))
    return {
      dump: () => {
        const out: Record<string, string[]> = {}
        for (const n of names()) out[n] = (db.prepare(`select * from "${n}"`).all() as Record<string, unknown>[]).map(text).sort()
        return Promise.resolve(out)
      },
      eventCounts: (orgId) => Promise.resolve(counts(db.prepare('select type, sum(count) as n from events where org_id = ? group by type').all(orgId) as { type: string; n: number }[])),
      unstamped: () => Promise.resolve(0),
      close: () => Promise.resolve(void db.close()),
    }
  }
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  return {
    async dump() {
      const { rows } = await client.query<{ name: string }>(`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`)
      const out: Record<string, string[]> = {}
      for (const { name } of rows) {
        if (SKIP.test(name)) continue
        out[name] = (await client.query<Record<string, unknown>>(`select * from "${name}"`)).rows.map(text).sort()
      }
      return out
    },
    async eventCounts(orgId) {
      return counts((await client.query<{ type: string; n: string }>('select type, sum(count) as n from events where org_id = $1 group by type', [orgId])).rows)
    },
    async unstamped() {
      return Number((await client.query<{ n: string }>('select count(*) as n from events where position is null')).rows[0]?.n ?? 0)
    },
    close: () => client.end(),
  }
}
