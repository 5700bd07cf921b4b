// Crash consistency (Jepsen-style): writers create users (each with two emails), PATCH them
// (displayName or name.familyName set to a value unique to the write), deactivate them, add them
// to groups and remove them, and delete them, in Entra ID's and Okta's dialects, while the server
// is killed with SIGKILL at random moments and restarted. Every write is logged as ok (2xx),
// failed (another status, or the connection refused) or unknown (the connection died).
//
// Each user belongs to the writer that created it: only that writer changes it or its
// memberships, one request at a time, so the order of a user's writes is its writer's order (a
// killed server's transaction either committed before the kill or never will). A writer works
// only on users whose create was acknowledged; per user and group it sends an add, then (after
// an acknowledged add) a remove; it deactivates a user once; and it forgets a user once a DELETE
// of it was acknowledged or lost. A write that failed changed nothing and may be tried again, so
// of the tries of one add, remove, deactivation or DELETE at most one did not fail.
//
// Each write carries a query parameter of its own (`chaos=<tag>`; unknown parameters are ignored,
// as Entra ID's `aadOptscim062020` is), which the provisioning log keeps in `path`: that is how
// the checker finds a write's log row.
//
// Afterwards the checker reads everything back (SCIM lists, the groups' members, the whole event
// feed, the whole provisioning log) and requires, besides no event id twice:
// - creates: an ok one present (unless deleted) with both emails and one user.created; an unknown
//   one wholly present or wholly absent; a failed one absent, without events;
// - PATCHes: an ok one has exactly one user.updated carrying its value (the user's data after it,
//   and its changes), a failed one none, an unknown one one or none; the user's value is that of
//   its last PATCH that applied; every user.updated comes from an ok or unknown write of the user;
//   a user's versions go 1, 2, 3… through its events and the user ends at the last;
// - deactivations: ok is one user.updated (active false) and one user.deactivated, the user
//   inactive; unknown is that or nothing;
// - DELETEs: ok leaves the user absent (404, not listed, in no group) with exactly one
//   user.deleted, and a group.member_removed (of the delete's timestamp) for each group it was
//   still in; unknown is that or nothing;
// - memberships: an ok add has one group.member_added, an ok remove one group.member_removed and
//   the pair absent; every membership and membership event belongs to a write that could have
//   made it;
// - the provisioning log: a write that applied (acknowledged, or unknown and found applied) has
//   exactly one log row, with a 2xx status (the status answered for an ok write), its resource id
//   and, for a PATCH, its value among the changes; a write that did not apply has no 2xx row; no
//   write has two rows; a failed write's row, if any, has the status answered. A failed write's
//   row is written by the batched appender after the answer and may be lost with the process (up
//   to ~200 ms of them, docs/provisioning-log.md): its absence is counted, not a problem.
// No write may be answered a 5xx other than 503. On SQLite also PRAGMA integrity_check and
// foreign_key_check on the file. On PostgreSQL two servers share the database and one of them is
// killed each cycle while the other keeps serving; or, on a PostgreSQL server of the run's own,
// PostgreSQL itself is crashed with them.
import { randomBytes } from 'node:crypto'
import BetterSqlite3 from 'better-sqlite3'
import { seedDatabase } from './seed.ts'
import { call, startServer, type Call, type Server } from '../../helpers/spawned-server.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
/** Okta's documented User-Agent; Entra ID's writes carry its tenant URL flag instead. */
const OKTA_AGENT = 'Okta SCIM Client 1.0.0'

type Outcome = 'ok' | 'failed' | 'unknown'
type Style = 'entra' | 'okta'
type Attribute = 'displayName' | 'familyName'

