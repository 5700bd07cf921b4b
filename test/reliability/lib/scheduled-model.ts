// The concurrent model-based test's model (docs/architecture.md DUR-11): one organization's users
// and groups, the SCIM operations a batch sends at once as plain JSON (so a counterexample prints
// as JSON and is kept in scheduled-model-regressions.json), each operation's request, and what
// one operation must answer and which events it must write when it takes effect at a given point
// of a linearization. The search for that point is linearize.ts; this file knows one step.
import fc from 'fast-check'
import { GROUP_NAMES, USER_NAMES } from './model.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const DISPLAY = ['Ann A', 'Zed']

/**
 * How an identity provider spells a PATCH. Entra ID: capitalised ops, `"False"` for false, member
 * removal by value list (Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM
 * endpoint in Microsoft Entra ID"). Okta: path-less `replace` of `{ active }` to deactivate, one
 * `members[value eq "…"]` remove per member ("Okta and SCIM Version 2.0", developer.okta.com).
 */
export type Style = 'entra' | 'okta'

/** One operation. Slots pick a resource that exists when the batch starts, or (past the end) one that was deleted or never existed. */
export type Op =
  | { op: 'createUser'; name: number; display?: number; active: boolean }
  | { op: 'putUser'; user: number; name: number; display?: number; active: boolean }
  | { op: 'patchUser'; user: number; style: Style; display?: number; active?: boolean }
  | { op: 'deleteUser'; user: number }
  | { op: 'createGroup'; name: number; members: number[] }
  | { op: 'members'; group: number; action: 'add' | 'remove'; style: Style; members: number[] }
  | { op: 'deleteGroup'; group: number }

export interface MUser { readonly userName: string; readonly displayName?: string; readonly active: boolean; readonly version: number }
export interface MGroup { readonly displayName: string; readonly members: readonly string[]; readonly version: number }
/** The organization as the model holds it; steps never change a state, they make the next one. */
export interface State {
  readonly users: ReadonlyMap<string, MUser>
  readonly groups: ReadonlyMap<string, MGroup>
  /** Ids deleted so far: slots past the live resources aim at them. */
  readonly gone: readonly string[]
}

export const EMPTY: State = { users: new Map(), groups: new Map(), gone: [] }

/** An operation with its slots resolved to ids at the start of its batch: the request it sends. */
export interface Call {
  readonly op: Op
  readonly method: 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  readonly path: string
  readonly body?: unknown
  /** The user or group it names (null for a create). */
  readonly target: string | null
  /** The users a group create or member PATCH names. */
  readonly members: readonly string[]
}

/** What the feed must hold for one effective change, per resource. */
export interface Ev { readonly type: string; readonly id: string; readonly version: number; readonly member?: string; readonly name?: string; readonly active?: boolean }

/**
 * Deliberate mistakes, to show that the checks can fail (the test is not vacuous); and
 * `strict`, which takes back the one allowance below.
 */
export type Flaw = 'caseSensitiveUserNames' | 'noMemberRemovedOnUserDelete' | 'strict'

const NOBODY = '01890000-0000-7000-8000-000000000000'
const fold = (s: string) => s.toLowerCase()

function slot(s: State, kind: 'users' | 'groups', k: number): string {
  const ids = [...s[kind].keys()]
  if (k < ids.length) return ids[k] as string
  return s.gone[k % Math.max(1, s.gone.length)] ?? NOBODY
}

function displayOf(k: number | undefined): string | undefined {
  return k === undefined ? undefined : DISPLAY[k]
}

