// Crash consistency (Jepsen-style): 32 writers create users (each with two emails) and add
// users to groups (each new membership writes a group.member_added event) while the server is
// killed with SIGKILL at random moments and restarted. Every write is logged as ok (2xx), failed
// (another status) or unknown (the connection died). Afterwards the checker reads everything
// back and requires: every ok write present with all its parts, every unknown write wholly
// present or wholly absent, no failed write present, every membership with exactly one event,
// every user with exactly one user.created event, no event id twice. On PostgreSQL two servers
// share the database and one of them is killed each cycle while the other keeps serving; or, on a
// PostgreSQL server of the run's own, PostgreSQL itself is crashed with them.
import { randomBytes } from 'node:crypto'
import BetterSqlite3 from 'better-sqlite3'
import { seedDatabase } from './seed.ts'
import { attempt, call, startServer, type Server } from '../../helpers/spawned-server.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

type Outcome = 'ok' | 'failed' | 'unknown'
interface UserWrite { userName: string; emails: string[]; outcome: Outcome; id?: string; status?: number }
interface MemberWrite { groupId: string; userId: string; outcome: Outcome; status?: number }

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
  writes: { users: Record<Outcome, number>; members: Record<Outcome, number> }
  unknownResolved: { present: number; absent: number }
  statuses: Record<string, number>
  problems: string[]
  events: number
}

