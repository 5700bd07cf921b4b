// SIGTERM under concurrent writes, through the real server process, its clients behind a load
// balancer that follows /readyz (as Kubernetes does): every request sent is answered (201, or
// 503 once the server closes) or refused at connect; none is cut off without an answer; every
// write answered 201 is there after a restart. The same process
// serves /metrics on a port of its own (ROSTER_METRICS_PORT), without a token.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/free-port.ts'
import { BIN } from '../helpers/spawned-server.ts'

const run = promisify(execFile)

type Outcome = { kind: 'answered'; status: number } | { kind: 'refused' } | { kind: 'cut'; error: string }

/** One POST on a connection of its own (no keep-alive: an idle kept connection closed by the server is the client's race, not a cut). */
function post(port: number, path: string, token: string, body: unknown): Promise<Outcome> {
  return new Promise((resolve) => {
    const data = JSON.stringify(body)
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ kind: 'answered', status: res.statusCode ?? 0 }))
      res.on('error', (e) => resolve({ kind: 'cut', error: e.message }))
    })
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'cut', error: `${e.code ?? ''} ${e.message}` }))
    req.end(data)
  })
}

async function until(ok: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await ok()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${what} did not happen`)
}

const stores: { name: string; url: () => Promise<{ url: string; drop: () => Promise<void> }> }[] = [
  { name: 'sqlite', url: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-shutdown-'))
    return { url: `sqlite:${join(dir, 'r.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) }
  } },
]
const adminUrl = process.env.TEST_DATABASE_URL
if (adminUrl) {
  stores.push({ name: 'postgres', url: async () => {
    const name = `roster_shutdown_${randomBytes(5).toString('hex')}`
    const admin = new pg.Client({ connectionString: adminUrl })
    await admin.connect()
    await admin.query(`create database ${name}`)
    await admin.end()
    const u = new URL(adminUrl)
    u.pathname = `/${name}`
    return { url: u.toString(), drop: async () => {
      const a = new pg.Client({ connectionString: adminUrl })
      await a.connect()
      await a.query(`drop database if exists ${name} with (force)`)
      await a.end()
    } }
  } })
}

describe.each(stores)('SIGTERM under write load ($name)', (store) => {
  const drops: (() => Promise<void>)[] = []
  let server: ChildProcess | null = null
  afterAll(async () => {
    if (server && server.exitCode === null) server.kill('SIGKILL')
    for (const d of drops) await d()
  })

  it('answers or refuses every request, loses no acknowledged write, and exits 0', async () => {
    const db = await store.url()
    drops.push(db.drop)
    const port = await freePort()
    const metricsPort = await freePort()
    const env = { ...process.env, ROSTER_DATABASE_URL: db.url, HOST: '127.0.0.1', PORT: String(port), ROSTER_METRICS_PORT: String(metricsPort), ROSTER_SHUTDOWN_DRAIN_MS: '1000', LOG_LEVEL: 'warn', ROSTER_NO_MAIL_WORKER: '1' }
    await run('node', [BIN, 'migrate'], { env })
    const org = JSON.parse((await run('node', [BIN, 'org', 'create', 'shutdown', '--json'], { env })).stdout) as { orgId: string; token: string }
    server = spawn('node', [BIN, 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    server.stderr?.on('data', (b: Buffer) => { stderr += b.toString() })
    const exited = new Promise<number | null>((r) => server?.once('exit', (code) => r(code)))
    await until(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 'the server answering')

    // Metrics on their own port, without a token; not on the SCIM port.
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toContain('roster_http_requests_total{route="/healthz",method="GET",status="200",identity_provider="none"}')
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404)

    // The load balancer: sends while /readyz answers 200, looking every 50 ms.
    let routable = true
    const prober = (async () => {
      while (routable) {
        await new Promise((r) => setTimeout(r, 50))
        routable = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)
      }
    })()
    const outcomes: { userName: string; outcome: Outcome }[] = []
    let n = 0
    const worker = async () => {
      while (routable && n < 3_000) {
        const userName = `u${++n}@shutdown.test`
        const outcome = await post(port, '/scim/v2/Users', org.token, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName })
        outcomes.push({ userName, outcome })
      }
    }
    const workers = Array.from({ length: 8 }, worker)
    await until(async () => outcomes.filter((o) => o.outcome.kind === 'answered').length >= 40, '40 writes')
    server.kill('SIGTERM')
    const signalledAt = outcomes.length
    await Promise.all([prober, ...workers])
    // Writes went on during the drain, answered.
    expect(outcomes.slice(signalledAt).some((o) => o.outcome.kind === 'answered' && o.outcome.status === 201)).toBe(true)
    expect(await exited).toBe(0)
    // Nothing on standard error but a fresh install's one-time console setup link (docs/console.md).
    expect(stderr.replace(/\nRoster console setup \(one-time link[^\n]*\n\n/, '')).toBe('')

    expect(outcomes.filter((o) => o.outcome.kind === 'cut')).toEqual([])
    const statuses = new Set(outcomes.flatMap((o) => (o.outcome.kind === 'answered' ? [o.outcome.status] : [])))
    expect([...statuses].filter((s) => s !== 201 && s !== 503)).toEqual([])
    const acknowledged = outcomes.filter((o) => o.outcome.kind === 'answered' && o.outcome.status === 201).map((o) => o.userName)
    expect(acknowledged.length).toBeGreaterThanOrEqual(40)

    // Restarted (the CLI opens the same database): every acknowledged write is there.
    const listed = JSON.parse((await run('node', [BIN, 'user', 'list', org.orgId, '--json', '--count', '100000'], { env, maxBuffer: 64 * 1024 * 1024 })).stdout) as { users: { userName: string }[] }
    const present = new Set(listed.users.map((u) => u.userName))
    expect(acknowledged.filter((u) => !present.has(u))).toEqual([])
  }, 60_000)
})
