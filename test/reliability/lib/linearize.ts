// Linearizability of one batch of concurrent SCIM operations (Herlihy and Wing, "Linearizability:
// A Correctness Condition for Concurrent Objects", 1990): the batch is correct when SOME order of
// its operations, consistent with real time (an operation answered before another was sent comes
// first), explains every answer, the state read afterwards, and the events in the feed (one per
// effective change, in that order per resource). Batches are at most 6 operations: the orders
// are enumerated depth first, and an order is abandoned at the first answer it cannot explain.
import { groupView, step, userView, type Answer, type Call, type Ev, type Flaw, type Later, type State } from './scheduled-model.ts'

/** One operation of a batch, done: its request, its answer, and when (a logical clock of sends and answers). */
export interface Done {
  readonly call: Call
  readonly answer: Answer
  readonly sent: number
  readonly answered: number
}

/** What is read after a batch, in the same shape from the server and from the model. */
export interface Snapshot {
  /** GET /Users and GET /Groups (a group with its directory memberCount). */
  readonly users: Record<string, unknown>[]
  readonly groups: Record<string, unknown>[]
  /** GET of each id the batch started with or created: the resource, or 404. */
  readonly byId: Record<string, unknown>
  /** `userName eq` and `displayName eq` filters: the ids found. */
  readonly filters: Record<string, string[]>
}

const byKey = (a: Record<string, unknown>, b: Record<string, unknown>) => (String(a.id) < String(b.id) ? -1 : 1)

/** The snapshot the model says a read of `ids` and `names` finds in state `s`. */
export function modelSnapshot(s: State, ids: readonly string[], userNames: readonly string[], groupNames: readonly string[]): Snapshot {
  const users = [...s.users].map(([id, u]) => userView(id, u, s)).sort(byKey)
  const groups = [...s.groups].map(([id, g]) => ({ ...groupView(id, g), memberCount: g.members.length })).sort(byKey)
  const byId: Record<string, unknown> = {}
  for (const id of [...ids].sort()) {
    const u = s.users.get(id)
    const g = s.groups.get(id)
    byId[id] = u ? userView(id, u, s) : g ? groupView(id, g) : 404
  }
  const filters: Record<string, string[]> = {}
  for (const n of userNames) filters[`userName eq ${n}`] = [...s.users].filter(([, u]) => u.userName.toLowerCase() === n.toLowerCase()).map(([id]) => id).sort()
  for (const n of groupNames) filters[`displayName eq ${n}`] = [...s.groups].filter(([, g]) => g.displayName.toLowerCase() === n.toLowerCase()).map(([id]) => id).sort()
  return { users, groups, byId, filters }
}

/** An event as compared: its resource, type, version, member and the fields the model knows. */
export function evKey(e: Ev): string {
  return [e.type, e.version, e.member ?? '', e.name ?? '', e.active ?? ''].join(' ')
}

/**
 * Per resource, its events' keys in feed order; the events one change writes for several
 * members (their order within the change is the store's) are sorted among themselves.
 */
export function perResource(events: readonly Ev[]): Record<string, string[]> {
  const out: Record<string, Ev[]> = {}
  for (const e of events) (out[e.id] ??= []).push(e)
  const keys: Record<string, string[]> = {}
  for (const id of Object.keys(out).sort()) {
    const list = out[id] as Ev[]
    const k: string[] = []
    for (let i = 0; i < list.length;) {
      let j = i + 1
      const head = list[i] as Ev
      if (head.member !== undefined) while (j < list.length && list[j]?.type === head.type && list[j]?.version === head.version && list[j]?.member !== undefined) j++
      k.push(...list.slice(i, j).map(evKey).sort())
      i = j
    }
    keys[id] = k
  }
  return keys
}

interface Leaf { readonly order: number[]; readonly state: State; readonly events: Ev[]; readonly allowed: boolean }

