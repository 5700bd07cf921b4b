// Two builds of Roster, side by side, on a machine whose speed drifts: each starts on its own
// temp SQLite database (with an organization of two email domains, as the workload benchmark's),
// and every phase sends its requests to the two in turn, a slice at a time (A B, then B A, …), so
// that both see the same minutes of the machine. For each build and phase it reports requests/s
// and the CPU a request cost the server's event loop and the whole process (/proc, Linux), and
// B against A, and the share of the machine's CPU time the hypervisor stole during each phase
// (near 0 on a quiet host). Run it before merging anything that touches every request: an A/A run
// (the same build twice) shows the noise left (up to 8 % on a slow hour here).
//
//   npm run bench:ab -- --a ../base/bin/roster.js [--b bin/roster.js] [--creates 12000] [--slice 500] [--warmup 1000] [--json FILE]
//   npm run bench:ab -- --a bin/roster.js --b-env UV_USE_IO_URING=1     (one build, two environments)
//
// Phases: `create` (POST /Users, the workload benchmark's body), `member-patch` (PATCHes adding 100
// new members until each of 20 groups has 5,000), `get` (GET /Users/{id}).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { HttpClient, str } from './http-client.ts'
import { PATCH_OP, userBody } from './phases-users.ts'
import { runPool } from './pool.ts'
import { CORE_GROUP } from './phases-groups.ts'
import { cpuTicksOf, machineTicks, stealPct, TICKS_PER_SECOND } from './rss.ts'
import { BENCH_ENV, freePort, parseOrg, SERVER_NODE_FLAGS, stopServer, waitHealthy } from './spawn.ts'

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: 'bin/roster.js' },
    creates: { type: 'string', default: '12000' },
    slice: { type: 'string', default: '500' },
    warmup: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    json: { type: 'string' },
    // NAME=VALUE set in one server's environment only (repeatable): an environment switch measured
    // against the same build.
    'a-env': { type: 'string', multiple: true, default: [] },
    'b-env': { type: 'string', multiple: true, default: [] },
  },
})
/** `--a-env`/`--b-env` values as an environment; exits 2 on one that is not NAME=VALUE. */
function envOf(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((kv) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(kv)
    if (!m) {
      console.error(`--a-env and --b-env take NAME=VALUE, not ${JSON.stringify(kv)}`)
      process.exit(2)
    }
    return [m[1], m[2]]
  }))
}
const OWN_ENV = { A: envOf(values['a-env']), B: envOf(values['b-env']) }
if (values.a === undefined) {
  console.error('usage: npm run bench:ab -- --a OTHER/bin/roster.js [--b bin/roster.js] [--creates N] [--slice N] [--warmup N] [--a-env NAME=VALUE] [--b-env NAME=VALUE] [--json FILE]')
  process.exit(2)
}
const ROOT = path.resolve(import.meta.dirname, '..')
const CONCURRENCY = Number(values.concurrency)
const CREATES = Number(values.creates)
const SLICE = Number(values.slice)
const GROUPS = 20
const BATCH = 100
/** Members each group ends with, as in the workload benchmark. */
const MEMBERS = 5_000
/** Requests to each server before a phase's measured ones (creates before creates, GETs before GETs). */
const WARMUP = Number(values.warmup)

interface Tally { requests: number; ms: number; loopTicks: number; processTicks: number }

interface Server {
  readonly name: 'A' | 'B'
  readonly bin: string
  readonly child: ChildProcess
  readonly dir: string
  readonly client: HttpClient
  readonly prefix: string
  readonly users: string[]
  readonly groups: string[]
  readonly tallies: Map<string, Tally>
}

async function start(name: 'A' | 'B', bin: string): Promise<Server> {
  const port = await freePort()
  const dir = mkdtempSync(path.join(tmpdir(), 'roster-bench-ab-'))
  const logPath = path.join(dir, 'server.log')
  // As the workload benchmark's servers, without the mailer: what it sends depends on how idle the server is.
  const env = { ...BENCH_ENV, ...process.env, PORT: String(port), ROSTER_DATABASE_URL: `sqlite:${path.join(dir, 'bench.db')}`, LOG_LEVEL: 'warn', ROSTER_NO_MAIL_WORKER: '1', ...OWN_ENV[name] }
  const log = openSync(logPath, 'a')
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, bin, 'serve'], { cwd: ROOT, env, stdio: ['ignore', log, log] })
  await waitHealthy(child, port, logPath)
  const { stdout } = await promisify(execFile)(process.execPath, [bin, 'org', 'create', `ab-${name}`, '--domain', 'example.com', '--domain', 'example.net', '--json'], { cwd: ROOT, env })
  const org = parseOrg(stdout)
  const client = new HttpClient(`http://127.0.0.1:${port}${new URL(org.tenantUrl, `http://127.0.0.1:${port}`).pathname}`, org.token, CONCURRENCY)
  return { name, bin, child, dir, client, prefix: `ab${Date.now().toString(36)}${name.toLowerCase()}`, users: [], groups: [], tallies: new Map() }
}

async function stop(s: Server): Promise<void> {
  s.client.close()
  await stopServer(s.child)
  rmSync(s.dir, { recursive: true, force: true })
}

/** One request of a phase against one server. */
type Request = (s: Server, i: number) => Promise<void>

function expect(what: string, status: number, ok: readonly number[], body: string): void {
  if (!ok.includes(status)) throw new Error(`${what}: ${status} ${body.slice(0, 300)}`)
}

const create: Request = async (s, i) => {
  const userName = `${s.prefix}.${i}@example.com`
  const r = await s.client.request('POST', '/Users', userBody(s.prefix, i, userName))
  expect('create', r.status, [201], r.body)
  s.users.push(str(r.json, 'id') ?? '')
}

