// One provisioning-log row from what the transport knows of a request (arrival, identity
// provider, method, path, lenient readings) and how it ended. Rows stay small: the path's
// query string is kept with secrets redacted, and every free-text field is bounded.
import type { LogRow } from '../store/store.ts'

const MAX_PATH_CHARS = 1_024
const MAX_DETAIL_CHARS = 1_000
const MAX_NOTES = 20
const MAX_NOTE_CHARS = 200
/** A query parameter named so, or whose value mentions one of these, is recorded as [redacted]. */
const SECRET = /pass(word|wd|phrase)|secret|token|api[-_]?key|credential|authorization/i

export interface RequestInfo {
  /** UUIDv7 of the request's arrival: the row's id. */
  readonly logId: string
  readonly atMs: number
  readonly requestId: string
  readonly identityProvider: string
  readonly method: string
  /** The request URL as received (path and query). */
  readonly url: string
  readonly notes: readonly string[]
}

export interface Outcome {
  readonly status: number
  readonly scimType: string | null
  readonly detail: string | null
  readonly durationUs: number
}

export interface ResourceRef {
  readonly type: 'User' | 'Group'
  readonly id: string | null
}

function bound(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return s
  }
}

/** The URL with secret-looking query parameters redacted (a filter on `password` included), bounded. */
export function redactPath(url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return bound(url, MAX_PATH_CHARS)
  // Most queries (an identity provider's `userName eq` filter) hold nothing secret: one test
  // of the whole decoded query keeps them as they came.
  if (!SECRET.test(safeDecode(url.slice(q + 1)))) return bound(url, MAX_PATH_CHARS)
  const params = url.slice(q + 1).split('&').map((p) => {
    const eq = p.indexOf('=')
    if (eq < 0) return p
    return SECRET.test(safeDecode(p.slice(0, eq))) || SECRET.test(safeDecode(p.slice(eq + 1))) ? `${p.slice(0, eq)}=[redacted]` : p
  })
  return bound(`${url.slice(0, q)}?${params.join('&')}`, MAX_PATH_CHARS)
}

export function notesJson(notes: readonly string[]): string | null {
  if (notes.length === 0) return null
  return JSON.stringify(notes.slice(0, MAX_NOTES).map((n) => bound(n, MAX_NOTE_CHARS)))
}

export function logRow(info: RequestInfo, resource: ResourceRef | null, outcome: Outcome, changes: string | null): LogRow {
  return {
    id: info.logId,
    at: new Date(info.atMs).toISOString(),
    requestId: info.requestId,
    identityProvider: info.identityProvider,
    method: info.method,
    path: redactPath(info.url),
    resourceType: resource?.type ?? null,
    resourceId: resource?.id ?? null,
    status: outcome.status,
    scimType: outcome.scimType,
    detail: outcome.detail === null ? null : bound(outcome.detail, MAX_DETAIL_CHARS),
    durationUs: Math.max(0, Math.round(outcome.durationUs)),
    changes,
    notes: notesJson(info.notes),
  }
}
