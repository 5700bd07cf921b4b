// Console sign-in failures and lock-outs, recorded (docs/architecture.md UI-3; OWASP ASVS 4.0.3
// 7.1.3, 7.2.1), through the listening server on each store: the failure that locks an email
// out writes one `console.locked_out` entry in each organization its account has a role in, and
// none anywhere for an email of no account; attempts while locked add none. Every refused
// password check is a line in the server's log, and an address reaching its failures a minute
// (ROSTER_AUTH_FAILURES_PER_MINUTE) is one line, however many requests it then has refused.
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import type { OrgId } from '../../src/store/store.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { PASSWORD, consoleAccount } from '../helpers/console.ts'
import { jsonBody } from '../helpers/json-body.ts'
import { storeMatrix } from '../helpers/stores.ts'

interface Entry { actor: string; action: string; at: string; details: Record<string, unknown> }

const PER_MINUTE = 18

describe.each(storeMatrix())('sign-in lock-outs recorded on $name', (factory) => {
  let t: TestApp
  const clock = Date.now()
  const lines: Record<string, unknown>[] = []
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>)
      done()
    },
  })
  const orgs: { id: OrgId; key: string }[] = []

  beforeAll(async () => {
    // The clock stands still: the address's failures never age out of their minute.
    t = await startApp(factory, {}, { now: () => new Date(clock), logStream, requestLog: false, authFailuresPerMinute: PER_MINUTE })
    for (const orgId of [t.orgId, (await t.newOrg(`lockout-b-${crypto.randomUUID()}`)).orgId, (await t.newOrg(`lockout-c-${crypto.randomUUID()}`)).orgId]) {
      orgs.push({ id: orgId, key: (await createApiKey(t.deps, { name: 'audit', orgId, scopes: ['org:admin'], expiresAt: null })).key })
    }
  })
  afterAll(async () => t.close())

  const signIn = async (email: string, password: string) => {
    const r = await t.send('POST', '/api/v1/console/sign-in', { 'content-type': 'application/json' }, JSON.stringify({ email, password }))
    return { status: r.status, error: jsonBody(r.body).error }
  }
  const lockouts = async (o: { id: OrgId; key: string }) => {
    const r = await t.send('GET', `/api/v1/orgs/${o.id}/audit?limit=100`, { authorization: `Bearer ${o.key}` })
    return ((jsonBody(r.body).data ?? []) as Entry[]).filter((e) => e.action === 'console.locked_out')
  }
  const logged = (event: string, email?: string) => lines.filter((l) => l.event === event && (email === undefined || l.email === email))

  it('five failed sign-ins lock the email out: one audit entry in each of its account\'s organizations, none while it stays locked', async () => {
    const [a, b, c] = orgs as [{ id: OrgId; key: string }, { id: OrgId; key: string }, { id: OrgId; key: string }]
    await consoleAccount(t, 'locked@acme.test', 'admin', a.id)
    await t.store.console.setRole(b.id, (await t.store.console.accountByEmail('locked@acme.test'))?.id ?? '', 'viewer', new Date(clock).toISOString(), null)
    const answers = []
    for (let i = 0; i < 5; i++) answers.push(await signIn('Locked@acme.test', `wrong ${i}`))
    expect(answers.map((x) => x.status)).toEqual([401, 401, 401, 401, 429])
    expect(answers[4]?.error).toBe('locked_out')
    for (const o of [a, b]) {
      expect(await lockouts(o)).toEqual([{
        id: expect.any(String), at: new Date(clock).toISOString(), actor: 'system', action: 'console.locked_out',
        details: { email: 'locked@acme.test', failures: 5, lockedUntil: new Date(clock + 15 * 60_000).toISOString(), address: '127.0.0.1', operation: 'sign_in' },
      }])
    }
    expect(await lockouts(c)).toEqual([])
    // Locked: the right password is refused too, and nothing more is written.
    for (let i = 0; i < 4; i++) expect((await signIn('locked@acme.test', i === 0 ? PASSWORD : `wrong again ${i}`)).status).toBe(429)
    expect((await lockouts(a)).length + (await lockouts(b)).length).toBe(2)
    // The server's log has each refusal, for the operator.
    expect(logged('console.sign_in_failed', 'Locked@acme.test').map((l) => [l.failures, l.address])).toEqual([[1, '127.0.0.1'], [2, '127.0.0.1'], [3, '127.0.0.1'], [4, '127.0.0.1']])
    expect(logged('console.locked_out', 'Locked@acme.test').map((l) => [l.failures, l.organizationsTold])).toEqual([[5, 2]])
    expect(logged('console.sign_in_locked', 'locked@acme.test')).toHaveLength(4)
    expect(JSON.stringify(lines)).not.toContain(PASSWORD)
  })

  it('an email of no account is locked out too, written to no organization\'s audit log, only to the server\'s log', async () => {
    for (let i = 0; i < 5; i++) await signIn('nobody@acme.test', `guess ${i}`)
    expect((await signIn('nobody@acme.test', 'guess 5')).error).toBe('locked_out')
    for (const o of orgs) expect((await lockouts(o)).every((e) => e.details.email === 'locked@acme.test')).toBe(true)
    expect(logged('console.locked_out', 'nobody@acme.test').map((l) => [l.failures, l.organizationsTold])).toEqual([[5, 0]])
  })

  it('an address reaching its failures a minute is one line in the server\'s log, however many of its requests are then refused', async () => {
    // Each email below its own lock-out: only the address's count stops them.
    let n = 0
    let last = { status: 0, error: undefined as unknown }
    while (n < PER_MINUTE * 2 && last.error !== 'too_many_failures') last = await signIn(`spread-${n++}@acme.test`, 'wrong')
    expect(last).toEqual({ status: 429, error: 'too_many_failures' })
    for (let i = 0; i < 5; i++) expect((await signIn(`later-${i}@acme.test`, 'wrong')).error).toBe('too_many_failures')
    expect(logged('auth.address_limited').map((l) => [l.address, l.perMinute])).toEqual([['127.0.0.1', PER_MINUTE]])
  })
})
