// Costly queries against a bystander (docs/architecture.md INP-4): organization A, holding many
// users, asks for the dearest lists SCIM allows — `co` on attributes no index holds, an `or` of
// 1,000 comparisons (the parser's limit), `count=10^9`, `startIndex=10^12`, a sort by each kind of
// attribute — as fast as its requests in flight allow, while organization B looks its own users up.
// Every answer is checked: a list page never holds more than the advertised `maxResults`, a page
// past the end is empty, a 5xx is only ever 503 with `Retry-After` (the request's deadline,
// docs/security.md "Request deadlines"), and each of B's lookups finds its user. Timings are
// measured and printed, never asserted.
import { randomBytes } from 'node:crypto'
import { seedDatabase } from './seed.ts'
import { call, startServer, type Call, type Server } from '../../helpers/spawned-server.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'

/** B's lookups start at most one every 10 ms: 100 a second, a fifth of a token's default rate limit. */
const BYSTANDER_GAP_MS = 10

/** A title every `co` comparison has to read through (a short one is rejected by the first bytes). */
const TITLE = 'Principal Engineer, Identity and Access Management, Platform Reliability '.repeat(3)

export interface CostlyOptions {
  readonly databaseUrl: string
  /** Organization A's users. */
  readonly users: number
  /** How long A's costly requests go on, in ms. */
  readonly durationMs: number
  /** A's requests in flight. */
  readonly inFlight: number
  /** The server's environment beyond the database (read workers, deadline). */
  readonly env?: Record<string, string>
  readonly log?: (line: string) => void
}

export interface Timing { requests: number; statuses: Record<string, number>; p50Ms: number; p99Ms: number; maxMs: number }

export interface CostlyReport {
  maxResults: number
  seedMs: number
  /** Per kind of costly request. */
  kinds: Record<string, Timing>
  /** B's lookups, made while A's requests ran. */
  bystander: Timing
  peakRssMiB: number | null
  problems: string[]
}

interface Kind {
  readonly name: string
  send(base: string, token: string): Promise<Call>
  /** What a 200 must hold, besides at most maxResults resources. */
  readonly empty?: boolean
}

const query = (filter: string) => encodeURIComponent(filter)

/** The costly requests, each valid SCIM (RFC 7644 §3.4.2, §3.4.3). */
function kinds(users: number): Kind[] {
  const get = (name: string, path: string, empty = false): Kind => ({ name, empty, send: (base, token) => call(base, 'GET', `/scim/v2${path}`, token) })
  const search = (name: string, body: Record<string, unknown>, empty = false): Kind => ({
    name, empty, send: (base, token) => call(base, 'POST', '/scim/v2/Users/.search', token, { schemas: [SEARCH], ...body }),
  })
  // 1,000 comparisons of one character each: 15,996 characters, under the 16,384 a filter may hold.
  const or1000 = Array.from({ length: 1_000 }, (_, i) => `title co "${'abcdefghijklmnopqrstuvwxyz0123456789'[i % 36]}"`).join(' or ')
  const middle = Math.max(1, Math.floor(users / 2))
  return [
    get('co on title (no index)', `/Users?count=100&filter=${query('title co "no such words"')}`),
    get('co on emails.value', `/Users?count=100&filter=${query('emails.value co "no-such-address"')}`),
    get('ew on userName', `/Users?count=100&filter=${query('userName ew ".invalid"')}`),
    search('or of 1,000 co (/.search)', { filter: or1000, count: 10 }),
    get('count=10^9', '/Users?count=1000000000'),
    get('count=10^9, filtered', `/Users?count=1000000000&filter=${query('title co "Reliability"')}`),
    get('startIndex=10^12, filtered', `/Users?startIndex=1000000000000&count=1000000000&filter=${query('title co "Principal"')}`, true),
    get('startIndex=10^12', '/Users?startIndex=1000000000000', true),
    get('sortBy=title, the middle', `/Users?sortBy=title&startIndex=${middle}&count=100`),
    get('sortBy=name.familyName desc', `/Users?sortBy=name.familyName&sortOrder=descending&count=1000000000`),
    get('sortBy=emails.value', `/Users?sortBy=emails.value&startIndex=${middle}&count=100`),
    get('sortBy=enterprise department', `/Users?sortBy=${query(`${ENTERPRISE}:department`)}&count=100&filter=${query('title co "Identity"')}`),
    get('sortBy=meta.lastModified', `/Users?sortBy=meta.lastModified&startIndex=${middle}&count=100`),
    search('sortBy=displayName, or of 1,000 (/.search)', { filter: or1000, sortBy: 'displayName', startIndex: middle, count: 1_000_000_000 }),
  ]
}

function timing(ms: number[], statuses: Record<string, number>): Timing {
  const s = [...ms].sort((a, b) => a - b)
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0)
  return { requests: s.length, statuses, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: Math.round(s[s.length - 1] ?? 0) }
}

/** What is wrong with one answer to a costly list request, or null. */
function check(kind: Kind, r: Call, maxResults: number): string | null {
  if (r.status === 503) {
    if (r.headers.get('retry-after') === null) return '503 without Retry-After'
    return Array.isArray(r.json.schemas) && r.json.schemas.includes(ERROR) ? null : `503 without a SCIM error: ${r.text.slice(0, 200)}`
  }
  if (r.status === 429) return null
  if (r.status !== 200) return `status ${r.status}: ${r.text.slice(0, 200)}`
  const items = r.json.Resources?.length ?? 0
  if (r.json.itemsPerPage !== items) return `itemsPerPage ${String(r.json.itemsPerPage)} for ${items} resources`
  if (items > maxResults) return `${items} resources, past maxResults ${maxResults}`
  if (kind.empty && items !== 0) return `${items} resources on a page past the end`
  return null
}

