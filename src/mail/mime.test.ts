// The message builder read back by a real MIME parser (mailparser), as a mail client would: every
// header and body comes back as it was given, whatever its characters and lengths, and the bytes
// keep to what RFC 5322 and RFC 2045 allow a relay to carry.
import { simpleParser } from 'mailparser'
import { describe, expect, it } from 'vitest'
import { buildMessage, parseMailbox, rfc5322Date, type MimeInput } from './mime.ts'

const NOW = new Date('2026-12-02T09:05:03.250Z')
let counter = 0
const random = () => (++counter).toString(16).padStart(24, '0')

const ascii: MimeInput = {
  from: 'Roster <no-reply@roster.example.com>',
  to: 'ada@acme.test',
  subject: "You're invited to join Acme on Roster",
  text: 'Hello Ada,\n\nAccept: https://roster.example.com/invitations/accept?token=tok_123\n',
  html: '<p>Hello Ada,</p>\n<p><a href="https://roster.example.com/invitations/accept?token=tok_123">Accept</a></p>\n',
  headers: { 'Auto-Submitted': 'auto-generated' },
}

/** Every line of the message: CRLF-terminated, 7-bit, and within RFC 5322's limits. */
function expectWellFormed(raw: Buffer, headerLimit = 78): void {
  expect([...raw].every((b) => b < 0x80)).toBe(true)
  const text = raw.toString('latin1')
  expect(text).not.toMatch(/[^\r]\n|\r[^\n]/)
  const [head = '', ...rest] = text.split('\r\n\r\n')
  for (const line of head.split('\r\n')) expect(line.length).toBeLessThanOrEqual(line.includes('=?') ? 76 : headerLimit)
  for (const line of rest.join('\r\n\r\n').split('\r\n')) expect(line.length).toBeLessThanOrEqual(998)
}

