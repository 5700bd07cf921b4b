import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { simpleParser, type ParsedMail } from 'mailparser'
import type { SMTPServerOptions } from 'smtp-server'
import { afterEach, describe, expect, it } from 'vitest'
import { startSmtp, type ReceivedMail } from '../../test/helpers/smtp-server.ts'
import { invitationEmail } from './templates.ts'
import { fileTransport, MailError, smtpTransport, transportFromConfig, type MailMessage, type MailTransport } from './transport.ts'

const message: MailMessage = invitationEmail({
  productName: 'Roster',
  orgName: 'Acme',
  userDisplayName: 'Ada <Lovelace>',
  userName: 'ada',
  to: 'ada@acme.test',
  acceptUrl: 'https://roster.example.com/invitations/accept?token=tok_123',
  expiresAt: new Date('2026-12-01T14:05:00Z'),
  from: 'Roster <no-reply@roster.example.com>',
})

// Everything a test opened, closed after it whatever happened.
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function track(t: MailTransport): MailTransport {
  cleanups.push(() => t.close())
  return t
}

/** A real SMTP server on 127.0.0.1 (test/helpers/smtp-server.ts), closed after the test. */
async function startServer(options: SMTPServerOptions = {}): Promise<{ port: number; received: ReceivedMail[] }> {
  const server = await startSmtp({ server: options })
  cleanups.push(() => server.close())
  return server
}

function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code })
}

async function closedPort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

async function sendError(t: MailTransport, m: MailMessage = message): Promise<MailError> {
  const e: unknown = await t.send(m).then(
    () => null,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(MailError)
  return e as MailError
}

// The same message, whichever way it travelled.
function expectInvitation(parsed: ParsedMail): void {
  expect(parsed.subject).toBe("You're invited to join Acme on Roster")
  expect(parsed.from?.value).toEqual([{ address: 'no-reply@roster.example.com', name: 'Roster' }])
  expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value : null).toEqual([{ address: 'ada@acme.test', name: '' }])
  expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' })
  expect(parsed.headers.get('auto-submitted')).toBe('auto-generated')
  expect(parsed.messageId).toMatch(/^<.+@.+>$/)
  expect(parsed.text).toContain('Hello Ada <Lovelace>,')
  expect(parsed.text).toContain('https://roster.example.com/invitations/accept?token=tok_123')
  expect(parsed.html).toContain('Hello Ada &lt;Lovelace&gt;,')
  expect(parsed.html).toContain('href="https://roster.example.com/invitations/accept?token=tok_123"')
}

