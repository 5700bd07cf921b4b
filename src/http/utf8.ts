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
export function pathOfChar(value: unknown, char: string, path = ''): string | null {
  if (typeof value === 'string') return value.includes(char) ? path || '(the body)' : null
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = pathOfChar(value[i], char, `${path}[${i}]`)
      if (found !== null) return found
    }
    return null
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      const at = path === '' ? k : `${path}.${k}`
      if (k.includes(char)) return at
      const found = pathOfChar(v, char, at)
      if (found !== null) return found
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
