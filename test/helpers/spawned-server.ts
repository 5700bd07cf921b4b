// A Roster server as production runs it: `node bin/roster.js serve` in its own process, on a
// port of 127.0.0.1, on a SQLite file or a PostgreSQL database. For the tests that need real
// sockets (abuse), a process to kill (chaos, lost answers) or to watch over time (soak), and the
// requests they send it.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './free-port.ts'
import { jsonBody } from './json-body.ts'

export const BIN = join(import.meta.dirname, '../../bin/roster.js')
const run = promisify(execFile)

export interface Server {
  readonly base: string
  readonly port: number
  readonly proc: ChildProcess
  /** Resident memory of the server process in KiB (from /proc), or null where there is none. */
  rssKiB(): number | null
  /** Open file descriptors of the server process (from /proc), or null where there is none. */
  openFds(): number | null
  kill(signal?: NodeJS.Signals): Promise<void>
}

export function serverEnv(databaseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ROSTER_DATABASE_URL: databaseUrl, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ROSTER_NO_MAIL_WORKER: '1', ...extra }
}

/**
 * Whether `base/healthz` answers 200 within `timeoutMs`, asking every 100 ms; false at once when
 * `proc` (the server's process) has exited.
 */
export async function healthy(base: string, { proc, timeoutMs = 30_000 }: { proc?: ChildProcess; timeoutMs?: number } = {}): Promise<boolean> {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) return false
    if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) return true
    if (Date.now() >= until) return false
    await new Promise((r) => setTimeout(r, 100))
  }
}

export async function startServer(databaseUrl: string, extra: Record<string, string> = {}, port?: number): Promise<Server> {
  const p = port ?? (await freePort())
  const proc = spawn(process.execPath, ['--max-semi-space-size=8', '--heap-growing-percent=30', BIN, 'serve'], { env: { ...serverEnv(databaseUrl, extra), PORT: String(p) }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000)
  })
  const base = `http://127.0.0.1:${p}`
  if (!(await healthy(base, { proc }))) {
    proc.kill('SIGKILL')
    throw new Error(`roster serve did not become healthy on ${base}: ${stderr}`)
  }
  return {
    base, port: p, proc,
    rssKiB() {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))
        return m ? Number(m[1]) : null
      } catch {
        return null
      }
    },
    openFds() {
      try {
        return readdirSync(`/proc/${proc.pid}/fd`).length
      } catch {
        return null
      }
    },
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill(signal)
      await exited
    },
  }
}

/** `roster <args> --json` against the database, parsed. */
export async function cli(databaseUrl: string, ...args: string[]): Promise<Record<string, string>> {
  const { stdout } = await run(process.execPath, [BIN, ...args, '--json'], { env: serverEnv(databaseUrl) })
  return JSON.parse(stdout) as Record<string, string>
}

export interface Call {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: Record<string, unknown> & { Resources?: Record<string, unknown>[] }
}

/** One HTTP request with a bearer token; the body is sent as JSON. */
export async function call(base: string, method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Call> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await r.text()
  const json = jsonBody(text)
  return { status: r.status, headers: r.headers, text, json }
}

/**
 * A request to a server that may be killed under it: its answer (counted in `statuses`),
 * `refused` when the connection was refused (the request never reached a server), or `unknown`
 * when the connection died with the request on it (it may or may not have been carried out).
 */
export async function attempt(base: string, method: string, path: string, token: string, body: unknown, statuses: Record<string, number>): Promise<Call | 'refused' | 'unknown'> {
  try {
    const r = await call(base, method, path, token, body)
    statuses[r.status] = (statuses[r.status] ?? 0) + 1
    return r
  } catch (e) {
    return (e as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED' ? 'refused' : 'unknown'
  }
}