interface WriteBase {
  /** The write's own query parameter, kept by its provisioning-log row's path. */
  readonly tag: string
  readonly style: Style
  outcome: Outcome
  status?: number
}
interface CreateWrite extends WriteBase {
  readonly kind: 'create'
  readonly userName: string
  readonly emails: readonly string[]
  readonly familyName: string
  id?: string
  /** The writes of this user after its create, in the order they were sent. */
  readonly later: UserOp[]
}
interface PatchWrite extends WriteBase { readonly kind: 'patch'; readonly attribute: Attribute; readonly value: string }
interface DeactivateWrite extends WriteBase { readonly kind: 'deactivate' }
interface DeleteWrite extends WriteBase { readonly kind: 'delete' }
interface MemberWrite extends WriteBase { readonly kind: 'add' | 'remove'; readonly groupId: string }
type UserOp = PatchWrite | DeactivateWrite | DeleteWrite | MemberWrite
type Write = CreateWrite | UserOp
type Kind = Write['kind']

/** The report's name for each kind of write (`users` and `members` as before: creates and adds). */
const KIND_NAMES = { create: 'users', add: 'members', patch: 'patches', deactivate: 'deactivations', delete: 'deletes', remove: 'removes' } as const satisfies Record<Kind, string>
type KindName = (typeof KIND_NAMES)[Kind]

export interface ChaosOptions {
  readonly databaseUrl: string
  readonly servers: 1 | 2
  readonly cycles: number
  readonly writers: number
  /** Each cycle kills a server after a random wait in [min, max] ms of load. */
  readonly killAfterMs: readonly [number, number]
  /**
   * A PostgreSQL server of the run's own: each cycle then crashes it (SIGKILL to every one of its
   * processes) together with every Roster server, starts it again (crash recovery from its WAL),
   * then the Roster servers.
   */
  readonly database?: { crash(): void; start(): void }
  readonly log?: (line: string) => void
}

export interface ChaosReport {
  cycles: number
  /** By kind: `users` creates, `members` member adds, then PATCHes, deactivations, DELETEs, member removes. */
  writes: Record<KindName, Record<Outcome, number>>
  /** Unacknowledged writes found applied (wholly) or not at all. */
  unknownResolved: { present: number; absent: number }
  statuses: Record<string, number>
  problems: string[]
  events: number
  /** The provisioning log's rows of the run's writes; failed writes (with a status) whose row was lost with the process. */
  log: { rows: number; failedWithRow: number; failedRowLost: number }
}

interface FeedEvent {
  id: string
  type: string
  timestamp: string
  data: Record<string, unknown> & { id: string; userName?: string; version?: number; member?: { id: string }; changes?: { after?: Record<string, unknown> } }
}
interface LogItem { path: string; status: number; resourceId: string | null; identityProvider: string; changes: { after?: Record<string, unknown> } | null }

const rnd = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1))
const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)]

/** A user's value of `attribute`, in the SCIM shape (a resource, an event's data or a change's side). */
function valueOf(o: Record<string, unknown> | undefined, attribute: Attribute): unknown {
  if (!o) return undefined
  return attribute === 'displayName' ? o.displayName : (o.name as { familyName?: unknown } | undefined)?.familyName
}

