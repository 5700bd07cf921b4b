// Group phases: group-create, member-patch (batches of 100, concurrent even within a group),
// member-remove (one members[value eq] PATCH per member), group-get (exact membership check),
// and large-vs-small (cost of a member PATCH against a large group vs a 50-member one).
// With several organizations every organization gets --groups groups of its own users, and
// large-vs-small runs in the first organization.
import type { Bench } from './context.ts'
import { list, str } from './http-client.ts'
import { round } from './pool.ts'
import { PATCH_OP } from './phases-users.ts'

export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const BATCH = 100
const SMALL_GROUP = 50
const LVS_PATCHES = 200
const LVS_MAX_LANES = 8

interface BenchGroup {
  org: number
  name: string
  id: string | null
  planned: string[]
  /** Members whose add PATCH was acknowledged. */
  acked: Set<string>
  /** Members whose remove PATCH was acknowledged. */
  removed: Set<string>
  /** Members whose add or remove failed: the server may or may not hold them. */
  uncertain: Set<string>
}

const addMembers = (ids: readonly string[]) => ({
  schemas: [PATCH_OP],
  Operations: [{ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }],
})

const removeMembers = (ids: readonly string[]) => ({
  schemas: [PATCH_OP],
  Operations: [{ op: 'remove', path: 'members', value: ids.map((value) => ({ value })) }],
})

const groupPath = (id: string) => `/Groups/${encodeURIComponent(id)}`

