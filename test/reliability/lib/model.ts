// The model-based test's pieces (fast-check): an in-memory model of three organizations' users
// and groups, the SCIM operations as plain JSON steps (so a failing sequence prints as JSON and
// is kept in model-regressions.json), what each step must answer according to the model, and
// a check of the organization's whole state through SCIM and through the directory API.
import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { createApiKey } from '../../../src/provisioning/api-keys.ts'
import type { Deps } from '../../../src/provisioning/deps.ts'
import { createOrg } from '../../../src/provisioning/orgs.ts'
import type { Answer, Send } from './isolation.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const ORGS = 3

/** userNames and group names that collide under the case-insensitive comparison (RFC 7643 §4.1.1 userName, caseExact false). */
export const USER_NAMES = ['ann@x.example', 'Ann@X.example', 'bob@x.example', 'BOB@x.example', 'cy@x.example', 'dee@x.example']
export const GROUP_NAMES = ['Eng', 'ENG', 'Ops', 'Sales']
const DISPLAY = ['Ann A', 'Zed', '']

/** One step. Slots pick an existing resource by position, or (past the end) one that was deleted or never existed. */
export type Step =
  | { op: 'createUser'; org: number; name: number; display?: number; active: boolean }
  | { op: 'putUser'; org: number; user: number; name: number; display?: number; active: boolean }
  | { op: 'patchUser'; org: number; user: number; display?: number; active?: boolean }
  | { op: 'deleteUser'; org: number; user: number }
  | { op: 'createGroup'; org: number; name: number; members: number[]; foreign: boolean }
  | { op: 'putGroup'; org: number; group: number; name: number; members: number[]; foreign: boolean }
  | { op: 'members'; org: number; group: number; action: 'add' | 'remove' | 'replace'; members: number[]; foreign: boolean }
  | { op: 'renameGroup'; org: number; group: number; name: number }
  | { op: 'deleteGroup'; org: number; group: number }
  | { op: 'read'; org: number; what: 'scimUser' | 'dirUser' | 'dirUserGroups' | 'dirMembers' | 'filter'; slot: number }

interface MUser { userName: string; displayName?: string; active: boolean }
interface MGroup { displayName: string; members: Set<string> }
interface MOrg { users: Map<string, MUser>; groups: Map<string, MGroup>; gone: string[] }
export interface Model { orgs: MOrg[] }
export interface Real {
  send: Send
  orgs: { id: string; token: string; key: string }[]
  /** Each resource's last seen ETag and content: a change of content must change the ETag (RFC 7644 §3.14). */
  seen: Map<string, { etag: string; content: string }>
}

const fold = (s: string) => s.toLowerCase()

export async function newWorld(deps: Deps, send: Send): Promise<{ model: Model; real: Real }> {
  const orgs = []
  for (let i = 0; i < ORGS; i++) {
    const o = await createOrg(deps, `model-${randomUUID()}`, [])
    const key = (await createApiKey(deps, { name: 'model', orgId: o.orgId, scopes: ['directory:read'], expiresAt: null })).key
    orgs.push({ id: o.orgId, token: o.token, key })
  }
  return { model: { orgs: Array.from({ length: ORGS }, () => ({ users: new Map(), groups: new Map(), gone: [] })) }, real: { send, orgs, seen: new Map() } }
}

const NOBODY = '01890000-0000-7000-8000-000000000000'

function slot(org: MOrg, kind: 'users' | 'groups', k: number): string {
  const ids = [...org[kind].keys()]
  if (k < ids.length) return ids[k] as string
  return org.gone[k % Math.max(1, org.gone.length)] ?? NOBODY
}

/** The member ids a step names: its own organization's users, or (foreign) also one of the next organization's. */
function memberIds(m: Model, s: { org: number; members: number[]; foreign: boolean }): { ids: string[]; allMine: boolean } {
  const org = m.orgs[s.org] as MOrg
  const ids = [...new Set(s.members.map((k) => slot(org, 'users', k)))]
  if (s.foreign) ids.push(slot(m.orgs[(s.org + 1) % ORGS] as MOrg, 'users', 0))
  return { ids, allMine: ids.every((id) => org.users.has(id)) }
}

