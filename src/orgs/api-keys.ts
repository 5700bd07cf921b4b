// Vendor API keys for /api/v1 (the console's API): like SCIM tokens (orgs/tokens.ts), 256
// random bits behind a recognisable prefix, stored only as a SHA-256 hash, shown once. The
// prefix differs from a SCIM token's, so neither is ever mistaken for the other.
import { randomBytes } from 'node:crypto'
import { hashToken } from './tokens.ts'

export const API_KEY_PREFIX = 'roster_api_'
const API_KEY_PATTERN = /^roster_api_[A-Za-z0-9_-]{43}$/

export interface NewApiKey {
  readonly key: string
  readonly hash: string
  readonly prefix: string
}

export function hashApiKey(key: string): string {
  return hashToken(key)
}

export function generateApiKey(): NewApiKey {
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url')
  return { key, hash: hashApiKey(key), prefix: key.slice(0, API_KEY_PREFIX.length + 4) }
}

/** True when `key` has the shape of an API key; anything else is refused without a lookup. */
export function isWellFormedApiKey(key: string): boolean {
  return API_KEY_PATTERN.test(key)
}