export async function runCostly(opts: CostlyOptions): Promise<CostlyReport> {
  const log = opts.log ?? (() => undefined)
  const tag = randomBytes(3).toString('hex')
  const seeded = Date.now()
  const { tokens: [a = '', b = ''] } = await seedDatabase(opts.databaseUrl, [`costly-a-${tag}`, `costly-b-${tag}`], opts.users, (i) => ({
    schemas: [USER, ENTERPRISE],
    userName: `a${i}@a.example`,
    name: { givenName: `Given${i % 977}`, familyName: `Family${(i * 7919) % 100_003}` },
    displayName: `A User ${(i * 104_729) % 1_000_003}`,
    title: TITLE,
    emails: [{ value: `a${i}@a.example`, type: 'work', primary: true }],
    [ENTERPRISE]: { department: `Department ${i % 101}` },
  }))
  const seedMs = Date.now() - seeded
  log(`seeded ${opts.users} users in ${(seedMs / 1000).toFixed(1)} s`)

  const server: Server = await startServer(opts.databaseUrl, opts.env ?? {})
  const problems: string[] = []
  try {
    const config = await call(server.base, 'GET', '/scim/v2/ServiceProviderConfig', a)
    const maxResults = Number((config.json.filter as { maxResults?: unknown } | undefined)?.maxResults)
    if (!Number.isSafeInteger(maxResults) || maxResults < 1) throw new Error(`no filter.maxResults in ServiceProviderConfig: ${config.text}`)
    const bUsers: { id: string; userName: string }[] = []
    for (let i = 0; i < 20; i++) {
      const r = await call(server.base, 'POST', '/scim/v2/Users', b, { schemas: [USER], userName: `b${i}@b.example`, title: TITLE })
      if (r.status !== 201) throw new Error(`B's user: ${r.status} ${r.text}`)
      bUsers.push({ id: String(r.json.id), userName: `b${i}@b.example` })
    }

    const list = kinds(opts.users)
    const times = new Map<string, number[]>(list.map((k) => [k.name, []]))
    const statuses = new Map<string, Record<string, number>>(list.map((k) => [k.name, {}]))
    const bTimes: number[] = []
    const bStatuses: Record<string, number> = {}
    let peak = server.rssKiB()
    const sampler = setInterval(() => {
      const r = server.rssKiB()
      if (r !== null && (peak === null || r > peak)) peak = r
    }, 100)
    const until = Date.now() + opts.durationMs
    let next = 0
    let done = false

    const attacker = async () => {
      while (Date.now() < until) {
        const kind = list[next++ % list.length] as Kind
        const t0 = performance.now()
        const r = await kind.send(server.base, a)
        ;(times.get(kind.name) as number[]).push(performance.now() - t0)
        const st = statuses.get(kind.name) as Record<string, number>
        st[r.status] = (st[r.status] ?? 0) + 1
        const p = check(kind, r, maxResults)
        if (p !== null) problems.push(`A ${kind.name}: ${p}`)
      }
    }
    // B asks one thing at a time, one every BYSTANDER_GAP_MS at most (an identity provider's pace,
    // under its token's rate limit), for as long as A's requests run: each lookup is made under them.
    const bystander = async () => {
      for (let i = 0; !done; i++) {
        const gap = new Promise((r) => setTimeout(r, BYSTANDER_GAP_MS))
        const u = bUsers[i % bUsers.length] as { id: string; userName: string }
        const byName = i % 2 === 0
        const t0 = performance.now()
        const r = byName
          ? await call(server.base, 'GET', `/scim/v2/Users?filter=${query(`userName eq "${u.userName}"`)}`, b)
          : await call(server.base, 'GET', `/scim/v2/Users/${u.id}`, b)
        bTimes.push(performance.now() - t0)
        bStatuses[r.status] = (bStatuses[r.status] ?? 0) + 1
        const found = byName ? r.json.totalResults === 1 && r.json.Resources?.[0]?.id === u.id : r.json.id === u.id
        if (r.status !== 200 || !found) problems.push(`B ${byName ? 'userName eq' : 'GET by id'}: ${r.status} ${r.text.slice(0, 200)}`)
        await gap
      }
    }
    const bDone = bystander()
    await Promise.all(Array.from({ length: opts.inFlight }, attacker))
    done = true
    await bDone
    clearInterval(sampler)

    const out: Record<string, Timing> = {}
    for (const k of list) out[k.name] = timing(times.get(k.name) as number[], statuses.get(k.name) as Record<string, number>)
    return { maxResults, seedMs, kinds: out, bystander: timing(bTimes, bStatuses), peakRssMiB: peak === null ? null : Math.round(peak / 1024), problems }
  } finally {
    await server.kill('SIGTERM')
  }
}

/** The report as lines for a person. */
export function describeCostly(name: string, r: CostlyReport): string[] {
  const row = (label: string, t: Timing) => `  ${label.padEnd(44)} ${String(t.requests).padStart(5)} requests  p50 ${String(t.p50Ms).padStart(6)} ms  p99 ${String(t.p99Ms).padStart(6)} ms  max ${String(t.maxMs).padStart(6)} ms  ${JSON.stringify(t.statuses)}`
  return [
    `${name}: maxResults ${r.maxResults}; seeded in ${(r.seedMs / 1000).toFixed(1)} s; server peak RSS ${r.peakRssMiB ?? '?'} MiB`,
    ...Object.entries(r.kinds).map(([k, t]) => row(`A: ${k}`, t)),
    row('B: userName eq and GET by id, one at a time', r.bystander),
    `${name}: ${r.problems.length} problems`,
    ...r.problems.slice(0, 20).map((p) => `  ${p}`),
  ]
}
