// `roster webhook list|remove|test|replay|rotate|redeliver` as an operator and a script run them
// (bin/roster.js --json against the database of a running server, on a SQLite file and on
// PostgreSQL): each subcommand's --json answer and its effect at a real receiver, a test send
// bounded by ROSTER_WEBHOOK_TIMEOUT_MS (the API's test send too), and an unknown endpoint id
// refused with exit code 1 and its error code.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { BIN, call, serverEnv, startServer } from '../helpers/spawned-server.ts'
import { onPostgresDatabase, onSqliteFile } from '../helpers/scratch-database.ts'
import { eventually, startReceiver } from '../helpers/webhook-receiver.ts'

const run = promisify(execFile)
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
// The shortest timeout ROSTER_WEBHOOK_TIMEOUT_MS takes; the slow receiver below answers well after it.
const TIMEOUT_MS = '500'
const SLOW_ANSWER_MS = 3_000

const databases: { name: string; on: <T>(fn: (url: string) => Promise<T>) => Promise<T> }[] = [
  { name: 'sqlite', on: (fn) => onSqliteFile('roster-webhook-cli', fn) },
  ...(process.env.TEST_DATABASE_URL ? [{ name: 'postgres', on: <T>(fn: (url: string) => Promise<T>) => onPostgresDatabase(process.env.TEST_DATABASE_URL as string, 'roster_webhook_cli', fn) }] : []),
]

