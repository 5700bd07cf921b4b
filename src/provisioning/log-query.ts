// Reading the provisioning log: the filters of `GET /api/v1/orgs/{org}/provisioning-log` and
// `roster log`, parsed once for both, and the page they return, newest first. A bad value is a
// LogQueryError (400 from the API, an error code from the CLI), never a 500.
import { uuidV7Floor } from '../ids.ts'
import { IDP_NAMES } from '../scim/compat/detect.ts'
import type { LogQuery, LogRow, OrgId, Store } from '../store/store.ts'

export const DEFAULT_LOG_LIMIT = 100
export const MAX_LOG_LIMIT = 1_000

export class LogQueryError extends Error {
  constructor(readonly parameter: string, message: string) {
    super(message)
    this.name = 'LogQueryError'
  }
}

export interface LogFilters {
  readonly since?: unknown
  readonly status?: unknown
  readonly user?: unknown
  readonly identityProvider?: unknown
  readonly cursor?: unknown
  readonly limit?: unknown
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function text(name: string, v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null
  if (typeof v !== 'string') throw new LogQueryError(name, `"${name}" must be given once, as text`)
  return v
}

/** `since`: an ISO 8601 date or date-time, or a duration back from now (`90s`, `15m`, `1h`, `7d`, `2w`). */
export function parseSince(raw: string, now: Date): number {
  const d = /^(\d{1,9})([smhdw])$/i.exec(raw.trim())
  if (d) return now.getTime() - Number(d[1]) * (UNIT_MS[(d[2] ?? 's').toLowerCase()] ?? 1_000)
  const t = DATE_TIME.test(raw.trim()) ? Date.parse(raw.trim()) : Number.NaN
  if (Number.isNaN(t)) throw new LogQueryError('since', '"since" must be an ISO 8601 time (2026-01-31T12:00:00Z) or a duration such as 15m, 1h, 7d')
  return t
}

/** Parses the filters; throws LogQueryError naming the parameter at fault. */
export function parseLogQuery(f: LogFilters, now: Date): LogQuery {
  const since = text('since', f.since)
  const status = text('status', f.status)
  const user = text('user', f.user)
  const cursor = text('cursor', f.cursor)
  const idp = text('identityProvider', f.identityProvider)
  const limitText = text('limit', f.limit)

  let exact: number | null = null
  let cls: number | null = null
  if (status !== null) {
    const m = /^([1-5])(\d\d|xx)$/i.exec(status.trim())
    if (!m) throw new LogQueryError('status', '"status" must be a status code (409) or a class (4xx)')
    if ((m[2] ?? '').toLowerCase() === 'xx') cls = Number(m[1])
    else exact = Number(status.trim())
  }
  if (user !== null && (user.length > 200 || user.trim() === '')) throw new LogQueryError('user', '"user" must be a resource id')
  // The names the log records (scim/compat/detect.ts); another name could match no row.
  const idps = Object.keys(IDP_NAMES)
  if (idp !== null && !idps.includes(idp)) throw new LogQueryError('identityProvider', `"identityProvider" must be one of ${idps.join(', ')}`)
  if (cursor !== null && !UUID.test(cursor)) throw new LogQueryError('cursor', '"cursor" is not a cursor this API returned')
  let limit = DEFAULT_LOG_LIMIT
  if (limitText !== null) {
    limit = Number(limitText)
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_LOG_LIMIT) throw new LogQueryError('limit', `"limit" must be an integer from 1 to ${MAX_LOG_LIMIT}`)
  }
  return {
    before: cursor,
    sinceId: since === null ? null : uuidV7Floor(parseSince(since, now)),
    status: exact,
    statusClass: cls,
    resourceId: user,
    identityProvider: idp,
    limit,
  }
}

/** One entry as the API and `roster log --json` show it. */
export interface LogItem {
  readonly id: string
  readonly time: string
  readonly identityProvider: string
  readonly method: string
  readonly path: string
  readonly resourceType: 'User' | 'Group' | null
  readonly resourceId: string | null
  readonly status: number
  readonly scimType: string | null
  readonly detail: string | null
  readonly durationMs: number
  readonly requestId: string
  readonly changes: Record<string, unknown> | null
  readonly notes: readonly string[]
}

export function logItem(r: LogRow): LogItem {
  return {
    id: r.id,
    time: r.at,
    identityProvider: r.identityProvider,
    method: r.method,
    path: r.path,
    resourceType: r.resourceType,
    resourceId: r.resourceId,
    status: r.status,
    scimType: r.scimType,
    detail: r.detail,
    durationMs: r.durationUs / 1_000,
    requestId: r.requestId,
    changes: r.changes === null ? null : (JSON.parse(r.changes) as Record<string, unknown>),
    notes: r.notes === null ? [] : (JSON.parse(r.notes) as string[]),
  }
}

export interface LogPage {
  readonly items: readonly LogItem[]
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null
}

/** One page, newest first. The cursor is the last id shown: the next page starts strictly below it. */
export async function readLogPage(store: Store, orgId: OrgId, q: LogQuery): Promise<LogPage> {
  const rows = await store.listLog(orgId, { ...q, limit: q.limit + 1 })
  const page = rows.slice(0, q.limit)
  return { items: page.map(logItem), nextCursor: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null }
}
