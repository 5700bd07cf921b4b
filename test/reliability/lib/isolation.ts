// Tenant isolation probes (RFC 7644 §6.1: a client sees only its own tenant's resources).
// Two organizations share one server: "victim" B holds users, groups, events, a webhook and
// marker strings; "attacker" A holds a SCIM token and an API key with every scope. Each probe
// sends one of A's credentials at one endpoint with B's ids, names, filters, cursors, event ids
// or webhook ids, then the same request with look-alike values that belong to nobody. A probe
// fails when the answer holds any of B's strings that the request did not itself carry, or
// when the answer for B's value differs from the answer for nobody's (an existence oracle).
// After the probes B's own view of its data (SCIM lists, directory, events, webhooks, settings)
// must be byte-identical to before.
import { randomUUID } from 'node:crypto'
import { createApiKey } from '../../../src/provisioning/api-keys.ts'
import type { Deps } from '../../../src/provisioning/deps.ts'
import { createOrg } from '../../../src/provisioning/orgs.ts'
import { pick, type Rng } from '../../helpers/filter-fuzz.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'

export interface Answer { status: number; text: string; headers: Record<string, string | string[] | number | undefined> }
/** Sends one request with a bearer token (in-process inject or a socket). */
export type Send = (method: string, url: string, token: string, body?: unknown, headers?: Record<string, string>) => Promise<Answer>

/** What a probe aims at: B's values, or look-alikes that belong to nobody. */
export interface Target {
  orgId: string; orgName: string
  userId: string; userName: string; email: string; externalId: string
  groupId: string; groupName: string
  eventId: string; cursor: string; hookId: string
}

export interface Victim {
  readonly target: Target
  readonly users: Target[]
  /** Every string of B that must never reach A. */
  readonly secrets: string[]
  readonly token: string
  readonly key: string
}

export interface Attacker {
  readonly orgId: string
  readonly token: string
  readonly key: string
  readonly groupId: string
  readonly userId: string
}

async function ok(send: Send, method: string, url: string, token: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await send(method, url, token, body)
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${r.text}`)
  return r.text ? (JSON.parse(r.text) as Record<string, unknown>) : {}
}

/** Organization B with `n` users in two groups, their events, and a webhook; every value carries a marker. */
export async function makeVictim(deps: Deps, send: Send, n = 12): Promise<Victim> {
  const marker = `qzv${randomUUID().slice(0, 8)}`
  const orgName = `victim-${marker}`
  const org = await createOrg(deps, orgName, [])
  const key = (await createApiKey(deps, { name: 'victim', orgId: org.orgId, scopes: ['directory:read', 'directory:write', 'events:read', 'webhooks:manage', 'log:read', 'org:admin'], expiresAt: null })).key
  const users: { id: string; userName: string; email: string; externalId: string }[] = []
  for (let i = 0; i < n; i++) {
    const userName = `${marker}.user${i}@victim-${marker}.example`
    const email = `${marker}.mail${i}@victim-${marker}.example`
    const externalId = `${marker}-ext-${i}`
    const u = await ok(send, 'POST', '/scim/v2/Users', org.token, {
      schemas: [USER], userName, externalId, displayName: `Victim ${marker} ${i}`, title: `title-${marker}`,
      name: { givenName: `Given${marker}`, familyName: `Family${marker}` }, emails: [{ value: email, type: 'work', primary: true }],
    })
    users.push({ id: String(u.id), userName, email, externalId })
  }
  const groups: { id: string; name: string }[] = []
  for (const [i, slice] of [users.slice(0, n / 2), users.slice(n / 2)].entries()) {
    const name = `Victims ${marker} ${i}`
    const g = await ok(send, 'POST', '/scim/v2/Groups', org.token, { schemas: [GROUP], displayName: name, externalId: `${marker}-gext-${i}`, members: slice.map((u) => ({ value: u.id })) })
    groups.push({ id: String(g.id), name })
  }
  await ok(send, 'PATCH', `/scim/v2/Users/${users[0]?.id}`, org.token, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: `changed-${marker}` }] })
  const hook = await ok(send, 'POST', `/api/v1/orgs/${org.orgId}/webhooks`, key, { url: `https://hooks-${marker}.example.com/roster`, description: `hook ${marker}` })
  const feed = await ok(send, 'GET', `/api/v1/orgs/${org.orgId}/events?limit=1000`, key)
  const events = feed.data as { id: string }[]
  const cursor = String(feed.nextCursor)
  const targets = users.map((u, i): Target => {
    const g = groups[i % groups.length] as { id: string; name: string }
    return {
      orgId: org.orgId, orgName, userId: u.id, userName: u.userName, email: u.email, externalId: u.externalId,
      groupId: g.id, groupName: g.name, eventId: (events[i % events.length] as { id: string }).id, cursor, hookId: String(hook.id),
    }
  })
  const secrets = [
    marker, org.orgId, orgName, String(hook.id), String(hook.secret), cursor, org.token, key,
    ...users.flatMap((u) => [u.id, u.userName, u.email, u.externalId]), ...groups.flatMap((g) => [g.id, g.name]), ...events.map((e) => e.id),
  ]
  return { target: targets[0] as Target, users: targets, secrets, token: org.token, key }
}