describe('smtpTransport', () => {
  it('delivers text and HTML as one multipart/alternative message', async () => {
    const server = await startServer()
    const t = track(smtpTransport(`smtp://127.0.0.1:${server.port}`))
    const sent = await t.send(message)
    expect(server.received).toHaveLength(1)
    const got = server.received[0]!
    expect(got.from).toBe('no-reply@roster.example.com')
    expect(got.to).toEqual(['ada@acme.test'])
    expectInvitation(got.parsed)
    expect(sent.messageId).toBe(got.parsed.messageId)
    expect(sent.where).toMatch(new RegExp(`^smtp://127\\.0\\.0\\.1:${server.port} 250`))
  })

  it('carries lines that start with a dot, and non-ASCII text, through SMTP unchanged', async () => {
    // RFC 5321 §4.5.2: a line starting with "." is sent doubled and read back single; a lone "."
    // would end the message early.
    const server = await startServer()
    const t = track(smtpTransport(`smtp://127.0.0.1:${server.port}`))
    const text = 'Grüße\n.\n.. two dots\n.start\nend\n'
    await t.send({ ...message, subject: 'Einladung für Zoë', text, html: `<pre>${text}</pre>` })
    const got = server.received[0]!
    expect(got.parsed.subject).toBe('Einladung für Zoë')
    expect(got.parsed.text).toBe(text)
    expect(got.parsed.html).toBe(`<pre>${text}</pre>`)
  })

  it('logs in with the percent-encoded user and password from the URL', async () => {
    const logins: Array<[string | null | undefined, string | null | undefined]> = []
    const server = await startServer({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        logins.push([auth.username, auth.password])
        callback(null, { user: 'mailer' })
      },
    })
    const t = track(smtpTransport(`smtp://mailer%40acme.test:p%40ss%2Fw0rd@127.0.0.1:${server.port}`))
    await t.send(message)
    expect(logins).toEqual([['mailer@acme.test', 'p@ss/w0rd']])
    expect(server.received).toHaveLength(1)
  })

  it('a refused login is an auth error that never shows the password', async () => {
    const server = await startServer({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        callback(smtpError(535, `Authentication failed for ${auth.username} with ${auth.password}`))
      },
    })
    const t = track(smtpTransport(`smtp://mailer:s3cret-Pa55@127.0.0.1:${server.port}`))
    const e = await sendError(t)
    expect(e.code).toBe('ROSTER_ERR_MAIL_AUTH')
    expect(e.responseCode).toBe(535)
    expect(e.message).toContain('535')
    expect(e.message).not.toContain('s3cret-Pa55')
    expect(e.stack).not.toContain('s3cret-Pa55')
  })

  it('a relay that is down is a transient connection error', async () => {
    const t = track(smtpTransport(`smtp://127.0.0.1:${await closedPort()}`))
    const e = await sendError(t)
    expect(e).toMatchObject({ code: 'ROSTER_ERR_MAIL_CONNECT', transient: true, responseCode: null })
    expect(e.message).toContain('ECONNREFUSED')
  })

  it('a relay that never greets times out, transiently', async () => {
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((socket) => void sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy()
          silent.close(() => resolve())
        }),
    )
    const t = track(smtpTransport(`smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`, { timeoutMs: 150 }))
    const e = await sendError(t)
    expect(e).toMatchObject({ code: 'ROSTER_ERR_MAIL_TIMEOUT', transient: true })
  })

  it('550 to RCPT TO is permanent (RFC 5321 §4.2.1: 5yz)', async () => {
    const server = await startServer({ onRcptTo: (_a, _s, callback) => callback(smtpError(550, 'No such user here')) })
    const t = track(smtpTransport(`smtp://127.0.0.1:${server.port}`))
    const e = await sendError(t)
    expect(e).toMatchObject({ code: 'ROSTER_ERR_MAIL_REJECTED', transient: false, responseCode: 550 })
    expect(e.message).toContain('No such user here')
    expect(server.received).toHaveLength(0)
  })

  it('451 to RCPT TO is transient (RFC 5321 §4.2.1: 4yz)', async () => {
    const server = await startServer({ onRcptTo: (_a, _s, callback) => callback(smtpError(451, 'Try again later')) })
    const t = track(smtpTransport(`smtp://127.0.0.1:${server.port}`))
    const e = await sendError(t)
    expect(e).toMatchObject({ code: 'ROSTER_ERR_MAIL_REJECTED', transient: true, responseCode: 451 })
  })

  it('554 after DATA is permanent', async () => {
    const server = await startServer({
      onData(stream, _session, callback) {
        stream.on('end', () => callback(smtpError(554, 'Message rejected as spam')))
        stream.resume()
      },
    })
    const t = track(smtpTransport(`smtp://127.0.0.1:${server.port}`))
    const e = await sendError(t)
    expect(e).toMatchObject({ code: 'ROSTER_ERR_MAIL_REJECTED', transient: false, responseCode: 554 })
  })

  it('refuses a message that would go to someone else or inject a header, without connecting', async () => {
    const t = track(smtpTransport(`smtp://127.0.0.1:${await closedPort()}`))
    for (const m of [
      { ...message, to: 'ada@acme.test, eve@evil.test' },
      { ...message, to: 'Ada <ada@acme.test>' },
      { ...message, subject: 'Hi\r\nBcc: eve@evil.test' },
      { ...message, from: 'a@b.test\nBcc: eve@evil.test' },
      { ...message, headers: { 'X-Ok': 'fine\r\nBcc: eve@evil.test' } },
      { ...message, headers: { 'Bad Name:': 'x' } },
    ]) {
      const e = await sendError(t, m)
      expect(e).toMatchObject({ code: 'ROSTER_ERR_MAIL_MESSAGE', transient: false })
    }
  })

  it('refuses a URL that is not smtp: or smtps:, without repeating it', () => {
    expect(() => smtpTransport('http://user:hunter22@mail.example.com')).toThrow(/smtp:\/\/ or smtps:\/\//)
    let e: unknown
    try {
      smtpTransport('smtp://user:hunter22@[not a host')
    } catch (err) {
      e = err
    }
    expect(e).toBeInstanceOf(MailError)
    expect((e as MailError).code).toBe('ROSTER_ERR_MAIL_URL')
    expect((e as MailError).message).not.toContain('hunter22')
  })
})

