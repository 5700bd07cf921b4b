// --spawn: starts Roster itself (`node bin/roster.js serve`, PORT=<free port>,
// ROSTER_DATABASE_URL=sqlite:<tmpdir>/bench.db or --database), waits for GET /healthz to answer
// 200, creates an organization with `node bin/roster.js org create bench --json`, runs the
// benchmark against its tenantUrl/token with --pid set to the server, and stops it after.
// With --servers K, K servers on the one --database (started one after the other, so the
// first applies the migrations); with --orgs O > 1, the organizations come from bench/orgs.ts
// (the CLI's use case, in this process).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { BenchOptions } from './args.ts'
import { field } from './http-client.ts'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const HEALTH_TIMEOUT_MS = 30_000

/**
 * A benchmarked server's settings: it gets tens of thousands of requests a second from one token,
 * so its limits are out of reach (the check still runs); no JSON line per request
 * (ROSTER_REQUEST_LOG=1 asks for it): figures stay comparable with those taken before it.
 */
export const BENCH_ENV: Readonly<Record<string, string>> = { ROSTER_RATE_LIMIT_TOKEN: '10000000', ROSTER_RATE_LIMIT_ORG: '10000000', ROSTER_REQUEST_LOG: '0' }

type RunBench = (opts: BenchOptions, tokens: readonly string[]) => Promise<number>

/** The node flags `npm start` uses (package.json), so that a benchmark measures the server as it runs. */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--heap-growing-percent=30']

export async function withSpawnedRoster(opts: BenchOptions, run: RunBench): Promise<number> {
  const bin = path.resolve(REPO_ROOT, opts.rosterBin)
  const dir = mkdtempSync(path.join(tmpdir(), 'roster-bench-'))
  const databaseUrl = opts.database ?? `sqlite:${path.join(dir, 'bench.db')}`
  // BENCH_ENV unless the caller set them.
  const baseEnv = { ...BENCH_ENV, ...process.env, ROSTER_DATABASE_URL: databaseUrl }
  const children: { child: ChildProcess; port: number; logPath: string }[] = []
  const onSignal = () => {
    for (const { child } of children) child.kill('SIGKILL')
    process.exit(130)
  }
  process.once('SIGINT', onSignal)

  let code = 1
  try {
    // One after the other: the first applies any migration before the next starts (and
    // bin/roster.js builds its bundle when src/ is newer than dist/).
    for (let k = 0; k < opts.servers; k++) {
      const port = await freePort()
      const logPath = path.join(dir, opts.servers === 1 ? 'server.log' : `server-${k + 1}.log`)
      const log = openSync(logPath, 'a')
      const env = { ...baseEnv, PORT: String(port) }
      const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, bin, 'serve'], { cwd: REPO_ROOT, env, stdio: ['ignore', log, log] })
      children.push({ child, port, logPath })
      console.log(`spawned ${opts.rosterBin} serve: pid ${child.pid} port ${port} dir ${dir}${opts.database === null ? '' : ` database ${redact(opts.database)}`}`)
      await waitHealthy(child, port, logPath)
    }
    const first = children[0] as (typeof children)[number]
    let tokens: string[]
    let tenantUrl: string
    if (opts.orgs === 1) {
      const env = { ...baseEnv, PORT: String(first.port) }
      const { stdout } = await promisify(execFile)(process.execPath, [bin, 'org', 'create', 'bench', ...opts.domains.flatMap((d) => ['--domain', d]), '--json'], { cwd: REPO_ROOT, env })
      const org = parseOrg(stdout)
      console.log(`organization ${org.orgId}`)
      tokens = [org.token]
      tenantUrl = org.tenantUrl
    } else {
      const { createOrgs } = await import('./orgs.ts')
      const t0 = Date.now()
      const name = `bench-${Date.now().toString(36)}`
      tokens = (await createOrgs(databaseUrl, name, opts.orgs)).map((o) => o.token)
      console.log(`${opts.orgs} organizations ${name}-0 … ${name}-${opts.orgs - 1} created in ${Date.now() - t0} ms`)
      tenantUrl = '/scim/v2'
    }
    // The tenant URL's path on each server (the CLI prints the first server's address).
    const tenantPath = new URL(tenantUrl, `http://127.0.0.1:${first.port}`).pathname.replace(/\/+$/, '')
    const base = children.map(({ port }) => `http://127.0.0.1:${port}${tenantPath}`)
    console.log(`servers: ${base.join(' ')}`)
    code = await run({ ...opts, base, pid: children.map(({ child }) => child.pid ?? 0) }, tokens)
  } catch (err) {
    console.error(`--spawn failed: ${err instanceof Error ? err.message : String(err)}`)
    for (const { logPath } of children) console.error(`server log (${logPath}):\n${tail(logPath)}`)
  } finally {
    process.off('SIGINT', onSignal)
    await Promise.all(children.map(({ child }) => stopServer(child)))
    if (opts.keep || code !== 0) console.log(`kept ${dir} (${opts.database === null ? 'bench.db, ' : ''}server logs)`)
    else rmSync(dir, { recursive: true, force: true })
  }
  return code
}

/** The database URL without its password, for the console. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@')
}

export function parseOrg(stdout: string): { orgId: string; tenantUrl: string; token: string } {
  // Accept the JSON as the whole output or as its last JSON-looking line.
  const candidates = [stdout.trim(), ...stdout.trim().split('\n').reverse()]
  for (const text of candidates) {
    try {
      const doc = JSON.parse(text) as unknown
      const tenantUrl = field(doc, 'tenantUrl')
      const token = field(doc, 'token')
      if (typeof tenantUrl === 'string' && typeof token === 'string') {
        return { orgId: String(field(doc, 'orgId')), tenantUrl, token }
      }
    } catch {
      // not JSON; try the next candidate
    }
  }
  throw new Error(`org create printed no {"orgId","tenantUrl","token"} JSON: ${stdout.slice(0, 500)}`)
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export async function waitHealthy(child: ChildProcess, port: number, logPath: string): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before /healthz answered; see ${logPath}`)
    }
    if ((await healthStatus(port)) === 200) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`GET /healthz did not answer 200 within ${HEALTH_TIMEOUT_MS} ms`)
}

function healthStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.setTimeout(1000, () => req.destroy())
    req.on('error', () => resolve(0))
  })
}

/** SIGTERM, and SIGKILL if the server has not exited 5 s later. */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n')
  } catch {
    return '(no log)'
  }
}
