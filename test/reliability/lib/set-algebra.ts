// docs/architecture.md DUR-2 (RFC 7644 §3.5.2; Jepsen's Elle checks sets the same way): 32
// clients add and remove disjoint and overlapping member batches of one group at once. `size`
// is the group's members at the start (P) and as many users outside it (Q); every slice below is
// a fixed share of it, so the test (`size` 1,200) and `npm run set-algebra` (50,000) run the same
// scenario. The final membership must be the model's set algebra for every member no two clients
// disagree about, with no phantom member, and the event feed one event per effective change: per
// member its events alternate from its first state to its final one, in the group's version order.
import type { FeedEvent, FeedReader } from '../../helpers/api-client.ts'
import { drainFeed } from '../../helpers/feed-over-http.ts'
import { patchOp, user } from '../../helpers/app.ts'
import type { Call } from '../../helpers/spawned-server.ts'

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const MEMBER_EVENTS = 'group.member_added,group.member_removed'
const CLIENTS = 32
/** Member values a PATCH carries at most when the group is built (ROSTER's limit is 10,000). */
const BUILD_BATCH = 5_000

export type OrgSend = (method: string, path: string, body?: unknown) => Promise<Call>

export interface SetAlgebraResult {
  readonly problems: string[]
  readonly finalSize: number
  readonly events: number
  /** Contested members whose events show they changed hands at least once. */
  readonly contestedMoved: number
  readonly ms: { readonly setup: number; readonly clients: number; readonly check: number }
}

/** `n` tasks, at most `width` at once. */
export async function pooled<T>(n: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n)
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) {
      const i = next++
      out[i] = await task(i)
    }
  }))
  return out
}

