// Webhook delivery survives what production does to it: the receiver stopped mid-stream and
// started again, and the server killed with SIGKILL mid-delivery and restarted (on PostgreSQL,
// two servers delivering at once, one of them killed). Every event of the feed arrives, the
// first arrival of each lane's events is in feed order, nothing is delivered twice at the same
// moment, and an event arrives twice only if it was already in flight when the server died.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/free-port.ts'
import { createTestDatabase } from '../helpers/pg-database.ts'
import { eventually, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'
import { BIN, healthy } from '../helpers/spawned-server.ts'

const run = promisify(execFile)
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

interface Db { name: 'sqlite' | 'postgres'; url: string; servers: number; cleanup(): Promise<void> }

async function sqliteDb(): Promise<Db> {
  const dir = mkdtempSync(join(tmpdir(), 'roster-crash-'))
  return { name: 'sqlite', url: `sqlite:${join(dir, 'roster.db')}`, servers: 1, cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
}

async function postgresDb(adminUrl: string): Promise<Db> {
  const db = await createTestDatabase(adminUrl, 'roster_crash')
  return { name: 'postgres', url: db.url, servers: 2, cleanup: db.drop }
}

/**
 * The local ports of the TCP connections process `pid` holds open to `remotePort` (Linux: its
 * socket descriptors in /proc/PID/fd matched by inode against /proc/net/tcp and tcp6).
 */
function portsTo(pid: number, remotePort: number): Set<number> {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (m?.[1]) inodes.add(m[1])
    } catch {
      // Closed since the listing.
    }
  }
  const ports = new Set<number>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      const [local, remote, inode] = [f[1], f[2], f[9]]
      if (!local || !remote || !inode || !inodes.has(inode)) continue
      if (parseInt(remote.split(':')[1] ?? '', 16) === remotePort) ports.add(parseInt(local.split(':')[1] ?? '', 16))
    }
  }
  return ports
}

const dbs: (() => Promise<Db>)[] = [sqliteDb, ...(process.env.TEST_DATABASE_URL ? [() => postgresDb(process.env.TEST_DATABASE_URL as string)] : [])]

