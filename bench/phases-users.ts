// User phases: create, get, filter-hit, filter-miss, list, patch-user (Entra dialect),
// deactivate (Okta dialect) and delete. Each is timed by Bench.phase and appends checks.
import type { Bench, BenchUser } from './context.ts'
import { field, list, str } from './http-client.ts'

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

const PAGE_SIZE = 100
const SPOT_CHECKS = 20

function userBody(prefix: string, i: number, userName: string): unknown {
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
    userName: `${b.prefix}.bench.user.${i}@example.com`,
    id: null,
  }))
  await b.phase('create', b.users, async (u, phase) => {
    const res = await phase.send('POST', '/Users', userBody(b.prefix, u.index, u.userName), [201])
    u.id = res === null ? null : (str(res.json, 'id') ?? null)
  })
  const created = b.created().length
  b.check('create: every user acknowledged with an id', created === b.users.length, `${created}/${b.users.length}`)
}

export async function getUsers(b: Bench): Promise<void> {
  let ok = 0
  const users = b.created()
  await b.phase('get', users, async (u, phase) => {
    const res = await phase.send('GET', `/Users/${encodeURIComponent(u.id)}`, undefined, [200])
    if (res !== null && str(res.json, 'userName') === u.userName && str(res.json, 'id') === u.id) ok++
  })
  b.check('get: right id and userName', ok === users.length, `${ok}/${users.length}`)
}

export async function filterUsers(b: Bench): Promise<void> {
  const users = b.created()
  let hits = 0
  await b.phase('filter-hit', users, async (u, phase) => {
    const res = await phase.send('GET', userFilter(`userName eq "${randomCase(u.userName)}"`), undefined, [200])
    const resources = list(res?.json, 'Resources')
    if (field(res?.json, 'totalResults') === 1 && resources.length === 1 && str(resources[0], 'id') === u.id) hits++
  })
  b.check('filter-hit: case-insensitive userName eq finds exactly the user', hits === users.length, `${hits}/${users.length}`)

  let misses = 0
  await b.phase('filter-miss', users, async (u, phase) => {
    const missing = `${b.prefix}.nobody.${u.index}.${Math.random().toString(36).slice(2, 8)}@example.com`
    const res = await phase.send('GET', userFilter(`userName eq "${missing}"`), undefined, [200])
    if (res !== null && field(res.json, 'totalResults') === 0 && list(res.json, 'Resources').length === 0) misses++
  })
  b.check('filter-miss: unknown userName gives totalResults 0', misses === users.length, `${misses}/${users.length}`)
}

export async function listUsers(b: Bench): Promise<void> {
  const users = b.created()
  const pages = Array.from({ length: Math.max(1, Math.ceil(users.length / PAGE_SIZE)) }, (_, p) => 1 + p * PAGE_SIZE)
  const filter = `userName sw "${b.prefix}."`
  // Several passes, each its own phase: one pass is short enough that the first one mostly
  // measures the server warming up; every pass is checked.
  for (let pass = 1; pass <= b.opts.listPasses; pass++) {
    const seen: string[] = []
    let rightTotal = 0
    const label = pass === 1 ? 'list' : `list#${pass}`
    await b.phase(label, pages, async (startIndex, phase) => {
      const path = `${userFilter(filter)}&startIndex=${startIndex}&count=${PAGE_SIZE}`
      const res = await phase.send('GET', path, undefined, [200])
      if (res === null) return
      if (field(res.json, 'totalResults') === users.length) rightTotal++
      for (const r of list(res.json, 'Resources')) seen.push(str(r, 'id') ?? '(no id)')
    })
    b.check(`${label}: totalResults == N on every page`, rightTotal === pages.length, `${rightTotal}/${pages.length} pages`)
    const want = new Set(users.map((u) => u.id))
    const got = new Set(seen)
    const missing = [...want].filter((id) => !got.has(id)).length
    const extra = [...got].filter((id) => !want.has(id)).length
    const dupes = seen.length - got.size
    b.check(
      `${label}: union of pages == created ids`,
      missing === 0 && extra === 0 && dupes === 0,
      `${want.size - missing}/${want.size} found, ${extra} unexpected, ${dupes} duplicated across pages`,
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
  const users = b.created()
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
    await phase.send('PATCH', `/Users/${encodeURIComponent(u.id)}`, body, [200, 204])
  })
  const sample = spread(users, SPOT_CHECKS)
  let ok = 0
  for (const u of sample) {
    const res = await b.client.request('GET', `/Users/${encodeURIComponent(u.id)}`)
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
  const users = b.created()
  // Okta's dialect: a path-less replace carrying an object.
  const body = { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] }
  await b.phase('deactivate', users, async (u, phase) => {
    await phase.send('PATCH', `/Users/${encodeURIComponent(u.id)}`, body, [200, 204])
  })
  const sample = spread(users, SPOT_CHECKS)
  let ok = 0
  for (const u of sample) {
    const res = await b.client.request('GET', `/Users/${encodeURIComponent(u.id)}`)
    if (field(res.json, 'active') === false) ok++
  }
  b.check('deactivate: active=false on GET (spot check)', ok === sample.length, `${ok}/${sample.length}`)
}

export async function deleteAll(b: Bench): Promise<void> {
  const users = b.created()
  await b.phase('delete-user', users, async (u, phase) => {
    await phase.send('DELETE', `/Users/${encodeURIComponent(u.id)}`, undefined, [204])
  })
  await b.phase('delete-group', b.groupIds, async (id, phase) => {
    await phase.send('DELETE', `/Groups/${encodeURIComponent(id)}`, undefined, [204])
  })
  const paths = [
    ...spread(users, SPOT_CHECKS).map((u) => `/Users/${encodeURIComponent(u.id)}`),
    ...spread(b.groupIds, 5).map((id) => `/Groups/${encodeURIComponent(id)}`),
  ]
  let gone = 0
  for (const path of paths) if ((await b.client.request('GET', path)).status === 404) gone++
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