describe('fileTransport', () => {
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'roster-mail-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    return dir
  }

  it('writes one complete .eml that parses into the same parts, leaving no temporary file', async () => {
    const dir = join(await tempDir(), 'outbox', 'nested') // created on first use
    const t = track(fileTransport(dir))
    const sent = await t.send(message)
    const files = await readdir(dir)
    expect(files).toHaveLength(1)
    const name = files[0]!
    expect(name).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-[0-9a-f]{16}\.eml$/)
    expect(sent.where).toBe(join(dir, name))
    const raw = await readFile(sent.where)
    expect(raw.toString('latin1')).toMatch(/\r\n\r\n/) // CRLF line ends
    expect(raw.toString('latin1')).not.toMatch(/[^\r]\n/)
    const parsed = await simpleParser(raw)
    expectInvitation(parsed)
    expect(sent.messageId).toBe(parsed.messageId)
    if (process.platform !== 'win32') expect((await stat(sent.where)).mode & 0o777).toBe(0o600)
  })

  it('gives every message its own file', async () => {
    const dir = await tempDir()
    const t = track(fileTransport(dir))
    await Promise.all([t.send(message), t.send(message), t.send(message)])
    const files = await readdir(dir)
    expect(files).toHaveLength(3)
    expect(files.every((f) => f.endsWith('.eml') && !f.startsWith('.'))).toBe(true)
  })

  it('makes the directory again when it was removed after the first message', async () => {
    const dir = join(await tempDir(), 'outbox')
    const t = track(fileTransport(dir))
    await t.send(message)
    await rm(dir, { recursive: true })
    await t.send(message)
    expect((await readdir(dir)).filter((f) => f.endsWith('.eml'))).toHaveLength(1)
  })

  it('reports a directory it cannot create as a transient file error', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'a-file'), '')
    const e = await sendError(track(fileTransport(join(dir, 'a-file', 'outbox'))))
    expect(e).toMatchObject({ code: 'ROSTER_ERR_MAIL_FILE', transient: true })
  })
})

describe('transportFromConfig', () => {
  it('uses SMTP when a URL is set and the outbox directory otherwise', async () => {
    const server = await startServer()
    const dir = await mkdtemp(join(tmpdir(), 'roster-mail-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const smtp = track(transportFromConfig({ smtpUrl: `smtp://127.0.0.1:${server.port}`, outboxDir: dir }))
    expect((await smtp.send(message)).where).toMatch(/^smtp:\/\//)
    expect(server.received).toHaveLength(1)
    const file = track(transportFromConfig({ smtpUrl: null, outboxDir: dir }))
    expect((await file.send(message)).where.startsWith(dir)).toBe(true)
    expect(await readdir(dir)).toHaveLength(1)
  })
})