describe('buildMessage', () => {
  it('writes an ASCII message as it is: the headers, then text and HTML as multipart/alternative', async () => {
    const built = buildMessage(ascii, NOW, random)
    expectWellFormed(built.raw)
    const raw = built.raw.toString('latin1')
    // Nothing needed encoding: the link reads as it is in the file.
    expect(raw).toContain('Content-Transfer-Encoding: 7bit')
    expect(raw).toContain('?token=tok_123')
    expect(raw).toMatch(/^From: Roster <no-reply@roster\.example\.com>\r\n/)
    expect(raw.indexOf('text/plain')).toBeLessThan(raw.indexOf('text/html'))
    const parsed = await simpleParser(built.raw)
    expect(parsed.subject).toBe(ascii.subject)
    expect(parsed.from?.value).toEqual([{ address: 'no-reply@roster.example.com', name: 'Roster' }])
    expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value : null).toEqual([{ address: 'ada@acme.test', name: '' }])
    expect(parsed.date?.toISOString()).toBe('2026-12-02T09:05:03.000Z')
    expect(parsed.messageId).toBe(built.messageId)
    expect(built.messageId).toMatch(/^<[0-9a-f]{24}@roster\.example\.com>$/)
    expect(parsed.headers.get('auto-submitted')).toBe('auto-generated')
    expect(parsed.headers.get('mime-version')).toBe('1.0')
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' })
    expect(parsed.text).toBe(ascii.text)
    expect(parsed.html).toBe(ascii.html)
    expect(built.envelope).toEqual({ from: 'no-reply@roster.example.com', to: 'ada@acme.test' })
  })

  it('encodes other characters: RFC 2047 words in headers, quoted-printable bodies, and reads back the same', async () => {
    const subject = 'Einladung: Müller & Söhne – 招待状 — '.repeat(4).trim()
    const text = `Grüße, Zoë 👋\n${'a=b '.repeat(300)}\ntrailing spaces   \n\ttab\n.dot line\n`
    const input: MimeInput = { ...ascii, from: 'Équipe Åcme <no-reply@acme.test>', subject, text, html: `<p>${text}</p>` }
    const built = buildMessage(input, NOW, random)
    expectWellFormed(built.raw)
    const raw = built.raw.toString('latin1')
    expect(raw).toContain('Content-Transfer-Encoding: quoted-printable')
    for (const word of raw.match(/=\?utf-8\?B\?[^?]*\?=/g) ?? []) expect(word.length).toBeLessThanOrEqual(75)
    // RFC 2045 §6.7: quoted-printable lines of at most 76 characters.
    const body = raw.slice(raw.indexOf('quoted-printable'))
    for (const line of body.split('\r\n')) if (!line.startsWith('--')) expect(line.length).toBeLessThanOrEqual(76)
    const parsed = await simpleParser(built.raw)
    expect(parsed.subject).toBe(subject)
    expect(parsed.from?.value).toEqual([{ address: 'no-reply@acme.test', name: 'Équipe Åcme' }])
    expect(parsed.text).toBe(text)
    expect(parsed.html).toBe(`<p>${text}</p>`)
  })

  it('quotes a display name that is not a run of atoms, and folds a long ASCII subject at its spaces', async () => {
    const subject = `Welcome ${'to the very long organization name '.repeat(5)}on Roster`
    const input: MimeInput = { ...ascii, from: '"Acme \\"Cloud\\" \\\\ Ops, Inc." <ops@acme.test>', subject }
    const built = buildMessage(input, NOW, random)
    expectWellFormed(built.raw)
    expect(built.raw.toString('latin1')).toContain('From: "Acme \\"Cloud\\" \\\\ Ops, Inc." <ops@acme.test>')
    const parsed = await simpleParser(built.raw)
    expect(parsed.from?.value).toEqual([{ address: 'ops@acme.test', name: 'Acme "Cloud" \\ Ops, Inc.' }])
    expect(parsed.subject).toBe(subject)
  })

  it('keeps a header line within 998 characters even for a word no fold can shorten', async () => {
    const subject = `x${'y'.repeat(1500)}`
    const built = buildMessage({ ...ascii, subject }, NOW, random)
    expectWellFormed(built.raw, 998)
    expect((await simpleParser(built.raw)).subject).toBe(subject)
  })

  it('gives each message its own Message-ID and boundary', () => {
    const a = buildMessage(ascii, NOW, random)
    const b = buildMessage(ascii, NOW, random)
    expect(a.messageId).not.toBe(b.messageId)
    const boundary = (m: Buffer) => /boundary="([^"]+)"/.exec(m.toString('latin1'))?.[1]
    expect(boundary(a.raw)).not.toBe(boundary(b.raw))
  })
})

describe('parseMailbox', () => {
  it('reads a bare address, Name <address> and "Quoted, Name" <address>', () => {
    expect(parseMailbox('no-reply@acme.com')).toEqual({ name: '', address: 'no-reply@acme.com' })
    expect(parseMailbox(' Acme Cloud <no-reply@acme.com> ')).toEqual({ name: 'Acme Cloud', address: 'no-reply@acme.com' })
    expect(parseMailbox('"Acme, Inc. \\"EU\\"" <no-reply@acme.com>')).toEqual({ name: 'Acme, Inc. "EU"', address: 'no-reply@acme.com' })
    expect(parseMailbox('<no-reply@acme.com>')).toEqual({ name: '', address: 'no-reply@acme.com' })
  })

  it('refuses a list, a group, a missing address and anything else', () => {
    for (const bad of ['nobody', 'a@acme.com, b@acme.com', 'Acme "Cloud <a@acme.com>', 'Team: a@acme.com;', 'Acme <>', 'Acme <not an address>', 'Acme <a@acme.com> <b@acme.com>', '']) {
      expect(parseMailbox(bad), bad).toBeNull()
    }
  })
})

describe('rfc5322Date', () => {
  it('writes day, date, time and zone as RFC 5322 §3.3 does', () => {
    expect(rfc5322Date(NOW)).toBe('Wed, 02 Dec 2026 09:05:03 +0000')
    expect(rfc5322Date(new Date('2027-01-09T23:59:59Z'))).toBe('Sat, 09 Jan 2027 23:59:59 +0000')
  })
})