/** Organization A: its own SCIM token, an API key with every scope, a user and a group of its own. */
export async function makeAttacker(deps: Deps, send: Send): Promise<Attacker> {
  const org = await createOrg(deps, `attacker-${randomUUID().slice(0, 8)}`, [])
  const key = (await createApiKey(deps, { name: 'attacker', orgId: org.orgId, scopes: ['directory:read', 'directory:write', 'events:read', 'webhooks:manage', 'log:read', 'org:admin'], expiresAt: null })).key
  const u = await ok(send, 'POST', '/scim/v2/Users', org.token, { schemas: [USER], userName: 'own@attacker.example' })
  const g = await ok(send, 'POST', '/scim/v2/Groups', org.token, { schemas: [GROUP], displayName: 'Own group', members: [{ value: u.id }] })
  return { orgId: org.orgId, token: org.token, key, groupId: String(g.id), userId: String(u.id) }
}

/** Look-alikes of `t` that belong to no organization: same shapes, fresh values. */
export function ghost(t: Target): Target {
  const m = `gh${randomUUID().slice(0, 8)}`
  return {
    orgId: randomUUID(), orgName: `victim-${m}`, userId: randomUUID(), userName: `${m}.user@victim-${m}.example`, email: `${m}.mail@victim-${m}.example`,
    externalId: `${m}-ext`, groupId: randomUUID(), groupName: `Victims ${m}`, eventId: randomUUID(), cursor: t.cursor, hookId: randomUUID(),
  }
}

export interface Probe { method: string; url: string; cred: 'token' | 'key'; body?: unknown; headers?: Record<string, string> }
type Make = (t: Target, a: Attacker, r: number) => Probe

const at = <T>(xs: readonly T[], r: number): T => xs[Math.floor(r * xs.length)] as T

const q = (s: string) => encodeURIComponent(s)
const scim = (method: string, url: string, body?: unknown, headers?: Record<string, string>): Probe => ({ method, url: `/scim/v2${url}`, cred: 'token', body, ...(headers ? { headers } : {}) })
const api = (method: string, url: string, body?: unknown): Probe => ({ method, url: `/api/v1${url}`, cred: 'key', body })
const patch = (...ops: unknown[]) => ({ schemas: [PATCH], Operations: ops })

/** SCIM filters naming B's values. */
const FILTERS: ((t: Target) => string)[] = [
  (t) => `userName eq "${t.userName}"`,
  (t) => `userName eq "${t.userName.toUpperCase()}"`,
  (t) => `emails.value eq "${t.email}"`,
  (t) => `emails[value co "${t.email.slice(0, 12)}"]`,
  (t) => `externalId eq "${t.externalId}"`,
  (t) => `id eq "${t.userId}"`,
  (t) => `userName sw "${t.userName.slice(0, 11)}" or id eq "${t.userId}"`,
  (t) => `displayName co "${t.userName.slice(0, 11)}"`,
  (t) => `groups.value eq "${t.groupId}"`,
  (t) => `not (userName eq "${t.userName}")`,
]
const GROUP_FILTERS: ((t: Target) => string)[] = [
  (t) => `displayName eq "${t.groupName}"`,
  (t) => `members.value eq "${t.userId}"`,
  (t) => `members[value eq "${t.userId}"]`,
  (t) => `id eq "${t.groupId}"`,
  (t) => `externalId sw "${t.externalId.slice(0, 11)}"`,
]

