// Reading the provisioning log over the store's driver: on SQLite its rows are in two files (a
// successful write's row in the main file, with its change; every other row in the log file,
// store/dialect/sqlite-log-file.mjs), on PostgreSQL in one table. Both files answer the same
// query (log-sql.ts) on the same indexes.
import type { LogQuery, LogRow, OrgId } from '../store.ts'
import { logCountQuery, logPageQuery, toLogRow } from './log-sql.ts'
import type { ProvisioningLogTable } from './schema.ts'
import type { StoreDriver } from './store-driver.ts'

/** The page's rows, newest first: both files' newest `limit` rows, merged. */
export function listLog(d: StoreDriver, orgId: OrgId, query: LogQuery): Promise<readonly LogRow[]> {
  return d.read(async () => {
    const c = logPageQuery(d.builder, orgId, query).compile()
    const rows = (await d.reader.all<ProvisioningLogTable>(c.sql, c.parameters)).map(toLogRow)
    const file = d.logFile
    if (!file) return rows
    const f = logPageQuery(d.builder, orgId, query, (id) => file.key(id)).compile()
    const more = (await file.reader.all<ProvisioningLogTable>(f.sql, f.parameters))
      .map((r) => toLogRow({ ...r, org_id: orgId, id: file.text(r.id) as string, resource_id: file.text(r.resource_id) as string | null }))
    return rows.concat(more).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).slice(0, query.limit)
  })
}

/** The rows the query selects, counted in each file up to `limit`, the sum capped at `limit`. */
export function countLog(d: StoreDriver, orgId: OrgId, query: LogQuery): Promise<number> {
  return d.read(async () => {
    const c = logCountQuery(d.builder, orgId, query).compile()
    let n = Number((await d.reader.all<{ n: number | string }>(c.sql, c.parameters))[0]?.n ?? 0)
    const file = d.logFile
    if (file) {
      const f = logCountQuery(d.builder, orgId, query, (id) => file.key(id)).compile()
      n += Number((await file.reader.all<{ n: number | string }>(f.sql, f.parameters))[0]?.n ?? 0)
    }
    return Math.min(n, query.limit)
  })
}