/** The request `op` sends when its batch starts in state `s`. */
export function resolve(op: Op, s: State): Call {
  const none = { members: [] as string[] }
  switch (op.op) {
    case 'createUser':
      return { op, method: 'POST', path: '/Users', body: userBody(op), target: null, ...none }
    case 'putUser': {
      const id = slot(s, 'users', op.user)
      return { op, method: 'PUT', path: `/Users/${id}`, body: userBody(op), target: id, ...none }
    }
    case 'patchUser': {
      const id = slot(s, 'users', op.user)
      return { op, method: 'PATCH', path: `/Users/${id}`, body: { schemas: [PATCH], Operations: userPatch(op) }, target: id, ...none }
    }
    case 'deleteUser': {
      const id = slot(s, 'users', op.user)
      return { op, method: 'DELETE', path: `/Users/${id}`, target: id, ...none }
    }
    case 'createGroup': {
      const members = [...new Set(op.members.map((k) => slot(s, 'users', k)))]
      return { op, method: 'POST', path: '/Groups', body: { schemas: [GROUP], displayName: GROUP_NAMES[op.name], members: members.map((value) => ({ value })) }, target: null, members }
    }
    case 'members': {
      const id = slot(s, 'groups', op.group)
      const members = [...new Set(op.members.map((k) => slot(s, 'users', k)))]
      return { op, method: 'PATCH', path: `/Groups/${id}`, body: { schemas: [PATCH], Operations: memberPatch(op, members) }, target: id, members }
    }
    case 'deleteGroup': {
      const id = slot(s, 'groups', op.group)
      return { op, method: 'DELETE', path: `/Groups/${id}`, target: id, ...none }
    }
  }
}

function userBody(op: { name: number; display?: number; active: boolean }): Record<string, unknown> {
  const displayName = displayOf(op.display)
  return { schemas: [USER], userName: USER_NAMES[op.name], active: op.active, ...(displayName === undefined ? {} : { displayName }) }
}

function userPatch(op: Extract<Op, { op: 'patchUser' }>): Record<string, unknown>[] {
  const displayName = displayOf(op.display)
  if (displayName === undefined && op.active === undefined) return [{ op: op.style === 'entra' ? 'Remove' : 'remove', path: 'displayName' }]
  if (op.style === 'okta') return [{ op: 'replace', value: { ...(displayName === undefined ? {} : { displayName }), ...(op.active === undefined ? {} : { active: op.active }) } }]
  return [
    ...(displayName === undefined ? [] : [{ op: 'Replace', path: 'displayName', value: displayName }]),
    ...(op.active === undefined ? [] : [{ op: 'Replace', path: 'active', value: op.active ? 'True' : 'False' }]),
  ]
}

function memberPatch(op: Extract<Op, { op: 'members' }>, ids: readonly string[]): Record<string, unknown>[] {
  if (op.action === 'add') {
    return [op.style === 'entra' ? { op: 'Add', path: 'members', value: ids.map((value) => ({ value })) } : { op: 'add', path: 'members', value: ids.map((value) => ({ value, display: 'someone' })) }]
  }
  if (op.style === 'entra') return [{ op: 'Remove', path: 'members', value: ids.map((value) => ({ value })) }]
  return ids.map((value) => ({ op: 'remove', path: `members[value eq "${value}"]` }))
}

/** An answer as the checks read it. */
export interface Answer { readonly status: number; readonly json: Record<string, unknown>; readonly etag: string | undefined }

/** The leading number of a version (`W/"3"`, a user's `W/"3.k2f9"` with its groups' digest: render.ts). */
export function versionOf(tag: unknown): number | undefined {
  const m = typeof tag === 'string' ? /^W\/"(\d+)/.exec(tag) : null
  return m ? Number(m[1]) : undefined
}

/** A user as answers and GETs show it, and as the model says it must be. */
export function userView(id: string, u: MUser, s: State): Record<string, unknown> {
  const groups = [...s.groups].filter(([, g]) => g.members.includes(id)).map(([gid, g]) => `${gid} ${g.displayName}`).sort()
  return { id, userName: u.userName, displayName: u.displayName, active: u.active, version: u.version, groups }
}

export function seenUser(j: Record<string, unknown>): Record<string, unknown> {
  const groups = ((j.groups ?? []) as { value: string; display?: string }[]).map((g) => `${g.value} ${g.display ?? ''}`).sort()
  return { id: j.id, userName: j.userName, displayName: j.displayName, active: j.active ?? true, version: versionOf((j.meta as { version?: string } | undefined)?.version), groups }
}

export function groupView(id: string, g: MGroup): Record<string, unknown> {
  return { id, displayName: g.displayName, version: g.version, members: [...g.members].sort() }
}