const PROBES: Make[] = [
  // SCIM with A's token, B's ids in the path.
  (t) => scim('GET', `/Users/${t.userId}`),
  (t) => scim('GET', `/Users/${t.userId}?attributes=userName,emails`),
  (t) => scim('GET', `/Users/${t.userId}`, undefined, { 'if-none-match': 'W/"2"' }),
  (t) => scim('GET', `/Groups/${t.groupId}`),
  (t) => scim('GET', `/Groups/${t.groupId}?excludedAttributes=members`),
  (t) => scim('PUT', `/Users/${t.userId}`, { schemas: [USER], userName: `taken-over-${t.userId}@attacker.example` }),
  (t) => scim('PUT', `/Users/${t.userId}`, { schemas: [USER], userName: t.userName, active: false }, { 'if-match': 'W/"1"' }),
  (t) => scim('PUT', `/Groups/${t.groupId}`, { schemas: [GROUP], displayName: `pwned ${t.groupId}`, members: [] }),
  (t) => scim('PATCH', `/Users/${t.userId}`, patch({ op: 'replace', path: 'active', value: false })),
  (t) => scim('PATCH', `/Users/${t.userId}`, patch({ op: 'add', path: 'emails', value: [{ value: 'evil@attacker.example' }] }), { 'if-match': 'W/"2"' }),
  (t) => scim('PATCH', `/Groups/${t.groupId}`, patch({ op: 'add', path: 'members', value: [{ value: t.userId }] })),
  (t) => scim('PATCH', `/Groups/${t.groupId}`, patch({ op: 'remove', path: `members[value eq "${t.userId}"]` })),
  (t) => scim('PATCH', `/Groups/${t.groupId}`, patch({ op: 'replace', path: 'displayName', value: 'pwned' })),
  (t) => scim('DELETE', `/Users/${t.userId}`),
  (t) => scim('DELETE', `/Groups/${t.groupId}`),
  // SCIM with A's token on A's own resources, naming B's members.
  (t, a) => scim('PATCH', `/Groups/${a.groupId}`, patch({ op: 'add', path: 'members', value: [{ value: t.userId }] })),
  (t, a) => scim('PATCH', `/Groups/${a.groupId}`, patch({ op: 'add', path: 'members', value: [{ value: t.groupId, type: 'Group' }] })),
  (t, a) => scim('PATCH', `/Groups/${a.groupId}`, patch({ op: 'replace', path: 'members', value: [{ value: a.userId }, { value: t.userId }] })),
  (t, a) => scim('PATCH', `/Groups/${a.groupId}?attributes=members`, patch({ op: 'remove', path: `members[value eq "${t.userId}"]` })),
  (t) => scim('POST', '/Groups', { schemas: [GROUP], displayName: `copy ${t.groupId}`, members: [{ value: t.userId }] }),
  (t, a) => scim('PUT', `/Groups/${a.groupId}`, { schemas: [GROUP], displayName: 'Own group', members: [{ value: a.userId }, { value: t.userId }] }),
  // SCIM lists and searches with B's values in filters.
  (t, _a, r) => scim('GET', `/Users?filter=${q(at(FILTERS, r)(t))}`),
  (t, _a, r) => scim('GET', `/Users?filter=${q(at(FILTERS, r)(t))}&count=0`),
  (t, _a, r) => scim('GET', `/Groups?filter=${q(at(GROUP_FILTERS, r)(t))}`),
  (t, _a, r) => scim('POST', '/Users/.search', { schemas: [SEARCH], filter: at(FILTERS, r)(t), count: 100 }),
  (t, _a, r) => scim('POST', '/Groups/.search', { schemas: [SEARCH], filter: at(GROUP_FILTERS, r)(t) }),
  (t, _a, r) => scim('POST', '/.search', { schemas: [SEARCH], filter: at(FILTERS, r)(t) }),
  (_t, _a, r) => scim('GET', `/Users?startIndex=${1 + Math.floor(r * 20)}&count=${Math.floor(r * 977) % 50}&sortBy=userName`),
  () => scim('GET', '/Groups?count=1000'),
  // The directory API with A's key, B's organization in the path (by id and by name).
  (t) => api('GET', `/orgs/${t.orgId}/users`),
  (t) => api('GET', `/orgs/${q(t.orgName)}/users/${t.userId}`),
  (t) => api('GET', `/orgs/${t.orgId}/users/by-user-name/${q(t.userName)}`),
  (t) => api('GET', `/orgs/${t.orgId}/users/by-external-id/${q(t.externalId)}`),
  (t) => api('GET', `/orgs/${t.orgId}/groups/${t.groupId}/members`),
  (t) => api('GET', `/orgs/${t.orgId}/events?after=${t.cursor}`),
  (t) => api('GET', `/orgs/${t.orgId}/webhooks/${t.hookId}`),
  (t) => api('DELETE', `/orgs/${t.orgId}/webhooks/${t.hookId}`),
  (t) => api('POST', `/orgs/${t.orgId}/webhooks/${t.hookId}/rotate-secret`),
  (t) => api('GET', `/orgs/${t.orgId}/provisioning-log`),
  (t) => api('GET', `/orgs/${t.orgId}/settings`),
  (t) => api('PATCH', `/orgs/${t.orgId}/settings`, { sendInvitations: false }),
  (t) => api('GET', `/orgs/${t.orgId}/audit`),
  (t) => api('PATCH', `/orgs/${t.orgId}/users/${t.userId}`, { metadata: { pwned: true } }),
  (t) => api('POST', `/orgs/${t.orgId}/users`, { userName: `x-${t.orgId}@attacker.example` }),
  (t) => api('GET', `/orgs/${t.orgId}/users/${t.userId}/invitation`),
  // The directory API with A's key on A's own organization, B's ids elsewhere.
  (t, a) => api('GET', `/orgs/${a.orgId}/users/${t.userId}`),
  (t, a) => api('GET', `/orgs/${a.orgId}/users/${t.userId}/groups`),
  (t, a) => api('GET', `/orgs/${a.orgId}/users/by-user-name/${q(t.userName)}`),
  (t, a) => api('GET', `/orgs/${a.orgId}/users/by-external-id/${q(t.externalId)}`),
  (t, a) => api('GET', `/orgs/${a.orgId}/groups/${t.groupId}`),
  (t, a) => api('GET', `/orgs/${a.orgId}/groups/${t.groupId}/members`),
  (t, a) => api('PATCH', `/orgs/${a.orgId}/users/${t.userId}`, { metadata: { pwned: true } }),
  (t, a) => api('GET', `/orgs/${a.orgId}/events?after=${t.cursor}&limit=1000`),
  (t, a) => api('GET', `/orgs/${a.orgId}/webhooks/${t.hookId}`),
  (t, a) => api('PATCH', `/orgs/${a.orgId}/webhooks/${t.hookId}`, { enabled: false }),
  (t, a) => api('DELETE', `/orgs/${a.orgId}/webhooks/${t.hookId}`),
  (t, a) => api('POST', `/orgs/${a.orgId}/webhooks/${t.hookId}/rotate-secret`),
  (t, a) => api('POST', `/orgs/${a.orgId}/webhooks/${t.hookId}/test`),
  (t, a) => api('GET', `/orgs/${a.orgId}/webhooks/${t.hookId}/attempts`),
  (t, a) => api('POST', `/orgs/${a.orgId}/webhooks/${t.hookId}/redeliver`, { eventId: t.eventId }),
  (t, a) => api('POST', `/orgs/${a.orgId}/webhooks/${t.hookId}/replay`, { after: t.cursor }),
  (t, a) => api('GET', `/orgs/${a.orgId}/provisioning-log?user=${t.userId}`),
  (t, a) => api('GET', `/orgs/${a.orgId}/users/${t.userId}/invitation`),
  (t, a) => api('POST', `/orgs/${a.orgId}/users/${t.userId}/invitation`),
  (t, a) => api('DELETE', `/orgs/${a.orgId}/users/${t.userId}/invitation`),
  (t, a) => api('GET', `/orgs/${a.orgId}/users?limit=100&cursor=${q(t.cursor)}`),
]

