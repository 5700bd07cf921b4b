import { simpleParser } from 'mailparser'
import { createTransport } from 'nodemailer'
import { describe, expect, it } from 'vitest'
import { DEFAULT_INVITE_URL, escapeHtml, expiryInWords, invitationEmail, inviteUrl, type InvitationInput } from './templates.ts'
import { MailError } from './transport.ts'

const base: InvitationInput = {
  productName: 'Roster',
  orgName: 'Acme',
  userDisplayName: 'Ada Lovelace',
  userName: 'ada@acme.test',
  to: 'ada@acme.test',
  acceptUrl: 'https://roster.example.com/invitations/accept?token=abc',
  expiresAt: new Date('2026-12-01T14:05:00Z'),
  from: 'Roster <no-reply@roster.example.com>',
}

// The message exactly as it would be sent, CRLF line ends.
async function compose(m: ReturnType<typeof invitationEmail>): Promise<string> {
  const t = createTransport({ streamTransport: true, buffer: true, newline: 'windows' })
  const info = await t.sendMail({ ...m, headers: { ...m.headers } })
  return (info.message as Buffer).toString('utf8')
}

describe('invitationEmail', () => {
  it('names the organization and product in the subject and both bodies', () => {
    const m = invitationEmail(base)
    expect(m.subject).toBe("You're invited to join Acme on Roster")
    expect(m.to).toBe('ada@acme.test')
    expect(m.from).toBe(base.from)
    expect(m.text).toContain('Hello Ada Lovelace,')
    expect(m.text).toContain(base.acceptUrl)
    expect(m.html).toContain('Hello Ada Lovelace,')
    expect(m.html).toContain(`href="${base.acceptUrl}"`)
    expect(m.headers).toEqual({ 'Auto-Submitted': 'auto-generated' })
  })

  it('falls back to the user name when there is no display name', () => {
    for (const userDisplayName of [null, '', '  \r\n ']) {
      const m = invitationEmail({ ...base, userDisplayName })
      expect(m.text).toContain('Hello ada@acme.test,')
      expect(m.html).toContain('Hello ada@acme.test,')
    }
  })

  it('HTML-escapes every interpolated value in the HTML body', () => {
    const m = invitationEmail({
      ...base,
      userDisplayName: '<script>alert(1)</script>',
      orgName: 'A & "B" <i>',
      productName: "Ro'ster",
      acceptUrl: 'https://x.test/a?token=1&x="><img src=y>',
    })
    expect(m.html).not.toContain('<script>')
    expect(m.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(m.html).toContain('A &amp; &quot;B&quot; &lt;i&gt;')
    expect(m.html).toContain('Ro&#39;ster')
    expect(m.html).toContain('href="https://x.test/a?token=1&amp;x=&quot;&gt;&lt;img src=y&gt;"')
    expect(m.html).not.toContain('<img')
    // The plain-text body is text: nothing to escape.
    expect(m.text).toContain('Hello <script>alert(1)</script>,')
  })

  it('loads nothing: no scripts, images, stylesheets or external fonts', () => {
    const { html } = invitationEmail(base)
    expect(html).not.toMatch(/<script|<img|<link|<style|@import|url\(/i)
  })

  it('keeps a CR/LF in the organization name from starting a header', async () => {
    const m = invitationEmail({ ...base, orgName: 'Acme\r\nBcc: victim@evil.test\r\n', userDisplayName: 'Eve\n\nClick http://evil.test' })
    expect(m.subject).toBe("You're invited to join Acme Bcc: victim@evil.test on Roster")
    expect(m.subject).not.toMatch(/[\r\n]/)
    expect(m.text).toContain('Hello Eve Click http://evil.test,')
    const raw = await compose(m)
    expect(raw).not.toMatch(/^bcc:/im)
    const parsed = await simpleParser(raw)
    expect(parsed.bcc).toBeUndefined()
    expect(parsed.subject).toBe(m.subject)
  })

  it('writes the expiry in words, in UTC', () => {
    expect(invitationEmail(base).text).toContain('The invitation expires on Tuesday, 1 December 2026 at 14:05 UTC.')
    expect(invitationEmail(base).html).toContain('expires on Tuesday, 1 December 2026 at 14:05 UTC.')
    // 23:30 at UTC-5 is already the next day in UTC.
    expect(expiryInWords(new Date('2026-02-28T23:30:00-05:00'))).toBe('Sunday, 1 March 2026 at 04:30 UTC')
  })
})

describe('inviteUrl', () => {
  it('puts the URL-encoded token where {token} is', () => {
    expect(inviteUrl('https://app.example.com/join/{token}?src=mail', 'roster_inv_AbC-_9')).toBe('https://app.example.com/join/roster_inv_AbC-_9?src=mail')
    expect(inviteUrl(DEFAULT_INVITE_URL, 'a b&c=d/e')).toBe('http://localhost:8080/invitations/accept?token=a%20b%26c%3Dd%2Fe')
  })

  it('refuses a template without {token}, or one that is not an http(s) URL', () => {
    expect(() => inviteUrl('https://app.example.com/join', 't')).toThrow(MailError)
    expect(() => inviteUrl('https://app.example.com/join', 't')).toThrow(/\{token\}/)
    expect(() => inviteUrl('/relative/{token}', 't')).toThrow(/absolute/)
    expect(() => inviteUrl('javascript:alert({token})', 't')).toThrow(/http/)
  })
})

describe('escapeHtml', () => {
  it('escapes the five characters that matter in text and attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;')
  })
})
