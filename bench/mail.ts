// The cost of an invitation email on the event loop (bench/RESULTS.md, "Invitation emails"): the
// message built by mail/mime.ts against the same message composed by nodemailer (what the file
// transport used before), CPU µs a message on this single thread; then the outbox transport
// (mail/transport.ts fileTransport: build, write, fsync, rename) at the mailer's concurrency.
//
//   npm run bench:mail [-- --messages 5000]
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createTransport } from 'nodemailer'
import { MAIL_CONCURRENCY } from '../src/mail/mailer.ts'
import { buildMessage } from '../src/mail/mime.ts'
import { invitationEmail, inviteUrl } from '../src/mail/templates.ts'
import { fileTransport, type MailMessage } from '../src/mail/transport.ts'

const { values } = parseArgs({ options: { messages: { type: 'string', default: '5000' } } })
const N = Number(values.messages)
if (!Number.isInteger(N) || N < 100) throw new Error('--messages must be a whole number of at least 100')
/** The mailer's sends at once. */
const CONCURRENCY = MAIL_CONCURRENCY

const message = (i: number): MailMessage => invitationEmail({
  productName: 'Roster', orgName: 'Acme', userDisplayName: `Bench User ${i}`, userName: `bench.user.${i}@example.com`, to: `bench.user.${i}@example.com`,
  acceptUrl: inviteUrl('https://app.example.com/invitations/accept?token={token}', randomBytes(32).toString('base64url')),
  expiresAt: new Date(Date.now() + 7 * 86_400_000), from: 'Roster <no-reply@example.com>',
})

/** CPU µs per call of `fn` over `n` calls (after n/10 untimed), this process (one thread here). */
async function cpuPer(n: number, fn: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < n / 10; i++) await fn(i)
  const c0 = process.cpuUsage()
  for (let i = 0; i < n; i++) await fn(i)
  const c = process.cpuUsage(c0)
  return Math.round((c.user + c.system) / n)
}

const composer = createTransport({ streamTransport: true, buffer: true, newline: 'windows', disableFileAccess: true, disableUrlAccess: true })
const templateUs = await cpuPer(N, message)
const builtUs = await cpuPer(N, (i) => buildMessage(message(i), new Date(), () => randomBytes(12).toString('hex')))
const composedUs = await cpuPer(N, async (i) => {
  const m = message(i)
  await composer.sendMail({ from: m.from, to: m.to, subject: m.subject, text: m.text, html: m.html, headers: { ...m.headers } })
})
composer.close()

const dir = mkdtempSync(join(tmpdir(), 'roster-bench-mail-'))
try {
  const outbox = fileTransport(dir)
  let next = 0
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < N) await outbox.send(message(next++))
  }))
  const ms = performance.now() - t0
  const c = process.cpuUsage(c0)
  await outbox.close()
  console.log(`messages: ${N}`)
  console.log(`template alone:                    ${templateUs} µs CPU a message`)
  console.log(`template + mime.ts:                ${builtUs} µs CPU a message`)
  console.log(`template + nodemailer's composer:  ${composedUs} µs CPU a message`)
  console.log(`outbox (.eml, fsynced), ${CONCURRENCY} at once: ${Math.round((N * 1000) / ms)} messages/s, ${Math.round((c.user + c.system) / N)} µs CPU a message (every thread)`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
