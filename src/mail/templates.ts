// The invitation email: a plain-text and an HTML body of the same words (sent as
// multipart/alternative, RFC 2046 §5.1.4). Every interpolated value comes from an organization
// admin or an identity provider, so it is one line everywhere (no CR/LF to start a new header,
// RFC 5322 §2.2, or a fake paragraph) and HTML-escaped in the HTML body. The HTML uses inline
// styles only and loads nothing: no external images, fonts or scripts.
import { MailError, type MailMessage } from './transport.ts'

/**
 * A placeholder for local development: the operator sets ROSTER_INVITE_URL to the page that
 * accepts invitations, with `{token}` where the invitation token goes.
 */
export const DEFAULT_INVITE_URL = 'http://localhost:8080/invitations/accept?token={token}'

export interface InvitationInput {
  readonly productName: string
  readonly orgName: string
  readonly userDisplayName: string | null
  readonly userName: string
  readonly to: string
  /** From inviteUrl. */
  readonly acceptUrl: string
  readonly expiresAt: Date
  readonly from: string
}

/** The accept link: `{token}` in `template` replaced by the URL-encoded token. */
export function inviteUrl(template: string, token: string): string {
  if (!template.includes('{token}')) throw new MailError('ROSTER_ERR_MAIL_URL', false, 'the invitation URL template has no {token} placeholder')
  const url = template.split('{token}').join(encodeURIComponent(token))
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new MailError('ROSTER_ERR_MAIL_URL', false, 'the invitation URL template does not make an absolute URL')
  }
  // Anything else (javascript:, data:) must never become a link in an email.
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new MailError('ROSTER_ERR_MAIL_URL', false, `the invitation URL must be http: or https:, not ${parsed.protocol}`)
  return url
}

export function invitationEmail(input: InvitationInput): MailMessage {
  const product = oneLine(input.productName)
  const org = oneLine(input.orgName)
  const name = oneLine(input.userDisplayName ?? '') || oneLine(input.userName)
  const url = oneLine(input.acceptUrl)
  const expires = expiryInWords(input.expiresAt)

  const text = [
    `Hello ${name},`,
    '',
    `You're invited to join ${org} on ${product}.`,
    '',
    'Accept the invitation by opening this link:',
    url,
    '',
    `The invitation expires on ${expires}.`,
    "If you weren't expecting it, you can ignore this email.",
    '',
  ].join('\n')

  const h = escapeHtml
  const html = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${h(`Join ${org} on ${product}`)}</title></head>
<body style="margin:0;padding:0;background-color:#f4f4f5;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background-color:#f4f4f5;">
<tr><td align="center" style="padding:32px 16px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background-color:#ffffff;border-radius:8px;">
<tr><td style="padding:32px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:24px;color:#18181b;">
<p style="margin:0 0 16px 0;">Hello ${h(name)},</p>
<p style="margin:0 0 24px 0;">You're invited to join <strong>${h(org)}</strong> on ${h(product)}.</p>
<p style="margin:0 0 24px 0;"><a href="${h(url)}" style="display:inline-block;padding:12px 24px;background-color:#2563eb;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:bold;">Accept invitation</a></p>
<p style="margin:0 0 8px 0;font-size:14px;color:#52525b;">Or open this link:</p>
<p style="margin:0 0 24px 0;font-size:14px;word-break:break-all;"><a href="${h(url)}" style="color:#2563eb;">${h(url)}</a></p>
<p style="margin:0;font-size:14px;color:#52525b;">The invitation expires on ${h(expires)}. If you weren't expecting it, you can ignore this email.</p>
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`

  return {
    from: input.from,
    to: input.to,
    subject: `You're invited to join ${org} on ${product}`,
    text,
    html,
    // RFC 3834 §5: a message a program sent, so vacation responders do not answer it.
    headers: { 'Auto-Submitted': 'auto-generated' },
  }
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

/** "Tuesday, 1 December 2026 at 14:05 UTC": the same words whatever the server's locale. */
export function expiryInWords(d: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0')
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} at ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

// Line breaks and other control characters (C0, DEL, C1, and the Unicode line and paragraph
// separators) become one space; the result is trimmed.
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim()
}
