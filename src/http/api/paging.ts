// Query parameters shared by the API's lists: `limit`, an opaque `cursor`, and the checks that
// turn a malformed one into a 400 naming the parameter rather than a 500 or a silent default.
import { ApiError } from './errors.ts'

export const DEFAULT_LIMIT = 100
export const MAX_LIMIT = 1_000
/** Longest long-poll of the event feed (`wait`, seconds). */
export const MAX_WAIT_SECONDS = 30

export function invalidParameter(name: string, message: string): ApiError {
  return new ApiError(400, 'invalid_parameter', `${name}: ${message}`)
}

export function parseLimit(raw: unknown, fallback = DEFAULT_LIMIT, max = MAX_LIMIT): number {
  if (raw === undefined || raw === '') return fallback
  // A number when the route's schema coerced it (schemas.ts), text otherwise.
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,7}$/.test(raw) ? Number(raw) : NaN
  if (!Number.isInteger(n) || n < 1 || n > max) throw invalidParameter('limit', `must be an integer from 1 to ${max}`)
  return n
}

/** A directory list's cursor: the last row's id, base64url-encoded (opaque to clients). */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url')
}

export function decodeCursor(raw: unknown): string | null {
  if (raw === undefined || raw === '') return null
  if (typeof raw !== 'string' || raw.length > 400 || !/^[A-Za-z0-9_-]+$/.test(raw)) throw invalidParameter('cursor', 'is not a cursor this API returned')
  const id = Buffer.from(raw, 'base64url').toString('utf8')
  // Ids are printable ASCII (UUIDs, or what an identity provider's id looked like).
  if (id === '' || !/^[\x21-\x7e]{1,200}$/.test(id)) throw invalidParameter('cursor', 'is not a cursor this API returned')
  return id
}

export function parseInstant(name: string, raw: unknown): string | null {
  if (raw === undefined || raw === '') return null
  const d = typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}/.test(raw) ? new Date(raw) : new Date(NaN)
  if (Number.isNaN(d.getTime())) throw invalidParameter(name, 'must be an ISO 8601 time such as 2026-01-31T12:00:00Z')
  return d.toISOString()
}
