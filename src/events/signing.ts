// Webhook signatures as Standard Webhooks v1 defines them (https://www.standardwebhooks.com,
// spec/standard-webhooks.md, "Signature scheme" and "Webhook headers"), so receivers can verify
// with any of its libraries: HMAC-SHA256 over "{msg_id}.{timestamp}.{body}", keyed by a whsec_ secret.
import { createHmac, randomBytes } from 'node:crypto'

const PREFIX = 'whsec_'
// The spec asks for at least 24 random bytes (192 bits) and at most 64 (512 bits).
const MIN_KEY_BYTES = 24
const MAX_KEY_BYTES = 64
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
// Printable ASCII, no space (the signature header is space-delimited) and no '.', which the
// spec forbids in ids because it delimits the signed content.
const MSG_ID = /^[!-\-/-~]+$/

export interface WebhookHeaders {
  readonly 'content-type': 'application/json'
  readonly 'webhook-id': string
  readonly 'webhook-timestamp': string
  readonly 'webhook-signature': string
}

export function generateWebhookSecret(): string {
  return PREFIX + randomBytes(32).toString('base64')
}

/** A whsec_ secret whose key is canonical base64 of 24 to 64 bytes. */
export function isWebhookSecret(s: unknown): s is string {
  if (typeof s !== 'string' || !s.startsWith(PREFIX)) return false
  const encoded = s.slice(PREFIX.length)
  if (encoded.length % 4 !== 0 || !BASE64.test(encoded)) return false
  const key = Buffer.from(encoded, 'base64')
  // Buffer's decoder skips bad characters silently; a round trip proves nothing was skipped.
  return key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES && key.toString('base64') === encoded
}

/**
 * The `webhook-signature` value: one `v1,<base64>` per secret, space-separated. Passing the new
 * and the old secret during a rotation lets receivers holding either one verify.
 */
export function signPayload(secrets: readonly string[], msgId: string, timestampSeconds: number, body: string): string {
  if (secrets.length === 0) throw new RangeError('signPayload needs at least one secret')
  if (!MSG_ID.test(msgId)) throw new RangeError(`webhook id "${msgId}" must be printable ASCII without spaces or "."`)
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError(`webhook timestamp ${timestampSeconds} must be whole seconds since the epoch`)
  }
  const signed = `${msgId}.${timestampSeconds}.${body}`
  return secrets.map((secret) => `v1,${createHmac('sha256', keyOf(secret)).update(signed).digest('base64')}`).join(' ')
}

export function webhookHeaders(secrets: readonly string[], msgId: string, timestampSeconds: number, body: string): WebhookHeaders {
  return {
    'content-type': 'application/json',
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signPayload(secrets, msgId, timestampSeconds, body),
  }
}

function keyOf(secret: string): Buffer {
  // A stored secret that fails this is corrupt data; signing with whatever bytes it decoded to
  // would send signatures no receiver can check, so stop here instead.
  if (!isWebhookSecret(secret)) throw new TypeError('not a Standard Webhooks secret (whsec_ + base64 of 24-64 bytes)')
  return Buffer.from(secret.slice(PREFIX.length), 'base64')
}
