// A real SMTP server for tests (the `smtp-server` package) on 127.0.0.1: plain text (STARTTLS
// disabled), logins optional, every message parsed with `mailparser` and kept in arrival order.
// It can listen on a port chosen before it starts (a mail server that comes back), and refuse
// recipients as the test says (a 550 to RCPT TO).
import type { AddressInfo } from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer, type SMTPServerAddress, type SMTPServerOptions } from 'smtp-server'

export interface ReceivedMail {
  readonly from: string
  readonly to: string[]
  readonly parsed: ParsedMail
}

export interface SmtpServer {
  readonly port: number
  readonly url: string
  readonly received: ReceivedMail[]
  close(): Promise<void>
}

export interface SmtpOptions {
  /** The port to listen on (a free one when absent). */
  readonly port?: number
  /** An SMTP reply code (and text) refusing this recipient, or null to take it. */
  readonly refuse?: (address: string) => { code: number; text: string } | null
  /** More of smtp-server's options (its own onRcptTo, onAuth …), over the ones above. */
  readonly server?: SMTPServerOptions
}

export async function startSmtp(opts: SmtpOptions = {}): Promise<SmtpServer> {
  const received: ReceivedMail[] = []
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    logger: false,
    closeTimeout: 100,
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const refused = opts.refuse?.(address.address) ?? null
      if (refused === null) return callback()
      return callback(Object.assign(new Error(refused.text), { responseCode: refused.code }))
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          const envelope = session.envelope
          received.push({ from: envelope.mailFrom ? envelope.mailFrom.address : '', to: envelope.rcptTo.map((r) => r.address), parsed })
          callback()
        },
        (e: unknown) => callback(e as Error),
      )
    },
    ...opts.server,
  })
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', resolve)
  })
  const port = (server.server.address() as AddressInfo).port
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(resolve)),
  }
}

/** The invitation link's token in a message's text (the link is ROSTER_INVITE_URL with the token URL-encoded in it). */
export function tokenIn(text: string, linkPrefix: string): string {
  const at = text.indexOf(linkPrefix)
  if (at < 0) throw new Error(`no link starting with ${linkPrefix} in: ${text.slice(0, 500)}`)
  const rest = text.slice(at + linkPrefix.length)
  return decodeURIComponent(/^[^\s"'<>&]+/.exec(rest)?.[0] ?? '')
}
