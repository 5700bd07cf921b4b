// NUL characters (U+0000) in requests. PostgreSQL's text and jsonb cannot hold them ("invalid
// byte sequence for encoding UTF8", "unsupported Unicode escape sequence") while SQLite stores
// them: both stores must answer alike, so no request carries one to either (docs/architecture.md
// ROS-7). JSON can only carry one as the escape `\u0000` (a raw control character is not JSON),
// so a body is walked only when its text has that escape.
import { pathOfChar } from './utf8.ts'

/** Whether a request body's JSON text may hold a NUL character. */
export function mayHoldNul(jsonText: string): boolean {
  return jsonText.includes('\\u0000')
}

/** The path (`emails[0].value`, or a key) of the first string or key in `value` holding a NUL, or null. */
export function findNul(value: unknown): string | null {
  return pathOfChar(value, '\u0000')
}

/** Whether a request URL (path or query) holds an encoded NUL. */
export function urlHoldsNul(url: string): boolean {
  return /%00/.test(url)
}

/** The message of a refusal: the path quoted as JSON (a NUL in a key shows as \\u0000). */
export function nulMessage(where: string): string {
  return `${JSON.stringify(where)} contains a NUL character (U+0000), which no value may hold`
}
