import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { generateWebhookSecret, isWebhookSecret, signPayload, webhookHeaders } from './signing.ts'

const nowSeconds = (): number => Math.floor(Date.now() / 1000)
const body = JSON.stringify({ type: 'user.created', data: { id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', userName: 'ada@example.com' } })

describe('generateWebhookSecret', () => {
  it('is whsec_ + base64 of 32 fresh random bytes', () => {
    const a = generateWebhookSecret()
    const b = generateWebhookSecret()
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(Buffer.from(a.slice('whsec_'.length), 'base64')).toHaveLength(32)
    expect(isWebhookSecret(a)).toBe(true)
    expect(a).not.toBe(b)
  })
})

describe('isWebhookSecret', () => {
  const b64 = (n: number): string => Buffer.alloc(n, 7).toString('base64')
  it.each([
    ['whsec_' + b64(24), true],
    ['whsec_' + b64(64), true],
    ['whsec_' + b64(23), false],
    ['whsec_' + b64(65), false],
    [b64(32), false],
    ['whsec_', false],
    ['whsec_' + b64(32).slice(0, -1), false],
    ['whsec_' + b64(32).replace('H', '*'), false],
    // Non-canonical: the last character carries bits a canonical encoder leaves at zero.
    ['whsec_' + b64(32).slice(0, -2) + 'x=', false],
    [42, false],
  ])('%s -> %s', (s, ok) => {
    expect(isWebhookSecret(s)).toBe(ok)
  })
})

describe('signPayload', () => {
  it('matches the Standard Webhooks reference vector', () => {
    // The vector from the standard-webhooks JavaScript library's own tests.
    const sig = signPayload(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')
    expect(sig).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=')
  })

  it('refuses what would make an unverifiable or ambiguous signature', () => {
    const secret = generateWebhookSecret()
    expect(() => signPayload([], 'msg_1', 1, body)).toThrow(RangeError)
    expect(() => signPayload([secret], 'msg.1', 1, body)).toThrow(/"\."/)
    expect(() => signPayload([secret], 'msg 1', 1, body)).toThrow(RangeError)
    expect(() => signPayload([secret], '', 1, body)).toThrow(RangeError)
    expect(() => signPayload([secret], 'msg_1', 1.5, body)).toThrow(RangeError)
    expect(() => signPayload(['whsec_short'], 'msg_1', 1, body)).toThrow(TypeError)
  })
})

describe('webhookHeaders, verified as a receiver would with the standardwebhooks library', () => {
  it('verifies and yields the payload', () => {
    const secret = generateWebhookSecret()
    const headers = webhookHeaders([secret], 'msg_01J0000000000000000000000', nowSeconds(), body)
    expect(headers['content-type']).toBe('application/json')
    expect(headers['webhook-id']).toBe('msg_01J0000000000000000000000')
    expect(headers['webhook-timestamp']).toMatch(/^\d+$/)
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body))
  })

  it('during a rotation both secrets sign, and a receiver holding either one verifies', () => {
    const next = generateWebhookSecret()
    const previous = generateWebhookSecret()
    const headers = { ...webhookHeaders([next, previous], 'msg_rotation', nowSeconds(), body) }
    const parts = headers['webhook-signature'].split(' ')
    expect(parts).toHaveLength(2)
    for (const p of parts) expect(p).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/)
    expect(new Webhook(next).verify(body, headers)).toEqual(JSON.parse(body))
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body))
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow(WebhookVerificationError)
    // Each signature on its own is the one its secret makes alone.
    expect(parts[0]).toBe(signPayload([next], 'msg_rotation', Number(headers['webhook-timestamp']), body))
    expect(parts[1]).toBe(signPayload([previous], 'msg_rotation', Number(headers['webhook-timestamp']), body))
  })

  it('a tampered body, id or signature fails', () => {
    const secret = generateWebhookSecret()
    const headers = { ...webhookHeaders([secret], 'msg_tamper', nowSeconds(), body) }
    const wh = new Webhook(secret)
    expect(() => wh.verify(body.replace('ada', 'eve'), headers)).toThrow(/No matching signature/)
    expect(() => wh.verify(body + ' ', headers)).toThrow(/No matching signature/)
    expect(() => wh.verify(body, { ...headers, 'webhook-id': 'msg_other' })).toThrow(/No matching signature/)
    const sig = headers['webhook-signature']
    const flipped = sig.slice(0, 3) + (sig[3] === 'A' ? 'B' : 'A') + sig.slice(4)
    expect(() => wh.verify(body, { ...headers, 'webhook-signature': flipped })).toThrow(/No matching signature/)
  })

  it('an old timestamp fails, so a captured delivery cannot be replayed later', () => {
    const secret = generateWebhookSecret()
    const tenMinutesAgo = nowSeconds() - 600
    const headers = { ...webhookHeaders([secret], 'msg_old', tenMinutesAgo, body) }
    expect(() => new Webhook(secret).verify(body, headers)).toThrow(/too old/)
  })
})