describe.each(databases)('roster webhook on $name', ({ on }) => {
  it('list, test, rotate, redeliver, replay and remove: the --json answers and their effect', () => on(async (url) => {
    const env = serverEnv(url, { ROSTER_WEBHOOK_ALLOW_PRIVATE: '1', ROSTER_WEBHOOK_TIMEOUT_MS: TIMEOUT_MS })
    const roster = async (...args: string[]) => {
      try {
        const r = await run(process.execPath, [BIN, ...args, '--json'], { env })
        return { code: 0, json: JSON.parse(r.stdout) as unknown, stderr: r.stderr }
      } catch (e) {
        const f = e as { code: number; stdout: string; stderr: string }
        return { code: f.code, json: f.stdout ? JSON.parse(f.stdout) as unknown : null, stderr: f.stderr }
      }
    }
    const ok = async (...args: string[]) => {
      const r = await roster(...args)
      expect(r.code, r.stderr).toBe(0)
      return r.json as Record<string, unknown>
    }
    const server = await startServer(url, { ROSTER_WEBHOOK_ALLOW_PRIVATE: '1', ROSTER_WEBHOOK_TIMEOUT_MS: TIMEOUT_MS })
    const rx = await startReceiver()
    try {
      const org = await ok('org', 'create', `hooks-${Date.now()}`)
      const orgId = String(org.orgId)
      const key = String((await ok('api-key', 'create', '--org', orgId, '--scope', 'events:read,webhooks:manage')).key)
      const hook = await ok('webhook', 'add', orgId, rx.url, '--types', 'user.created')
      const id = String(hook.id)
      rx.secrets = [String(hook.secret)]

      // list: the endpoint as the API shows it, never its secret.
      const list = await ok('webhook', 'list', orgId) as unknown as Record<string, unknown>[]
      expect(list).toEqual([expect.objectContaining({ id, url: rx.url, eventTypes: ['user.created'], enabled: true, failingSince: null, disabledReason: null })])
      expect(JSON.stringify(list)).not.toContain('whsec_')

      // test: a signed webhook.test event, answered by the receiver.
      const sent = await ok('webhook', 'test', orgId, id)
      expect(sent).toMatchObject({ status: 200, error: null, eventId: expect.any(String) })
      expect(rx.accepted.map((d) => [d.webhookId, d.event.type])).toEqual([[sent.eventId, 'webhook.test']])
      expect(rx.badSignatures).toEqual([])

      // rotate: a new secret; both sign during the overlap, each verifying alone.
      const rotated = await ok('webhook', 'rotate', orgId, id)
      expect(String(rotated.secret)).toMatch(/^whsec_/)
      expect(rotated.secret).not.toBe(hook.secret)
      expect(Date.parse(String(rotated.previousValidUntil))).toBeGreaterThan(Date.now())
      rx.secrets = [String(hook.secret), String(rotated.secret)]
      await ok('webhook', 'test', orgId, id)
      expect(rx.accepted.at(-1)?.signature.split(' ')).toHaveLength(2)
      expect(rx.badSignatures).toEqual([])

      // Three events delivered by the server; redeliver one and replay after the first.
      rx.accepted.length = 0
      for (const n of ['one', 'two', 'three']) {
        expect((await call(server.base, 'POST', '/scim/v2/Users', String(org.token), { schemas: [USER], userName: `${n}@example.com` })).status).toBe(201)
      }
      await eventually(() => rx.accepted.length >= 3, 20_000, 'three deliveries')
      const firsts = rx.accepted.map((d) => d.webhookId)
      expect(await ok('webhook', 'redeliver', orgId, id, String(firsts[1]))).toEqual({ queued: 1 })
      await eventually(() => rx.accepted.length >= 4, 20_000, 'the redelivery')
      expect(rx.accepted[3]?.webhookId).toBe(firsts[1])
      const feed = await call(server.base, 'GET', `/api/v1/orgs/${orgId}/events?limit=1`, key)
      expect(feed.status).toBe(200)
      expect(await ok('webhook', 'replay', orgId, id, '--after', String(feed.json.nextCursor))).toEqual({ queued: 2 })
      await eventually(() => rx.accepted.length >= 6, 20_000, 'the replay')
      expect(rx.accepted.slice(4).map((d) => d.webhookId)).toEqual(firsts.slice(1))
      expect(await ok('webhook', 'replay', orgId, id)).toEqual({ queued: 3 })
      await eventually(() => rx.accepted.length >= 9, 20_000, 'the whole replay')
      expect(rx.accepted.slice(6).map((d) => d.webhookId)).toEqual(firsts)
      expect(rx.badSignatures).toEqual([])

      // A test send waits ROSTER_WEBHOOK_TIMEOUT_MS, not the 15 s default: a receiver answering
      // after it is not delivered to, from the CLI (exit code 1) as from the API.
      rx.answer = () => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), SLOW_ANSWER_MS))
      const slow = await roster('webhook', 'test', orgId, id)
      expect(slow.code).toBe(1)
      expect(slow.json).toMatchObject({ status: null, error: expect.stringMatching(/timed out/) })
      const viaApi = await call(server.base, 'POST', `/api/v1/orgs/${orgId}/webhooks/${id}/test`, key)
      expect(viaApi.status).toBe(200)
      expect(viaApi.json).toMatchObject({ status: null, error: expect.stringMatching(/timed out/) })
      rx.answer = () => ({ status: 200 })

      // An unknown endpoint id: exit code 1 and the error's code, for every subcommand that takes one.
      const event = String(firsts[0])
      for (const args of [['remove'], ['test'], ['rotate'], ['redeliver', event], ['replay']]) {
        const [sub, ...rest] = args as [string, ...string[]]
        const r = await roster('webhook', sub, orgId, 'no-such-endpoint', ...rest)
        expect(r.code, sub).toBe(1)
        expect(r.stderr, sub).toContain('error ROSTER_ERR_WEBHOOK_NOT_FOUND: No webhook endpoint "no-such-endpoint"')
      }
      // An unknown event id, and a missing argument (usage, exit code 2).
      const noEvent = await roster('webhook', 'redeliver', orgId, id, 'no-such-event')
      expect(noEvent.code).toBe(1)
      expect(noEvent.stderr).toMatch(/error ROSTER_ERR_WEBHOOK_EVENT/)
      expect((await roster('webhook', 'remove', orgId)).code).toBe(2)

      // remove: gone from the list, and nothing more is delivered to it.
      expect(await ok('webhook', 'remove', orgId, id)).toEqual({ removed: id })
      expect(await ok('webhook', 'list', orgId)).toEqual([])
      expect((await roster('webhook', 'remove', orgId, id)).code).toBe(1)
    } finally {
      await server.kill()
      await rx.stop()
    }
  }), 120_000)
})
