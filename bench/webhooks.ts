// Webhook delivery benchmark (bench/README.md, "Webhooks"): starts Roster on a temp SQLite
// database (or --database), points a webhook endpoint at a receiver in this process that checks
// every delivery's Standard Webhooks signature (HMAC-SHA256 with node:crypto, as a Node receiver
// would), and measures:
//   backlog  N user.created events written while the endpoint is disabled, then enabled: events/s
//            from enabling to the last one received (the delivery loop's own rate);
//   large    a group of M members built by PATCH (1,000 members a request): all M
//            group.member_added events received, exactly once each, and how fast.
//
//   npm run bench:webhooks -- [--users 20000] [--members 50000] [--database URL] [--json FILE] [--roster-bin FILE]
import { execFile, spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { SERVER_NODE_FLAGS } from './spawn.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DEFAULT_BIN = path.join(ROOT, 'bin/roster.js')

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '20000' },
    members: { type: 'string', default: '50000' },
    concurrency: { type: 'string', default: '32' },
    database: { type: 'string' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    // Another build of the CLI (a checkout of an earlier commit, or a wrapper that profiles it).
    'roster-bin': { type: 'string' },
  },
})
const USERS = Number(values.users)
const MEMBERS = Number(values.members)
const BIN = values['roster-bin'] === undefined ? DEFAULT_BIN : path.resolve(values['roster-bin'])
const CONCURRENCY = Number(values.concurrency)

async function freePort(): Promise<number> {
  const s = http.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return port
}

/** The receiver: verifies each signature, answers 204, counts by event type and webhook-id. */
function startReceiver(port: number) {
  // maxGapMs: the longest pause between two deliveries since the last reset, which tells a lane
  // that waited (for a lease to end, say) from one that was merely slow.
  const state = { secret: Buffer.alloc(0), seen: new Set<string>(), byType: new Map<string, number>(), bad: 0, duplicates: 0, lastAt: 0, maxGapMs: 0, onEvent: () => undefined as void }
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const id = String(req.headers['webhook-id'])
      const ts = String(req.headers['webhook-timestamp'])
      const expected = createHmac('sha256', state.secret).update(`${id}.${ts}.${body}`).digest('base64')
      const signatures = String(req.headers['webhook-signature']).split(' ').map((s) => s.slice(s.indexOf(',') + 1))
      if (!signatures.includes(expected)) state.bad++
      if (state.seen.has(id)) state.duplicates++
      state.seen.add(id)
      const type = (JSON.parse(body) as { type: string }).type
      state.byType.set(type, (state.byType.get(type) ?? 0) + 1)
      const at = performance.now()
      if (state.lastAt > 0) state.maxGapMs = Math.max(state.maxGapMs, at - state.lastAt)
      state.lastAt = at
      res.writeHead(204).end()
      state.onEvent()
    })
  })
  server.listen(port, '127.0.0.1')
  return { state, close: () => new Promise((r) => server.close(r)) }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })

function request(base: string, method: string, urlPath: string, auth: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request(`${base}${urlPath}`, {
      method, agent, headers: { authorization: `Bearer ${auth}`, ...(data ? { 'content-type': urlPath.startsWith('/scim') ? 'application/scim+json' : 'application/json' } : {}) },
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) as Record<string, unknown> : {} })
      })
    })
    req.on('error', reject)
    req.end(data)
  })
}