function nameTaken(org: MOrg, kind: 'users' | 'groups', name: string, except?: string): boolean {
  for (const [id, r] of org[kind]) if (id !== except && fold('userName' in r ? r.userName : r.displayName) === fold(name)) return true
  return false
}

export class StepFailure extends Error {}

function expectStatus(step: Step, r: Answer, allowed: readonly number[]): void {
  if (!allowed.includes(r.status)) throw new StepFailure(`${JSON.stringify(step)}: expected ${allowed.join(' or ')}, got ${r.status} ${r.text.slice(0, 300)}`)
}

/** Runs one step against the server and the model, checking the answer against the model. */
export async function runStep(step: Step, m: Model, real: Real): Promise<void> {
  const org = m.orgs[step.org] as MOrg
  const { token } = real.orgs[step.org] as Real['orgs'][number]
  const send = (method: string, url: string, body?: unknown) => real.send(method, `/scim/v2${url}`, token, body)
  switch (step.op) {
    case 'createUser': {
      const userName = USER_NAMES[step.name] as string
      const displayName = step.display === undefined ? undefined : DISPLAY[step.display]
      const r = await send('POST', '/Users', { schemas: [USER], userName, active: step.active, ...(displayName === undefined ? {} : { displayName }) })
      if (nameTaken(org, 'users', userName)) return expectStatus(step, r, [409])
      expectStatus(step, r, [201])
      org.users.set(String(JSON.parse(r.text).id), { userName, active: step.active, ...(displayName === undefined ? {} : { displayName }) })
      return
    }
    case 'putUser': {
      const id = slot(org, 'users', step.user)
      const userName = USER_NAMES[step.name] as string
      const displayName = step.display === undefined ? undefined : DISPLAY[step.display]
      const r = await send('PUT', `/Users/${id}`, { schemas: [USER], userName, active: step.active, ...(displayName === undefined ? {} : { displayName }) })
      if (!org.users.has(id)) return expectStatus(step, r, [404])
      if (nameTaken(org, 'users', userName, id)) return expectStatus(step, r, [409])
      expectStatus(step, r, [200])
      org.users.set(id, { userName, active: step.active, ...(displayName === undefined ? {} : { displayName }) })
      return
    }
    case 'patchUser': {
      const id = slot(org, 'users', step.user)
      const ops = []
      if (step.display !== undefined) ops.push({ op: 'replace', path: 'displayName', value: DISPLAY[step.display] })
      if (step.active !== undefined) ops.push({ op: 'replace', path: 'active', value: step.active })
      if (ops.length === 0) ops.push({ op: 'remove', path: 'displayName' })
      const r = await send('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: ops })
      const u = org.users.get(id)
      if (!u) return expectStatus(step, r, [404])
      expectStatus(step, r, [200, 204])
      if (step.display !== undefined) {
        u.displayName = DISPLAY[step.display] as string
      }
      if (step.active !== undefined) u.active = step.active
      if (step.display === undefined && step.active === undefined) delete u.displayName
      return
    }
    case 'deleteUser': {
      const id = slot(org, 'users', step.user)
      const r = await send('DELETE', `/Users/${id}`)
      if (!org.users.has(id)) return expectStatus(step, r, [404])
      expectStatus(step, r, [204])
      org.users.delete(id)
      org.gone.push(id)
      for (const g of org.groups.values()) g.members.delete(id)
      return
    }
    case 'createGroup': {
      const displayName = GROUP_NAMES[step.name] as string
      const { ids, allMine } = memberIds(m, step)
      const r = await send('POST', '/Groups', { schemas: [GROUP], displayName, members: ids.map((value) => ({ value })) })
      const taken = nameTaken(org, 'groups', displayName)
      if (!allMine || taken) return expectStatus(step, r, [...(allMine ? [] : [400]), ...(taken ? [409] : [])])
      expectStatus(step, r, [201])
      org.groups.set(String(JSON.parse(r.text).id), { displayName, members: new Set(ids) })
      return
    }
    case 'putGroup': {
      const id = slot(org, 'groups', step.group)
      const displayName = GROUP_NAMES[step.name] as string
      const { ids, allMine } = memberIds(m, step)
      const r = await send('PUT', `/Groups/${id}`, { schemas: [GROUP], displayName, members: ids.map((value) => ({ value })) })
      if (!org.groups.has(id)) return expectStatus(step, r, [404])
      const taken = nameTaken(org, 'groups', displayName, id)
      if (!allMine || taken) return expectStatus(step, r, [...(allMine ? [] : [400]), ...(taken ? [409] : [])])
      expectStatus(step, r, [200])
      org.groups.set(id, { displayName, members: new Set(ids) })
      return
    }
    case 'members': {
      const id = slot(org, 'groups', step.group)
      const { ids, allMine } = memberIds(m, step)
      const r = await send('PATCH', `/Groups/${id}`, { schemas: [PATCH], Operations: [{ op: step.action, path: 'members', value: ids.map((value) => ({ value })) }] })
      const g = org.groups.get(id)
      if (!g) return expectStatus(step, r, [404])
      if (step.action === 'remove') {
        expectStatus(step, r, [204])
        for (const x of ids) g.members.delete(x)
        return
      }
      if (!allMine) return expectStatus(step, r, [400])
      expectStatus(step, r, [204])
      if (step.action === 'replace') g.members.clear()
      for (const x of ids) g.members.add(x)
      return
    }
    case 'renameGroup': {
      const id = slot(org, 'groups', step.group)
      const displayName = GROUP_NAMES[step.name] as string
      const r = await send('PATCH', `/Groups/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: displayName }] })
      const g = org.groups.get(id)
      if (!g) return expectStatus(step, r, [404])
      if (nameTaken(org, 'groups', displayName, id)) return expectStatus(step, r, [409])
      expectStatus(step, r, [204])
      g.displayName = displayName
      return
    }
    case 'deleteGroup': {
      const id = slot(org, 'groups', step.group)
      const r = await send('DELETE', `/Groups/${id}`)
      if (!org.groups.has(id)) return expectStatus(step, r, [404])
      expectStatus(step, r, [204])
      org.groups.delete(id)
      org.gone.push(id)
      return
    }
    case 'read':
      return read(step, m, real)
  }
}

function groupsOf(org: MOrg, userId: string): string[] {
  return [...org.groups].filter(([, g]) => g.members.has(userId)).map(([id]) => id).sort()
}

async function read(step: Extract<Step, { op: 'read' }>, m: Model, real: Real): Promise<void> {
  const org = m.orgs[step.org] as MOrg
  const o = real.orgs[step.org] as Real['orgs'][number]
  const fail = (want: unknown, got: unknown) => {
    throw new StepFailure(`${JSON.stringify(step)}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`)
  }
  const userId = slot(org, 'users', step.slot)
  const u = org.users.get(userId)
  switch (step.what) {
    case 'scimUser': {
      const r = await real.send('GET', `/scim/v2/Users/${userId}`, o.token)
      if (!u) return expectStatus(step, r, [404])
      const j = JSON.parse(r.text) as Record<string, unknown>
      const got = { userName: j.userName, displayName: j.displayName, active: j.active ?? true, groups: ((j.groups ?? []) as { value: string }[]).map((g) => g.value).sort() }
      const want = { userName: u.userName, displayName: u.displayName, active: u.active, groups: groupsOf(org, userId) }
      if (JSON.stringify(got) !== JSON.stringify(want)) fail(want, got)
      return
    }
    case 'dirUser': {
      const r = await real.send('GET', `/api/v1/orgs/${o.id}/users/${userId}`, o.key)
      if (!u) return expectStatus(step, r, [404])
      const j = JSON.parse(r.text) as Record<string, unknown>
      const got = { userName: j.userName, displayName: j.displayName ?? undefined, active: j.active }
      const want = { userName: u.userName, displayName: u.displayName, active: u.active }
      if (JSON.stringify(got) !== JSON.stringify(want)) fail(want, got)
      return
    }
    case 'dirUserGroups': {
      const r = await real.send('GET', `/api/v1/orgs/${o.id}/users/${userId}/groups?limit=1000`, o.key)
      if (!u) return expectStatus(step, r, [404])
      const got = (JSON.parse(r.text).data as { id: string }[]).map((g) => g.id).sort()
      const want = groupsOf(org, userId)
      if (JSON.stringify(got) !== JSON.stringify(want)) fail(want, got)
      return
    }
    case 'dirMembers': {
      const groupId = slot(org, 'groups', step.slot)
      const g = org.groups.get(groupId)
      const r = await real.send('GET', `/api/v1/orgs/${o.id}/groups/${groupId}/members?limit=1000`, o.key)
      if (!g) return expectStatus(step, r, [404])
      const got = (JSON.parse(r.text).data as { id: string }[]).map((x) => x.id).sort()
      const want = [...g.members].sort()
      if (JSON.stringify(got) !== JSON.stringify(want)) fail(want, got)
      return
    }
    case 'filter': {
      const name = USER_NAMES[step.slot % USER_NAMES.length] as string
      const r = await real.send('GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`, o.token)
      expectStatus(step, r, [200])
      const got = ((JSON.parse(r.text).Resources ?? []) as { id: string }[]).map((x) => x.id)
      const want = [...org.users].filter(([, x]) => fold(x.userName) === fold(name)).map(([id]) => id)
      if (JSON.stringify(got) !== JSON.stringify(want)) fail(want, got)
      return
    }
  }
}

/** The organization's whole state through SCIM lists and the directory API, against the model. */
export async function checkOrg(m: Model, real: Real, i: number, context: string): Promise<void> {
  const org = m.orgs[i] as MOrg
  const o = real.orgs[i] as Real['orgs'][number]
  const [users, groups, dirUsers, dirGroups] = await Promise.all([
    real.send('GET', '/scim/v2/Users?count=1000', o.token),
    real.send('GET', '/scim/v2/Groups?count=1000', o.token),
    real.send('GET', `/api/v1/orgs/${o.id}/users?limit=1000`, o.key),
    real.send('GET', `/api/v1/orgs/${o.id}/groups?limit=1000`, o.key),
  ])
  const byId = <T>(xs: [string, T][]) => xs.sort(([a], [b]) => (a < b ? -1 : 1))
  const gotUsers = byId(((JSON.parse(users.text).Resources ?? []) as Record<string, unknown>[]).map((u) => [String(u.id), { userName: u.userName, displayName: u.displayName, active: u.active ?? true, groups: ((u.groups ?? []) as { value: string }[]).map((g) => g.value).sort() }]))
  const wantUsers = byId([...org.users].map(([id, u]) => [id, { userName: u.userName, displayName: u.displayName, active: u.active, groups: groupsOf(org, id) }]))
  const gotGroups = byId(((JSON.parse(groups.text).Resources ?? []) as Record<string, unknown>[]).map((g) => [String(g.id), { displayName: g.displayName, members: ((g.members ?? []) as { value: string }[]).map((x) => x.value).sort() }]))
  const wantGroups = byId([...org.groups].map(([id, g]) => [id, { displayName: g.displayName, members: [...g.members].sort() }]))
  const gotDirUsers = byId((JSON.parse(dirUsers.text).data as Record<string, unknown>[]).map((u) => [String(u.id), { userName: u.userName, active: u.active }]))
  const wantDirUsers = byId([...org.users].map(([id, u]) => [id, { userName: u.userName, active: u.active }]))
  const gotDirGroups = byId((JSON.parse(dirGroups.text).data as Record<string, unknown>[]).map((g) => [String(g.id), { displayName: g.displayName, memberCount: g.memberCount }]))
  const wantDirGroups = byId([...org.groups].map(([id, g]) => [id, { displayName: g.displayName, memberCount: g.members.size }]))
  const pairs: [string, unknown, unknown][] = [['SCIM users', wantUsers, gotUsers], ['SCIM groups', wantGroups, gotGroups], ['directory users', wantDirUsers, gotDirUsers], ['directory groups', wantDirGroups, gotDirGroups]]
  // ETags: a representation whose content changed since it was last seen has a new version.
  for (const r of [...(JSON.parse(users.text).Resources ?? []), ...(JSON.parse(groups.text).Resources ?? [])] as Record<string, unknown>[]) {
    const { meta, ...rest } = r as { meta: { version: string }; members?: unknown; groups?: unknown }
    if (Array.isArray(rest.members)) rest.members = (rest.members as { value: string; display?: string }[]).map((x) => `${x.value} ${x.display ?? ''}`).sort()
    if (Array.isArray(rest.groups)) rest.groups = (rest.groups as { value: string; display: string }[]).map((x) => `${x.value} ${x.display}`).sort()
    const content = JSON.stringify(rest)
    const before = real.seen.get(String(r.id))
    if (before && before.content !== content && before.etag === meta.version) {
      throw new StepFailure(`${context}: ${String(r.id)} changed from ${before.content} to ${content} but kept its ETag ${meta.version}`)
    }
    real.seen.set(String(r.id), { etag: meta.version, content })
  }
  for (const [what, want, got] of pairs) {
    if (JSON.stringify(want) !== JSON.stringify(got)) throw new StepFailure(`${context}: organization ${i}'s ${what} differ from the model:\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`)
  }
}

/** A fast-check command wrapping a step: runs it, then checks the organization it touched. */
class StepCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly step: Step) {}
  check(): boolean {
    return true
  }
  async run(m: Model, real: Real): Promise<void> {
    await runStep(this.step, m, real)
    await checkOrg(m, real, this.step.org, JSON.stringify(this.step))
  }
  toString(): string {
    return JSON.stringify(this.step)
  }
}