export function seenGroup(j: Record<string, unknown>): Record<string, unknown> {
  return { id: j.id, displayName: j.displayName, version: versionOf((j.meta as { version?: string } | undefined)?.version), members: ((j.members ?? []) as { value: string }[]).map((m) => m.value).sort() }
}

/**
 * The membership a write's answer showed, when only a later state explains it: the allowance for
 * the known divergence (docs/reliability.md, "Concurrent model"). A write's answer reads the
 * membership back after its commit (src/http/scim/resources.ts), so a change committed meanwhile
 * shows in it: a member deleted from a group just created, or the groups of a user deleted
 * meanwhile (none). The order must reach a state with that membership after the write.
 */
export interface Later { readonly what: string; matches(s: State): boolean }

/** The outcome of one step: the next state and its events, or why the answer cannot come from this state. */
export type Step = { ok: true; next: State; events: Ev[]; later?: Later } | { ok: false; why: string }

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

function nameTaken(users: ReadonlyMap<string, { userName: string }>, name: string, except: string | null, flaws: ReadonlySet<Flaw>): boolean {
  const f = flaws.has('caseSensitiveUserNames') ? (x: string) => x : fold
  for (const [id, u] of users) if (id !== except && f(u.userName) === f(name)) return true
  return false
}

function groupNameTaken(groups: ReadonlyMap<string, MGroup>, name: string): boolean {
  for (const g of groups.values()) if (fold(g.displayName) === fold(name)) return true
  return false
}

/**
 * Whether an answer `shown` is the model's `want`: `{}` when it is, `{ later }` when only the
 * membership `key` differs and (unless strict) a later state with it may explain it, null if not.
 */
function shownLater(shown: Record<string, unknown>, want: Record<string, unknown>, key: 'groups' | 'members', flaws: ReadonlySet<Flaw>, matches: (s: State) => boolean): { later?: Later } | null {
  if (same(shown, want)) return {}
  if (flaws.has('strict') || !same({ ...shown, [key]: [] }, { ...want, [key]: [] })) return null
  return { later: { what: `${String(want.id)} shown with ${key} ${JSON.stringify(shown[key])}`, matches } }
}

function status(a: Answer, want: number, scimType?: string): string | null {
  if (a.status !== want) return `answered ${a.status}, the model says ${want}${scimType ? ` ${scimType}` : ''}`
  if (scimType && a.json.scimType !== scimType) return `answered ${a.status} with scimType ${String(a.json.scimType)}, the model says ${scimType}`
  return null
}

/**
 * `call` taking effect in state `s`, given what it answered: the next state and the events it
 * wrote, or why this answer cannot be `call`'s in `s`.
 */
