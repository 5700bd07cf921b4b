// Invalid UTF-8 in requests. JSON text exchanged between systems is UTF-8 (RFC 8259 §8.1), and
// a URI's percent-encoded octets are UTF-8 (RFC 3986 §2.5). Fastify reads a body as a string
// with the bad bytes replaced by U+FFFD, which would then be stored as if the client had sent
// that character; so the SCIM and /api/v1 bodies are read as bytes and checked first, and a body
// that is not UTF-8 is refused, never stored.
import { isUtf8 } from 'node:buffer'

/** The body's text, or null when its bytes are not UTF-8. */
export function utf8Text(body: Buffer): string | null {
  return isUtf8(body) ? body.toString('utf8') : null
}

/**
 * Where invalid bytes sit in a body: the path (`name.givenName`, `emails[0].value`, or a key) of
 * the first string or key that holds them, when the body is JSON once they are replaced and
 * the client did not send U+FFFD itself; otherwise null.
 */
export function invalidUtf8Path(body: Buffer): string | null {
  const text = body.toString('utf8')
  if (body.includes(REPLACEMENT_BYTES)) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return null
  }
  return pathOfChar(parsed, '\uFFFD')
}

const REPLACEMENT_BYTES = Buffer.from('\uFFFD', 'utf8')

/** The path of the first string or key of `value` holding `char`, or null. */
export function pathOfChar(value: unknown, char: string): string | null {
  return firstPath(value, (s) => s.includes(char), () => false)
}

/**
 * The path of the first number of `value` JSON.parse read as ±Infinity (a literal past
 * ±1.8e308, such as 400 digits), or null: no JSON number the server could store or answer.
 */
export function pathOfHugeNumber(value: unknown): string | null {
  return firstPath(value, () => false, (n) => !Number.isFinite(n))
}

/** Whether a body's JSON text may hold a number past a double's range (then it is walked). */
export function mayHoldHugeNumber(jsonText: string): boolean {
  return /\d{300}|[eE]\+?\d{3}/.test(jsonText)
}

/** The refusal's words for pathOfHugeNumber's path. */
export function hugeNumberMessage(path: string): string {
  return `${JSON.stringify(path)} is a number beyond the range of a JSON number this server reads (about ±1.8e308)`
}

/**
 * The path (`emails[0].value`, a key, or "(the body)") of a string or key for which `text`
 * holds, or a number for which `number` does (an object's keys before what they hold). Walked with a stack of its
 * own, not by recursion: a body of 10^5 nested arrays is valid JSON and overflowed the call stack.
 */
function firstPath(value: unknown, text: (s: string) => boolean, number: (n: number) => boolean): string | null {
  const stack: [unknown, string][] = [[value, '']]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, path] = next
    if (typeof v === 'string') {
      if (text(v)) return path || '(the body)'
    } else if (typeof v === 'number') {
      if (number(v)) return path || '(the body)'
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`])
    } else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v)
      for (const [k] of entries) if (text(k)) return path === '' ? k : `${path}.${k}`
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i] as [string, unknown]
        stack.push([child, path === '' ? k : `${path}.${k}`])
      }
    }
  }
  return null
}

/** The refusal's words: the attribute when it can be told, the body otherwise. */
export function invalidUtf8Message(path: string | null): string {
  return path === null
    ? 'The request body is not valid UTF-8 (RFC 8259 §8.1: JSON text is UTF-8)'
    : `${JSON.stringify(path)} is not valid UTF-8 (RFC 8259 §8.1: JSON text is UTF-8)`
}
