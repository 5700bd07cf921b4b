// Runs batches of concurrent SCIM operations against a test app over its socket, with
// fast-check's scheduler deciding when each request is sent and in what order the answers are
// taken (fast-check documentation, "Race conditions": `fc.scheduler`, `scheduledModelRun`). Each
// batch's operations are model commands of one `scheduledModelRun`: a command's run only queues
// its request (a command that awaited a scheduled task would wait on itself, since the scheduler
// runs one command as one of its tasks), so the commands, the sends and the answers interleave
// as the scheduler picks. After a batch the organization is read whole, the batch's events are
// read from the feed, and linearize.ts looks for an order that explains it all.
import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { createApiKey } from '../../../src/provisioning/api-keys.ts'
import { createOrg } from '../../../src/provisioning/orgs.ts'
import { FeedReader, type FeedEvent } from '../../helpers/api-client.ts'
import type { TestApp } from '../../helpers/app.ts'
import { httpApiGet } from '../../helpers/feed-over-http.ts'
import { jsonBody } from '../../helpers/json-body.ts'
import { listening } from '../../helpers/typed-client.ts'
import { linearize, type Done, type Snapshot } from './linearize.ts'
import { EMPTY, resolve, seenGroup, seenUser, type Answer, type Call, type Ev, type Flaw, type Op, type State } from './scheduled-model.ts'

/** The filters read after each batch: every userName and group name of the pool, in other cases than they are sent. */
const FILTER_USER_NAMES = ['ANN@x.example', 'Bob@X.example', 'cy@X.EXAMPLE', 'Dee@x.example']
const FILTER_GROUP_NAMES = ['eng', 'OPS', 'sales']

/** One run: a fresh organization (its feed holds only what the run did), the scheduler, the model's state. */
interface World {
  readonly t: TestApp
  readonly s: fc.Scheduler
  readonly token: string
  readonly orgId: string
  readonly key: string
  readonly feed: FeedReader
  /** A user outside the pool whose update closes each batch in the feed (on PostgreSQL events are readable a moment after commit). */
  readonly marker: string
  state: State
  /** A logical clock of sends and answers: real-time order is what it says. */
  clock: number
  batches: number
}

/** What runs of batches found, for the test's summary line. */
export interface Tally { runs: number; batches: number; operations: number; overlapping: number; reordered: number; allowed: number }

export function newTally(): Tally {
  return { runs: 0, batches: 0, operations: 0, overlapping: 0, reordered: 0, allowed: 0 }
}

async function send(w: World, method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${w.token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) }
  const r = await w.t.send(method as 'GET', `/scim/v2${path}`, headers, body === undefined ? undefined : JSON.stringify(body))
  const etag = r.headers.etag
  return { status: r.status, json: jsonBody(r.body), etag: typeof etag === 'string' ? etag : undefined }
}

async function ok(w: World, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const a = await send(w, method, path, body)
  if (a.status >= 300) throw new Error(`${method} ${path}: ${a.status} ${JSON.stringify(a.json)}`)
  return a.json
}