export function command(step: Step): fc.AsyncCommand<Model, Real> {
  return new StepCommand(step)
}

const org = fc.nat({ max: ORGS - 1 })
const slotArb = fc.nat({ max: 5 })
const name = fc.nat({ max: USER_NAMES.length - 1 })
const gname = fc.nat({ max: GROUP_NAMES.length - 1 })
const display = fc.option(fc.nat({ max: DISPLAY.length - 1 }), { nil: undefined })
const members = fc.array(slotArb, { maxLength: 4 })
const foreign = fc.boolean()

/** Random steps, weighted towards writes that succeed. */
export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('createUser' as const), org, name, display, active: fc.boolean() }, { requiredKeys: ['op', 'org', 'name', 'active'] }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant('putUser' as const), org, user: slotArb, name, display, active: fc.boolean() }, { requiredKeys: ['op', 'org', 'user', 'name', 'active'] }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('patchUser' as const), org, user: slotArb, display, active: fc.option(fc.boolean(), { nil: undefined }) }, { requiredKeys: ['op', 'org', 'user'] }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('deleteUser' as const), org, user: slotArb }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('createGroup' as const), org, name: gname, members, foreign }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('putGroup' as const), org, group: slotArb, name: gname, members, foreign }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('members' as const), org, group: slotArb, action: fc.constantFrom('add' as const, 'remove' as const, 'replace' as const), members, foreign }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('renameGroup' as const), org, group: slotArb, name: gname }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('deleteGroup' as const), org, group: slotArb }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('read' as const), org, what: fc.constantFrom('scimUser' as const, 'dirUser' as const, 'dirUserGroups' as const, 'dirMembers' as const, 'filter' as const), slot: slotArb }), weight: 3 },
)