export async function setAlgebraRun(send: OrgSend, feed: FeedReader, size: number, tag = 'set'): Promise<SetAlgebraResult> {
  const problems: string[] = []
  const t0 = Date.now()
  // The layout of the 1,200-member scenario, scaled: per client 20 own removes (of P) and 20 own
  // adds (of Q); on each side 60 shared adds, 60 shared removes and 40 contested.
  const k = size / 1_200
  const own = Math.round(20 * k)
  const shared = Math.round(60 * k)
  const contestedN = Math.round(40 * k)
  if (CLIENTS * own + 2 * shared + contestedN > size) throw new Error(`size ${size} too small for its slices`)
  const ids = await pooled(2 * size, 16, async (i) => {
    const r = await send('POST', '/Users', user(`${tag}${i}@example.com`))
    if (r.status !== 201) throw new Error(`creating user ${i}: ${r.status} ${r.text}`)
    return String(r.json.id)
  })
  const range = (from: number, to: number) => ids.slice(from, to)
  const values = (xs: string[]) => xs.map((value) => ({ value }))
  const g = await send('POST', '/Groups', { schemas: [GROUP], displayName: `Set algebra ${tag}` })
  if (g.status !== 201) throw new Error(`creating the group: ${g.status} ${g.text}`)
  const gid = String(g.json.id)
  const patch = (body: unknown) => send('PATCH', `/Groups/${gid}`, body)
  for (let from = 0; from < size; from += BUILD_BATCH) {
    const r = await patch(patchOp({ op: 'add', path: 'members', value: values(range(from, Math.min(size, from + BUILD_BATCH))) }))
    if (r.status !== 204) throw new Error(`building the group: ${r.status} ${r.text}`)
  }
  await drainFeed(feed)
  const t1 = Date.now()

  const P = 0
  const Q = size
  const ownRemoves = (c: number) => range(P + c * own, P + (c + 1) * own) // P: each removed by one client
  const ownAdds = (c: number) => range(Q + c * own, Q + (c + 1) * own) // Q: each added by one client
  const afterOwn = CLIENTS * own
  const side = (from: number, n: number) => [...range(P + afterOwn + from, P + afterOwn + from + n), ...range(Q + afterOwn + from, Q + afterOwn + from + n)]
  const sharedAdds = side(0, shared) // added by every client: members already on P's side, not on Q's
  const sharedRemoves = side(shared, shared) // removed by every client: members on P's side, never on Q's
  const contested = side(2 * shared, contestedN) // added by half the clients while the other half remove them
  const eqFilter = (xs: string[]) => `members[${xs.map((x) => `value eq "${x}"`).join(' or ')}]`
  // A value filter of thousands of `or`s would pass the filter limits: removes by filter stay
  // small (10 a request), the rest go by value arrays.
  const removeByFilter = (xs: string[]) => Array.from({ length: Math.ceil(xs.length / 10) }, (_, i) => ({ op: 'remove', path: eqFilter(xs.slice(i * 10, i * 10 + 10)) }))
  const statuses = await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    const adds = ownAdds(c)
    const removes = ownRemoves(c)
    const half = Math.floor(own / 2)
    const contest = (addFirst: boolean) => patch(patchOp(addFirst ? { op: 'add', path: 'members', value: values(contested) } : { op: 'remove', path: 'members', value: values(contested) }))
    const answers: Call[] = []
    const removeValues = (xs: string[]) => (xs.length === 0 ? [] : [{ op: 'remove', path: 'members', value: values(xs) }])
    const firstFiltered = Math.min(half, 10)
    answers.push(await patch(patchOp({ op: 'add', path: 'members', value: values([...adds.slice(0, half), ...sharedAdds]) })))
    answers.push(await patch(patchOp(...removeByFilter(removes.slice(0, firstFiltered)), ...removeValues([...removes.slice(firstFiltered, half), ...sharedRemoves]))))
    answers.push(await contest(c % 2 === 0))
    answers.push(await patch(patchOp({ op: 'add', path: 'members', value: values(adds.slice(half)) }, ...removeByFilter(removes.slice(half, half + 10)), ...removeValues(removes.slice(half + 10)))))
    answers.push(await contest(c % 2 === 1))
    return answers.map((a) => `${a.status}${a.status === 204 ? '' : ` ${a.text.slice(0, 200)}`}`)
  }))
  problems.push(...statuses.flat().filter((s) => s !== '204').map((s) => `a PATCH answered ${s}`))
  const t2 = Date.now()

  const got = await send('GET', `/Groups/${gid}`)
  const members = ((got.json.members as { value: string }[] | undefined) ?? []).map((m) => m.value)
  const final = new Set(members)
  const initially = new Set(range(0, size))
  const universe = new Set(ids)
  // 0 phantom members: every member is one of the users, each listed once.
  for (const m of final) if (!universe.has(m)) problems.push(`phantom member ${m}`)
  if (final.size !== members.length) problems.push(`${members.length - final.size} members listed twice`)
  const ownRemovesAll = new Set(range(P, P + afterOwn))
  const ownAddsAll = new Set(range(Q, Q + afterOwn))
  const sharedAddsSet = new Set(sharedAdds)
  const sharedRemovesSet = new Set(sharedRemoves)
  const expectedPresence = (m: string): boolean => {
    if (ownRemovesAll.has(m) || sharedRemovesSet.has(m)) return false
    if (ownAddsAll.has(m) || sharedAddsSet.has(m)) return true
    return initially.has(m)
  }
  const contestedSet = new Set(contested)
  for (const m of ids) if (!contestedSet.has(m) && final.has(m) !== expectedPresence(m)) problems.push(`${m}: ${final.has(m) ? 'present' : 'absent'}, the model says otherwise`)

  const events = (await drainFeed(feed, { types: MEMBER_EVENTS })).filter((e) => e.data.id === gid)
  const versions = events.map((e) => e.data.version)
  for (let i = 1; i < versions.length; i++) if ((versions[i] ?? 0) < (versions[i - 1] ?? 0)) problems.push(`feed versions go back at ${i}`)
  const history = new Map<string, FeedEvent[]>()
  for (const e of events) {
    const m = String(e.data.member?.id)
    const h = history.get(m)
    if (h) h.push(e)
    else history.set(m, [e])
  }
  for (const m of history.keys()) if (!universe.has(m)) problems.push(`an event for phantom member ${m}`)
  let contestedMoved = 0
  for (const m of ids) {
    let present = initially.has(m)
    const seen = new Set<number>()
    const h = history.get(m) ?? []
    for (const e of h) {
      if (seen.has(e.data.version)) problems.push(`${m}: two events at version ${e.data.version}`)
      seen.add(e.data.version)
      if ((e.type === 'group.member_added') === present) problems.push(`${m}: ${e.type} while ${present ? 'present' : 'absent'}`)
      present = e.type === 'group.member_added'
    }
    if (present !== final.has(m)) problems.push(`${m}: events end ${present ? 'present' : 'absent'}, the group says ${final.has(m) ? 'present' : 'absent'}`)
    if (contestedSet.has(m)) {
      if (h.length > 0) contestedMoved++
    } else if (h.length !== (initially.has(m) === expectedPresence(m) ? 0 : 1)) {
      problems.push(`${m}: ${h.length} events`)
    }
  }
  // added − removed events equal the change in membership.
  const added = events.filter((e) => e.type === 'group.member_added').length
  if (added - (events.length - added) !== final.size - initially.size) problems.push(`events say ${2 * added - events.length} members gained, the group ${final.size - initially.size}`)
  return { problems, finalSize: final.size, events: events.length, contestedMoved, ms: { setup: t1 - t0, clients: t2 - t1, check: Date.now() - t2 } }
}
