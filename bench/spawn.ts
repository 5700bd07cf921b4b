// --spawn: starts Roster itself (`node bin/roster.js serve`, PORT=<free port>,
// ROSTER_DATABASE_URL=sqlite:<tmpdir>/bench.db), waits for GET /healthz to answer 200,
// creates an organization with `node bin/roster.js org create bench --json`, runs the
// benchmark against its tenantUrl/token with --pid set to the server, and stops it after.
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

type RunBench = (opts: BenchOptions & { base: string; token: string }) => Promise<number>

export async function withSpawnedRoster(opts: BenchOptions, run: RunBench): Promise<number> {
  const bin = path.resolve(REPO_ROOT, opts.rosterBin)
  const dir = mkdtempSync(path.join(tmpdir(), 'roster-bench-'))
  const logPath = path.join(dir, 'server.log')
  const port = await freePort()
  const env = { ...process.env, PORT: String(port), ROSTER_DATABASE_URL: `sqlite:${path.join(dir, 'bench.db')}` }
  const log = openSync(logPath, 'a')
  // The node flags `npm start` uses (package.json), so the benchmark measures the server as it runs.
  const child = spawn(process.execPath, ['--max-semi-space-size=8', '--heap-growing-percent=30', bin, 'serve'], { cwd: REPO_ROOT, env, stdio: ['ignore', log, log] })
  const onSignal = () => {
    child.kill('SIGKILL')
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  console.log(`spawned ${opts.rosterBin} serve: pid ${child.pid} port ${port} dir ${dir}`)

  let code = 1
  try {
    await waitHealthy(child, port, logPath)
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'org', 'create', 'bench', '--json'], { cwd: REPO_ROOT, env })
    const org = parseOrg(stdout)
    const base = new URL(org.tenantUrl, `http://127.0.0.1:${port}`).href.replace(/\/+$/, '')
    console.log(`organization ${org.orgId}: ${base}`)
    code = await run({ ...opts, base, token: org.token, pid: child.pid ?? null })
  } catch (err) {
    console.error(`--spawn failed: ${err instanceof Error ? err.message : String(err)}`)
    console.error(`server log (${logPath}):\n${tail(logPath)}`)
  } finally {
    process.off('SIGINT', onSignal)
    await stop(child)
    if (opts.keep || code !== 0) console.log(`kept ${dir} (bench.db, server.log)`)
    else rmSync(dir, { recursive: true, force: true })
  }
  return code
}

function parseOrg(stdout: string): { orgId: string; tenantUrl: string; token: string } {
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

function freePort(): Promise<number> {
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

async function waitHealthy(child: ChildProcess, port: number, logPath: string): Promise<void> {
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

async function stop(child: ChildProcess): Promise<void> {
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
