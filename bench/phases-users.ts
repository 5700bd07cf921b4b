// User phases: create, get, filter-hit, filter-miss, cross-org (with several organizations),
// list, patch-user (Entra dialect), deactivate (Okta dialect) and delete. Each is timed by
// Bench.phase and appends checks. User i belongs to organization i % orgs, so every phase's
// requests are spread over the organizations.
import type { Bench, BenchUser } from './context.ts'
import { field, list, str } from './http-client.ts'

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

const PAGE_SIZE = 100
const SPOT_CHECKS = 20

export function userBody(prefix: string, i: number, userName: string): unknown {
  return {
    schemas: [CORE_USER, ENTERPRISE_USER],
    userName,
    externalId: `${prefix}-ext-${i}`,
    name: { givenName: 'Bench', familyName: `User${i}` },
    displayName: `Bench User ${i}`,
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
    [ENTERPRISE_USER]: { department: `Dept ${i % 10}` },
  }
}

export async function createUsers(b: Bench): Promise<void> {
  b.users = Array.from({ length: b.opts.users }, (_, i) => ({
    index: i,
    org: i % b.orgs.length,
    userName: `${b.prefix}.bench.user.${i}@example.com`,
    id: null,
  }))
  await b.phase('create', b.users, async (u, phase) => {
    const res = await phase.send('POST', '/Users', userBody(b.prefix, u.index, u.userName), [201], b.token(u.org))
    u.id = res === null ? null : (str(res.json, 'id') ?? null)
  })
  const created = b.created().length
  b.check('create: every user acknowledged with an id', created === b.users.length, `${created}/${b.users.length}`)
}

export async function getUsers(b: Bench): Promise<void> {
  let ok = 0
  const users = b.sample()
  await b.phase('get', users, async (u, phase) => {
    const res = await phase.send('GET', `/Users/${encodeURIComponent(u.id)}`, undefined, [200], b.token(u.org))
    if (res !== null && str(res.json, 'userName') === u.userName && str(res.json, 'id') === u.id) ok++
  })
  b.check('get: right id and userName', ok === users.length, `${ok}/${users.length}`)
}

export async function filterUsers(b: Bench): Promise<void> {
  const users = b.sample()
  let hits = 0
  await b.phase('filter-hit', users, async (u, phase) => {
    const res = await phase.send('GET', userFilter(`userName eq "${randomCase(u.userName)}"`), undefined, [200], b.token(u.org))
    const resources = list(res?.json, 'Resources')
    if (field(res?.json, 'totalResults') === 1 && resources.length === 1 && str(resources[0], 'id') === u.id) hits++
  })
  b.check('filter-hit: case-insensitive userName eq finds exactly the user', hits === users.length, `${hits}/${users.length}`)

  let misses = 0
  await b.phase('filter-miss', users, async (u, phase) => {
    const missing = `${b.prefix}.nobody.${u.index}.${Math.random().toString(36).slice(2, 8)}@example.com`
    const res = await phase.send('GET', userFilter(`userName eq "${missing}"`), undefined, [200], b.token(u.org))
    if (res !== null && field(res.json, 'totalResults') === 0 && list(res.json, 'Resources').length === 0) misses++
  })
  b.check('filter-miss: unknown userName gives totalResults 0', misses === users.length, `${misses}/${users.length}`)
}

/**
 * With several organizations: each sampled user is looked up by the next organization, once
 * by `userName eq` (must find nothing) and once by id (must be 404). userNames are unique
 * across the run, so any hit is another organization's user.
 */
export async function crossOrg(b: Bench): Promise<void> {
  if (b.orgs.length < 2) return
  const users = b.sample()
  let hidden = 0
  let notFound = 0
  await b.phase('cross-org', users, async (u, phase) => {
    const other = b.token((u.org + 1) % b.orgs.length)
    const res = await phase.send('GET', userFilter(`userName eq "${u.userName}"`), undefined, [200], other)
    if (res !== null && field(res.json, 'totalResults') === 0 && list(res.json, 'Resources').length === 0) hidden++
    if ((await phase.send('GET', `/Users/${encodeURIComponent(u.id)}`, undefined, [404], other)) !== null) notFound++
  })
  b.check("cross-org: another organization's userName eq finds nothing", hidden === users.length, `${hidden}/${users.length}`)
  b.check("cross-org: another organization's user id is 404", notFound === users.length, `${notFound}/${users.length}`)
}

/**
 * Pages through each organization's users (`userName sw "<prefix>."` finds only the
 * organization's own). With --max-requests, whole organizations are paged, spread over them,
 * until about that many pages.
 */
