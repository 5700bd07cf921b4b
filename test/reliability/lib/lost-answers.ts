// Lost answers (docs/architecture.md DUR-4): identity providers create users with POST /Users
// while the server is killed with SIGKILL at random moments, many of them between a create's
// COMMIT and its answer. A create whose connection died is unknown to the identity provider,
// and RFC 7644 gives it no idempotency key: its next move is either a lookup by userName and a
// create if nothing is found (what Entra ID does after a timeout, Microsoft Q&A 1151866), or the
// same POST again. Held here, for every unknown create: the lookup finds the user whenever the
// create had committed (a POST after a lookup that found nothing is never a 409), a repeated POST
// is 201 or 409 `uniqueness` and never a second user, and afterwards exactly one user holds the
// userName, with the body that was sent and exactly one `user.created` event. Acknowledged
// creates are all there. The server comes back on the same port after each kill.
import { randomBytes } from 'node:crypto'
import { seedDatabase } from './seed.ts'
import { attempt, call, startServer, type Call, type Server } from '../../helpers/spawned-server.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'

export interface LostAnswersOptions {
  readonly databaseUrl: string
  readonly kills: number
  /** POST /Users in flight. */
  readonly writers: number
  /** Each kill comes after a random wait in [min, max] ms of load since the server came up. */
  readonly killAfterMs: readonly [number, number]
  readonly log?: (line: string) => void
}

type Move = 'lookup, then create' | 'the same POST again'

export interface LostAnswersReport {
  kills: number
  creates: { acknowledged: number; refused: number; unknown: number }
  /** What the identity provider's next move found for the unknown creates. */
  unknown: { committed: number; notCommitted: number; byMove: Record<Move, { committed: number; notCommitted: number }> }
  statuses: Record<string, number>
  problems: string[]
}

interface Create {
  readonly userName: string
  readonly body: Record<string, unknown>
  outcome: 'acknowledged' | 'refused' | 'unknown'
  /** The user's id as the identity provider learnt it (from the create, or from its next move). */
  id?: string
  status?: number
}

const rnd = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1))
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** `userName` in other letters' case: the lookup an identity provider sends need not match it byte for byte (RFC 7643 §4.1.1, caseExact false). */
function otherCase(userName: string): string {
  return userName.replace(/[a-z]/g, (c, i: number) => (i % 2 === 0 ? c.toUpperCase() : c))
}