export function step(s: State, call: Call, a: Answer, flaws: ReadonlySet<Flaw> = new Set()): Step {
  const fail = (why: string): Step => ({ ok: false, why })
  const op = call.op
  const id = call.target ?? ''
  switch (op.op) {
    case 'createUser': {
      const userName = USER_NAMES[op.name] as string
      if (nameTaken(s.users, userName, null, flaws)) return status(a, 409, 'uniqueness') === null ? { ok: true, next: s, events: [] } : fail(status(a, 409, 'uniqueness') as string)
      const bad = status(a, 201)
      if (bad) return fail(bad)
      const nid = String(a.json.id)
      if (s.users.has(nid) || s.gone.includes(nid)) return fail(`answered 201 with an id already used: ${nid}`)
      const u: MUser = { userName, active: op.active, version: 1, ...(op.display === undefined ? {} : { displayName: displayOf(op.display) as string }) }
      const next = { ...s, users: new Map(s.users).set(nid, u) }
      if (!same(seenUser(a.json), userView(nid, u, next))) return fail(`answered ${JSON.stringify(seenUser(a.json))}, the model says ${JSON.stringify(userView(nid, u, next))}`)
      return { ok: true, next, events: [{ type: 'user.created', id: nid, version: 1, name: userName, active: op.active }] }
    }
    case 'putUser':
    case 'patchUser': {
      const cur = s.users.get(id)
      if (!cur) return status(a, 404) === null ? { ok: true, next: s, events: [] } : fail(status(a, 404) as string)
      let want: Omit<MUser, 'version'>
      if (op.op === 'putUser') {
        const userName = USER_NAMES[op.name] as string
        if (nameTaken(s.users, userName, id, flaws)) return status(a, 409, 'uniqueness') === null ? { ok: true, next: s, events: [] } : fail(status(a, 409, 'uniqueness') as string)
        want = { userName, active: op.active, ...(op.display === undefined ? {} : { displayName: displayOf(op.display) as string }) }
      } else {
        const displayName = op.display === undefined && op.active === undefined ? undefined : op.display === undefined ? cur.displayName : displayOf(op.display)
        want = { userName: cur.userName, active: op.active ?? cur.active, ...(displayName === undefined ? {} : { displayName }) }
      }
      const bad = status(a, 200)
      if (bad) return fail(bad)
      // A write that changes nothing writes nothing: no new version, no event (users.ts, modifyUser).
      const changed = want.userName !== cur.userName || want.displayName !== cur.displayName || want.active !== cur.active
      const u: MUser = changed ? { ...want, version: cur.version + 1 } : cur
      const next = changed ? { ...s, users: new Map(s.users).set(id, u) } : s
      const shown = seenUser(a.json)
      const later = shownLater(shown, userView(id, u, next), 'groups', flaws, (x) => {
        const v = x.users.get(id)
        return v ? same(userView(id, v, x).groups, shown.groups) : (shown.groups as string[]).length === 0
      })
      if (later === null) return fail(`answered ${JSON.stringify(shown)}, the model says ${JSON.stringify(userView(id, u, next))}`)
      if (!changed) return { ok: true, next, events: [], ...later }
      const events: Ev[] = [{ type: 'user.updated', id, version: u.version, name: u.userName, active: u.active }]
      if (cur.active && !u.active) events.push({ type: 'user.deactivated', id, version: u.version, name: u.userName, active: false })
      if (!cur.active && u.active) events.push({ type: 'user.reactivated', id, version: u.version, name: u.userName, active: true })
      return { ok: true, next, events, ...later }
    }
    case 'deleteUser': {
      const cur = s.users.get(id)
      if (!cur) return status(a, 404) === null ? { ok: true, next: s, events: [] } : fail(status(a, 404) as string)
      const bad = status(a, 204)
      if (bad) return fail(bad)
      // The user leaves every group; each moves to a new version and says so (docs/events.md).
      const users = new Map(s.users)
      users.delete(id)
      const groups = new Map(s.groups)
      const events: Ev[] = [{ type: 'user.deleted', id, version: cur.version, name: cur.userName, active: cur.active }]
      for (const [gid, g] of s.groups) {
        if (!g.members.includes(id)) continue
        groups.set(gid, { ...g, members: g.members.filter((m) => m !== id), version: g.version + 1 })
        if (!flaws.has('noMemberRemovedOnUserDelete')) events.push({ type: 'group.member_removed', id: gid, version: g.version + 1, member: id, name: g.displayName })
      }
      return { ok: true, next: { users, groups, gone: [...s.gone, id] }, events }
    }
    case 'createGroup': {
      const displayName = GROUP_NAMES[op.name] as string
      // The group's row is inserted before its members are looked up (groups.ts): a taken name wins.
      if (groupNameTaken(s.groups, displayName)) return status(a, 409, 'uniqueness') === null ? { ok: true, next: s, events: [] } : fail(status(a, 409, 'uniqueness') as string)
      if (!call.members.every((m) => s.users.has(m))) return status(a, 400, 'invalidValue') === null ? { ok: true, next: s, events: [] } : fail(status(a, 400, 'invalidValue') as string)
      const bad = status(a, 201)
      if (bad) return fail(bad)
      const gid = String(a.json.id)
      if (s.groups.has(gid) || s.gone.includes(gid)) return fail(`answered 201 with an id already used: ${gid}`)
      const g: MGroup = { displayName, members: [...call.members], version: 1 }
      const shown = seenGroup(a.json)
      const later = shownLater(shown, groupView(gid, g), 'members', flaws, (x) => {
        const h = x.groups.get(gid)
        return h ? same([...h.members].sort(), shown.members) : (shown.members as string[]).length === 0
      })
      if (later === null) return fail(`answered ${JSON.stringify(shown)}, the model says ${JSON.stringify(groupView(gid, g))}`)
      const events: Ev[] = [{ type: 'group.created', id: gid, version: 1, name: displayName }, ...call.members.map((m) => ({ type: 'group.member_added', id: gid, version: 1, member: m, name: displayName }))]
      return { ok: true, next: { ...s, groups: new Map(s.groups).set(gid, g) }, events, ...later }
    }
    case 'members': {
      const cur = s.groups.get(id)
      if (!cur) return status(a, 404) === null ? { ok: true, next: s, events: [] } : fail(status(a, 404) as string)
      if (op.action === 'add' && !call.members.every((m) => s.users.has(m))) return status(a, 400, 'invalidValue') === null ? { ok: true, next: s, events: [] } : fail(status(a, 400, 'invalidValue') as string)
      const bad = status(a, 204)
      if (bad) return fail(bad)
      const moved = op.action === 'add' ? call.members.filter((m) => !cur.members.includes(m)) : call.members.filter((m) => cur.members.includes(m))
      const g: MGroup = moved.length === 0 ? cur : {
        ...cur, version: cur.version + 1,
        members: op.action === 'add' ? [...cur.members, ...moved] : cur.members.filter((m) => !moved.includes(m)),
      }
      if (versionOf(a.etag) !== g.version) return fail(`answered ETag ${String(a.etag)}, the model says version ${g.version}`)
      const type = op.action === 'add' ? 'group.member_added' : 'group.member_removed'
      return { ok: true, next: { ...s, groups: new Map(s.groups).set(id, g) }, events: moved.map((m) => ({ type, id, version: g.version, member: m, name: g.displayName })) }
    }
    case 'deleteGroup': {
      const cur = s.groups.get(id)
      if (!cur) return status(a, 404) === null ? { ok: true, next: s, events: [] } : fail(status(a, 404) as string)
      const bad = status(a, 204)
      if (bad) return fail(bad)
      const groups = new Map(s.groups)
      groups.delete(id)
      return { ok: true, next: { ...s, groups, gone: [...s.gone, id] }, events: [{ type: 'group.deleted', id, version: cur.version, name: cur.displayName }] }
    }
  }
}