async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++] as T)
  }))
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'roster-bench-webhooks-'))
  const databaseUrl = values.database ?? `sqlite:${path.join(dir, 'bench.db')}`
  const port = await freePort()
  // The SCIM rate limits (docs/security.md) would answer this one client 429: the benchmark
  // measures delivery, so they are set out of reach, as bench/spawn.ts does.
  const env = {
    ROSTER_RATE_LIMIT_TOKEN: '10000000', ROSTER_RATE_LIMIT_ORG: '10000000', ROSTER_REQUEST_LOG: '0',
    ...process.env, ROSTER_DATABASE_URL: databaseUrl, PORT: String(port), ROSTER_WEBHOOK_ALLOW_PRIVATE: '1',
  }
  const log = openSync(path.join(dir, 'server.log'), 'a')
  const server = spawn(process.execPath, [...SERVER_NODE_FLAGS, BIN, 'serve'], { cwd: ROOT, env, stdio: ['ignore', log, log] })
  const base = `http://127.0.0.1:${port}`
  const results: Record<string, unknown> = { users: USERS, members: MEMBERS, database: values.database ? 'postgres' : 'sqlite' }
  const receiverPort = await freePort()
  const rx = startReceiver(receiverPort)
  try {
    for (let i = 0; ; i++) {
      const ok = await request(base, 'GET', '/healthz', '').then((r) => r.status === 200).catch(() => false)
      if (ok) break
      if (i > 300) throw new Error('the server did not start')
      await new Promise((r) => setTimeout(r, 100))
    }
    const cli = async (...args: string[]) => JSON.parse((await promisify(execFile)(process.execPath, [BIN, ...args, '--json'], { cwd: ROOT, env })).stdout) as Record<string, string>
    const org = await cli('org', 'create', `webhook-bench-${Date.now()}`)
    // Invitations off: the users' 50,000 invitation emails would be written by the mailer on
    // this server while it delivers (a cost of the workload benchmark, bench/run.ts, not of delivery).
    await cli('org', 'set', String(org.orgId), '--send-invitations', 'off')
    const token = String(org.token)
    const key = String((await cli('api-key', 'create', '--org', String(org.orgId))).key)
    const orgId = String(org.orgId)

    // backlog: events written while the endpoint is disabled, then delivered at the loop's own rate.
    const endpoint = await request(base, 'POST', `/api/v1/orgs/${orgId}/webhooks`, key, { url: `http://127.0.0.1:${receiverPort}/hooks` })
    if (endpoint.status !== 201) throw new Error(`webhook add: ${endpoint.status} ${JSON.stringify(endpoint.json)}`)
    rx.state.secret = Buffer.from(String(endpoint.json.secret).slice('whsec_'.length), 'base64')
    const hook = String(endpoint.json.id)
    await request(base, 'PATCH', `/api/v1/orgs/${orgId}/webhooks/${hook}`, key, { enabled: false })
    const total = Math.max(USERS, MEMBERS)
    const ids: string[] = []
    let t0 = performance.now()
    await pool(Array.from({ length: total }, (_, i) => i), CONCURRENCY, async (i) => {
      const r = await request(base, 'POST', '/scim/v2/Users', token, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `wh.${i}@example.com`, active: true })
      if (r.status !== 201) throw new Error(`create: ${r.status}`)
      ids[i] = String(r.json.id)
    })
    results.createsPerSecond = Math.round(total / ((performance.now() - t0) / 1000))
    t0 = performance.now()
    rx.state.lastAt = 0
    rx.state.maxGapMs = 0
    await request(base, 'PATCH', `/api/v1/orgs/${orgId}/webhooks/${hook}`, key, { enabled: true })
    await until(() => (rx.state.byType.get('user.created') ?? 0) >= total, 600_000, 'the backlog')
    const backlogSeconds = (rx.state.lastAt - t0) / 1000
    results.backlog = { events: total, seconds: Number(backlogSeconds.toFixed(2)), eventsPerSecond: Math.round(total / backlogSeconds), longestPauseMs: Math.round(rx.state.maxGapMs) }
    console.log(`backlog: ${total} user.created delivered in ${backlogSeconds.toFixed(2)} s = ${Math.round(total / backlogSeconds)} events/s; longest pause ${Math.round(rx.state.maxGapMs)} ms`)

    // large: one group built by PATCH, 1,000 members a request; every member_added delivered once.
    const group = await request(base, 'POST', '/scim/v2/Groups', token, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `wh-large-${Date.now()}` })
    const groupId = String(group.json.id)
    t0 = performance.now()
    rx.state.lastAt = 0
    rx.state.maxGapMs = 0
    const batches = Array.from({ length: Math.ceil(MEMBERS / 1000) }, (_, b) => ids.slice(b * 1000, Math.min(MEMBERS, (b + 1) * 1000)))
    for (const batch of batches) {
      const r = await request(base, 'PATCH', `/scim/v2/Groups/${groupId}`, token, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: batch.map((value) => ({ value })) }],
      })
      if (r.status !== 204 && r.status !== 200) throw new Error(`member patch: ${r.status}`)
    }
    const written = (performance.now() - t0) / 1000
    await until(() => (rx.state.byType.get('group.member_added') ?? 0) >= MEMBERS, 600_000, 'the large group')
    const largeSeconds = (rx.state.lastAt - t0) / 1000
    const received = rx.state.byType.get('group.member_added') ?? 0
    results.large = { members: MEMBERS, received, writeSeconds: Number(written.toFixed(2)), deliveredSeconds: Number(largeSeconds.toFixed(2)), eventsPerSecond: Math.round(received / largeSeconds), longestPauseMs: Math.round(rx.state.maxGapMs) }
    console.log(`large: ${MEMBERS} members added in ${written.toFixed(2)} s; ${received} group.member_added delivered by ${largeSeconds.toFixed(2)} s = ${Math.round(received / largeSeconds)} events/s; longest pause ${Math.round(rx.state.maxGapMs)} ms`)
    results.badSignatures = rx.state.bad
    results.duplicates = rx.state.duplicates
    console.log(`signatures that failed: ${rx.state.bad}; duplicate webhook-ids: ${rx.state.duplicates}`)
    if (values.json) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`)
    if (rx.state.bad > 0 || received !== MEMBERS) process.exitCode = 1
  } finally {
    server.kill('SIGTERM')
    await rx.close()
    agent.destroy()
    if (!values.keep) rmSync(dir, { recursive: true, force: true })
  }
}

await main()