const rnd = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1))

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => undefined)
  const { tokens: [token = ''], orgIds: [orgId = ''], key } = await seedDatabase(opts.databaseUrl, [`chaos-${randomBytes(4).toString('hex')}`], 0, String, ['events:read', 'directory:read'])
  const org = { orgId }
  const servers: Server[] = []
  for (let i = 0; i < opts.servers; i++) servers.push(await startServer(opts.databaseUrl))
  const groups: string[] = []
  for (let i = 0; i < 4; i++) {
    const g = await call((servers[0] as Server).base, 'POST', '/scim/v2/Groups', token, { schemas: [GROUP], displayName: `chaos ${i}` })
    if (g.status !== 201) throw new Error(`group: ${g.status} ${g.text}`)
    groups.push(String(g.json.id))
  }

  const users: UserWrite[] = []
  const members: MemberWrite[] = []
  const tried = new Set<string>()
  const statuses: Record<string, number> = {}
  let stop = false
  let seq = 0

  const alive = () => servers.filter((s) => s.proc.exitCode === null && s.proc.signalCode === null)
  async function writer(w: number): Promise<void> {
    while (!stop) {
      const up = alive()
      const s = up[Math.floor(Math.random() * up.length)]
      if (!s) {
        await new Promise((r) => setTimeout(r, 20))
        continue
      }
      const ackd = users.filter((u) => u.outcome === 'ok')
      if (ackd.length > 4 && Math.random() < 0.4) {
        const u = ackd[Math.floor(Math.random() * ackd.length)] as UserWrite
        const groupId = groups[Math.floor(Math.random() * groups.length)] as string
        const pair = `${groupId} ${u.id}`
        if (tried.has(pair)) continue
        tried.add(pair)
        const m: MemberWrite = { groupId, userId: String(u.id), outcome: 'unknown' }
        members.push(m)
        // Refused: never sent (failed). Unknown: the connection died with the server.
        const r = await attempt(s.base, 'PATCH', `/scim/v2/Groups/${groupId}`, token, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: u.id }] }] }, statuses)
        if (r === 'refused') m.outcome = 'failed'
        else if (r !== 'unknown') {
          m.outcome = r.status < 300 ? 'ok' : 'failed'
          m.status = r.status
        }
        continue
      }
      const n = ++seq
      const userName = `w${w}-${n}-${randomBytes(3).toString('hex')}@chaos.example`
      const u: UserWrite = { userName, emails: [`a.${userName}`, `b.${userName}`], outcome: 'unknown' }
      users.push(u)
      const r = await attempt(s.base, 'POST', '/scim/v2/Users', token, {
        schemas: [USER], userName, externalId: `ext-${n}`, name: { givenName: 'Chaos', familyName: String(n) },
        emails: [{ value: u.emails[0], type: 'work', primary: true }, { value: u.emails[1], type: 'home' }],
      }, statuses)
      if (r === 'refused') u.outcome = 'failed'
      else if (r !== 'unknown') {
        u.status = r.status
        u.outcome = r.status === 201 ? 'ok' : 'failed'
        if (r.status === 201) u.id = String(r.json.id)
      }
    }
  }

  const writing = Array.from({ length: opts.writers }, (_, w) => writer(w))
  try {
    for (let c = 0; c < opts.cycles; c++) {
      await new Promise((r) => setTimeout(r, rnd(opts.killAfterMs[0], opts.killAfterMs[1])))
      if (opts.database) {
        opts.database.crash()
        await Promise.all(servers.map((s) => s.kill('SIGKILL')))
        log(`cycle ${c + 1}: crashed PostgreSQL and every server with ${users.length} user writes and ${members.length} member writes so far`)
        opts.database.start()
        for (const [i, s] of servers.entries()) servers[i] = await startServer(opts.databaseUrl, {}, s.port)
        continue
      }
      const victim = Math.floor(Math.random() * servers.length)
      const s = servers[victim] as Server
      await s.kill('SIGKILL')
      log(`cycle ${c + 1}: killed server ${victim + 1} (pid ${s.proc.pid}) with ${users.length} user writes and ${members.length} member writes so far`)
      servers[victim] = await startServer(opts.databaseUrl, {}, s.port)
    }
    await new Promise((r) => setTimeout(r, opts.killAfterMs[0]))
  } finally {
    stop = true
    await Promise.all(writing)
  }

  const report: ChaosReport = {
    cycles: opts.cycles,
    writes: { users: { ok: 0, failed: 0, unknown: 0 }, members: { ok: 0, failed: 0, unknown: 0 } },
    unknownResolved: { present: 0, absent: 0 },
    statuses, problems: [], events: 0,
  }
  try {
    await check(servers[0] as Server, String(org.orgId), token, key, groups, users, members, report)
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

async function check(s: Server, orgId: string, token: string, key: string, groups: readonly string[], users: readonly UserWrite[], members: readonly MemberWrite[], report: ChaosReport): Promise<void> {
  const problem = (p: string) => report.problems.push(p)
  // Everything the organization holds, read through SCIM and the event feed.
  const held = new Map<string, Record<string, unknown>>()
  for (let start = 1; ; start += 1000) {
    const page = await call(s.base, 'GET', `/scim/v2/Users?startIndex=${start}&count=1000`, token)
    if (page.status !== 200) throw new Error(`list: ${page.status} ${page.text}`)
    for (const u of page.json.Resources ?? []) held.set(String(u.userName), u)
    if ((page.json.Resources ?? []).length < 1000) break
  }
  const memberships = new Set<string>()
  for (const g of groups) {
    const r = await call(s.base, 'GET', `/scim/v2/Groups/${g}`, token)
    for (const m of (r.json.members ?? []) as { value: string }[]) memberships.add(`${g} ${m.value}`)
  }
  const created = new Map<string, number>()
  const added = new Map<string, number>()
  const eventIds = new Set<string>()
  let after = ''
  for (;;) {
    const page = await call(s.base, 'GET', `/api/v1/orgs/${orgId}/events?limit=1000${after ? `&after=${after}` : ''}`, key)
    if (page.status !== 200) throw new Error(`events: ${page.status} ${page.text}`)
    const data = page.json.data as { id: string; type: string; data: { id: string; member?: { id: string } } }[]
    for (const e of data) {
      if (eventIds.has(e.id)) problem(`event ${e.id} (${e.type}) appears twice in the feed`)
      eventIds.add(e.id)
      if (e.type === 'user.created') created.set(e.data.id, (created.get(e.data.id) ?? 0) + 1)
      if (e.type === 'group.member_added') added.set(`${e.data.id} ${e.data.member?.id}`, (added.get(`${e.data.id} ${e.data.member?.id}`) ?? 0) + 1)
    }
    after = String(page.json.nextCursor)
    if (data.length < 1000) break
  }
  report.events = eventIds.size

  for (const u of users) {
    report.writes.users[u.outcome]++
    const row = held.get(u.userName)
    const emails = row ? ((row.emails ?? []) as { value: string }[]).map((e) => e.value).sort() : []
    const whole = row !== undefined && JSON.stringify(emails) === JSON.stringify([...u.emails].sort()) && created.get(String(row.id)) === 1
    if (u.outcome === 'ok') {
      if (!row) problem(`acknowledged user ${u.userName} (${u.id}) is missing`)
      else if (!whole) problem(`acknowledged user ${u.userName} is partial: emails ${JSON.stringify(emails)}, user.created events ${created.get(String(row.id)) ?? 0}`)
      else if (String(row.id) !== u.id) problem(`acknowledged user ${u.userName} has id ${String(row.id)}, acknowledged as ${u.id}`)
    } else if (u.outcome === 'failed') {
      if (row) problem(`user ${u.userName} refused with ${u.status ?? 'a refused connection'} is present`)
    } else if (row) {
      report.unknownResolved.present++
      if (!whole) problem(`unacknowledged user ${u.userName} is half-visible: emails ${JSON.stringify(emails)}, user.created events ${created.get(String(row.id)) ?? 0}`)
    } else {
      report.unknownResolved.absent++
    }
  }
  const known = new Set([...held.values()].map((u) => String(u.id)))
  for (const [id, n] of created) if (!known.has(id) && n > 0) problem(`user.created event for ${id}, which does not exist`)
  for (const [id, n] of created) if (n > 1) problem(`user ${id} has ${n} user.created events`)

  for (const m of members) {
    report.writes.members[m.outcome]++
    const pair = `${m.groupId} ${m.userId}`
    const present = memberships.has(pair)
    const events = added.get(pair) ?? 0
    if (m.outcome === 'ok' && (!present || events !== 1)) problem(`acknowledged membership ${pair}: present ${present}, member_added events ${events}`)
    if (m.outcome === 'failed' && (present || events > 0)) problem(`membership ${pair} refused with ${m.status} is present (${events} events)`)
    if (m.outcome === 'unknown') {
      if (present !== (events === 1) || events > 1) problem(`unacknowledged membership ${pair} is half-visible: present ${present}, member_added events ${events}`)
      report.unknownResolved[present ? 'present' : 'absent']++
    }
  }
  for (const pair of memberships) if ((added.get(pair) ?? 0) !== 1) problem(`membership ${pair} has ${added.get(pair) ?? 0} member_added events`)
  for (const [pair, n] of added) if (n > 0 && !memberships.has(pair)) problem(`member_added event for ${pair}, which is not a membership`)
}
