// SCIM bearer tokens: 256 random bits from the CSPRNG behind a recognisable prefix (so secret
// scanners find leaked ones; GitLab #435096), stored only as a SHA-256 hash (RFC 7644 §7.4,
// ASVS 3.2.2/3.2.4/7.1.1) and shown once.
import { hash, randomBytes } from 'node:crypto'

export const TOKEN_PREFIX = 'roster_scim_'
const BODY_LENGTH = 43 // base64url of 32 bytes
const TOKEN_PATTERN = new RegExp(`^${TOKEN_PREFIX}[A-Za-z0-9_-]{${BODY_LENGTH}}$`)

export interface NewToken {
  /** The secret, to show once. */
  readonly token: string
  readonly hash: string
  /** Enough to recognise the token in a list, never enough to use it. */
  readonly prefix: string
  /** The last four characters, shown by the console to tell tokens apart. */
  readonly lastFour: string
}

/** Every SCIM request hashes its token: the one-shot hash, about 1 µs less than a Hash object. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex')
}

export function generateToken(): NewToken {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
  return { token, hash: hashToken(token), prefix: token.slice(0, TOKEN_PREFIX.length + 4), lastFour: token.slice(-4) }
}

/** True when `token` has the shape of a Roster token; anything else is refused without a lookup. */
export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token)
}
