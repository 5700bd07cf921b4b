// The console's emails (an invitation to administer an organization, a password reset) through
// the mailer's transport (mail/transport.ts: SMTP, or .eml files in the outbox). Each carries a
// one-time link into the console; the token travels in the URL's fragment, which the browser
// never sends to a server, so it stays out of access logs (RFC 3986 §3.5).
import { escapeHtml, expiryInWords } from '../mail/templates.ts'
import type { MailMessage, MailTransport } from '../mail/transport.ts'

export interface ConsoleMailSettings {
  readonly transport: MailTransport
  readonly from: string
  readonly productName: string
}

/** The console page a link opens: `{base}/console/#/link?token=…` (`&setup=1` for the operator's setup, which asks for the email too). */
export function linkUrl(baseUrl: string, token: string, setup = false): string {
  return `${baseUrl}/console/#/link?token=${encodeURIComponent(token)}${setup ? '&setup=1' : ''}`
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\u2028\u2029]+/g, ' ').trim()
}

function message(s: ConsoleMailSettings, to: string, subject: string, lines: readonly string[], url: string, expiresAt: Date): MailMessage {
  const expires = expiryInWords(expiresAt)
  const text = [...lines, '', url, '', `The link works once and expires on ${expires}.`, "If you weren't expecting this email, you can ignore it.", ''].join('\n')
  const html = `<!doctype html><html><body style="font-family:sans-serif;color:#1a1a1a">${lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('')}` +
    `<p><a href="${escapeHtml(url)}">${escapeHtml(url)}</a></p><p>The link works once and expires on ${escapeHtml(expires)}.</p>` +
    '<p>If you weren\'t expecting this email, you can ignore it.</p></body></html>'
  return { from: s.from, to, subject: oneLine(subject), text, html }
}

export function inviteEmail(s: ConsoleMailSettings, input: { to: string; orgName: string; role: string; inviter: string; url: string; expiresAt: Date }): MailMessage {
  const org = oneLine(input.orgName)
  return message(s, input.to, `You're invited to administer ${org} on ${oneLine(s.productName)}`, [
    'Hello,', '', `${oneLine(input.inviter)} invited you to the ${oneLine(s.productName)} console of ${org} as ${input.role === 'viewer' ? 'a viewer' : 'an admin'}.`,
    'Choose your password by opening this link:',
  ], input.url, input.expiresAt)
}

export function resetEmail(s: ConsoleMailSettings, input: { to: string; url: string; expiresAt: Date }): MailMessage {
  return message(s, input.to, `Reset your ${oneLine(s.productName)} console password`, [
    'Hello,', '', `Someone asked to reset the password of your ${oneLine(s.productName)} console account. If it was you, choose a new password by opening this link:`,
  ], input.url, input.expiresAt)
}