function patchBody(w: PatchWrite): unknown {
  if (w.style === 'entra') return { schemas: [PATCH], Operations: [{ op: 'Replace', path: w.attribute === 'displayName' ? 'displayName' : 'name.familyName', value: w.value }] }
  return { schemas: [PATCH], Operations: [{ op: 'replace', value: w.attribute === 'displayName' ? { displayName: w.value } : { name: { familyName: w.value } } }] }
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined)
  const { tokens: [token = ''], orgIds: [orgId = ''], key } = await seedDatabase(opts.databaseUrl, [`chaos-${randomBytes(4).toString('hex')}`], 0, String, ['events:read', 'directory:read', 'log:read'])
  const servers: Server[] = []
  for (let i = 0; i < opts.servers; i++) servers.push(await startServer(opts.databaseUrl))
  const groups: string[] = []
  for (let i = 0; i < 4; i++) {
    const g = await call((servers[0] as Server).base, 'POST', '/scim/v2/Groups', token, { schemas: [GROUP], displayName: `chaos ${i}` })
    if (g.status !== 201) throw new Error(`group: ${g.status} ${g.text}`)
    groups.push(String(g.json.id))
  }

  const creates: CreateWrite[] = []
  const writes: Write[] = []
  const statuses: Record<string, number> = {}
  let stop = false
  let seq = 0

  const alive = () => servers.filter((s) => s.proc.exitCode === null && s.proc.signalCode === null)

  /** Sends `w`, records its outcome; the answer, or null when there is none. */
  async function send(s: Server, w: Write, method: string, path: string, body?: unknown): Promise<Call | null> {
    writes.push(w)
    const url = `${path}?chaos=${w.tag}${w.style === 'entra' ? '&aadOptscim062020' : ''}`
    try {
      const r = await call(s.base, method, url, token, body, w.style === 'okta' ? { 'user-agent': OKTA_AGENT } : {})
      statuses[r.status] = (statuses[r.status] ?? 0) + 1
      w.status = r.status
      w.outcome = r.status < 300 ? 'ok' : 'failed'
      return r
    } catch (e) {
      // Refused: never reached a server (failed). Unknown: the connection died with the server.
      w.outcome = (e as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED' ? 'failed' : 'unknown'
      return null
    }
  }

  /**
   * A user of the writer's, with what its writes left it as (a write that failed left it as it
   * was, so that write may be tried again): deactivated or perhaps deactivated, and per group
   * `member` (an acknowledged add) or `settled` (an unknown add, or a remove that did not fail).
   */
  interface Own { readonly create: CreateWrite; deactivated: boolean; readonly pairs: Map<string, 'member' | 'settled'> }

  async function writer(w: number): Promise<void> {
    const mine: Own[] = []
    let n = 0
    while (!stop) {
      const s = pick(alive())
      if (!s) {
        await new Promise((r) => setTimeout(r, 20))
        continue
      }
      const tag = `w${w}-${++n}`
      const style: Style = Math.random() < 0.5 ? 'entra' : 'okta'
      const own = mine.length >= 2 && Math.random() >= 0.3 ? pick(mine) : undefined
      if (!own) {
        const k = ++seq
        const userName = `w${w}-${k}-${randomBytes(3).toString('hex')}@chaos.example`
        const c: CreateWrite = { kind: 'create', tag, style, outcome: 'unknown', userName, emails: [`a.${userName}`, `b.${userName}`], familyName: String(k), later: [] }
        creates.push(c)
        const r = await send(s, c, 'POST', '/scim/v2/Users', {
          schemas: [USER], userName, externalId: `ext-${k}`, name: { givenName: 'Chaos', familyName: c.familyName },
          emails: [{ value: c.emails[0], type: 'work', primary: true }, { value: c.emails[1], type: 'home' }],
        })
        if (r && r.status === 201) {
          c.id = String(r.json.id)
          mine.push({ create: c, deactivated: false, pairs: new Map() })
        } else if (r && c.outcome === 'ok') c.outcome = 'failed'
        continue
      }
      const u = own.create
      const id = String(u.id)
      const roll = Math.random()
      const freeGroup = pick(groups.filter((g) => !own.pairs.has(g)))
      const member = pick(groups.filter((g) => own.pairs.get(g) === 'member'))
      if (roll < 0.2 && member) {
        const m: MemberWrite = { kind: 'remove', tag, style, outcome: 'unknown', groupId: member }
        u.later.push(m)
        const op = style === 'entra' ? { op: 'Remove', path: 'members', value: [{ value: id }] } : { op: 'remove', path: `members[value eq "${id}"]` }
        await send(s, m, 'PATCH', `/scim/v2/Groups/${member}`, { schemas: [PATCH], Operations: [op] })
        if (m.outcome !== 'failed') own.pairs.set(member, 'settled')
      } else if (roll < 0.45 && freeGroup) {
        const m: MemberWrite = { kind: 'add', tag, style, outcome: 'unknown', groupId: freeGroup }
        u.later.push(m)
        const value = style === 'entra' ? [{ value: id }] : [{ value: id, display: u.userName }]
        await send(s, m, 'PATCH', `/scim/v2/Groups/${freeGroup}`, { schemas: [PATCH], Operations: [{ op: style === 'entra' ? 'Add' : 'add', path: 'members', value }] })
        if (m.outcome !== 'failed') own.pairs.set(freeGroup, m.outcome === 'ok' ? 'member' : 'settled')
      } else if (roll < 0.55 && !own.deactivated) {
        const d: DeactivateWrite = { kind: 'deactivate', tag, style, outcome: 'unknown' }
        u.later.push(d)
        const op = style === 'entra' ? { op: 'Replace', path: 'active', value: 'False' } : { op: 'replace', value: { active: false } }
        await send(s, d, 'PATCH', `/scim/v2/Users/${id}`, { schemas: [PATCH], Operations: [op] })
        if (d.outcome !== 'failed') own.deactivated = true
      } else if (roll < 0.63) {
        const d: DeleteWrite = { kind: 'delete', tag, style, outcome: 'unknown' }
        u.later.push(d)
        await send(s, d, 'DELETE', `/scim/v2/Users/${id}`)
        // Gone, or perhaps gone: no more writes of it.
        if (d.outcome !== 'failed') mine.splice(mine.indexOf(own), 1)
      } else {
        const p: PatchWrite = { kind: 'patch', tag, style, outcome: 'unknown', attribute: Math.random() < 0.5 ? 'displayName' : 'familyName', value: `v-${tag}-${randomBytes(2).toString('hex')}` }
        u.later.push(p)
        await send(s, p, 'PATCH', `/scim/v2/Users/${id}`, patchBody(p))
      }
    }
  }

  const writing = Array.from({ length: opts.writers }, (_, w) => writer(w))
  const soFar = () => `${creates.length} creates and ${writes.length - creates.length} other writes so far`
  try {
    for (let c = 0; c < opts.cycles; c++) {
      await new Promise((r) => setTimeout(r, rnd(opts.killAfterMs[0], opts.killAfterMs[1])))
      if (opts.database) {
        opts.database.crash()
        await Promise.all(servers.map((s) => s.kill('SIGKILL')))
        log(`cycle ${c + 1}: crashed PostgreSQL and every server with ${soFar()}`)
        opts.database.start()
        for (const [i, s] of servers.entries()) servers[i] = await startServer(opts.databaseUrl, {}, s.port)
        continue
      }
      const victim = Math.floor(Math.random() * servers.length)
      const s = servers[victim] as Server
      await s.kill('SIGKILL')
      log(`cycle ${c + 1}: killed server ${victim + 1} (pid ${s.proc.pid}) with ${soFar()}`)
      servers[victim] = await startServer(opts.databaseUrl, {}, s.port)
    }
    await new Promise((r) => setTimeout(r, opts.killAfterMs[0]))
  } finally {
    stop = true
    await Promise.all(writing)
  }

  const outcomes = () => ({ ok: 0, failed: 0, unknown: 0 })
  const report: ChaosReport = {
    cycles: opts.cycles,
    writes: { users: outcomes(), members: outcomes(), patches: outcomes(), deactivations: outcomes(), deletes: outcomes(), removes: outcomes() },
    unknownResolved: { present: 0, absent: 0 },
    statuses, problems: [], events: 0, log: { rows: 0, failedWithRow: 0, failedRowLost: 0 },
  }
  for (const w of writes) report.writes[KIND_NAMES[w.kind]][w.outcome]++
  // A database that went away is a 503 with Retry-After, never a 500 (DUR-8).
  for (const [status, n] of Object.entries(statuses)) if (Number(status) >= 500 && status !== '503') report.problems.push(`${n} writes answered ${status}`)
  try {
    await check(servers[0] as Server, orgId, token, key, groups, creates, writes, report)
  } finally {
    for (const s of servers) await s.kill('SIGTERM')
  }
  if (opts.databaseUrl.startsWith('sqlite:')) {
    // The file after all those kills: SQLite's own consistency checks.
    const db = new BetterSqlite3(opts.databaseUrl.slice('sqlite:'.length), { readonly: true })
    try {
      const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ')
      if (integrity !== 'ok') report.problems.push(`PRAGMA integrity_check: ${integrity}`)
      const fk = db.pragma('foreign_key_check') as unknown[]
      if (fk.length > 0) report.problems.push(`PRAGMA foreign_key_check: ${JSON.stringify(fk).slice(0, 300)}`)
    } finally {
      db.close()
    }
  }
  return report
}

