// Passwords sent through SCIM are never stored in clear (RFC 7643 §9.2): scrypt with a random
// salt, done before the write transaction so the group commit never waits on it.
import { randomBytes, scrypt } from 'node:crypto'

const N = 16_384
const R = 8
const P = 1
const KEYLEN = 32

export function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEYLEN, { N, r: R, p: P }, (err, key) => {
      if (err) reject(err)
      else resolve(`scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`)
    })
  })
}
