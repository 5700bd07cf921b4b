// What garbage collection costs a request: a Roster started with `node --trace-gc` on a temp
// SQLite database gets an organization (`roster org create`, two email domains as the workload
// benchmark's) and 500 users, answers `--warmup` requests of the phase, then `--requests` more
// (`--concurrency` in flight, the bench client); the GC lines the server's main thread printed
// during those are summed: scavenges (young generation) and mark-compacts (full), in count and in
// µs per request, and what each scavenge promoted to the old generation (the growth of the heap
// from one scavenge to the next with no full collection between: what a request kept alive past
// two scavenges, which a full collection then has to find). Phases: `get` (GET /Users/{id}) and
// `create` (POST /Users, the workload benchmark's body; invitations on, the mailer off). Run it
// against two builds (`--roster-bin`) at the same hour: the machine's speed varies more than the
// figures do.
//
//   npm run bench:gc -- [--phase get|create] [--requests 30000] [--warmup 10000] [--concurrency 32] [--roster-bin F] [--json FILE]
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify, parseArgs } from 'node:util'
import { HttpClient } from './http-client.ts'
import { userBody } from './phases-users.ts'
import { runPool } from './pool.ts'
import { BENCH_ENV, freePort, SERVER_NODE_FLAGS, stopServer, waitHealthy } from './spawn.ts'

const { values } = parseArgs({
  options: {
    phase: { type: 'string', default: 'get' },
    requests: { type: 'string', default: '30000' },
    warmup: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '32' },
    'roster-bin': { type: 'string', default: 'bin/roster.js' },
    json: { type: 'string' },
  },
})
const ROOT = path.resolve(import.meta.dirname, '..')
const bin = path.resolve(ROOT, values['roster-bin'])
const concurrency = Number(values.concurrency)
const phase = values.phase
if (phase !== 'get' && phase !== 'create') {
  console.error('usage: npm run bench:gc -- [--phase get|create] [--requests N] [--warmup N] [--concurrency N] [--roster-bin F] [--json FILE]')
  process.exit(2)
}

const port = await freePort()
const dir = mkdtempSync(path.join(tmpdir(), 'roster-bench-gc-'))
const logPath = path.join(dir, 'server.log')
// As the workload benchmark's servers, and no mail (no invitations to send).
const env = { ...BENCH_ENV, ...process.env, PORT: String(port), ROSTER_DATABASE_URL: `sqlite:${path.join(dir, 'bench.db')}`, LOG_LEVEL: 'warn', ROSTER_NO_MAIL_WORKER: '1' }
// The node flags `npm start` uses, and --trace-gc.
const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, '--trace-gc', bin, 'serve'], { cwd: ROOT, env, stdio: ['ignore', openSync(logPath, 'a'), openSync(logPath, 'a')] })
try {
  await waitHealthy(child, port, logPath)
  const org = JSON.parse((await promisify(execFile)(process.execPath, [bin, 'org', 'create', 'gc', '--domain', 'example.com', '--domain', 'example.net', '--json'], { cwd: ROOT, env })).stdout) as { token: string }
  const client = new HttpClient(`http://127.0.0.1:${port}/scim/v2`, org.token, concurrency)
  const ids: string[] = []
  for (let i = 0; i < 500; i++) {
    const r = await client.request('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `u${i}@example.com`, name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: [{ value: `u${i}@example.com`, type: 'work', primary: true }] })
    if (r.status !== 201) throw new Error(`create: ${r.status} ${r.body}`)
    ids.push(String((r.json as { id: string }).id))
  }
  // Request i of the phase: warm-up requests are 0 … warmup - 1 and the measured ones follow, so
  // every create has a userName of its own.
  const one = async (i: number): Promise<void> => {
    if (phase === 'get') {
      const r = await client.request('GET', `/Users/${ids[i % ids.length] as string}`)
      if (r.status !== 200) throw new Error(`GET: ${r.status} ${r.body}`)
      return
    }
    const r = await client.request('POST', '/Users', userBody('gc', i, `gc.user.${i}@example.com`))
    if (r.status !== 201) throw new Error(`create: ${r.status} ${r.body}`)
  }
  const run = (from: number, count: number): Promise<void> => runPool(Array.from({ length: count }, (_, k) => from + k), concurrency, one)
  const warmup = Number(values.warmup)
  await run(0, warmup)
  await new Promise((r) => setTimeout(r, 1_000))
  const from = readFileSync(logPath, 'utf8').length
  const t0 = performance.now()
  const n = Number(values.requests)
  await run(warmup, n)
  const seconds = (performance.now() - t0) / 1_000
  client.close()
  // `[pid:0x…]  8223 ms: Scavenge 36.9 (59.2) -> 32.7 (59.2) MB, 4.99 / 0.00 ms  (…)`; the main
  // thread's isolate is the one with the most lines (worker threads have isolates of their own).
  const lines = readFileSync(logPath, 'utf8').slice(from).split('\n')
    .map((line) => /^\[\d+:(0x[0-9a-f]+)\].*ms: (Scavenge|Mark-Compact|Mark-sweep)[^,]*? [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB, ([\d.]+) \/ [\d.]+ ms/.exec(line))
    .filter((m) => m !== null)
  const perIsolate = new Map<string, number>()
  for (const m of lines) perIsolate.set(m[1] as string, (perIsolate.get(m[1] as string) ?? 0) + 1)
  const main = [...perIsolate].sort((a, b) => b[1] - a[1])[0]?.[0]
  const totals = { scavenge: { count: 0, ms: 0 }, markCompact: { count: 0, ms: 0 } }
  let promoted = 0
  let promotions = 0
  let after: number | null = null
  for (const m of lines) {
    if (m[1] !== main) continue
    const t = m[2] === 'Scavenge' ? totals.scavenge : totals.markCompact
    t.count++
    t.ms += Number(m[4])
    if (m[2] !== 'Scavenge') {
      after = null
      continue
    }
    if (after !== null) {
      promoted += Number(m[3]) - after
      promotions++
    }
    after = Number(m[3])
  }
  const result = {
    phase, requests: n, perSecond: Math.round(n / seconds),
    scavenges: totals.scavenge.count, scavengeUsPerRequest: Number(((totals.scavenge.ms * 1_000) / n).toFixed(2)),
    markCompacts: totals.markCompact.count, markCompactUsPerRequest: Number(((totals.markCompact.ms * 1_000) / n).toFixed(2)),
    promotedMiBPerScavenge: promotions === 0 ? null : Number((promoted / promotions).toFixed(3)),
  }
  console.log(JSON.stringify(result))
  if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`)
} finally {
  await stopServer(child)
  rmSync(dir, { recursive: true, force: true })
}