/**
 * A read of the checker: answered 429 (the run's writers may have used up the token's rate),
 * it waits the Retry-After and asks again.
 */
async function read(s: Server, path: string, auth: string): Promise<Call> {
  for (;;) {
    const r = await call(s.base, 'GET', path, auth)
    if (r.status !== 429) return r
    await new Promise((ok) => setTimeout(ok, 1000 * Math.max(1, Number(r.headers.get('retry-after')) || 1)))
  }
}

/** Everything the organization holds, read through SCIM, the event feed and the provisioning log. */
async function readBack(s: Server, orgId: string, token: string, key: string, groups: readonly string[]) {
  const held = new Map<string, Record<string, unknown>>()
  for (let start = 1; ; start += 1000) {
    const page = await read(s, `/scim/v2/Users?startIndex=${start}&count=1000`, token)
    if (page.status !== 200) throw new Error(`list: ${page.status} ${page.text}`)
    for (const u of page.json.Resources ?? []) held.set(String(u.userName), u)
    if ((page.json.Resources ?? []).length < 1000) break
  }
  const memberships = new Set<string>()
  for (const g of groups) {
    const r = await read(s, `/scim/v2/Groups/${g}`, token)
    if (r.status !== 200) throw new Error(`group: ${r.status} ${r.text}`)
    for (const m of (r.json.members ?? []) as { value: string }[]) memberships.add(`${g} ${m.value}`)
  }
  const events: FeedEvent[] = []
  for (let after = ''; ;) {
    const page = await read(s, `/api/v1/orgs/${orgId}/events?limit=1000${after ? `&after=${after}` : ''}`, key)
    if (page.status !== 200) throw new Error(`events: ${page.status} ${page.text}`)
    const data = page.json.data as FeedEvent[]
    events.push(...data)
    after = String(page.json.nextCursor)
    if (data.length < 1000) break
  }
  const logRows: LogItem[] = []
  for (let cursor: string | null = ''; cursor !== null;) {
    const page = await read(s, `/api/v1/orgs/${orgId}/provisioning-log?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, key)
    if (page.status !== 200) throw new Error(`provisioning log: ${page.status} ${page.text}`)
    logRows.push(...(page.json.items as LogItem[]))
    cursor = page.json.nextCursor as string | null
  }
  return { held, memberships, events, logRows }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k)
  if (a) a.push(v)
  else m.set(k, [v])
}

async function check(s: Server, orgId: string, token: string, key: string, groups: readonly string[], creates: readonly CreateWrite[], writes: readonly Write[], report: ChaosReport): Promise<void> {
  const problem = (p: string) => report.problems.push(p)
  const { held, memberships, events, logRows } = await readBack(s, orgId, token, key, groups)
  report.events = events.length

  // The feed, by user and by membership.
  const eventIds = new Set<string>()
  const createdByName = new Map<string, FeedEvent[]>()
  const userEvents = new Map<string, FeedEvent[]>()
  const added = new Map<string, number>()
  const removed = new Map<string, string[]>()
  for (const e of events) {
    if (eventIds.has(e.id)) problem(`event ${e.id} (${e.type}) appears twice in the feed`)
    eventIds.add(e.id)
    if (e.type === 'user.created') push(createdByName, String(e.data.userName), e)
    if (e.type.startsWith('user.')) push(userEvents, e.data.id, e)
    else if (e.type === 'group.member_added') added.set(`${e.data.id} ${e.data.member?.id}`, (added.get(`${e.data.id} ${e.data.member?.id}`) ?? 0) + 1)
    else if (e.type === 'group.member_removed') push(removed, `${e.data.id} ${e.data.member?.id}`, e.timestamp)
    else if (e.type !== 'group.created') problem(`unexpected event ${e.type} (${e.id})`)
  }

  // The provisioning log, by the writes' tags.
  const logByTag = new Map<string, LogItem[]>()
  for (const r of logRows) {
    const tag = new URL(r.path, 'http://log').searchParams.get('chaos')
    if (tag !== null) push(logByTag, tag, r)
  }
  const tags = new Set(writes.map((w) => w.tag))
  for (const [tag, rows] of logByTag) if (!tags.has(tag)) problem(`${rows.length} log rows for ${tag}, a write never sent`)

  const describe = (w: Write) => `${w.outcome === 'ok' ? 'acknowledged' : w.outcome === 'failed' ? `failed (${w.status ?? 'refused'})` : 'unacknowledged'} ${w.kind} ${w.tag}`

  /** The write's log rows, given whether it applied (null: the checker cannot tell). */
  function logCheck(w: Write, applied: boolean | null, resourceId: string | undefined, extra?: (row: LogItem) => string | null): void {
    const rows = logByTag.get(w.tag) ?? []
    report.log.rows += rows.length
    if (rows.length > 1) problem(`${describe(w)} has ${rows.length} log rows (statuses ${rows.map((r) => r.status).join(', ')})`)
    const good = rows.filter((r) => r.status < 300)
    if (applied === true) {
      const row = good[0]
      if (!row) problem(`${describe(w)} applied, but no 2xx log row (rows: ${rows.map((r) => r.status).join(', ') || 'none'})`)
      else {
        if (w.outcome === 'ok' && row.status !== w.status) problem(`${describe(w)} answered ${w.status}, logged ${row.status}`)
        if (resourceId !== undefined && row.resourceId !== resourceId) problem(`${describe(w)} logged with resource ${row.resourceId}, not ${resourceId}`)
        if (row.identityProvider !== w.style) problem(`${describe(w)} logged as from ${row.identityProvider}, not ${w.style}`)
        const wrong = extra?.(row)
        if (wrong) problem(`${describe(w)}: its log row ${wrong}`)
      }
    } else if (applied === false && good.length > 0) problem(`${describe(w)} did not apply, but has a log row with status ${good.map((r) => r.status).join(', ')}`)
    if (w.outcome === 'failed' && w.status !== undefined) {
      const bad = rows.find((r) => r.status !== w.status)
      if (bad) problem(`${describe(w)} logged with status ${bad.status}`)
      if (rows.length > 0) report.log.failedWithRow++
      else report.log.failedRowLost++
    }
  }

  /** Whether an outcome allows a write to have applied (`applied`), else a problem. */
  function agrees(w: Write, applied: boolean, what: string): void {
    if (w.outcome === 'ok' && !applied) problem(`${describe(w)} is missing: ${what}`)
    if (w.outcome === 'failed' && applied) problem(`${describe(w)} is present: ${what}`)
    if (w.outcome === 'unknown') report.unknownResolved[applied ? 'present' : 'absent']++
  }

  /**
   * Tries of one change (a DELETE, a deactivation, a member add or remove), of which at most one
   * did not fail (a failed one may be tried again; after one that did not, the writer moves on):
   * whether the change `applied`, by what the store shows, is that one's doing.
   */
  function tries(ws: readonly Write[], applied: boolean, what: string, resourceId: string, extra?: (row: LogItem) => string | null): void {
    const live = ws.filter((w) => w.outcome !== 'failed')
    if (live.length > 1) problem(`${what}: ${live.length} tries that did not fail (${live.map((w) => w.tag).join(', ')})`)
    if (applied && live.length === 0) problem(`${what}, though every write of it failed (${ws.map(describe).join(', ') || 'none'})`)
    for (const w of ws) {
      const mine = applied && w === live[0]
      agrees(w, mine, what)
      logCheck(w, mine, resourceId, extra)
    }
  }

  const users = new Set<string>()
  const pairs = new Set<string>()
  for (const c of creates) {
    const row = held.get(c.userName)
    const createdEvents = createdByName.get(c.userName) ?? []
    if (createdEvents.length > 1) problem(`user ${c.userName} has ${createdEvents.length} user.created events`)
    const applied = createdEvents.length > 0
    const id = createdEvents[0]?.data.id
    if (id !== undefined) users.add(id)
    const emails = row ? ((row.emails ?? []) as { value: string }[]).map((e) => e.value).sort() : []
    if (row && JSON.stringify(emails) !== JSON.stringify([...c.emails].sort())) problem(`${describe(c)}: user ${c.userName} is partial: emails ${JSON.stringify(emails)}`)
    if (row && !applied) problem(`${describe(c)}: user ${c.userName} is present without a user.created event`)
    if (row && String(row.id) !== id) problem(`${describe(c)}: user ${c.userName} has id ${String(row.id)}, its user.created ${id}`)
    agrees(c, applied, `user ${c.userName}: listed ${row !== undefined}, user.created events ${createdEvents.length}`)
    if (c.outcome === 'ok' && id !== c.id) problem(`${describe(c)}: user ${c.userName} acknowledged as ${c.id}, created as ${id}`)
    // A user that was never acknowledged is never written again: present exactly when created.
    if (c.outcome !== 'ok' && applied && !row) problem(`${describe(c)}: user ${c.userName} created (${id}) but not listed`)
    logCheck(c, applied, id)
    if (c.outcome === 'ok' && c.id !== undefined) await checkUser(c, c.id, row)
  }

  async function checkUser(c: CreateWrite, id: string, row: Record<string, unknown> | undefined): Promise<void> {
    const evs = userEvents.get(id) ?? []
    const deleted = evs.filter((e) => e.type === 'user.deleted')
    if (deleted.length > 1) problem(`user ${id} has ${deleted.length} user.deleted events`)
    const deleteApplied = deleted.length > 0

    // Versions move one by one through the user's events; the user ends at the last.
    let version = 0
    for (const e of evs) {
      const v = Number(e.data.version)
      const expected = e.type === 'user.created' ? 1 : e.type === 'user.updated' ? version + 1 : version
      if (v !== expected) problem(`user ${id}: ${e.type} ${e.id} at version ${v}, expected ${expected}`)
      version = v
    }
    // The ETag is the version, then (for a user in groups) a hash of its groups: W/"3.1dsnwx9".
    const tag = (row?.meta as { version?: string } | undefined)?.version
    if (row && /^W\/"(\d+)/.exec(tag ?? '')?.[1] !== String(version)) problem(`user ${id} at version ${tag}, its last event at ${version}`)

    // DELETEs: the writer forgets the user after one that did not fail.
    if (deleteApplied === (row !== undefined)) problem(`user ${id}: listed ${row !== undefined}, user.deleted events ${deleted.length}`)
    tries(c.later.filter((w) => w.kind === 'delete'), deleteApplied, `user ${id}: listed ${row !== undefined}, user.deleted events ${deleted.length}`, id)
    if (deleteApplied) {
      const r = await read(s, `/scim/v2/Users/${id}`, token)
      if (r.status !== 404) problem(`user ${id} deleted, but GET answers ${r.status}`)
    }

    // PATCHes: each applied one is one user.updated with its value; the last applied one stands.
    const updated = evs.filter((e) => e.type === 'user.updated')
    const patches = c.later.filter((w) => w.kind === 'patch')
    const last: Partial<Record<Attribute, string>> = {}
    for (const p of patches) {
      const mine = updated.filter((e) => valueOf(e.data.changes?.after, p.attribute) === p.value)
      if (mine.length > 1) problem(`${describe(p)} of user ${id} has ${mine.length} user.updated events`)
      for (const e of mine) if (valueOf(e.data, p.attribute) !== p.value) problem(`${describe(p)}: its user.updated ${e.id} shows ${String(valueOf(e.data, p.attribute))}`)
      agrees(p, mine.length > 0, `user ${id}: user.updated events with ${p.attribute} ${p.value}: ${mine.length}`)
      if (mine.length > 0) last[p.attribute] = p.value
      logCheck(p, mine.length > 0, id, (r) => (valueOf(r.changes?.after, p.attribute) === p.value ? null : `changes ${JSON.stringify(r.changes)}`))
    }
    if (row) {
      for (const a of ['displayName', 'familyName'] as const) {
        const want = last[a] ?? (a === 'familyName' ? c.familyName : undefined)
        if (valueOf(row, a) !== want) problem(`user ${id}: ${a} is ${String(valueOf(row, a))}, its last applied write set ${String(want)}`)
      }
    }

    // Deactivation: one user.updated (active false) and one user.deactivated, or neither.
    const deactivations = c.later.filter((w) => w.kind === 'deactivate')
    const deactivated = evs.filter((e) => e.type === 'user.deactivated').length
    const inactive = updated.filter((e) => e.data.changes?.after?.active === false).length
    if (deactivated > 1 || deactivated !== inactive) problem(`user ${id}: user.deactivated events ${deactivated}, user.updated to active false ${inactive}`)
    tries(deactivations, deactivated > 0, `user ${id}: user.deactivated events ${deactivated}`, id, (r) => (r.changes?.after?.active === false ? null : `changes ${JSON.stringify(r.changes)}`))
    if (row && (row.active !== false) !== (deactivated === 0)) problem(`user ${id}: active ${String(row.active)}, user.deactivated events ${deactivated}`)

    // Every user.updated comes from a write of the user that did not fail.
    for (const e of updated) {
      const after = e.data.changes?.after ?? {}
      const from = patches.find((p) => p.outcome !== 'failed' && valueOf(after, p.attribute) === p.value) ?? (after.active === false ? deactivations.find((d) => d.outcome !== 'failed') : undefined)
      if (!from) problem(`user ${id}: user.updated ${e.id} (${JSON.stringify(after)}) matches no write that could have made it`)
    }

    // Memberships, per group: an add, then perhaps a remove; a delete removes what is left.
    for (const g of new Set(c.later.flatMap((w) => (w.kind === 'add' || w.kind === 'remove' ? [w.groupId] : [])))) {
      const pair = `${g} ${id}`
      pairs.add(pair)
      const adds = added.get(pair) ?? 0
      const removals = removed.get(pair) ?? []
      const byDelete = removals.filter((t) => deleteApplied && t === deleted[0]?.timestamp).length
      const explicit = removals.length - byDelete
      const present = memberships.has(pair)
      const counts = `present ${present}, member_added ${adds}, member_removed ${explicit} (and ${byDelete} by the user's delete)`
      if (adds > 1 || explicit > adds || byDelete > 1) problem(`membership ${pair}: ${counts}`)
      tries(c.later.filter((w) => w.kind === 'add' && w.groupId === g), adds > 0, `membership ${pair}: ${counts}`, g)
      tries(c.later.filter((w) => w.kind === 'remove' && w.groupId === g), explicit > 0, `membership ${pair}: ${counts}`, g)
      if (byDelete !== (deleteApplied && adds > 0 && explicit === 0 ? 1 : 0)) problem(`membership ${pair} of a deleted user: ${counts}`)
      if (present !== (adds > 0 && explicit === 0 && !deleteApplied)) problem(`membership ${pair} half-visible: ${counts}, user deleted ${deleteApplied}`)
    }
  }

  for (const id of userEvents.keys()) if (!users.has(id)) problem(`events of user ${id}, which was never created`)
  const sent = new Set(creates.map((c) => c.userName))
  for (const userName of createdByName.keys()) if (!sent.has(userName)) problem(`user.created of ${userName}, never sent`)
  for (const pair of memberships) if (!pairs.has(pair)) problem(`membership ${pair} from no write`)
  for (const pair of added.keys()) if (!pairs.has(pair)) problem(`group.member_added of ${pair}, from no write`)
  for (const pair of removed.keys()) if (!pairs.has(pair)) problem(`group.member_removed of ${pair}, from no write`)
}