const get: Request = async (s, i) => {
  const r = await s.client.request('GET', `/Users/${s.users[i % s.users.length] ?? ''}`)
  expect('get', r.status, [200], r.body)
}

/** The i-th batch of 100 new members: batch i goes to group i % GROUPS, the next 100 users it lacks. */
const memberPatch: Request = async (s, i) => {
  const group = s.groups[i % GROUPS] ?? ''
  const from = Math.floor(i / GROUPS) * BATCH
  const value = s.users.slice(from, from + BATCH).map((id) => ({ value: id }))
  const r = await s.client.request('PATCH', `/Groups/${group}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value }] })
  expect('member PATCH', r.status, [200, 204], r.body)
}

/** Requests `from` … `from + count - 1` of a phase against one server, its CPU read around them. */
async function slice(s: Server, phase: string, request: Request, from: number, count: number): Promise<void> {
  const pid = s.child.pid as number
  const at0 = cpuTicksOf(pid, 'start') ?? { proc: 0, main: 0 }
  const t0 = performance.now()
  await runPool(Array.from({ length: count }, (_, k) => from + k), CONCURRENCY, (i) => request(s, i))
  const ms = performance.now() - t0
  const at1 = cpuTicksOf(pid, 'end') ?? at0
  const t = s.tallies.get(phase) ?? { requests: 0, ms: 0, loopTicks: 0, processTicks: 0 }
  t.requests += count
  t.ms += ms
  t.loopTicks += at1.main - at0.main
  // The kernel scales each file's times on its own: the process is never counted below its thread.
  t.processTicks += Math.max(at1.proc - at0.proc, at1.main - at0.main)
  s.tallies.set(phase, t)
}

/** Each phase's share of the machine's CPU time stolen by the hypervisor (bench/rss.ts), in %. */
const steal = new Map<string, number | null>()

/** A phase of `total` requests, slices alternating between the servers, which one goes first alternating too. */
async function phase(servers: readonly [Server, Server], name: string, request: Request, total: number, size: number): Promise<void> {
  const from0 = machineTicks()
  for (let from = 0, k = 0; from < total; from += size, k++) {
    const count = Math.min(size, total - from)
    const order = k % 2 === 0 ? servers : [servers[1], servers[0]] as const
    for (const s of order) await slice(s, name, request, from, count)
  }
  steal.set(name, stealPct(from0, machineTicks()))
}

const usPerRequest = (ticks: number, requests: number) => Math.round((ticks * 1e6) / TICKS_PER_SECOND / requests)

const a = await start('A', path.resolve(ROOT, values.a))
let b: Server | null = null
try {
  b = await start('B', path.resolve(ROOT, values.b))
  const both = [a, b] as const
  for (const s of both) await runPool(Array.from({ length: WARMUP }, (_, i) => i), CONCURRENCY, (i) => create(s, CREATES + i))
  await phase(both, 'create', create, CREATES, SLICE)
  for (const s of both) {
    for (let g = 0; g < GROUPS; g++) {
      const r = await s.client.request('POST', '/Groups', { schemas: [CORE_GROUP], displayName: `${s.prefix} group ${g}` })
      expect('group create', r.status, [201], r.body)
      s.groups.push(str(r.json, 'id') ?? '')
    }
  }
  // Each group gets MEMBERS members (fewer if there are fewer users), 100 a PATCH, slices of 50 PATCHes.
  await phase(both, 'member-patch', memberPatch, GROUPS * Math.floor(Math.min(MEMBERS, a.users.length, b.users.length) / BATCH), 50)
  for (const s of both) await runPool(Array.from({ length: WARMUP }, (_, i) => i), CONCURRENCY, (i) => get(s, i))
  await phase(both, 'get', get, CREATES * 2, SLICE * 2)

  const rows = ['create', 'member-patch', 'get'].map((name) => {
    const [ta, tb] = both.map((s) => s.tallies.get(name) as Tally) as [Tally, Tally]
    const of = (t: Tally) => ({
      requests: t.requests, perSecond: Math.round((t.requests * 1000) / t.ms),
      loopUs: usPerRequest(t.loopTicks, t.requests), serverUs: usPerRequest(t.processTicks, t.requests),
    })
    const A = of(ta)
    const B = of(tb)
    return { phase: name, A, B, rateBA: Number((B.perSecond / A.perSecond).toFixed(3)), loopBA: Number((tb.loopTicks / tb.requests / (ta.loopTicks / ta.requests)).toFixed(3)), stealPct: steal.get(name) ?? null }
  })
  console.log(`A ${a.bin}\nB ${b.bin}\n`)
  console.log('phase          A req/s  A loop µs  A server µs   B req/s  B loop µs  B server µs   B/A rate  B/A loop  steal %')
  for (const r of rows) {
    console.log(`${r.phase.padEnd(13)} ${String(r.A.perSecond).padStart(8)} ${String(r.A.loopUs).padStart(10)} ${String(r.A.serverUs).padStart(12)} ${String(r.B.perSecond).padStart(9)} ${String(r.B.loopUs).padStart(10)} ${String(r.B.serverUs).padStart(12)} ${r.rateBA.toFixed(3).padStart(10)} ${r.loopBA.toFixed(3).padStart(9)} ${String(r.stealPct ?? '-').padStart(8)}`)
  }
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ a: a.bin, b: b.bin, creates: CREATES, slice: SLICE, concurrency: CONCURRENCY, phases: rows }, null, 2)}\n`)
} finally {
  await stop(a)
  if (b) await stop(b)
}
