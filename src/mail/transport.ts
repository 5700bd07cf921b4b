// Sending an email: over SMTP through a relay (nodemailer's pool), or, when no relay is set, as an
// RFC 5322 .eml file in a directory (development, or a mail pipeline that picks files up). Text
// and HTML go as one multipart/alternative message (RFC 2046 §5.1.4: the text part first, the
// richer HTML part last). A failure is a MailError that says whether to retry: RFC 5321 §4.2.1
// makes a 4yz reply transient and a 5yz reply permanent; a network failure or a timeout gets no
// reply at all and is transient too.
import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, unlink } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createTransport } from 'nodemailer'
import type { NodemailerError } from 'nodemailer/lib/errors'
import { buildMessage, isBareAddress, parseMailbox, type BuiltMessage } from './mime.ts'

export interface MailMessage {
  /** An address, optionally with a display name: `Roster <no-reply@example.com>`. */
  readonly from: string
  /** Exactly one bare address. */
  readonly to: string
  readonly subject: string
  readonly text: string
  readonly html: string
  readonly headers?: Record<string, string>
}

export interface MailTransport {
  /** `where` is the relay (and its reply) or the file written. Throws MailError. */
  send(message: MailMessage): Promise<{ messageId: string; where: string }>
  close(): Promise<void>
}

export type MailErrorCode =
  | 'ROSTER_ERR_MAIL_CONNECT' // no connection, or it dropped: transient
  | 'ROSTER_ERR_MAIL_TIMEOUT' // connect, greeting or an idle socket timed out: transient
  | 'ROSTER_ERR_MAIL_REJECTED' // the relay answered 4yz (transient) or 5yz (permanent)
  | 'ROSTER_ERR_MAIL_AUTH' // the relay refused our credentials: transient, the operator must fix them
  | 'ROSTER_ERR_MAIL_TLS' // TLS handshake or certificate: transient, the operator must fix it
  | 'ROSTER_ERR_MAIL_MESSAGE' // the message itself is unsendable (bad address, header): permanent
  | 'ROSTER_ERR_MAIL_FILE' // the .eml could not be written: transient
  | 'ROSTER_ERR_MAIL_URL' // the SMTP URL or invitation URL template is wrong: configuration
  | 'ROSTER_ERR_MAIL_SEND' // anything else: transient

export class MailError extends Error {
  constructor(
    readonly code: MailErrorCode,
    /** True when the same message may go through later; false when retrying cannot help. */
    readonly transient: boolean,
    message: string,
    /** The SMTP reply code, when the relay answered. */
    readonly responseCode: number | null = null,
  ) {
    super(message)
    this.name = 'MailError'
  }
}

export const DEFAULT_SMTP_TIMEOUT_MS = 10_000

// RFC 5322 §3.6.8: a field name is printable US-ASCII except the colon.
const FIELD_NAME = /^[!-9;-~]+$/
const LINE_BREAK = /[\r\n]/

/** Refuses what would turn a header into two, or one message into mail for someone else. */
function checkMessage(m: MailMessage): void {
  const refuse = (why: string): never => {
    throw new MailError('ROSTER_ERR_MAIL_MESSAGE', false, why)
  }
  // One address, so `to` can never name a second recipient.
  if (!isBareAddress(m.to)) refuse('"to" must be exactly one address such as user@example.com')
  if (LINE_BREAK.test(m.from) || parseMailbox(m.from) === null) refuse('"from" must be one address, or "Name <address>"')
  if (LINE_BREAK.test(m.subject)) refuse('the subject must not contain a line break')
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (!FIELD_NAME.test(name)) refuse(`header name ${JSON.stringify(name)} is not a valid field name`)
    if (LINE_BREAK.test(value)) refuse(`header ${name} must not contain a line break`)
  }
}

/** The checked message's bytes (mime.ts), dated now, with a random Message-ID and boundary. */
function built(m: MailMessage): BuiltMessage {
  checkMessage(m)
  return buildMessage(m, new Date(), () => randomBytes(12).toString('hex'))
}

// Messages arrive built, so nodemailer never has a reason to read a file or fetch a URL.
const NO_CONTENT_FETCH = { disableFileAccess: true, disableUrlAccess: true } as const

/**
 * An SMTP relay from a URL: `smtp://host:587` (STARTTLS when offered), `smtps://user:pass@host:465`
 * (TLS from the start); user and password percent-encoded. nodemailer's query options
 * (`?requireTLS=true`, `?tls.servername=…`) pass through. Connections are pooled; a message is
 * never retried here (a retry after a dropped connection could deliver twice), the caller retries.
 */