describe.each(dbs.map((open, i) => ({ open, name: i === 0 ? 'sqlite' : 'postgres' })))('webhook delivery through crashes on $name', ({ open }) => {
  const procs: ChildProcess[] = []
  const cleanups: (() => Promise<void>)[] = []

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL')
    for (const c of cleanups) await c()
  })

  it('every event arrives, in order per lane, after a receiver outage and a SIGKILL of the server', async () => {
    const db = await open()
    cleanups.push(() => db.cleanup())
    const env = { ...process.env, ROSTER_DATABASE_URL: db.url, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ROSTER_WEBHOOK_ALLOW_PRIVATE: '1', ROSTER_WEBHOOK_TIMEOUT_MS: '1000', ROSTER_NO_MAIL_WORKER: '1' }
    const start = async (port: number): Promise<ChildProcess> => {
      const p = spawn('node', [BIN, 'serve'], { env: { ...env, PORT: String(port) }, stdio: 'ignore' })
      procs.push(p)
      expect(await healthy(`http://127.0.0.1:${port}`, { proc: p })).toBe(true)
      return p
    }
    const ports = [await freePort(), await freePort()]
    const servers: ChildProcess[] = []
    for (let i = 0; i < db.servers; i++) servers.push(await start(ports[i] as number))
    const base = `http://127.0.0.1:${ports[0]}`
    const cli = async (...args: string[]) => JSON.parse((await run('node', [BIN, ...args, '--json'], { env })).stdout) as Record<string, string>
    const org = await cli('org', 'create', `crash-${Date.now()}`)
    const key = (await cli('api-key', 'create', '--org', String(org.orgId), '--scope', 'events:read,webhooks:manage')).key as string
    const call = async (method: string, path: string, body: unknown, auth: string, at = base) => {
      const r = await fetch(`${at}${path}`, { method, headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
      const text = await r.text()
      return { status: r.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> }
    }

    // The contract for scripts: `roster webhook add ORG URL --json` prints { id, secret }.
    const rx: Receiver = await startReceiver()
    cleanups.push(() => rx.stop())
    const hook = await cli('webhook', 'add', String(org.orgId), rx.url)
    expect(hook.secret).toMatch(/^whsec_/)
    rx.secrets = [String(hook.secret)]
    // A slow receiver keeps deliveries in flight; at most one per lane may ever be in flight.
    const inFlight = new Map<string, number>()
    let overlapping = 0
    rx.answer = async (body) => {
      const lane = (JSON.parse(body) as { data: { id: string } }).data.id
      inFlight.set(lane, (inFlight.get(lane) ?? 0) + 1)
      if ((inFlight.get(lane) ?? 0) > 1) overlapping++
      await new Promise((r) => setTimeout(r, 5))
      inFlight.set(lane, (inFlight.get(lane) ?? 1) - 1)
      return { status: 200 }
    }

    const write = async (at: string) => {
      const ids: string[] = []
      await Promise.all(Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 25; i++) {
          const r = await call('POST', '/scim/v2/Users', { schemas: [USER], userName: `c${w}-${i}-${randomBytes(3).toString('hex')}@example.com` }, String(org.token), at)
          expect(r.status).toBe(201)
          ids.push(String(r.json.id))
        }
      }))
      await Promise.all(ids.slice(0, 50).map((id) => call('PATCH', `/scim/v2/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }, String(org.token), at)))
    }

    // 1. The receiver stops mid-stream and comes back.
    await write(base)
    await eventually(() => rx.accepted.length >= 50, 20_000, 'first deliveries')
    await rx.stop()
    await write(base)
    await new Promise((r) => setTimeout(r, 300))
    await rx.start()

    // 2. The server is killed while delivering (a third batch is on its way), and started again.
    await eventually(() => rx.accepted.length >= 480, 30_000, 'deliveries before the kill')
    const third = write(base).catch(() => undefined)
    await eventually(() => rx.accepted.length >= 560, 30_000, 'some of the third batch')
    // Stopped first, so that it sends nothing more while the requests it has sent are told apart:
    // those the receiver has recorded by now, and those on the connections it still holds (their
    // bytes are on their way; the receiver may record them after the kill).
    const victim = servers[0] as ChildProcess
    const stopped = new Promise((r) => victim.once('exit', r))
    victim.kill('SIGSTOP')
    await eventually(() => /^\d+ \(.*\) T /.test(readFileSync(`/proc/${victim.pid}/stat`, 'utf8')), 10_000, 'the server stopped')
    const victimPorts = portsTo(victim.pid as number, Number(new URL(rx.url).port))
    const killedAt = rx.requests.length
    expect(killedAt).toBeLessThan(750)
    victim.kill('SIGKILL')
    await stopped
    // Writes that were not acknowledged die with the server; those acknowledged are in the feed.
    await third
    if (db.servers === 1) {
      servers[0] = await start(ports[0] as number)
    }
    await write(db.servers === 1 ? base : `http://127.0.0.1:${ports[1]}`)

    // Everything in the feed arrives (leases of the killed server expire after twice the timeout and a second).
    const feedIds: string[] = []
    const feedLane = new Map<string, string>()
    let after = ''
    const reader = db.servers === 1 ? base : `http://127.0.0.1:${ports[1]}`
    for (;;) {
      const page = await call('GET', `/api/v1/orgs/${org.orgId}/events?limit=1000${after ? `&after=${after}` : ''}`, undefined, key, reader)
      const data = page.json.data as { id: string; data: { id: string } }[]
      for (const e of data) {
        feedIds.push(e.id)
        feedLane.set(e.id, e.data.id)
      }
      after = String(page.json.nextCursor)
      if (data.length < 1000) break
    }
    // Three batches of 250 events (the third may have lost requests to the kill), then a fourth.
    expect(feedIds.length).toBeGreaterThan(3 * 250)
    expect(feedIds.length).toBeLessThanOrEqual(4 * 250)
    // Every event of the feed, not as many events as it holds: on PostgreSQL the last ones may enter the
    // feed (the stamper) just after it was read, and their deliveries then count without being in feedIds.
    await eventually(() => {
      const got = new Set(rx.accepted.map((d) => d.webhookId))
      return feedIds.every((id) => got.has(id))
    }, 40_000, 'every event after the crash')
    const received = new Set(rx.accepted.map((d) => d.webhookId))
    expect(feedIds.filter((id) => !received.has(id))).toEqual([])
    expect(rx.badSignatures).toEqual([])
    expect(overlapping).toBe(0)
    // First arrivals per lane follow the feed's order.
    const feedIndex = new Map(feedIds.map((id, i) => [id, i]))
    const firstByLane = new Map<string, number[]>()
    const seen = new Set<string>()
    for (const d of rx.accepted) {
      if (seen.has(d.webhookId)) continue
      seen.add(d.webhookId)
      const lane = feedLane.get(d.webhookId) as string
      firstByLane.set(lane, [...(firstByLane.get(lane) ?? []), feedIndex.get(d.webhookId) as number])
    }
    for (const order of firstByLane.values()) expect(order).toEqual([...order].sort((a, b) => a - b))
    // A duplicate is an event that was already sent (in flight or unrecorded) when the server died:
    // its first copy reached the receiver before the kill, or on a connection of the killed server.
    const firstSeen = new Map<string, { index: number; remotePort: number | undefined }>()
    rx.requests.forEach((r, index) => {
      const id = String(r.headers['webhook-id'])
      if (!firstSeen.has(id)) firstSeen.set(id, { index, remotePort: r.remotePort })
    })
    const sentBeforeKill = (id: string) => {
      const f = firstSeen.get(id)
      return f !== undefined && (f.index < killedAt || (f.remotePort !== undefined && victimPorts.has(f.remotePort)))
    }
    const duplicates = rx.accepted.filter((d, i, all) => all.findIndex((x) => x.webhookId === d.webhookId) !== i)
    for (const d of duplicates) expect(sentBeforeKill(d.webhookId), `duplicate ${d.webhookId} first sent after the kill`).toBe(true)
  }, 120_000)
})