export interface ProbeStats { probes: number; leaks: string[]; oracles: string[]; statuses: Record<string, number> }

function strip(text: string, values: readonly string[]): string {
  let out = text
  for (const v of values) {
    for (const form of new Set([v, JSON.stringify(v).slice(1, -1), encodeURIComponent(v)])) if (form) out = out.split(form).join('<v>')
  }
  return out
}

function answerText(r: Answer): string {
  const h = ['location', 'etag', 'content-location', 'link'].map((k) => String(r.headers[k] ?? '')).join('\n')
  return `${h}\n${r.text}`
}

/** The part of an answer that must not depend on whether the target exists in B. */
function shape(r: Answer, used: readonly string[]): string {
  if (r.status < 300) {
    try {
      const j = JSON.parse(r.text) as Record<string, unknown>
      if (typeof j.totalResults === 'number') return `${r.status} total=${j.totalResults}`
      if (Array.isArray(j.data)) return `${r.status} data=${(j.data as unknown[]).length}`
    } catch {
      // not JSON
    }
    return String(r.status)
  }
  // Volatile bits (request ids) are numbers and uuids the request did not name.
  return `${r.status} ${strip(r.text, used).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')}`
}

/** Runs `count` random probes of A against B. */
export async function runProbes(send: Send, victim: Victim, attacker: Attacker, rng: Rng, count: number, onProgress?: (n: number) => void): Promise<ProbeStats> {
  const stats: ProbeStats = { probes: 0, leaks: [], oracles: [], statuses: {} }
  const lowered = victim.secrets.map((s) => s.toLowerCase())
  for (let i = 0; i < count; i++) {
    const real = pick(rng, victim.users)
    const fake = ghost(real)
    const make = pick(rng, PROBES)
    const r0 = rng()
    const answers: Answer[] = []
    for (const t of [real, fake]) {
      const p = make(t, attacker, r0)
      const token = p.cred === 'token' ? attacker.token : attacker.key
      const r = await send(p.method, p.url, token, p.body, p.headers)
      answers.push(r)
      const sent = `${p.url}\n${decodeURIComponent(p.url)}\n${JSON.stringify(p.body ?? '')}\n${JSON.stringify(p.headers ?? {})}`.toLowerCase()
      const text = answerText(r).toLowerCase()
      const leaked = lowered.filter((s) => text.includes(s) && !sent.includes(s))
      if (leaked.length > 0) {
        const where = leaked.map((s) => {
          const i = text.indexOf(s)
          return `${s} at …${answerText(r).slice(Math.max(0, i - 120), i + s.length + 40)}…`
        })
        stats.leaks.push(`${p.method} ${p.url} -> ${r.status}: ${where.join(' | ')}`)
      }
      if (r.status >= 500) stats.leaks.push(`${p.method} ${p.url} -> ${r.status} ${r.text.slice(0, 200)}`)
    }
    const [a, b] = answers as [Answer, Answer]
    const pa = make(real, attacker, r0)
    const usedReal = Object.values(real)
    const usedFake = Object.values(fake)
    if (shape(a, usedReal) !== shape(b, usedFake)) stats.oracles.push(`${pa.method} ${pa.url}: ${shape(a, usedReal).slice(0, 200)} | for nobody's: ${shape(b, usedFake).slice(0, 200)}`)
    stats.statuses[a.status] = (stats.statuses[a.status] ?? 0) + 1
    stats.probes++
    if (onProgress && stats.probes % 1000 === 0) onProgress(stats.probes)
  }
  return stats
}

/** B's own view of everything it holds, for a before/after comparison. */
export async function snapshot(send: Send, victim: Victim): Promise<string> {
  const org = victim.target.orgId
  const parts = await Promise.all([
    send('GET', '/scim/v2/Users?count=1000', victim.token),
    send('GET', '/scim/v2/Groups?count=1000', victim.token),
    send('GET', `/api/v1/orgs/${org}/users?limit=1000`, victim.key),
    send('GET', `/api/v1/orgs/${org}/groups?limit=1000`, victim.key),
    send('GET', `/api/v1/orgs/${org}/events?limit=1000`, victim.key),
    send('GET', `/api/v1/orgs/${org}/webhooks`, victim.key),
    send('GET', `/api/v1/orgs/${org}/settings`, victim.key),
  ])
  // The event page's cursor carries the time it was issued; the rest is the data itself.
  return parts.map((p) => `${p.status} ${p.text.replace(/"nextCursor":"[^"]*"/, '')}`).join('\n')
}
