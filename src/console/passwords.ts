// Console passwords: scrypt at OWASP's parameters (Password Storage Cheat Sheet, "scrypt": a
// minimum CPU/memory cost of 2^17, block size 8, parallelism 1), a random 16-byte salt, stored
// as `scrypt$N$r$p$salt$hash` (base64url) so that stronger parameters can come later without a
// migration. Length rules from OWASP ASVS 4.0.3 2.1.1 (at least 12 characters) and 2.1.2
// (at least 64 allowed, at most 128 here so that a huge body cannot cost the server).
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'

const N = 2 ** 17
const R = 8
const P = 1
const KEY_LENGTH = 32
export const MIN_PASSWORD = 12
export const MAX_PASSWORD = 128

function scrypt(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  // 128 · N · r bytes of memory, and some room: Node's default limit (32 MiB) is below it.
  const opts: ScryptOptions = { N: n, r, p, maxmem: 256 * n * r }
  return new Promise((resolve, reject) => {
    scryptCb(password.normalize('NFKC'), salt, KEY_LENGTH, opts, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

/** Why a new password is refused, or null when it is acceptable. */
export function passwordProblem(password: unknown): string | null {
  if (typeof password !== 'string') return 'password: must be text'
  const length = [...password].length
  if (length < MIN_PASSWORD) return `password: must be at least ${MIN_PASSWORD} characters`
  if (length > MAX_PASSWORD) return `password: must be at most ${MAX_PASSWORD} characters`
  return null
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scrypt(password, salt, N, R, P)
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

/** A hash to compare against when there is no account, so that a wrong email costs what a wrong password does. */
export const DUMMY_HASH = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(KEY_LENGTH).toString('base64url')}`

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !n || !r || !p || salt === undefined || hash === undefined) return false
  const expected = Buffer.from(hash, 'base64url')
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p))
  return key.length === expected.length && timingSafeEqual(key, expected)
}
