// The webhook retry schedule's ends, on a clock the test moves: a failing event is retried until
// three days after its first failure, then given up (the lane goes on to the next event); an
// endpoint whose every delivery has failed for five days is disabled and says why; `roster
// worker` delivers for servers that leave it to workers.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { startApp, user } from '../helpers/app.ts'
import { freePort } from '../helpers/free-port.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { eventually, startReceiver } from '../helpers/webhook-receiver.ts'

const DAY = 86_400_000

describe.each(storeMatrix())('webhook retries on a moving clock on $name', (factory) => {
  it('gives an event up after three days of retries, then disables the endpoint after five days of failures', async () => {
    let offset = 0
    const now = () => new Date(Date.now() + offset)
    const t = await startApp(factory, {}, { now, webhooks: { timeoutMs: 1_000, intervalMs: 50 } })
    const rx = await startReceiver()
    try {
      const key = (await createApiKey(t.deps, { name: 'k', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
      const api = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
        const r = await t.app.inject({ method, url: `/api/v1${path}`, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, payload: body === undefined ? undefined : JSON.stringify(body) })
        return r.json<Record<string, unknown> & { data?: Record<string, unknown>[] }>()
      }
      const ep = await api('POST', `/orgs/${t.orgId}/webhooks`, { url: rx.url, eventTypes: ['user.created'] })
      rx.answer = () => ({ status: 500, body: 'down for maintenance' })
      const first = await t.req('POST', '/Users', user('first@example.com'))
      const attempts = async () => (await api('GET', `/orgs/${t.orgId}/webhooks/${String(ep.id)}/attempts?limit=1000`)).data ?? []
      await eventually(async () => (await attempts()).length >= 1, 10_000, 'the first attempt')
      expect((await attempts())[0]).toMatchObject({ status: 500, outcome: 'retrying', excerpt: 'down for maintenance' })
      // A day later: still retried (each retry is due on the moved clock).
      offset += DAY
      await eventually(async () => (await attempts()).length >= 2, 10_000, 'a retry a day later')
      expect((await attempts())[0]?.outcome).toBe('retrying')
      // Three days and a bit after the first failure: given up; the lane goes on to the next event.
      offset += 2 * DAY + 3_600_000
      await eventually(async () => (await attempts()).some((a) => a.outcome === 'failed'), 10_000, 'the event given up')
      rx.answer = () => ({ status: 200 })
      await t.req('POST', '/Users', user('second@example.com'))
      await eventually(() => rx.accepted.length >= 1, 10_000, 'the next event')
      expect(rx.accepted.map((d) => d.event.data.userName)).toEqual(['second@example.com'])
      expect(rx.accepted.some((d) => d.event.data.id === first.json.id)).toBe(false)
      // The success is recorded once the receiver's answer is back, a moment after it counted the delivery.
      await eventually(async () => (await api('GET', `/orgs/${t.orgId}/webhooks/${String(ep.id)}`)).failingSince === null, 10_000, 'the failure run ended')

      // Failing again for five days: disabled, and the endpoint says why.
      rx.answer = () => ({ status: 503 })
      await t.req('POST', '/Users', user('third@example.com'))
      await eventually(async () => typeof (await api('GET', `/orgs/${t.orgId}/webhooks/${String(ep.id)}`)).failingSince === 'string', 10_000, 'a failure run')
      offset += 5 * DAY + 60_000
      await eventually(async () => (await api('GET', `/orgs/${t.orgId}/webhooks/${String(ep.id)}`)).enabled === false, 10_000, 'disabled')
      expect(String((await api('GET', `/orgs/${t.orgId}/webhooks/${String(ep.id)}`)).disabledReason)).toMatch(/5 days/)
    } finally {
      await t.close()
      await rx.stop()
    }
  }, 60_000)
})

describe('roster worker', () => {
  const procs: ChildProcess[] = []
  const dir = mkdtempSync(join(tmpdir(), 'roster-worker-'))
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  it('delivers for a server started with ROSTER_NO_WEBHOOK_WORKER=1, and stops on SIGTERM', async () => {
    const bin = join(import.meta.dirname, '../../bin/roster.js')
    const port = await freePort()
    const env = { ...process.env, ROSTER_DATABASE_URL: `sqlite:${join(dir, 'r.db')}`, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ROSTER_WEBHOOK_ALLOW_PRIVATE: '1' }
    const server = spawn('node', [bin, 'serve'], { env: { ...env, ROSTER_NO_WEBHOOK_WORKER: '1' }, stdio: 'ignore' })
    procs.push(server)
    await eventually(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 20_000, 'the server')
    const cli = async (...args: string[]) => JSON.parse((await promisify(execFile)('node', [bin, ...args, '--json'], { env })).stdout) as Record<string, string>
    const org = await cli('org', 'create', 'worker-org')
    const rx = await startReceiver()
    const hook = await cli('webhook', 'add', String(org.orgId), rx.url)
    rx.secrets = [String(hook.secret)]
    const create = (n: string) => fetch(`http://127.0.0.1:${port}/scim/v2/Users`, {
      method: 'POST', headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/scim+json' }, body: JSON.stringify(user(n)),
    })
    expect((await create('w1@example.com')).status).toBe(201)
    await new Promise((r) => setTimeout(r, 500))
    expect(rx.requests).toHaveLength(0)
    const worker = spawn('node', [bin, 'worker'], { env, stdio: 'ignore' })
    procs.push(worker)
    await eventually(() => rx.accepted.length >= 1, 20_000, 'the worker to deliver')
    expect((await create('w2@example.com')).status).toBe(201)
    await eventually(() => rx.accepted.length >= 2, 10_000, 'the next delivery')
    expect(rx.badSignatures).toEqual([])
    worker.kill('SIGTERM')
    const code = await new Promise((r) => worker.once('exit', r))
    expect(code).toBe(0)
    await rx.stop()
  }, 60_000)
})