const nameArb = fc.nat({ max: USER_NAMES.length - 1 })
const groupNameArb = fc.nat({ max: GROUP_NAMES.length - 1 })
// Few slots, so that the operations of a batch aim at the same users and groups.
const slotArb = fc.nat({ max: 3 })
const displayArb = fc.option(fc.nat({ max: DISPLAY.length - 1 }), { nil: undefined })
const styleArb = fc.constantFrom<Style>('entra', 'okta')
const membersArb = fc.uniqueArray(slotArb, { minLength: 1, maxLength: 3 })

/** Random operations, weighted towards creates and member changes, which collide most. */
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('createUser' as const), name: nameArb, display: displayArb, active: fc.boolean() }, { requiredKeys: ['op', 'name', 'active'] }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant('putUser' as const), user: slotArb, name: nameArb, display: displayArb, active: fc.boolean() }, { requiredKeys: ['op', 'user', 'name', 'active'] }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('patchUser' as const), user: slotArb, style: styleArb, display: displayArb, active: fc.option(fc.boolean(), { nil: undefined }) }, { requiredKeys: ['op', 'user', 'style'] }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('deleteUser' as const), user: slotArb }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('createGroup' as const), name: groupNameArb, members: membersArb }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('members' as const), group: fc.nat({ max: 2 }), action: fc.constantFrom('add' as const, 'remove' as const), style: styleArb, members: membersArb }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant('deleteGroup' as const), group: fc.nat({ max: 2 }) }), weight: 1 },
)

/** A batch: 2 to 6 operations sent at once (orders of 6 are 720, cheap to enumerate). */
export const batchArb = fc.array(opArb, { minLength: 2, maxLength: 6 })