export async function listUsers(b: Bench): Promise<void> {
  const n = b.orgs.length
  const perOrgPages = Math.max(1, Math.ceil(b.users.length / n / PAGE_SIZE))
  const cap = b.opts.maxRequests
  const orgCount = cap === null ? n : Math.min(n, Math.max(1, Math.floor(cap / perOrgPages)))
  const orgs = Array.from({ length: orgCount }, (_, k) => Math.floor((k * n) / orgCount))
  const members = new Map(orgs.map((o) => [o, b.createdIn(o)]))
  const pages: { org: number; startIndex: number }[] = []
  for (let p = 0; p < perOrgPages; p++) for (const org of orgs) if (p * PAGE_SIZE < Math.max(1, members.get(org)?.length ?? 0)) pages.push({ org, startIndex: 1 + p * PAGE_SIZE })
  const filter = `userName sw "${b.prefix}."`
  const scope = n === 1 ? '' : ` (${orgCount} of ${n} organizations)`
  // Several passes, each its own phase: one pass is short enough that the first one mostly
  // measures the server warming up; every pass is checked.
  for (let pass = 1; pass <= b.opts.listPasses; pass++) {
    const seen = new Map<number, string[]>(orgs.map((o) => [o, []]))
    let rightTotal = 0
    const label = pass === 1 ? 'list' : `list#${pass}`
    await b.phase(label, pages, async ({ org, startIndex }, phase) => {
      const path = `${userFilter(filter)}&startIndex=${startIndex}&count=${PAGE_SIZE}`
      const res = await phase.send('GET', path, undefined, [200], b.token(org))
      if (res === null) return
      if (field(res.json, 'totalResults') === members.get(org)?.length) rightTotal++
      const ids = seen.get(org) as string[]
      for (const r of list(res.json, 'Resources')) ids.push(str(r, 'id') ?? '(no id)')
    })
    const totalLabel = n === 1 ? 'totalResults == N on every page' : "totalResults == the organization's users on every page"
    b.check(`${label}: ${totalLabel}`, rightTotal === pages.length, `${rightTotal}/${pages.length} pages${scope}`)
    let wanted = 0
    let found = 0
    let extra = 0
    let dupes = 0
    for (const org of orgs) {
      const want = new Set((members.get(org) ?? []).map((u) => u.id))
      const ids = seen.get(org) ?? []
      const got = new Set(ids)
      wanted += want.size
      for (const id of want) if (got.has(id)) found++
      for (const id of got) if (!want.has(id)) extra++
      dupes += ids.length - got.size
    }
    b.check(
      `${label}: union of pages == created ids${n === 1 ? '' : ', per organization'}`,
      found === wanted && extra === 0 && dupes === 0,
      `${found}/${wanted} found, ${extra} unexpected, ${dupes} duplicated across pages${scope}`,
    )
  }
}

function patchedValues(b: Bench, u: BenchUser) {
  return {
    displayName: `Patched User ${u.index}`,
    familyName: `Patched${u.index}`,
    email: `${b.prefix}.patched.${u.index}@example.com`,
    department: `Patched Dept ${u.index % 7}`,
  }
}

export async function patchUsers(b: Bench): Promise<void> {
  const users = b.sample()
  await b.phase('patch-user', users, async (u, phase) => {
    const v = patchedValues(b, u)
    // Entra ID's dialect: capitalised ops, a value-filtered email path, the extension URN path.
    const body = {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'Replace', path: 'displayName', value: v.displayName },
        { op: 'Replace', path: 'name.familyName', value: v.familyName },
        { op: 'Add', path: 'emails[type eq "work"].value', value: v.email },
        { op: 'Replace', path: `${ENTERPRISE_USER}:department`, value: v.department },
      ],
    }
    await phase.send('PATCH', `/Users/${encodeURIComponent(u.id)}`, body, [200, 204], b.token(u.org))
  })
  const sample = spread(users, SPOT_CHECKS)
  let ok = 0
  for (const u of sample) {
    const res = await b.request(u.org, 'GET', `/Users/${encodeURIComponent(u.id)}`)
    const v = patchedValues(b, u)
    const work = list(res.json, 'emails').find((e) => str(e, 'type') === 'work')
    if (
      str(res.json, 'displayName') === v.displayName &&
      str(field(res.json, 'name'), 'familyName') === v.familyName &&
      str(work, 'value') === v.email &&
      str(field(res.json, ENTERPRISE_USER), 'department') === v.department
    ) {
      ok++
    }
  }
  b.check('patch-user: changes visible on GET (spot check)', ok === sample.length, `${ok}/${sample.length}`)
}

export async function deactivateUsers(b: Bench): Promise<void> {
  const users = b.sample()
  // Okta's dialect: a path-less replace carrying an object.
  const body = { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] }
  await b.phase('deactivate', users, async (u, phase) => {
    await phase.send('PATCH', `/Users/${encodeURIComponent(u.id)}`, body, [200, 204], b.token(u.org))
  })
  const sample = spread(users, SPOT_CHECKS)
  let ok = 0
  for (const u of sample) {
    const res = await b.request(u.org, 'GET', `/Users/${encodeURIComponent(u.id)}`)
    if (field(res.json, 'active') === false) ok++
  }
  b.check('deactivate: active=false on GET (spot check)', ok === sample.length, `${ok}/${sample.length}`)
}

export async function deleteAll(b: Bench): Promise<void> {
  const users = b.sample()
  await b.phase('delete-user', users, async (u, phase) => {
    await phase.send('DELETE', `/Users/${encodeURIComponent(u.id)}`, undefined, [204], b.token(u.org))
  })
  await b.phase('delete-group', b.groupIds, async (g, phase) => {
    await phase.send('DELETE', `/Groups/${encodeURIComponent(g.id)}`, undefined, [204], b.token(g.org))
  })
  const paths = [
    ...spread(users, SPOT_CHECKS).map((u) => ({ org: u.org, path: `/Users/${encodeURIComponent(u.id)}` })),
    ...spread(b.groupIds, 5).map((g) => ({ org: g.org, path: `/Groups/${encodeURIComponent(g.id)}` })),
  ]
  let gone = 0
  for (const { org, path } of paths) if ((await b.request(org, 'GET', path)).status === 404) gone++
  b.check('delete: GET after DELETE gives 404 (spot check)', gone === paths.length, `${gone}/${paths.length}`)
}

function userFilter(filter: string): string {
  return `/Users?filter=${encodeURIComponent(filter)}`
}

/** Flips the case of letters at random, guaranteeing at least one change when possible. */
export function randomCase(s: string): string {
  const flipped = [...s].map((c) => (Math.random() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('')
  return flipped === s ? s.toUpperCase() : flipped
}

/** Up to n items spread evenly over the array. */
export function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items]
  const step = items.length / n
  return Array.from({ length: n }, (_, k) => items[Math.floor(k * step)] as T)
}