async function newWorld(t: TestApp, s: fc.Scheduler): Promise<World> {
  const org = await createOrg(t.deps, `scheduled-${randomUUID()}`, [])
  const key = (await createApiKey(t.deps, { name: 'scheduled-model', orgId: org.orgId, scopes: ['directory:read', 'events:read'], expiresAt: null })).key
  const w: World = { t, s, token: org.token, orgId: org.orgId, key, feed: new FeedReader(httpApiGet(await listening(t), key), org.orgId), marker: '', state: EMPTY, clock: 0, batches: 0 }
  const marker = String((await ok(w, 'POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'marker@y.example' })).id)
  const world = { ...w, marker }
  await eventsUntilMarker(world, 1)
  return world
}

/** A batch's operation as a model command: its run queues the request under the scheduler and returns at once. */
class SendCommand implements fc.AsyncCommand<World, World> {
  constructor(readonly call: Call, readonly index: number, readonly pending: Promise<Done>[]) {}
  check(): boolean {
    return true
  }
  async run(_m: World, w: World): Promise<void> {
    const { call, index } = this
    this.pending.push(w.s.schedule(Promise.resolve(), `send ${index}: ${call.method} ${call.path}`).then(async () => {
      const sent = ++w.clock
      const answer = send(w, call.method, call.path, call.body).then((a) => ({ a, answered: ++w.clock }))
      // The scheduler hands the answer on when it picks it (resolved with nothing: its report,
      // printed with a counterexample, then shows the order of the picks and not every body).
      await w.s.schedule(answer.then(() => undefined), `answer ${index}`)
      const { a, answered } = await answer
      return { call, answer: a, sent, answered }
    }))
  }
  toString(): string {
    return `${this.index}: ${this.call.method} ${this.call.path}`
  }
}

/** The feed from the reader's cursor up to the marker's update to `version`, without it. */
async function eventsUntilMarker(w: World, version: number): Promise<FeedEvent[]> {
  const out: FeedEvent[] = []
  for (let pages = 0; pages < 100; pages++) {
    const p = await w.feed.page({ limit: 1_000, wait: 1 })
    for (const e of p.data) {
      if (e.data.id === w.marker && e.data.version === version) return out
      if (e.data.id !== w.marker) out.push(e)
    }
  }
  throw new Error(`the feed never reached the marker's version ${version}`)
}

function asEv(e: FeedEvent): Ev {
  const d = e.data as FeedEvent['data'] & { userName?: string; displayName?: string; active?: boolean }
  const user = e.type.startsWith('user.')
  return { type: e.type, id: d.id, version: d.version, ...(d.member ? { member: d.member.id } : {}), ...(user ? { name: d.userName, active: d.active } : { name: d.displayName }) }
}

/** The organization read whole after a batch: lists, each id, filters (the marker left out). */
async function observe(w: World, ids: readonly string[]): Promise<Snapshot> {
  const q = encodeURIComponent
  const [users, groups, dirGroups, gets, userFilters, groupFilters] = await Promise.all([
    ok(w, 'GET', '/Users?count=100'),
    ok(w, 'GET', '/Groups?count=100'),
    w.t.send('GET', `/api/v1/orgs/${w.orgId}/groups?limit=100`, { authorization: `Bearer ${w.key}` }).then((r) => jsonBody(r.body)),
    Promise.all(ids.map(async (id) => {
      const u = await send(w, 'GET', `/Users/${id}`)
      if (u.status === 200) return [id, seenUser(u.json)] as const
      const g = await send(w, 'GET', `/Groups/${id}`)
      return [id, g.status === 200 ? seenGroup(g.json) : u.status === 404 && g.status === 404 ? 404 : `${u.status}/${g.status}`] as const
    })),
    Promise.all(FILTER_USER_NAMES.map((n) => ok(w, 'GET', `/Users?filter=${q(`userName eq "${n}"`)}`))),
    Promise.all(FILTER_GROUP_NAMES.map((n) => ok(w, 'GET', `/Groups?filter=${q(`displayName eq "${n}"`)}&excludedAttributes=members`))),
  ])
  const resources = (j: Record<string, unknown>) => (j.Resources ?? []) as Record<string, unknown>[]
  const counts = new Map(((dirGroups.data ?? []) as { id: string; memberCount: number }[]).map((g) => [g.id, g.memberCount]))
  const byKey = (a: Record<string, unknown>, b: Record<string, unknown>) => (String(a.id) < String(b.id) ? -1 : 1)
  const filters: Record<string, string[]> = {}
  FILTER_USER_NAMES.forEach((n, i) => { filters[`userName eq ${n}`] = resources(userFilters[i] ?? {}).map((r) => String(r.id)).sort() })
  FILTER_GROUP_NAMES.forEach((n, i) => { filters[`displayName eq ${n}`] = resources(groupFilters[i] ?? {}).map((r) => String(r.id)).sort() })
  return {
    users: resources(users).filter((u) => u.id !== w.marker).map(seenUser).sort(byKey),
    groups: resources(groups).map((g) => ({ ...seenGroup(g), memberCount: counts.get(String(g.id)) })).sort(byKey),
    byId: Object.fromEntries([...gets].sort(([a], [b]) => (a < b ? -1 : 1))),
    filters,
  }
}

/** Runs one batch and checks it; the model's state moves to the order that explained it. */
async function runBatch(w: World, ops: readonly Op[], flaws: ReadonlySet<Flaw>, tally: Tally, context: () => string): Promise<void> {
  const before = w.state
  const calls = ops.map((op) => resolve(op, before))
  const pending: Promise<Done>[] = []
  await fc.scheduledModelRun(w.s, () => ({ model: w, real: w }), calls.map((c, i) => new SendCommand(c, i, pending)))
  // Whatever the model run left queued (a send released last queues its answer after it).
  const done = await w.s.waitFor(Promise.all(pending))
  const created = done.filter((d) => d.answer.status === 201).map((d) => String(d.answer.json.id))
  const ids = [...new Set([...before.users.keys(), ...before.groups.keys(), ...calls.flatMap((c) => (c.target ? [c.target] : [])), ...created])]
  const seen = await observe(w, ids)
  w.batches++
  await send(w, 'PATCH', `/Users/${w.marker}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: `batch ${w.batches}` }] })
  const feed = (await eventsUntilMarker(w, w.batches + 1)).map(asEv)
  const v = linearize(before, done, seen, feed, flaws, { ids, userNames: FILTER_USER_NAMES, groupNames: FILTER_GROUP_NAMES })
  if (!v.ok) throw new Error(`${v.report}\n${context()}`)
  w.state = v.state
  tally.batches++
  tally.operations += done.length
  tally.overlapping += done.filter((d, i) => done.some((e, j) => j !== i && e.sent < d.answered && d.sent < e.answered)).length
  // Explained only by an order other than the one the requests were sent in.
  const sentOrder = done.map((d, i) => [d.sent, i] as const).sort(([a], [b]) => a - b).map(([, i]) => i)
  if (v.order.some((x, i) => x !== sentOrder[i])) tally.reordered++
  if (v.allowed) tally.allowed++
}

/** A kept counterexample: its batches and the scheduler's picks (task ids, for `fc.schedulerFor`). */
export interface Regression { why: string; batches: Op[][]; order?: number[] }

/** The order in which `s` released its tasks so far. */
function releasedOrder(s: fc.Scheduler): number[] {
  return s.report().filter((r) => r.status !== 'pending').map((r) => r.taskId)
}

/**
 * Runs `batches` one after another on a fresh organization of `t`, each as concurrent requests
 * under `s`. A divergence throws with the batch's report and the run as a regression entry.
 */
export async function runBatches(t: TestApp, s: fc.Scheduler, batches: readonly (readonly Op[])[], opts: { flaws?: ReadonlySet<Flaw>; tally?: Tally } = {}): Promise<void> {
  const w = await newWorld(t, s)
  const tally = opts.tally ?? newTally()
  tally.runs++
  for (let b = 0; b < batches.length; b++) {
    const context = () => `kept as a regression (test/reliability/scheduled-model-regressions.json):\n${JSON.stringify({ why: '…', batches: batches.slice(0, b + 1), order: releasedOrder(s) })}`
    await runBatch(w, batches[b] as Op[], opts.flaws ?? new Set(), tally, context)
  }
}