/** Every order of `done` consistent with real time whose answers the model explains, with the state and events it leads to. */
function* leaves(s0: State, done: readonly Done[], flaws: ReadonlySet<Flaw>, stuck: [number, string][]): Generator<Leaf> {
  const n = done.length
  const placed: boolean[] = new Array<boolean>(n).fill(false)
  const order: number[] = []
  // `pending`: answers' memberships no state of the order has explained yet; `allowed`: whether any was needed.
  function* go(s: State, events: Ev[], pending: readonly Later[], allowed: boolean): Generator<Leaf> {
    if (order.length === n) {
      if (pending.length > 0) {
        stuck.push([n, `order [${order.join(', ')}]: no state after the write explains ${pending.map((l) => l.what).join('; ')}`])
        return
      }
      yield { order: [...order], state: s, events, allowed }
      return
    }
    for (let i = 0; i < n; i++) {
      if (placed[i]) continue
      const d = done[i] as Done
      // Real time: every operation answered before this one was sent comes before it.
      if (done.some((e, j) => !placed[j] && j !== i && e.answered < d.sent)) continue
      const r = step(s, d.call, d.answer, flaws)
      if (!r.ok) {
        stuck.push([order.length, `after [${order.join(', ')}], operation ${i}: ${r.why}`])
        continue
      }
      const still = [...pending.filter((l) => !l.matches(r.next)), ...(r.later ? [r.later] : [])]
      placed[i] = true
      order.push(i)
      yield* go(r.next, [...events, ...r.events], still, allowed || r.later !== undefined)
      order.pop()
      placed[i] = false
    }
  }
  yield* go(s0, [], [], false)
}

/** An explaining order, and whether it needed the allowance for memberships read back after a write (scheduled-model.ts). */
export type Verdict = { ok: true; order: number[]; state: State; allowed: boolean } | { ok: false; report: string }

const show = (x: unknown) => JSON.stringify(x)

/**
 * Finds an order of `done` that explains the answers, the snapshot read afterwards (`seen`,
 * whose ids and names say what to compare) and the batch's events from the feed.
 */
export function linearize(
  s0: State, done: readonly Done[], seen: Snapshot, feed: readonly Ev[], flaws: ReadonlySet<Flaw>,
  read: { ids: readonly string[]; userNames: readonly string[]; groupNames: readonly string[] },
): Verdict {
  const stuck: [number, string][] = []
  const seenText = show(seen)
  const seenEvents = show(perResource(feed))
  let firstStateMiss: string | null = null
  let firstEventMiss: string | null = null
  for (const leaf of leaves(s0, done, flaws, stuck)) {
    const want = modelSnapshot(leaf.state, read.ids, read.userNames, read.groupNames)
    if (show(want) !== seenText) {
      firstStateMiss ??= `order [${leaf.order.join(', ')}] explains every answer but leads to\n    ${show(want)}`
      continue
    }
    const wantEvents = perResource(leaf.events)
    if (show(wantEvents) !== seenEvents) {
      firstEventMiss ??= `order [${leaf.order.join(', ')}] explains the answers and the state but its events per resource are\n    ${show(wantEvents)}`
      continue
    }
    return { ok: true, order: leaf.order, state: leaf.state, allowed: leaf.allowed }
  }
  const lines = ['no order of the operations consistent with real time explains what the server did:']
  done.forEach((d, i) => lines.push(`  ${i}: ${d.call.method} ${d.call.path} ${d.call.body === undefined ? '' : show(d.call.body)}\n     sent at ${d.sent}, answered at ${d.answered}: ${d.answer.status} ${show(d.answer.json)}${d.answer.etag ? ` ETag ${d.answer.etag}` : ''}`))
  lines.push(`  before the batch: users ${show([...s0.users])}, groups ${show([...s0.groups])}`)
  lines.push(`  read afterwards: ${seenText}`)
  lines.push(`  events of the batch per resource: ${seenEvents}`)
  if (firstEventMiss) lines.push(`  ${firstEventMiss}`)
  else if (firstStateMiss) lines.push(`  ${firstStateMiss}`)
  else {
    // The orders that got furthest.
    const furthest = stuck.sort(([a], [b]) => b - a).slice(0, 8)
    lines.push(`  no order explains every answer; the longest prefixes stop at:\n    ${furthest.map(([, w]) => w).join('\n    ')}`)
  }
  return { ok: false, report: lines.join('\n') }
}
