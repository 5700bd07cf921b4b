// The contract for scripts, through the `roster` process as an operator runs it: ROSTER_SMTP_URL
// and ROSTER_INVITE_URL configure invitations, the server emails a SCIM-created user, and
// `POST /api/v1/invitations/accept {"token"}` with the link's token makes the user active. A
// ROSTER_INVITE_URL without {token} stops the server before it starts, with its error code.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { user } from '../helpers/app.ts'
import { freePort } from '../helpers/free-port.ts'
import { startSmtp, tokenIn } from '../helpers/smtp-server.ts'
import { eventually } from '../helpers/webhook-receiver.ts'
import { BIN } from '../helpers/spawned-server.ts'

const run = promisify(execFile)
const LINK = 'https://app.example.test/join?token='

describe('roster serve with ROSTER_SMTP_URL and ROSTER_INVITE_URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-invite-'))
  const procs: ChildProcess[] = []
  const cleanups: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL')
    for (const c of cleanups) await c()
    rmSync(dir, { recursive: true, force: true })
  })

  it('emails a SCIM-created user a link whose token POST /api/v1/invitations/accept takes, and the user is active', async () => {
    const mail = await startSmtp()
    cleanups.push(() => mail.close())
    const port = await freePort()
    const env = {
      ...process.env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'r.db')}`, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn',
      ROSTER_SMTP_URL: mail.url, ROSTER_INVITE_URL: `${LINK}{token}`, ROSTER_PRODUCT_NAME: 'Acme Cloud', ROSTER_MAIL_FROM: 'Acme Cloud <no-reply@acme.test>',
    }
    const server = spawn('node', [BIN, 'serve'], { env, stdio: 'ignore' })
    procs.push(server)
    const base = `http://127.0.0.1:${port}`
    await eventually(() => fetch(`${base}/healthz`).then((r) => r.ok, () => false), 20_000, 'the server')
    const cli = async (...args: string[]) => JSON.parse((await run('node', [BIN, ...args, '--json'], { env })).stdout) as Record<string, string>
    const org = await cli('org', 'create', 'Invite Corp')
    const key = (await cli('api-key', 'create', 'app', '--org', 'Invite Corp', '--scope', 'directory:read,directory:write')).key ?? ''

    const created = await fetch(`${base}/scim/v2/Users`, {
      method: 'POST', headers: { authorization: `Bearer ${org.token ?? ''}`, 'content-type': 'application/scim+json' }, body: JSON.stringify(user('ada@invite.test')),
    })
    expect(created.status).toBe(201)
    const id = String(((await created.json()) as { id: string }).id)
    await eventually(() => mail.received.length === 1, 20_000, 'the invitation email')
    const m = mail.received[0]
    expect(m?.to).toEqual(['ada@invite.test'])
    expect(m?.parsed.subject).toBe("You're invited to join Invite Corp on Acme Cloud")
    const token = tokenIn(m?.parsed.text ?? '', LINK)

    const api = (method: string, path: string, body?: unknown) => fetch(`${base}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body),
    })
    // The email went before its outcome was recorded: wait for `sent`.
    await eventually(async () => ((await (await api('GET', `/orgs/${String(org.orgId)}/users/${id}/invitation`)).json()) as { status: string }).status === 'sent', 20_000, 'sent')
    const accepted = await api('POST', '/invitations/accept', { token })
    expect(accepted.status).toBe(200)
    expect(await accepted.json()).toMatchObject({ id, state: 'active' })
    server.kill('SIGTERM')
    expect(await new Promise((resolve) => server.once('exit', resolve))).toBe(0)
  }, 60_000)

  it('refuses to start with a ROSTER_INVITE_URL that has no {token}: ROSTER_ERR_CONFIG_ROSTER_INVITE_URL', async () => {
    const env = { ...process.env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'r2.db')}`, PORT: String(await freePort()), ROSTER_INVITE_URL: 'https://app.example.test/join' }
    const failed = await run('node', [BIN, 'serve'], { env }).then(() => null, (e: unknown) => e as { code: number; stderr: string })
    expect(failed?.code).toBe(1)
    expect(failed?.stderr).toContain('ROSTER_ERR_CONFIG_ROSTER_INVITE_URL')
  }, 30_000)
})