export async function runLostAnswers(opts: LostAnswersOptions): Promise<LostAnswersReport> {
  const log = opts.log ?? (() => undefined)
  const { tokens: [token = ''], orgIds: [orgId = ''], key } = await seedDatabase(opts.databaseUrl, [`lost-${randomBytes(4).toString('hex')}`], 0, String, ['events:read', 'directory:read'])
  let server: Server = await startServer(opts.databaseUrl)
  let up = true
  const report: LostAnswersReport = {
    kills: 0,
    creates: { acknowledged: 0, refused: 0, unknown: 0 },
    unknown: { committed: 0, notCommitted: 0, byMove: { 'lookup, then create': { committed: 0, notCommitted: 0 }, 'the same POST again': { committed: 0, notCommitted: 0 } } },
    statuses: {},
    problems: [],
  }
  const problem = (p: string) => report.problems.push(p)
  const creates: Create[] = []
  const unresolved: Create[] = []
  let stop = false
  let seq = 0

  /** One request to the server that is up now; null when the server went away under it (or was down). */
  async function send(method: string, path: string, body?: unknown): Promise<Call | null> {
    while (!up) await pause(5)
    const r = await attempt(server.base, method, path, token, body, report.statuses)
    return typeof r === 'string' ? null : r
  }

  async function writer(w: number): Promise<void> {
    while (!stop) {
      while (!up && !stop) await pause(5)
      if (stop) break
      const n = ++seq
      const userName = `lost.w${w}.${n}.${randomBytes(3).toString('hex')}@lost.example`
      const c: Create = {
        userName, outcome: 'unknown',
        body: { schemas: [USER], userName, externalId: `ext-${n}`, name: { givenName: 'Lost', familyName: `Answer ${n}` }, emails: [{ value: userName, type: 'work', primary: true }] },
      }
      creates.push(c)
      const r = await attempt(server.base, 'POST', '/scim/v2/Users', token, c.body, report.statuses)
      if (r === 'unknown') unresolved.push(c)
      else if (r === 'refused') c.outcome = 'refused'
      else {
        c.status = r.status
        c.outcome = r.status === 201 ? 'acknowledged' : 'refused'
        if (r.status === 201) c.id = String(r.json.id)
      }
    }
  }

  /** The lookup an identity provider makes: the users whose userName equals `userName`, ignoring case. */
  async function lookup(userName: string): Promise<Call | null> {
    return send('GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${otherCase(userName)}"`)}`)
  }

  /** The identity provider's next move for an unknown create; false when the server went away under it (try again). */
  async function nextMove(c: Create, move: Move): Promise<boolean> {
    const tally = (committed: boolean) => {
      report.unknown[committed ? 'committed' : 'notCommitted']++
      report.unknown.byMove[move][committed ? 'committed' : 'notCommitted']++
    }
    const found = await lookup(c.userName)
    if (found === null) return false
    if (found.status !== 200) {
      problem(`lookup of ${c.userName}: ${found.status} ${found.text.slice(0, 200)}`)
      return true
    }
    const hits = found.json.Resources ?? []
    if (hits.length > 1) problem(`${hits.length} users hold ${c.userName}`)
    if (move === 'lookup, then create') {
      if (hits.length > 0) {
        c.id = String(hits[0]?.id)
        tally(true)
        return true
      }
      const again = await send('POST', '/scim/v2/Users', c.body)
      if (again === null) return false
      if (again.status === 201) {
        c.id = String(again.json.id)
        tally(false)
      } else if (again.status === 409) {
        problem(`${c.userName}: the lookup found nothing, and creating it again was 409 (a committed create the lookup missed)`)
      } else {
        problem(`${c.userName}: creating it again was ${again.status} ${again.text.slice(0, 200)}`)
      }
      return true
    }
    const again = await send('POST', '/scim/v2/Users', c.body)
    if (again === null) return false
    if (again.status === 201) {
      if (hits.length > 0) problem(`${c.userName}: a POST again was 201 though the user existed (${String(hits[0]?.id)})`)
      c.id = String(again.json.id)
      tally(false)
    } else if (again.status === 409 && again.json.scimType === 'uniqueness') {
      if (hits.length === 0) problem(`${c.userName}: the lookup before a POST again found nothing, and the POST was 409 (a committed create the lookup missed)`)
      const after = await lookup(c.userName)
      if (after === null) return false
      const [hit] = after.json.Resources ?? []
      if (!hit) problem(`${c.userName}: a POST again was 409 and the lookup after it found nothing`)
      else c.id = String(hit.id)
      tally(true)
    } else {
      problem(`${c.userName}: a POST again was ${again.status} ${again.text.slice(0, 200)}`)
    }
    return true
  }

  /** Resolves the unknown creates of the kills so far, each with the next move its turn gives it. */
  let moves = 0
  async function resolve(): Promise<void> {
    while (unresolved.length > 0) {
      const c = unresolved.shift() as Create
      const move: Move = moves++ % 2 === 0 ? 'lookup, then create' : 'the same POST again'
      if (!(await nextMove(c, move))) unresolved.push(c)
    }
  }

  const writing = Array.from({ length: opts.writers }, (_, w) => writer(w))
  try {
    for (let k = 0; k < opts.kills; k++) {
      await pause(rnd(opts.killAfterMs[0], opts.killAfterMs[1]))
      up = false
      await server.kill('SIGKILL')
      report.kills++
      // Let the writers' requests fail before the server is back.
      await pause(20)
      server = await startServer(opts.databaseUrl, {}, server.port)
      up = true
      if ((k + 1) % 50 === 0 || k + 1 === opts.kills) log(`${k + 1} kills, ${creates.length} creates, ${unresolved.length} unknown to resolve`)
      await resolve()
    }
  } finally {
    stop = true
    await Promise.all(writing)
  }
  await resolve()

  try {
    await check(server, orgId, key, creates, report)
  } finally {
    await server.kill('SIGTERM')
  }
  return report
}

async function check(s: Server, orgId: string, key: string, creates: readonly Create[], report: LostAnswersReport): Promise<void> {
  const problem = (p: string) => report.problems.push(p)
  const held = new Map<string, Record<string, unknown>[]>()
  for (let after = ''; ;) {
    const page = await call(s.base, 'GET', `/api/v1/orgs/${orgId}/users?limit=1000${after ? `&cursor=${after}` : ''}`, key)
    if (page.status !== 200) throw new Error(`users: ${page.status} ${page.text}`)
    const data = page.json.data as Record<string, unknown>[]
    for (const u of data) {
      const name = String(u.userName).toLowerCase()
      held.set(name, [...(held.get(name) ?? []), u])
    }
    if (typeof page.json.nextCursor !== 'string' || data.length === 0) break
    after = page.json.nextCursor
  }
  const created = new Map<string, number>()
  for (let after = ''; ;) {
    const page = await call(s.base, 'GET', `/api/v1/orgs/${orgId}/events?limit=1000${after ? `&after=${after}` : ''}`, key)
    if (page.status !== 200) throw new Error(`events: ${page.status} ${page.text}`)
    const data = page.json.data as { type: string; data: { id: string } }[]
    for (const e of data) if (e.type === 'user.created') created.set(e.data.id, (created.get(e.data.id) ?? 0) + 1)
    after = String(page.json.nextCursor)
    if (data.length < 1000) break
  }
  for (const c of creates) {
    report.creates[c.outcome]++
    const rows = held.get(c.userName.toLowerCase()) ?? []
    if (rows.length > 1) problem(`${c.userName}: ${rows.length} users`)
    const [row] = rows
    if (c.outcome === 'refused') {
      if (row) problem(`${c.userName}: refused (${c.status ?? 'connection refused'}) and present`)
      continue
    }
    if (!row) {
      problem(`${c.userName} (${c.outcome}) is missing`)
      continue
    }
    if (String(row.id) !== c.id) problem(`${c.userName}: the identity provider knows it as ${c.id ?? 'nothing'}, the directory as ${String(row.id)}`)
    if (row.externalId !== c.body.externalId || (row.email as string | undefined)?.toLowerCase() !== c.userName.toLowerCase()) problem(`${c.userName}: not the body that was sent (${JSON.stringify(row).slice(0, 200)})`)
    if (created.get(String(row.id)) !== 1) problem(`${c.userName}: ${created.get(String(row.id)) ?? 0} user.created events`)
  }
}