export async function groupPhases(b: Bench): Promise<void> {
  const groups: BenchGroup[] = []
  // Group g of every organization, then group g + 1: creates are spread over the organizations.
  const orgUsers = b.orgs.map((o) => b.createdIn(o.index).map((u) => u.id))
  for (let g = 0; g < b.opts.groups; g++) {
    for (const [org, userIds] of orgUsers.entries()) {
      const size = Math.min(b.opts.members, userIds.length)
      // Each group takes `size` distinct users starting at its own offset (no wrap within a group).
      const offset = userIds.length === 0 ? 0 : (g * size) % userIds.length
      const planned = Array.from({ length: size }, (_, k) => userIds[(offset + k) % userIds.length] as string)
      const name = b.orgs.length === 1 ? `${b.prefix} group ${g}` : `${b.prefix} org ${org} group ${g}`
      groups.push({ org, name, id: null, planned, acked: new Set(), removed: new Set(), uncertain: new Set() })
    }
  }

  await b.phase('group-create', groups, async (g, phase) => {
    const res = await phase.send('POST', '/Groups', { schemas: [CORE_GROUP], displayName: g.name }, [201], b.token(g.org))
    g.id = res === null ? null : (str(res.json, 'id') ?? null)
    if (g.id !== null) b.groupIds.push({ org: g.org, id: g.id })
  })
  const live = groups.filter((g): g is BenchGroup & { id: string } => g.id !== null)
  b.check('group-create: every group acknowledged', live.length === groups.length, `${live.length}/${groups.length}`)

  // Batches are shuffled, so several batches to the same group are usually in flight at once.
  const batches = shuffle(live.flatMap((g) => chunk(g.planned, BATCH).map((ids) => ({ g, ids }))))
  const added = await b.phase('member-patch', batches, async ({ g, ids }, phase) => {
    const res = await phase.send('PATCH', groupPath(g.id), addMembers(ids), [200, 204], b.token(g.org))
    for (const id of ids) (res === null ? g.uncertain : g.acked).add(id)
  })
  const ackedMembers = live.reduce((n, g) => n + g.acked.size, 0)
  added.notes['members/s'] = added.wallMs > 0 ? round((ackedMembers * 1000) / added.wallMs, 0) : 0

  // 10% of each group's members; with --max-requests, the first removals of every group up to that many.
  const perGroup = live.map((g) => g.planned.filter((id, k) => k % 10 === 0 && g.acked.has(id)))
  const removals: { g: BenchGroup & { id: string }; id: string }[] = []
  const cap = b.opts.maxRequests ?? Infinity
  for (let k = 0; removals.length < cap && perGroup.some((ids) => k < ids.length); k++) {
    for (const [i, ids] of perGroup.entries()) if (k < ids.length && removals.length < cap) removals.push({ g: live[i] as BenchGroup & { id: string }, id: ids[k] as string })
  }
  await b.phase('member-remove', shuffle(removals), async ({ g, id }, phase) => {
    const body = { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${id}"]` }] }
    const res = await phase.send('PATCH', groupPath(g.id), body, [200, 204], b.token(g.org))
    ;(res === null ? g.uncertain : g.removed).add(id)
  })

  let exact = 0
  let missing = 0
  let resurrected = 0
  let unexpected = 0
  await b.phase('group-get', live, async (g, phase) => {
    const res = await phase.send('GET', groupPath(g.id), undefined, [200], b.token(g.org))
    if (res === null) return
    const held = new Set(list(res.json, 'members').map((m) => str(m, 'value') ?? '(no value)'))
    const expected = [...g.acked].filter((id) => !g.removed.has(id) && !g.uncertain.has(id))
    const miss = expected.filter((id) => !held.has(id)).length
    const back = [...g.removed].filter((id) => held.has(id) && !g.uncertain.has(id)).length
    const extra = [...held].filter((id) => !g.acked.has(id) && !g.uncertain.has(id)).length
    missing += miss
    resurrected += back
    unexpected += extra
    if (miss === 0 && back === 0 && extra === 0) exact++
  })
  b.check(
    'group-get: members == acknowledged adds - acknowledged removes',
    exact === live.length,
    `${exact}/${live.length} groups exact; ${missing} acknowledged members missing, ` +
      `${resurrected} removed members present, ${unexpected} never-added members present`,
  )
}

/**
 * Times 200 member PATCHes (100 cycles of "add 100 outsiders" + "remove those 100") against a
 * 50-member group and against a large one. Outsiders are the last 100*lanes created users,
 * reserved so they are in neither group (lanes = min(concurrency, 8, N/1000), at least 1); the
 * large group is built from the rest, so its size is min(--large-members, N - 100*lanes).
 * Each lane owns its 100 outsiders and runs its cycles in order, so the groups' final
 * membership is known.
 */
export async function largeVsSmall(b: Bench): Promise<string[]> {
  // In the first organization: the comparison is about one group's size, not about tenants.
  const userIds = b.createdIn(0).map((u) => u.id)
  const token = b.token(0)
  // Reserve at most ~10% of the users as outsiders (but always one lane's worth if possible).
  const affordable = Math.max(Math.floor(userIds.length / 10 / BATCH), userIds.length >= SMALL_GROUP + BATCH ? 1 : 0)
  const lanes = Math.min(b.opts.concurrency, LVS_MAX_LANES, affordable)
  if (lanes < 1) {
    const why = `large-vs-small skipped: needs at least ${SMALL_GROUP + BATCH} users`
    b.check('large-vs-small: ran', true, why)
    return [why]
  }
  const reserve = userIds.slice(userIds.length - lanes * BATCH)
  const pool = userIds.slice(0, userIds.length - lanes * BATCH)
  const specs = [
    { label: 'small', members: pool.slice(0, SMALL_GROUP) },
    { label: 'large', members: pool.slice(0, Math.min(b.opts.largeMembers, pool.length)) },
  ]
  const groups = specs.map((s) => ({ ...s, id: null as string | null }))

  for (const g of groups) {
    const res = await b.request(0, 'POST', '/Groups', { schemas: [CORE_GROUP], displayName: `${b.prefix} lvs ${g.label}` })
    g.id = res.status === 201 ? (str(res.json, 'id') ?? null) : null
    if (g.id !== null) b.groupIds.push({ org: 0, id: g.id })
  }
  const ready = groups.filter((g): g is typeof g & { id: string } => g.id !== null)
  b.check('large-vs-small: groups created', ready.length === 2, `${ready.length}/2`)
  if (ready.length < 2) return ['large-vs-small: group create failed']

  await b.phase(
    'lvs-fill',
    ready.flatMap((g) => chunk(g.members, BATCH).map((ids) => ({ g, ids }))),
    async ({ g, ids }, phase) => {
      await phase.send('PATCH', groupPath(g.id), addMembers(ids), [200, 204], token)
    },
  )

  const cycles = Array.from({ length: LVS_PATCHES / 2 }, (_, k) => k)
  const rates: Record<string, number> = {}
  const p50s: Record<string, number> = {}
  for (const g of ready) {
    const r = await b.phase(
      `lvs-${g.label}-${g.members.length}`,
      cycles,
      async (_cycle, phase, _index, lane) => {
        const ids = reserve.slice(lane * BATCH, (lane + 1) * BATCH)
        await phase.send('PATCH', groupPath(g.id), addMembers(ids), [200, 204], token)
        await phase.send('PATCH', groupPath(g.id), removeMembers(ids), [200, 204], token)
      },
      { concurrency: lanes },
    )
    rates[g.label] = r.opsPerSec
    p50s[g.label] = r.p50
    const res = await b.request(0, 'GET', groupPath(g.id))
    const held = new Set(list(res.json, 'members').map((m) => str(m, 'value')))
    const intact = held.size === g.members.length && g.members.every((id) => held.has(id))
    b.check(
      `large-vs-small: ${g.label} group back to its ${g.members.length} members`,
      res.status === 200 && intact && !reserve.some((id) => held.has(id)),
      `GET ${res.status}, holds ${held.size}`,
    )
  }
  const small = rates.small ?? 0
  const large = rates.large ?? 0
  const ratio = small > 0 ? round(large / small, 3) : 0
  const last = b.results[b.results.length - 1]
  if (last !== undefined) last.notes['ops/s vs small'] = ratio
  const largeSize = specs[1]?.members.length ?? 0
  const n = b.orgs.length === 1 ? 'N' : 'the first organization\'s users'
  const capped = largeSize < b.opts.largeMembers ? `, capped from ${b.opts.largeMembers} to ${n} - ${lanes * BATCH} reserved outsiders` : ''
  return [
    `large-vs-small: 100 x (add 100 + remove 100) member PATCHes per group, ${lanes} lane${lanes === 1 ? '' : 's'}${capped}`,
    `  small group (${SMALL_GROUP} members):  ${small} ops/s, p50 ${p50s.small} ms`,
    `  large group (${largeSize} members): ${large} ops/s, p50 ${p50s.large} ms`,
    `  large/small ops/s ratio: ${ratio}`,
  ]
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[items[i], items[j]] = [items[j] as T, items[i] as T]
  }
  return items
}
