// `npm run soak`: a steady mixed SCIM load on a spawned `roster serve` for a while, sampling the
// server's memory (RSS from /proc), its open file descriptors, the SQLite WAL's size and the
// latency of each interval, to show they stay flat.
//   --duration 30m   how long (s, m or h; default 30m; SOAK_DURATION)
//   --rate 100       requests per second, open loop (default 100; SOAK_RATE), at most 64 in flight
//   --orgs 5         organizations, each seeded with 200 users and 3 groups
//   --every 10s      sampling interval
//   --store sqlite|postgres   (postgres: TEST_DATABASE_URL or a throwaway cluster)
// Prints one line per interval and a summary (RSS first, last, max and its slope after the first
// fifth; open fds and the WAL's size first, last and max; p50/p99/max latency); exits 1 on any
// 5xx or unexpected status.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase } from '../../test/helpers/pg-database.ts'
import { call, cli, startServer } from '../../test/helpers/spawned-server.ts'
import { scriptStores } from './stores.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

function arg(name: string, env: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return (i >= 0 ? process.argv[i + 1] : process.env[env]) ?? fallback
}
function seconds(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(s)
  if (!m) throw new Error(`not a duration: ${s}`)
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1)
}
const durationS = seconds(arg('duration', 'SOAK_DURATION', '30m'))
const rate = Number(arg('rate', 'SOAK_RATE', '100'))
const orgCount = Number(arg('orgs', 'SOAK_ORGS', '5'))
const everyS = seconds(arg('every', 'SOAK_EVERY', '10s'))
const storeName = arg('store', 'SOAK_STORE', 'sqlite')

const pct = (xs: number[], p: number) => (xs.length === 0 ? 0 : ([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] as number))