export function smtpTransport(url: string, opts: { timeoutMs?: number } = {}): MailTransport {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    // The URL may hold a password: it is never repeated in an error.
    throw new MailError('ROSTER_ERR_MAIL_URL', false, 'the SMTP URL is not a valid URL (expected smtp://host:port or smtps://user:pass@host:465)')
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') throw new MailError('ROSTER_ERR_MAIL_URL', false, `the SMTP URL must start with smtp:// or smtps://, not ${parsed.protocol}//`)
  if (parsed.hostname === '') throw new MailError('ROSTER_ERR_MAIL_URL', false, 'the SMTP URL has no host')

  const relay = `${parsed.protocol}//${parsed.host}`
  const secrets = secretForms(parsed.password)
  const timeout = opts.timeoutMs ?? DEFAULT_SMTP_TIMEOUT_MS
  const transporter = createTransport({
    url,
    pool: true,
    maxRequeues: 0,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    dnsTimeout: timeout,
    ...NO_CONTENT_FETCH,
  })

  return {
    async send(message) {
      const mail = built(message)
      try {
        // The finished message as it is (nodemailer's `raw`): SMTP's dot-stuffing is all it adds.
        const info = await transporter.sendMail({ envelope: { from: mail.envelope.from, to: [mail.envelope.to] }, raw: mail.raw })
        return { messageId: mail.messageId, where: info.response ? `${relay} ${info.response}` : relay }
      } catch (e) {
        throw toMailError(e, relay, secrets)
      }
    },
    async close() {
      transporter.close()
    },
  }
}

/** Maps a nodemailer error to a MailError, keeping the relay's reply and dropping the password. */
function toMailError(e: unknown, relay: string, secrets: readonly string[]): MailError {
  if (e instanceof MailError) return e
  const err = (e instanceof Error ? e : new Error(String(e))) as NodemailerError
  let text = `${relay}: ${err.message}`
  for (const s of secrets) text = text.split(s).join('***')
  const reply = err.responseCode
  if (reply !== undefined && reply >= 400 && reply <= 599) {
    // A refused login says nothing about the message: it waits until the operator fixes the
    // credentials rather than being dropped with every other message.
    if (err.code === 'EAUTH') return new MailError('ROSTER_ERR_MAIL_AUTH', true, text, reply)
    return new MailError('ROSTER_ERR_MAIL_REJECTED', reply < 500, text, reply)
  }
  switch (err.code) {
    case 'ETIMEDOUT':
      return new MailError('ROSTER_ERR_MAIL_TIMEOUT', true, text)
    case 'ECONNECTION':
    case 'ESOCKET':
    case 'EDNS':
    case 'EPROXY':
    case 'EPROTOCOL':
      return new MailError('ROSTER_ERR_MAIL_CONNECT', true, text)
    case 'EAUTH':
    case 'ENOAUTH':
    case 'EOAUTH2':
      return new MailError('ROSTER_ERR_MAIL_AUTH', true, text)
    case 'ETLS':
    case 'EREQUIRETLS':
      return new MailError('ROSTER_ERR_MAIL_TLS', true, text)
    case 'EENVELOPE':
    case 'EMESSAGE':
    case 'EMAXRECIPIENTS':
      return new MailError('ROSTER_ERR_MAIL_MESSAGE', false, text)
    default:
      return new MailError('ROSTER_ERR_MAIL_SEND', true, text)
  }
}

// The password as it may show up in text: decoded, as written in the URL, and base64 (AUTH).
function secretForms(urlPassword: string): string[] {
  if (urlPassword === '') return []
  let decoded = urlPassword
  try {
    decoded = decodeURIComponent(urlPassword)
  } catch {
    // not valid percent-encoding: nodemailer uses it as written
  }
  return [...new Set([decoded, urlPassword, Buffer.from(decoded).toString('base64')])].filter((s) => s.length >= 3)
}

/**
 * Writes each message to `dir` as `<ISO time>-<random>.eml` (CRLF line ends, RFC 5322 §2.1),
 * readable by the owner only since an invitation link is a secret. The file is written under a
 * dot-name ending in .tmp and renamed, so a reader never sees half a message.
 */
export function fileTransport(directory: string): MailTransport {
  const dir = resolve(directory)
  // The directory is made once, not at every message (a syscall each, on the event loop's side of
  // the thread pool); made again if it disappears.
  let made: Promise<unknown> | null = null
  const create = async (path: string): Promise<Awaited<ReturnType<typeof open>>> => {
    made ??= mkdir(dir, { recursive: true }).catch((e: unknown) => {
      made = null
      throw e
    })
    await made
    try {
      return await open(path, 'wx', 0o600)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      made = null
      await mkdir(dir, { recursive: true })
      return open(path, 'wx', 0o600)
    }
  }
  return {
    async send(message) {
      const { raw, messageId } = built(message)
      const name = `${new Date().toISOString().replace(/:/g, '-')}-${randomBytes(8).toString('hex')}.eml`
      const path = join(dir, name)
      const temporary = join(dir, `.${name}.tmp`)
      try {
        const file = await create(temporary)
        try {
          await file.writeFile(raw)
          await file.sync()
        } finally {
          await file.close()
        }
        await rename(temporary, path)
      } catch (e) {
        await unlink(temporary).catch(() => undefined)
        throw new MailError('ROSTER_ERR_MAIL_FILE', true, `could not write ${path}: ${e instanceof Error ? e.message : String(e)}`)
      }
      return { messageId, where: path }
    },
    async close() {},
  }
}

/** An SMTP relay when one is configured, the outbox directory otherwise. */
export function transportFromConfig(env: { smtpUrl: string | null; outboxDir: string }): MailTransport {
  return env.smtpUrl !== null && env.smtpUrl !== '' ? smtpTransport(env.smtpUrl) : fileTransport(env.outboxDir)
}
