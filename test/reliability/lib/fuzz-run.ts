// Runs the fuzz inputs of fuzz.ts against the stores: shared by test/reliability/fuzz.test.ts
// (10,000 inputs) and `npm run fuzz` (1,000,000).
import type { Grammar, Rng } from '../../helpers/filter-fuzz.ts'
import { startApp, type TestApp } from '../../helpers/app.ts'
import type { StoreFactory } from '../../helpers/stores.ts'
import { LONE_SURROGATE, wtf8Encode, filterInput, grammars, groupResource, judgeFilter, judgePatch, knownDisagreement, patchInput, seedUserBodies, serverFilter, userResource, type FilterOutcome } from './fuzz.ts'
import { injectSender } from './inject.ts'
import type { Send } from './isolation.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'

export interface FuzzStore {
  readonly name: string
  readonly t: TestApp
  readonly send: Send
  readonly users: Record<string, unknown>[]
  readonly groups: Record<string, unknown>[]
  readonly patchToken: string
  /** Users of the PATCH targets' organization, for member values. */
  readonly patchIds: string[]
  readonly userTarget: string
  readonly groupTarget: string
  readonly grammar: { user: Grammar; group: Grammar }
}

export async function openFuzzStore(factory: StoreFactory): Promise<FuzzStore> {
  const t = await startApp(factory)
  const send = injectSender(t.app)
  const ids: string[] = []
  for (const body of seedUserBodies()) {
    const r = await send('POST', '/scim/v2/Users', t.token, body)
    if (r.status !== 201) throw new Error(`seeding ${JSON.stringify(body)}: ${r.status} ${r.text}`)
    ids.push(String(JSON.parse(r.text).id))
  }
  const groupIds: string[] = []
  for (const [i, [displayName, externalId]] of [['Engineering', 'ENG'], ['sales', 'eng'], ['100% Club', ''], ['under_score', undefined], ['Émigrés', 'x'], ['Empty', undefined]].entries()) {
    const members = ids.filter((_, k) => k % (i + 2) === 0).map((value) => ({ value }))
    const r = await send('POST', '/scim/v2/Groups', t.token, { schemas: [GROUP], displayName, externalId, members: i === 5 ? [] : members })
    if (r.status !== 201) throw new Error(`seeding group: ${r.status} ${r.text}`)
    groupIds.push(String(JSON.parse(r.text).id))
  }
  const read = async (path: string) => (JSON.parse((await send('GET', path, t.token)).text) as { Resources: Record<string, unknown>[] }).Resources
  // The filter on meta.version compares the version alone, without the groups' digest (render.ts).
  const users = (await read('/scim/v2/Users?count=1000')).map((u) => ({ ...u, meta: { ...(u.meta as object), version: String((u.meta as { version: string }).version).replace(/\.[0-9a-z]+"$/, '"') } }))
  const groups = await read('/scim/v2/Groups?count=1000')
  // PATCH targets live in an organization of their own, so that PATCHes never move the filters' answers.
  const other = await t.newOrg(`patch-targets-${Date.now()}`)
  const memberIds: string[] = []
  for (let i = 0; i < 5; i++) memberIds.push((JSON.parse((await send('POST', '/scim/v2/Users', other.token, { schemas: [USER], userName: `member${i}@example.com` })).text) as { id: string }).id)
  const userTarget = (JSON.parse((await send('POST', '/scim/v2/Users', other.token, { schemas: [USER], userName: 'patch.target@example.com', emails: [{ value: 'p@example.com', type: 'work' }] })).text) as { id: string }).id
  const groupTarget = (JSON.parse((await send('POST', '/scim/v2/Groups', other.token, { schemas: [GROUP], displayName: 'Patch target', members: memberIds.slice(0, 3).map((value) => ({ value })) })).text) as { id: string }).id
  return { name: factory.name, t, send, users, groups, patchToken: other.token, patchIds: memberIds, userTarget, groupTarget, grammar: grammars(users, groups) }
}

export interface FuzzStats {
  inputs: number
  filters: { total: number; accepted: number; refused: number; checkedOnStores: number; acceptedOnStores: number; known: Record<string, number> }
  patches: { total: number; applied: number; refused: number; overHttp: number }
  crashes: string[]
  fiveHundreds: string[]
  mismatches: string[]
  notAtomic: string[]
}

export function emptyStats(): FuzzStats {
  return { inputs: 0, filters: { total: 0, accepted: 0, refused: 0, checkedOnStores: 0, acceptedOnStores: 0, known: {} }, patches: { total: 0, applied: 0, refused: 0, overHttp: 0 }, crashes: [], fiveHundreds: [], mismatches: [], notAtomic: [] }
}

function label(o: FilterOutcome | { ids: string[] } | { error: { status: number; scimType: string | null } }): string {
  return 'ids' in o && o.ids ? `ids ${o.ids.join(',')}` : JSON.stringify((o as { error: unknown }).error)
}

/** What the server answered beyond or short of the evaluator, by userName or displayName. */
function difference(want: { ids: string[] } | { error: { status: number; scimType: string | null } }, got: FilterOutcome, resources: readonly Record<string, unknown>[], kind: 'user' | 'group'): string {
  if (!('ids' in want) || !got.ids) return `evaluator ${label(want)}, server ${label(got)}`
  const name = (id: string) => JSON.stringify(resources.find((r) => r.id === id)?.[kind === 'user' ? 'userName' : 'displayName'] ?? id)
  const extra = got.ids.filter((id) => !want.ids.includes(id)).map(name)
  const missing = want.ids.filter((id) => !got.ids?.includes(id)).map(name)
  return `the server also returns [${extra.join(', ')}] and omits [${missing.join(', ')}]`
}

async function checkFilter(stores: readonly FuzzStore[], kind: 'user' | 'group', filter: string, viaSearch: boolean, accepted: boolean, stats: FuzzStats): Promise<void> {
  const rs = kind === 'user' ? userResource : groupResource
  const names: string[] = []
  for (const s of stores) {
    const resources = kind === 'user' ? s.users : s.groups
    // A blank filter is read as no filter (scim/list-query.ts): every resource.
    const v = filter.trim() === '' ? { ok: true as const, test: () => true } : judgeFilter(rs, filter)
    const want = 'crash' in v ? null : v.ok ? { ids: resources.filter(v.test).map((r) => String(r.id)).sort() } : { error: { status: v.status, scimType: v.scimType } }
    const got = await serverFilter(s.send, s.t.token, kind === 'user' ? '/Users' : '/Groups', filter, viaSearch)
    if (got.status >= 500) {
      stats.fiveHundreds.push(`${s.name} ${kind} filter ${JSON.stringify(filter)}: ${got.status}`)
      continue
    }
    if (want === null || label(want) === label(got)) {
      if (got.ids) names.push(got.ids.map((id) => String(resources.find((r) => r.id === id)?.[kind === 'user' ? 'userName' : 'displayName'])).sort().join('\n'))
      continue
    }
    const known = knownDisagreement(filter)
    if (known) stats.filters.known[known] = (stats.filters.known[known] ?? 0) + 1
    else stats.mismatches.push(`${s.name} ${kind} filter ${JSON.stringify(filter)}${viaSearch ? ' (.search)' : ''}: ${difference(want, got, resources, kind)}`)
  }
  // The same resources by name on every store (ids differ between stores, so filters naming ids are left out).
  if (names.length === stores.length && names.length > 1 && !/\bid\b|members|groups|manager|meta|[0-9a-f]{6}/i.test(filter) && new Set(names).size > 1) {
    stats.mismatches.push(`${kind} filter ${JSON.stringify(filter)}: the stores return different resources`)
  }
  stats.filters.checkedOnStores++
  if (accepted) stats.filters.acceptedOnStores++
  if (LONE_SURROGATE.test(filter)) {
    // The same filter in a URL as invalid UTF-8: a 400, never a 5xx.
    for (const s of stores) {
      const r = await s.send('GET', `/scim/v2/Users?filter=${wtf8Encode(filter)}`, s.t.token)
      if (r.status !== 400) stats.fiveHundreds.push(`${s.name} GET with invalid UTF-8 ${wtf8Encode(filter).slice(0, 200)}: ${r.status} ${r.text.slice(0, 200)}`)
    }
  }
}

async function checkPatchOverHttp(s: FuzzStore, kind: 'user' | 'group', body: unknown, stats: FuzzStats): Promise<void> {
  const path = kind === 'user' ? `/scim/v2/Users/${s.userTarget}` : `/scim/v2/Groups/${s.groupTarget}`
  const before = await s.send('GET', path, s.patchToken)
  const r = await s.send('PATCH', path, s.patchToken, body)
  stats.patches.overHttp++
  if (r.status >= 500) {
    stats.fiveHundreds.push(`${s.name} PATCH ${kind} ${JSON.stringify(body).slice(0, 400)}: ${r.status} ${r.text.slice(0, 200)}`)
    return
  }
  if (r.status >= 400) {
    const after = await s.send('GET', path, s.patchToken)
    if (after.text !== before.text) stats.notAtomic.push(`${s.name} PATCH ${kind} ${JSON.stringify(body).slice(0, 400)}: ${r.status} but the resource changed`)
  }
}

export interface FuzzOptions {
  readonly count: number
  /**
   * Every filter the evaluator accepts goes to every store; of those it refuses (or that crash
   * it), every n-th (1: all), since a refusal comes from the parser the server shares.
   */
  readonly refusedHttpEvery: number
  readonly patchHttpEvery: number
  readonly onProgress?: (stats: FuzzStats) => void
  /** A time budget: no input is begun after this (epoch ms), on a whole thousand of inputs. */
  readonly stopAtMs?: number
}

/** Runs `opts.count` inputs (about 60 % filters, 40 % PATCH bodies) from `rng`. */
export async function runFuzz(stores: readonly FuzzStore[], rng: Rng, opts: FuzzOptions, stats = emptyStats()): Promise<FuzzStats> {
  const first = stores[0] as FuzzStore
  const userIds = first.users.map((u) => String(u.id))
  const userBody = { ...seedUserBodies()[3], id: userIds[3] }
  const groupBody = { schemas: [GROUP], id: String(first.groups[0]?.id), displayName: 'Engineering', members: userIds.slice(0, 3).map((value) => ({ value, type: 'User' })) }
  const pending: Promise<void>[] = []
  let refusedSeen = 0
  for (let i = 0; i < opts.count; i++) {
    if (opts.stopAtMs !== undefined && i % 1_000 === 0 && Date.now() >= opts.stopAtMs) break
    stats.inputs++
    const kind = rng() < 0.75 ? 'user' : 'group'
    if (rng() < 0.6) {
      const filter = filterInput(rng, kind === 'user' ? first.grammar.user : first.grammar.group)
      stats.filters.total++
      const v = judgeFilter(kind === 'user' ? userResource : groupResource, filter)
      if ('crash' in v) stats.crashes.push(v.crash)
      else if (v.ok) stats.filters.accepted++
      else stats.filters.refused++
      const viaSearch = rng() < 0.3
      const accepted = 'ok' in v && v.ok
      if (accepted || ++refusedSeen % opts.refusedHttpEvery === 0) pending.push(checkFilter(stores, kind, filter, viaSearch, accepted, stats))
    } else {
      const body = patchInput(rng, kind, [...userIds.slice(0, 3), ...first.patchIds])
      stats.patches.total++
      const v = judgePatch(kind === 'user' ? userResource : groupResource, kind === 'user' ? userBody : groupBody, body)
      if (typeof v === 'object') stats.crashes.push(v.crash)
      else stats.patches[v]++
      if (stats.patches.total % opts.patchHttpEvery === 0) {
        // PATCHes of one target run one at a time (each compares the resource before and after).
        await Promise.all(pending.splice(0))
        for (const s of stores) await checkPatchOverHttp(s, kind, body, stats)
      }
    }
    if (pending.length >= 16) await Promise.all(pending.splice(0))
    if (opts.onProgress && stats.inputs % 10_000 === 0) {
      await Promise.all(pending.splice(0))
      opts.onProgress(stats)
    }
  }
  await Promise.all(pending.splice(0))
  return stats
}
