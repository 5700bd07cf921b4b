// A server and a separate `roster worker` on one SQLite file, both writing hard
// (docs/architecture.md DUR-9; SQLite, "File Locking And Concurrency": one writer at a time
// across processes, the others wait on the lock). The server runs with ROSTER_NO_WEBHOOK_WORKER=1
// and ROSTER_NO_MAIL_WORKER=1; the worker delivers webhooks to three endpoints (receivers here)
// and writes invitation emails to the outbox, recording each delivery and each email in the
// file, while clients create users (each invited, so pending) and add them to groups. A client
// waiting on the other process's lock past the busy timeout is answered 503 with Retry-After,
// never 500: every answer must be 2xx, or 503 with Retry-After and a SCIM error body. Afterwards
// every acknowledged user and membership is in the file, every event of the feed reached every
// receiver, every invitation was written, and the worker is still running.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import BetterSqlite3 from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { FeedReader } from '../helpers/api-client.ts'
import { user } from '../helpers/app.ts'
import { drainFeed, httpApiGet } from '../helpers/feed-over-http.ts'
import { BIN, call, serverEnv, startServer, type Call, type Server } from '../helpers/spawned-server.ts'
import { eventually, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'

const run = promisify(execFile)
const CLIENTS = 24
const SECONDS = 10
const GROUPS = 8
const ENDPOINTS = 3
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'

describe('a server and a roster worker writing to one SQLite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-beside-'))
  const file = join(dir, 'r.db')
  const outbox = join(dir, 'outbox')
  const url = `sqlite:${file}`
  // The worker sends mail and delivers webhooks; the server does neither. Rate limits out of reach: this is a load test.
  const shared = { ROSTER_WEBHOOK_ALLOW_PRIVATE: '1', ROSTER_OUTBOX_DIR: outbox, ROSTER_INVITATIONS_PER_HOUR: '0', ROSTER_RATE_LIMIT_TOKEN: '0', ROSTER_RATE_LIMIT_ORG: '0' }
  const emails = () => (existsSync(outbox) ? readdirSync(outbox).filter((f) => f.endsWith('.eml')).length : 0)
  let server: Server | null = null
  let worker: ChildProcess | null = null
  const receivers: Receiver[] = []
  afterAll(async () => {
    worker?.kill('SIGKILL')
    await server?.kill()
    for (const r of receivers) await r.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it(`${CLIENTS} clients creating and grouping users for ${SECONDS} s beside the worker: no 500, every 503 with Retry-After, nothing lost, every event delivered`, async () => {
    server = await startServer(url, { ...shared, ROSTER_NO_WEBHOOK_WORKER: '1', ROSTER_NO_MAIL_WORKER: '1' })
    const base = server.base
    const cli = async (...args: string[]) => JSON.parse((await run(process.execPath, [BIN, ...args, '--json'], { env: serverEnv(url, shared) })).stdout) as Record<string, string>
    const org = await cli('org', 'create', 'Beside Corp')
    await cli('org', 'set', 'Beside Corp', '--send-invitations', 'on')
    const feedKey = (await cli('api-key', 'create', 'feed', '--org', 'Beside Corp', '--scope', 'events:read')).key ?? ''
    const token = org.token ?? ''
    for (let i = 0; i < ENDPOINTS; i++) {
      const rx = await startReceiver()
      rx.secrets = [String((await cli('webhook', 'add', String(org.orgId), rx.url)).secret)]
      receivers.push(rx)
    }
    const groups: string[] = []
    for (let g = 0; g < GROUPS; g++) {
      const r = await call(base, 'POST', '/scim/v2/Groups', token, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `Team ${g}` })
      expect(r.status).toBe(201)
      groups.push(String(r.json.id))
    }

    let workerErr = ''
    worker = spawn(process.execPath, [BIN, 'worker'], { env: serverEnv(url, shared), stdio: ['ignore', 'ignore', 'pipe'] })
    worker.stderr?.on('data', (d: Buffer) => {
      workerErr += d.toString()
    })

    const statuses: Record<string, number> = {}
    const bad: string[] = []
    const users = new Set<string>()
    const members = new Map<string, Set<string>>(groups.map((g) => [g, new Set()]))
    const judge = (what: string, r: Call, ok: number): boolean => {
      statuses[r.status] = (statuses[r.status] ?? 0) + 1
      if (r.status === ok) return true
      // A wait on the other process's lock past the busy timeout: 503, retry later, a SCIM error.
      const unavailable = r.status === 503 && r.headers.get('retry-after') !== null && (r.json.schemas as unknown[] | undefined)?.includes(ERROR) === true && r.json.status === '503'
      if (!unavailable) bad.push(`${what}: ${r.status} ${r.text.slice(0, 200)}`)
      return false
    }
    const until = Date.now() + SECONDS * 1_000
    await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
      for (let n = 0; Date.now() < until; n++) {
        const created = await call(base, 'POST', '/scim/v2/Users', token, user(`c${c}-u${n}@beside.test`))
        if (!judge('POST /Users', created, 201)) continue
        const id = String(created.json.id)
        users.add(id)
        const g = groups[(c + n) % GROUPS] as string
        const patched = await call(base, 'PATCH', `/scim/v2/Groups/${g}`, token, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }] })
        if (judge('PATCH /Groups', patched, 204)) members.get(g)?.add(id)
      }
    }))
    // What the worker wrote while the clients did: the two processes took turns at the write lock.
    const duringLoad = { deliveries: receivers.reduce((n, rx) => n + rx.accepted.length, 0), emails: emails() }
    console.log(`[sqlite-worker-beside] ${CLIENTS} clients, ${SECONDS} s: answers ${JSON.stringify(statuses)} (503s: ${statuses['503'] ?? 0}); users acknowledged ${users.size}, memberships ${[...members.values()].reduce((n, s) => n + s.size, 0)}; the worker meanwhile: ${JSON.stringify(duringLoad)}`)
    expect(bad).toEqual([])
    expect(statuses['500']).toBeUndefined()
    expect(users.size).toBeGreaterThan(0)
    expect(duringLoad.deliveries).toBeGreaterThan(0)
    expect(duringLoad.emails).toBeGreaterThan(0)

    // Every acknowledged write is in the file.
    const db = new BetterSqlite3(file, { readonly: true })
    try {
      const stored = new Set((db.prepare('select id from users').all() as { id: string }[]).map((r) => r.id))
      expect([...users].filter((id) => !stored.has(id))).toEqual([])
      for (const [g, ids] of members) {
        const held = new Set((db.prepare("select lower(hex(member_id)) as m from group_members where group_id = unhex(?, '-')").all(g) as { m: string }[]).map((r) => r.m))
        expect([...ids].filter((id) => !held.has(id.replaceAll('-', ''))), `members of ${g}`).toEqual([])
      }
    } finally {
      db.close()
    }

    // Every event of the feed reaches every endpoint, and every invited user's email is written.
    const events = await drainFeed(new FeedReader(httpApiGet(base, feedKey), String(org.orgId)), { waitSeconds: 1 })
    const ids = events.map((e) => e.id)
    expect(events.filter((e) => e.type === 'user.created').length).toBeGreaterThanOrEqual(users.size)
    await eventually(() => receivers.every((rx) => new Set(rx.accepted.map((d) => d.event.id)).size >= ids.length), 90_000, 'every event at every receiver')
    for (const rx of receivers) {
      const got = new Set(rx.accepted.map((d) => d.event.id))
      expect(ids.filter((id) => !got.has(id))).toEqual([])
      expect(rx.badSignatures).toEqual([])
    }
    const invited = events.filter((e) => e.type === 'user.created').length
    await eventually(() => emails() >= invited, 60_000, 'every invitation email')
    expect(worker.exitCode).toBeNull()
    console.log(`[sqlite-worker-beside] ${ids.length} events delivered to ${ENDPOINTS} endpoints, ${invited} invitations written; worker's notices: ${JSON.stringify(workerErr.split('\n').filter((l) => /failed|error/i.test(l)).slice(0, 5))}`)
  }, 150_000)
})
