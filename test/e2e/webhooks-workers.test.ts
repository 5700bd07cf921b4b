// Several delivery processes on one database (docs/architecture.md EVT-3; docs/events.md, "Where
// it runs"): on PostgreSQL four `roster worker` processes beside a `roster serve` started with
// ROSTER_NO_WEBHOOK_WORKER=1; on SQLite a server that delivers and one `roster worker` on its
// file (one writer at a time: more processes would only queue behind it). Real processes, as
// production runs them, so that the leases are all that keeps them apart. One worker is killed
// with SIGKILL midway. The receiver answers after a random few milliseconds and logs when each
// request arrived and when it was answered: no event, and no resource's lane, is ever in flight
// twice at once (Standard Webhooks 1.0: one `webhook-id` per event; Roster: one delivery in flight
// per lane), the first arrivals of each resource's events are in feed order, and every event of
// the feed arrives, also those the killed worker held (its leases expire: twice the timeout and a
// second).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { FeedReader } from '../helpers/api-client.ts'
import { patchOp, user } from '../helpers/app.ts'
import { drainFeed, httpApiGet } from '../helpers/feed-over-http.ts'
import { createTestDatabase } from '../helpers/pg-database.ts'
import { connectionsTo } from '../helpers/proc-sockets.ts'
import { BIN, call, serverEnv, startServer, type Server } from '../helpers/spawned-server.ts'
import { openQueue } from '../helpers/webhook-queue.ts'
import { eventually, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'

const run = promisify(execFile)
const USERS = 300
const PATCHES = 4
const GROUPS = 50
const MEMBERS = 10
const EXPECTED = USERS * (1 + PATCHES) + GROUPS * (1 + MEMBERS)
const TYPES = 'user.created,user.updated,group.created,group.member_added'
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
/** The per-attempt timeout; a killed worker's leases end twice this and a second after its claim. */
const TIMEOUT_MS = 2_000
/** The most a receiver's answer is delayed (a random part of it each time). */
const MOST_DELAY_MS = 15

interface Setup { readonly name: 'sqlite' | 'postgres'; readonly url: string; readonly workers: number; readonly serverDelivers: boolean; cleanup(): Promise<void> }

const setups: (() => Promise<Setup>)[] = [
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-workers-'))
    return { name: 'sqlite', url: `sqlite:${join(dir, 'roster.db')}`, workers: 1, serverDelivers: true, cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
  },
  ...(process.env.TEST_DATABASE_URL ? [async (): Promise<Setup> => {
    const db = await createTestDatabase(process.env.TEST_DATABASE_URL as string, 'roster_workers')
    return { name: 'postgres', url: db.url, workers: 4, serverDelivers: false, cleanup: db.drop }
  }] : []),
]

/** One request at the receiver: its event, its resource, when it arrived and when it was answered (performance.now()), and which process sent it. */
interface Logged { readonly id: string; readonly resource: string; readonly remotePort: number | undefined; readonly arrived: number; answered: number }

describe.each(setups.map((open, i) => ({ open, name: i === 0 ? 'sqlite' : 'postgres' })))('delivery workers on one database on $name', ({ open }) => {
  const procs: ChildProcess[] = []
  const cleanups: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL')
    for (const c of cleanups.reverse()) await c()
  })

  it('never has one event, or one resource\'s lane, in flight twice at once; keeps each resource\'s order; loses nothing when a worker is killed', async () => {
    const setup = await open()
    cleanups.push(() => setup.cleanup())
    const dir = mkdtempSync(join(tmpdir(), 'roster-workers-outbox-'))
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
    const extra = { ROSTER_WEBHOOK_ALLOW_PRIVATE: '1', ROSTER_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS), ROSTER_OUTBOX_DIR: dir }
    const env = serverEnv(setup.url, extra)
    const server: Server = await startServer(setup.url, { ...extra, ...(setup.serverDelivers ? {} : { ROSTER_NO_WEBHOOK_WORKER: '1' }) })
    procs.push(server.proc)
    const cli = async (...args: string[]) => JSON.parse((await run(process.execPath, [BIN, ...args, '--json'], { env })).stdout) as Record<string, string>
    const org = await cli('org', 'create', `workers-${Date.now()}`)
    // No invitations: their events would come on their own time, after the writes.
    await cli('org', 'set', String(org.orgId), '--send-invitations', 'off')
    const key = String((await cli('api-key', 'create', '--org', String(org.orgId), '--scope', 'events:read')).key)

    const rx: Receiver = await startReceiver()
    cleanups.push(() => rx.stop())
    const rxPort = Number(new URL(rx.url).port)
    const hook = await cli('webhook', 'add', String(org.orgId), rx.url, '--types', TYPES)
    rx.secrets = [String(hook.secret)]
    const log: Logged[] = []
    rx.answer = async (body) => {
      // Called right after the receiver recorded the request: it is the last of rx.requests.
      const r = rx.requests[rx.requests.length - 1]
      const entry: Logged = {
        id: String(r?.headers['webhook-id']), resource: (JSON.parse(body) as { data: { id: string } }).data.id, remotePort: r?.remotePort,
        arrived: performance.now(), answered: Number.POSITIVE_INFINITY,
      }
      log.push(entry)
      await new Promise((resolve) => setTimeout(resolve, Math.random() * MOST_DELAY_MS))
      entry.answered = performance.now()
      return { status: 200 }
    }

    // The workers, each ready once it says it delivers.
    const workers = await Promise.all(Array.from({ length: setup.workers }, async () => {
      const p = spawn(process.execPath, [BIN, 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
      procs.push(p)
      let said = ''
      p.stderr?.on('data', (d: Buffer) => {
        said = (said + d.toString()).slice(-4_000)
      })
      await eventually(() => /delivering webhooks/.test(said), 30_000, 'a worker to start')
      return p
    }))
    // Which process each connection to the receiver belongs to, looked up while it is open (kept
    // alive between deliveries) when a request comes from a port not placed yet.
    const names = new Map<number, string>([[server.proc.pid as number, 'server'], ...workers.map((w, i): [number, string] => [w.pid as number, `worker ${i + 1}`])])
    const sender = new Map<number, string>()
    const sample = setInterval(() => {
      if (log.every((e) => e.remotePort === undefined || sender.has(e.remotePort))) return
      for (const [port, pid] of connectionsTo([...names.keys()], rxPort)) sender.set(port, names.get(pid) as string)
    }, 100)
    cleanups.push(async () => clearInterval(sample))

    // The writes, through the server; the first worker is killed once a third of the events arrived.
    const victim = workers[0] as ChildProcess
    let acceptedAtKill = -1
    const killer = eventually(() => new Set(rx.accepted.map((d) => d.webhookId)).size >= EXPECTED / 3, 60_000, 'a third of the events').then(() => {
      acceptedAtKill = new Set(rx.accepted.map((d) => d.webhookId)).size
      victim.kill('SIGKILL')
    })
    // Awaited after the writes; a failure meanwhile is not an unhandled rejection.
    killer.catch(() => undefined)
    const bulk = async (ops: { method: string; path: string; data: unknown }[]): Promise<string[]> => {
      const size = Math.ceil(ops.length / 4)
      const parts = await Promise.all([0, 1, 2, 3].map(async (b) => {
        const part = ops.slice(b * size, (b + 1) * size)
        const r = await call(server.base, 'POST', '/scim/v2/Bulk', String(org.token), { schemas: [BULK], Operations: part.map((op, i) => ({ ...op, bulkId: `b${b}-${i}` })) })
        expect(r.status, r.text).toBe(200)
        const results = r.json.Operations as { status: string; location?: string }[]
        for (const res of results) expect(['200', '201', '204']).toContain(res.status)
        return results.map((res) => String(res.location?.split('/').pop()))
      }))
      return parts.flat()
    }
    const users = await bulk(Array.from({ length: USERS }, (_, i) => ({ method: 'POST', path: '/Users', data: user(`worker${i}@example.com`) })))
    await bulk(Array.from({ length: GROUPS }, (_, g) => ({
      method: 'POST', path: '/Groups', data: { schemas: [GROUP], displayName: `Workers ${g}`, members: users.slice(g * MEMBERS % USERS, g * MEMBERS % USERS + MEMBERS).map((value) => ({ value })) },
    })))
    for (let p = 1; p <= PATCHES; p++) await bulk(users.map((id) => ({ method: 'PATCH', path: `/Users/${id}`, data: patchOp({ op: 'replace', path: 'title', value: `title ${p}` }) })))

    const feed = await drainFeed(new FeedReader(httpApiGet(server.base, key), String(org.orgId)), { types: TYPES, waitSeconds: 1 })
    expect(feed).toHaveLength(EXPECTED)
    await killer
    await eventually(() => {
      const got = new Set(rx.accepted.map((d) => d.webhookId))
      return feed.every((e) => got.has(e.id))
    }, 60_000, 'every event')
    // Nothing left to send, and every request answered: the log is complete.
    const q = await openQueue(setup.url)
    cleanups.push(() => q.close())
    await eventually(async () => (await q.pending()) === 0 && log.every((e) => e.answered !== Number.POSITIVE_INFINITY), 30_000, 'the queue empty')
    clearInterval(sample)
    expect(rx.badSignatures).toEqual([])
    // Killed midway: events were still to come when it died.
    expect(acceptedAtKill).toBeLessThan(EXPECTED)
    // One event, and one lane, in flight at most once at any moment.
    const overlaps = (key: (e: Logged) => string) => {
      const by = new Map<string, Logged[]>()
      for (const e of log) by.set(key(e), [...(by.get(key(e)) ?? []), e])
      const found: string[] = []
      for (const [k, es] of by) {
        const sorted = [...es].sort((a, b) => a.arrived - b.arrived)
        for (let i = 1; i < sorted.length; i++) {
          if ((sorted[i] as Logged).arrived < (sorted[i - 1] as Logged).answered) found.push(`${k}: ${(sorted[i - 1] as Logged).id} and ${(sorted[i] as Logged).id}`)
        }
      }
      return found
    }
    expect(overlaps((e) => e.id)).toEqual([])
    expect(overlaps((e) => e.resource)).toEqual([])
    // The first arrivals of each resource's events in feed order.
    const index = new Map(feed.map((e, i) => [e.id, i]))
    const firsts = new Map<string, number[]>()
    const seen = new Set<string>()
    for (const e of log) {
      if (seen.has(e.id)) continue
      seen.add(e.id)
      firsts.set(e.resource, [...(firsts.get(e.resource) ?? []), index.get(e.id) as number])
    }
    expect(firsts.size).toBe(USERS + GROUPS)
    for (const [resource, order] of firsts) expect(order, resource).toEqual([...order].sort((a, b) => a - b))
    // Every copy the same bytes as the first.
    const bodies = new Map<string, string>()
    for (const r of rx.requests) {
      const id = String(r.headers['webhook-id'])
      expect(r.body).toBe(bodies.get(id) ?? r.body)
      bodies.set(id, r.body)
    }

    // Who sent what: every worker delivered (the killed one before it died); the server only where it delivers.
    const sent = new Map<string, number>()
    for (const e of log) {
      const name = e.remotePort === undefined ? 'unknown' : sender.get(e.remotePort) ?? 'unknown'
      sent.set(name, (sent.get(name) ?? 0) + 1)
    }
    for (let i = 1; i <= setup.workers; i++) expect(sent.get(`worker ${i}`) ?? 0, `worker ${i}`).toBeGreaterThan(0)
    if (setup.serverDelivers) expect(sent.get('server') ?? 0).toBeGreaterThan(0)
    else expect(sent.get('server') ?? 0).toBe(0)
    console.log(`[webhooks-workers] ${setup.name}: ${feed.length} events over ${firsts.size} resources, ${log.length} requests (${log.length - seen.size} copies); ` +
      `worker 1 killed after ${acceptedAtKill} events had arrived; sent by ${[...sent].sort().map(([n, c]) => `${n}: ${c}`).join(', ')}`)
  }, 120_000)
})