const { adminUrl, done } = await scriptStores()
const dir = mkdtempSync(join(tmpdir(), 'roster-soak-'))
let dbUrl = `sqlite:${join(dir, 'roster.db')}`
let drop = async () => undefined as unknown
if (storeName === 'postgres') {
  if (!adminUrl) throw new Error('--store postgres needs PostgreSQL (TEST_DATABASE_URL or its binaries)')
  const db = await createTestDatabase(adminUrl, 'roster_soak')
  dbUrl = db.url
  drop = db.drop
}
const server = await startServer(dbUrl)
let failed = false
try {
  interface Org { token: string; users: string[]; groups: string[] }
  const orgs: Org[] = []
  for (let o = 0; o < orgCount; o++) {
    const token = String((await cli(dbUrl, 'org', 'create', `soak-${o}-${randomBytes(3).toString('hex')}`)).token)
    const users: string[] = []
    for (let i = 0; i < 200; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, (_, k) => call(server.base, 'POST', '/scim/v2/Users', token, { schemas: [USER], userName: `seed${i + k}@soak.example`, emails: [{ value: `seed${i + k}@soak.example`, type: 'work' }] })))
      users.push(...batch.map((r) => String(r.json.id)))
    }
    const groups: string[] = []
    for (let g = 0; g < 3; g++) groups.push(String((await call(server.base, 'POST', '/scim/v2/Groups', token, { schemas: [GROUP], displayName: `team ${g}`, members: users.slice(g * 50, g * 50 + 50).map((value) => ({ value })) })).json.id))
    orgs.push({ token, users, groups })
  }
  console.log(`soak: ${storeName}, ${durationS} s at ${rate} requests/s over ${orgCount} organizations, server pid ${server.proc.pid}, sampled every ${everyS} s`)
  console.log('   t(s)  requests  errors   p50(ms)  p99(ms)  max(ms)  RSS(MiB)  fds  WAL(MiB)')

  let lat: number[] = []
  let sent = 0
  let errors = 0
  let inFlight = 0
  let skipped = 0
  let created = 0
  const unexpected: string[] = []
  const samples: { t: number; rss: number; fds: number; wal: number; p50: number; p99: number; max: number; n: number }[] = []
  // The SQLite write-ahead log beside the database file (none on PostgreSQL): checkpoints keep it bounded.
  const walMiB = () => {
    if (!dbUrl.startsWith('sqlite:')) return 0
    try {
      return statSync(`${dbUrl.slice('sqlite:'.length)}-wal`).size / 1_048_576
    } catch {
      return 0
    }
  }
  const pickOf = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)] as T

  async function one(): Promise<void> {
    const org = pickOf(orgs)
    const r = Math.random()
    const started = performance.now()
    let res: { status: number; text: string }
    let ok: number[]
    if (r < 0.35) {
      res = await call(server.base, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "seed${Math.floor(Math.random() * 200)}@soak.example"`)}`, org.token)
      ok = [200]
    } else if (r < 0.5) {
      res = await call(server.base, 'GET', `/scim/v2/Users/${pickOf(org.users)}`, org.token)
      ok = [200]
    } else if (r < 0.62) {
      res = await call(server.base, 'POST', '/scim/v2/Users', org.token, { schemas: [USER], userName: `u${++created}-${randomBytes(3).toString('hex')}@soak.example`, emails: [{ value: `u${created}@soak.example` }] })
      ok = [201]
    } else if (r < 0.75) {
      res = await call(server.base, 'PATCH', `/scim/v2/Users/${pickOf(org.users)}`, org.token, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: `t${Math.floor(Math.random() * 1000)}` }] })
      ok = [200, 204]
    } else if (r < 0.9) {
      const add = Math.random() < 0.5
      const member = pickOf(org.users)
      res = await call(server.base, 'PATCH', `/scim/v2/Groups/${pickOf(org.groups)}`, org.token, add
        ? { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: member }] }] }
        : { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${member}"]` }] })
      ok = [204]
    } else {
      res = await call(server.base, 'GET', `/scim/v2/Users?startIndex=${1 + Math.floor(Math.random() * 150)}&count=50`, org.token)
      ok = [200]
    }
    lat.push(performance.now() - started)
    if (!ok.includes(res.status)) {
      errors++
      if (unexpected.length < 20) unexpected.push(`${res.status} ${res.text.slice(0, 200)}`)
    }
  }

  const t0 = Date.now()
  let lastSample = t0
  const tickMs = 20
  let owed = 0
  let lastTick = Date.now()
  while (Date.now() - t0 < durationS * 1000) {
    // What the rate owes since the last tick as measured (timers fire late, never early).
    const now = Date.now()
    owed += (rate * (now - lastTick)) / 1000
    lastTick = now
    while (owed >= 1) {
      owed--
      if (inFlight >= 64) {
        skipped++
        continue
      }
      inFlight++
      sent++
      void one().catch((e: Error) => {
        errors++
        if (unexpected.length < 20) unexpected.push(`connection: ${e.message}`)
      }).finally(() => inFlight--)
    }
    await new Promise((r) => setTimeout(r, tickMs))
    if (Date.now() - lastSample >= everyS * 1000) {
      lastSample = Date.now()
      const rss = (server.rssKiB() ?? 0) / 1024
      const s = { t: Math.round((Date.now() - t0) / 1000), rss, fds: server.openFds() ?? 0, wal: walMiB(), p50: pct(lat, 50), p99: pct(lat, 99), max: Math.max(0, ...lat), n: lat.length }
      samples.push(s)
      lat = []
      console.log(`${String(s.t).padStart(7)}  ${String(s.n).padStart(8)}  ${String(errors).padStart(6)}  ${s.p50.toFixed(1).padStart(8)}  ${s.p99.toFixed(1).padStart(7)}  ${s.max.toFixed(0).padStart(7)}  ${rss.toFixed(1).padStart(8)}  ${String(s.fds).padStart(3)}  ${s.wal.toFixed(1).padStart(8)}`)
    }
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 20))
  const warm = samples.slice(Math.floor(samples.length / 5))
  const n = warm.length
  const mt = warm.reduce((a, s) => a + s.t, 0) / Math.max(1, n)
  const mr = warm.reduce((a, s) => a + s.rss, 0) / Math.max(1, n)
  const slope = n < 2 ? 0 : warm.reduce((a, s) => a + (s.t - mt) * (s.rss - mr), 0) / warm.reduce((a, s) => a + (s.t - mt) ** 2, 0)
  const rssList = samples.map((s) => s.rss)
  console.log(`summary: ${sent} requests in ${durationS} s (${(sent / durationS).toFixed(1)}/s; ${skipped} not sent while 64 were in flight), ${errors} errors; ` +
    `RSS first ${rssList[0]?.toFixed(1)} MiB, last ${rssList[rssList.length - 1]?.toFixed(1)} MiB, max ${Math.max(...rssList).toFixed(1)} MiB, ` +
    `slope after warm-up ${(slope * 3600).toFixed(1)} MiB/h; open fds first ${samples[0]?.fds}, last ${samples[samples.length - 1]?.fds}, max ${Math.max(...samples.map((s) => s.fds))}; ` +
    `WAL max ${Math.max(...samples.map((s) => s.wal)).toFixed(1)} MiB, last ${samples[samples.length - 1]?.wal.toFixed(1)} MiB; p99 per interval ${Math.min(...samples.map((s) => s.p99)).toFixed(1)}–${Math.max(...samples.map((s) => s.p99)).toFixed(1)} ms, ` +
    `p50 ${Math.min(...samples.map((s) => s.p50)).toFixed(1)}–${Math.max(...samples.map((s) => s.p50)).toFixed(1)} ms, max ${Math.max(...samples.map((s) => s.max)).toFixed(0)} ms`)
  for (const u of unexpected) console.log(`  unexpected: ${u}`)
  if (errors > 0) failed = true
} finally {
  await server.kill('SIGTERM')
  await drop()
  rmSync(dir, { recursive: true, force: true })
  done()
}
process.exit(failed ? 1 : 0)
