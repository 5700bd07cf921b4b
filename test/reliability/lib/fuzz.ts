// Filter and PATCH fuzzing (RFC 7644 §3.4.2.2 filters, §3.5.2 PATCH). Inputs come from the
// filter grammar (test/helpers/filter-fuzz.ts) over seeded resources, from byte, Unicode, quote
// and SQL-fragment mutations of grammar filters, from deep nesting, and from a PATCH grammar
// (ops, paths with value filters, values of every JSON type). Each input is first run in
// process: the parser, the reference evaluator (scim/filter/evaluate.ts), PATCH normalisation
// and application must either accept it or throw a ScimError with a 4xx; anything else is a
// crash. Accepted filters then go through the HTTP app on each store, whose ids must equal the
// evaluator's; refused ones must be refused alike. A sample of PATCH bodies goes through HTTP
// too: never a 5xx, and a refused PATCH leaves the resource as it was.
import { rewriteListQuery, rewritePatch } from '../../../src/scim/compat/rewrite.ts'
import { ScimError } from '../../../src/scim/errors.ts'
import type { Filter } from '../../../src/scim/filter/ast.ts'
import { compileFilter } from '../../../src/scim/filter/evaluate.ts'
import { parseFilter } from '../../../src/scim/filter/parser.ts'
import { applyPatch } from '../../../src/scim/patch/apply.ts'
import { normalizePatch } from '../../../src/scim/patch/normalize.ts'
import { groupResource, userResource, type ResourceSchema } from '../../../src/scim/schema/registry.ts'
import { orderable, pick, randomFilter, randomString, type AttrSpec, type Grammar, type Rng } from '../../helpers/filter-fuzz.ts'
import type { Send } from './isolation.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const PATCHOP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'

// Stored values avoid "İ" and a word-final "Σ" outside userName: PostgreSQL's lower() folds
// them apart from JavaScript's (a known defect fixed elsewhere; the literals still carry them).
const NAMES = ['alice@example.com', 'ALICE.b@Example.com', 'Ａｌｉｃｅ．fw@example.com', 'émile@example.fr', 'zoë@example.com', 'zoe\u0308.nfd@example.com',
  '100%_off\\@example.com', 'under_score@example.com', 'quote"me@example.com', 'straße@example.de', 'strasse@example.de', "o'brien@example.com",
  'x', 'X_', '%', '_', '\\', 'a b c', 'emoji😀@example.com', 'ﬀ@example.com', '\uE000p@example.com', '𝐁old@example.com', "'; drop table users; --", 'or 1=1']
const TITLES = ['Engineer', 'ENGINEER', '', undefined, '100%', '50_50', 'C:\\dir', 'Café', 'cafe\u0301', '😀 lead', "it's", 'a"b']
const DEPTS = [undefined, 'Eng', 'eng', 'R&D_%', 'Ｓａｌｅｓ', '']

export function seedUserBodies(): Record<string, unknown>[] {
  return NAMES.map((userName, i) => {
    const b: Record<string, unknown> = { schemas: [USER, ENT], userName, active: i % 3 !== 0 }
    const title = TITLES[i % TITLES.length]
    if (title !== undefined) b.title = title
    if (i % 4 !== 1) b.displayName = `${TITLES[(i * 5) % TITLES.length] ?? 'n'} ${i}`
    if (i % 2 === 0) b.externalId = i % 4 === 0 ? `EXT-${i}` : `ext_${i}%`
    if (i % 5 !== 4) b.emails = [{ value: `m${i}@x.com`, type: i % 2 ? 'work' : 'home', primary: i % 3 === 0 }, ...(i % 3 === 1 ? [{ value: `M${i}@Y.org`, type: 'Work' }] : [])]
    if (i % 3 === 2) b.name = { givenName: i % 2 ? 'Ada' : 'ÉLODIE', familyName: 'Love_lace%' }
    const dept = DEPTS[i % DEPTS.length]
    if (dept !== undefined) b[ENT] = { department: dept, employeeNumber: String(i * 7), ...(i % 4 === 0 ? { manager: { value: `mgr-${i % 3}` } } : {}) }
    return b
  })
}

/** Strings found at `get` in the rendered resources, for literals. */
function poolOf(rs: readonly Record<string, unknown>[], get: (r: Record<string, unknown>) => unknown): string[] {
  const out = new Set<string>()
  const add = (v: unknown) => {
    if (typeof v === 'string') out.add(v)
    else if (Array.isArray(v)) v.forEach(add)
  }
  rs.forEach((r) => add(get(r)))
  return [...out]
}
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {})
const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map(obj) : [])

export function grammars(users: readonly Record<string, unknown>[], groups: readonly Record<string, unknown>[]): { user: Grammar; group: Grammar } {
  const p = (get: (r: Record<string, unknown>) => unknown) => poolOf(users, get)
  const dates = [...p((r) => obj(r.meta).created), '2000-01-01T00:00:00Z', '2999-01-01T00:00:00.000Z']
  const userAttrs: AttrSpec[] = [
    { names: ['userName', 'USERNAME', `${USER}:userName`], kind: 'string', pool: p((r) => r.userName) },
    { names: ['displayName'], kind: 'string', pool: p((r) => r.displayName) },
    { names: ['title'], kind: 'string', pool: p((r) => r.title) },
    { names: ['externalId'], kind: 'string', pool: p((r) => r.externalId) },
    { names: ['id'], kind: 'string', pool: p((r) => r.id) },
    { names: ['active'], kind: 'boolean', pool: [] },
    { names: ['name.givenName', 'name.familyName'], kind: 'string', pool: p((r) => [obj(r.name).givenName, obj(r.name).familyName]) },
    { names: ['emails', 'emails.value'], kind: 'multi', pool: p((r) => list(r.emails).map((e) => e.value)) },
    { names: ['emails.type'], kind: 'string', pool: p((r) => list(r.emails).map((e) => e.type)) },
    { names: ['emails.primary'], kind: 'boolean', pool: [] },
    { names: [`${ENT}:department`, `${ENT}:employeeNumber`], kind: 'string', pool: p((r) => [obj(r[ENT]).department, obj(r[ENT]).employeeNumber]) },
    { names: [`${ENT}:manager.value`], kind: 'string', pool: p((r) => obj(obj(r[ENT]).manager).value) },
    { names: ['meta.created', 'meta.lastModified'], kind: 'dateTime', pool: [] },
    { names: ['name'], kind: 'complex', pool: ['Ada'] },
    { names: ['groups.value', 'groups'], kind: 'multi', pool: poolOf(groups, (g) => g.id) },
  ]
  const emailSubs = [
    { name: 'value', kind: 'string' as const, pool: p((r) => list(r.emails).map((e) => e.value)) },
    { name: 'type', kind: 'string' as const, pool: ['work', 'home', 'Work'] },
    { name: 'primary', kind: 'boolean' as const, pool: [] },
  ]
  const gp = (get: (r: Record<string, unknown>) => unknown) => poolOf(groups, get)
  const groupAttrs: AttrSpec[] = [
    { names: ['displayName', 'DISPLAYNAME', `${GROUP}:displayName`], kind: 'string', pool: gp((r) => r.displayName) },
    { names: ['externalId'], kind: 'string', pool: gp((r) => r.externalId) },
    { names: ['id'], kind: 'string', pool: gp((r) => r.id) },
    { names: ['members', 'members.value'], kind: 'multi', pool: gp((r) => list(r.members).map((m) => m.value)) },
    { names: ['meta.created'], kind: 'dateTime', pool: [] },
  ]
  return {
    user: { attrs: userAttrs, valuePaths: [{ name: 'emails', subs: emailSubs }], dates, invalid: ['nickname.x', 'password', 'emails.nope', 'urn:x:y', 'meta.bogus'] },
    group: { attrs: groupAttrs, valuePaths: [{ name: 'members', subs: [{ name: 'value', kind: 'string', pool: gp((r) => list(r.members).map((m) => m.value)) }, { name: 'type', kind: 'string', pool: ['User', 'Group'] }] }], dates, invalid: ['members.bogus', 'userName'] },
  }
}

/** Pieces a mutation inserts: quotes, brackets, escapes, SQL fragments, control and astral characters. */
const NASTY = ['"', '(', ')', '[', ']', '\\', "'", ' ', ';', '--', '/*', '*/', "' OR 1=1 --", '" or "1"="1', '%', '_', '\u0001', '\ud800', '\udfff', '😀',
  'İ', 'ß', 'Σ', '\u200b', '\n', '\t', ' eq ', ' and ', ' or ', 'not ', '.', ':', '$ref', 'urn:ietf:params:scim:schemas:core:2.0:User:', '1e999', '-0', 'null',
  'true', '""', '\\u0041', '\\"', 'pr', ' gt ', 'emails[', ']', '${7*7}', '{{7*7}}', '\u00ad', '\uFEFF', 'ǅ', 'ﬃ', 'Ⅻ']

function mutate(rng: Rng, s: string): string {
  let out = s
  const n = 1 + Math.floor(rng() * 3)
  for (let k = 0; k < n; k++) {
    const i = Math.floor(rng() * (out.length + 1))
    const r = rng()
    if (r < 0.3) out = out.slice(0, i) + pick(rng, NASTY) + out.slice(i)
    else if (r < 0.5) out = out.slice(0, i) + out.slice(i + 1 + Math.floor(rng() * 3))
    else if (r < 0.6) out = out.slice(0, i)
    else if (r < 0.7) out = out.slice(0, i) + out.slice(Math.max(0, i - 5), i) + out.slice(i)
    else if (r < 0.8) out = out.slice(0, i) + String.fromCharCode(Math.floor(rng() * 0x10000)) + out.slice(i + 1)
    else if (r < 0.9) out = out.replace(/ (eq|ne|co|sw|ew|gt|ge|lt|le|and|or) /, ` ${pick(rng, ['eq', 'EQ', 'Eq', 'eqq', 'like', '=', 'and', 'or', 'pr', ''])} `)
    else out = out.toUpperCase()
  }
  return out
}

function nested(rng: Rng): string {
  const depth = pick(rng, [5, 31, 32, 33, 64, 200, 1_000, 5_000])
  const r = rng()
  if (r < 0.3) return `${'('.repeat(depth)}userName pr${')'.repeat(depth)}`
  if (r < 0.6) return `${'not ('.repeat(depth)}active eq true${')'.repeat(depth)}`
  if (r < 0.8) return Array.from({ length: depth }, (_, i) => `userName eq "u${i}"`).join(' or ')
  return `${'emails['.repeat(Math.min(depth, 50))}value pr${']'.repeat(Math.min(depth, 50))}`
}

/** One filter input: from the grammar, a mutation of it, deep nesting, or noise. */
export function filterInput(rng: Rng, g: Grammar): string {
  const r = rng()
  if (r < 0.55) return randomFilter(rng, g)
  if (r < 0.9) return mutate(rng, randomFilter(rng, g, 0, 2))
  if (r < 0.95) return nested(rng)
  return Array.from({ length: 1 + Math.floor(rng() * 6) }, () => (rng() < 0.5 ? pick(rng, NASTY) : randomString(rng, 6))).join('')
}

const PATCH_PATHS_USER = ['displayName', 'title', 'active', 'userName', 'name.givenName', 'name', 'emails', 'emails.value', 'emails[type eq "work"]', 'emails[type eq "work"].value',
  'emails[primary eq true].type', 'emails[value co "@"]', 'phoneNumbers', 'phoneNumbers[type eq "mobile"].value', 'addresses[type eq "work"].locality', `${ENT}:department`,
  `${ENT}:manager`, `${ENT}:manager.value`, 'externalId', 'nickName', 'password', 'id', 'meta.created', 'groups', 'roles', 'x509Certificates', 'urn:bogus:x', 'emails[', 'emails[type eq]', '']
const PATCH_PATHS_GROUP = ['displayName', 'externalId', 'members', 'members[value eq "USER"]', 'members[type eq "User"]', 'members.value', 'members[value pr]', 'id', 'meta', 'members[', '']

function value(rng: Rng, ids: readonly string[], depth = 0): unknown {
  const r = rng()
  if (r < 0.25) return rng() < 0.7 ? randomString(rng, 8) : mutate(rng, pick(rng, NAMES))
  if (r < 0.35) return pick(rng, [true, false, 'True', 'False', 'true', 0, 1, -1, 1e308, 2 ** 53, 0.5, null])
  if (r < 0.5 && ids.length > 0) return pick(rng, ids)
  if (r < 0.75 && depth < 3) return Array.from({ length: Math.floor(rng() * 4) }, () => ({ value: rng() < 0.6 && ids.length > 0 ? pick(rng, ids) : value(rng, ids, depth + 1), ...(rng() < 0.5 ? { type: pick(rng, ['work', 'home', 'User', 'Group', 1]) } : {}), ...(rng() < 0.2 ? { primary: rng() < 0.5 } : {}) }))
  if (depth < 3) {
    const o: Record<string, unknown> = {}
    // Defined, not assigned: `o.__proto__ = v` sets the object's prototype, which JSON.stringify
    // then leaves out, so no `__proto__` key was ever sent. JSON.parse makes such a key an own
    // property, as defineProperty does here.
    for (let i = Math.floor(rng() * 4); i > 0; i--) {
      const key = pick(rng, ['displayName', 'title', 'active', 'emails', 'name', 'givenName', 'members', 'value', 'externalId', '__proto__', 'constructor', 'prototype', ENT, 'bogus'])
      Object.defineProperty(o, key, { value: value(rng, ids, depth + 1), enumerable: true, writable: true, configurable: true })
    }
    return o
  }
  return null
}

/** A body as raw JSON text, for what JSON.stringify cannot write. */
export interface RawBody {
  readonly name: string
  readonly text: string
}

const POLLUTE = '{"polluted":"yes"}'

/**
 * Raw JSON texts around a valid body (its members as JSON text, `{` and `}` left out): prototype
 * keys at the top and nested (in an object and in an array), `duplicate.key` again with another
 * value after the body's own, a 400-digit
 * number, a lone surrogate escape, 10^5 nested arrays and 10^5 keys. JSON.stringify drops a
 * `__proto__` set by assignment and cannot write a duplicate key, so these are written as text.
 */
export function hostileBodies(members: string, duplicate: { readonly key: string; readonly value: string }): RawBody[] {
  const wrap = (extra: string) => `{${members},${extra}}`
  const digits = `1${'0'.repeat(399)}`
  return [
    { name: '__proto__ at the top', text: `{"__proto__":${POLLUTE},${members}}` },
    { name: '__proto__ nested', text: wrap(`"x":{"y":{"__proto__":${POLLUTE}}}`) },
    { name: '__proto__ in an array', text: wrap(`"x":[{"__proto__":${POLLUTE}}]`) },
    { name: 'constructor.prototype at the top', text: `{"constructor":{"prototype":${POLLUTE}},${members}}` },
    { name: 'constructor.prototype nested', text: wrap(`"x":[{"constructor":{"prototype":${POLLUTE}}}]`) },
    { name: 'constructor alone', text: wrap(`"constructor":"x"`) },
    { name: 'prototype', text: wrap(`"prototype":${POLLUTE}`) },
    { name: `duplicate ${duplicate.key}`, text: wrap(`"${duplicate.key}":${JSON.stringify(duplicate.value)}`) },
    { name: '400-digit number', text: wrap(`"x":${digits}`) },
    { name: '400-digit number in the value', text: `{${members.replace(/"([^"]+)":"[^"]*"/, `"$1":${digits}`)}}` },
    { name: 'lone surrogate', text: `{${members.replace(/"([^"]+)":"([^"]*)"/, '"$1":"$2\\ud800"')}}` },
    { name: '10^5 nested [', text: `${'['.repeat(100_000)}${']'.repeat(100_000)}` },
    { name: '10^5 nested [ in a value', text: wrap(`"x":${'['.repeat(100_000)}${']'.repeat(100_000)}`) },
    { name: '10^5 keys', text: wrap(Array.from({ length: 100_000 }, (_, i) => `"${i.toString(36)}":0`).join(',')) },
  ]
}

/** Operations a well-behaved identity provider sends (RFC 7644 §3.5.2.1–3). */
const WELL_FORMED_USER: ((rng: Rng) => Record<string, unknown>)[] = [
  (rng) => ({ op: 'replace', path: 'displayName', value: randomString(rng, 8) || 'x' }),
  (rng) => ({ op: 'replace', path: 'title', value: mutate(rng, 'Engineer') }),
  (rng) => ({ op: pick(rng, ['replace', 'Replace']), path: 'active', value: pick(rng, [true, false, 'False', 'True']) }),
  (rng) => ({ op: 'add', path: 'emails', value: [{ value: `${randomString(rng, 4)}@x.com`, type: pick(rng, ['work', 'home']) }] }),
  (rng) => ({ op: 'replace', path: 'emails[type eq "work"].value', value: `${randomString(rng, 4)}@w.com` }),
  () => ({ op: 'remove', path: 'phoneNumbers' }),
  (rng) => ({ op: 'replace', path: 'name.givenName', value: randomString(rng, 6) }),
  (rng) => ({ op: 'add', path: `${ENT}:department`, value: randomString(rng, 6) }),
  (rng) => ({ op: 'replace', value: { displayName: randomString(rng, 6) || 'y', title: randomString(rng, 3) } }),
  () => ({ op: 'remove', path: 'title' }),
  (rng) => ({ op: 'replace', path: 'externalId', value: randomString(rng, 6) }),
]

function wellFormedGroup(rng: Rng, ids: readonly string[]): Record<string, unknown> {
  const some = () => Array.from({ length: 1 + Math.floor(rng() * 3) }, () => ({ value: pick(rng, ids) }))
  switch (Math.floor(rng() * 4)) {
    case 0:
      return { op: 'add', path: 'members', value: some() }
    case 1:
      return { op: 'remove', path: `members[value eq "${pick(rng, ids)}"]` }
    case 2:
      return { op: 'replace', path: 'members', value: some() }
    default:
      return { op: 'remove', path: 'members', value: some() }
  }
}

/** One PATCH body (RFC 7644 §3.5.2): half well-formed operations, half from a looser grammar. */
export function patchInput(rng: Rng, kind: 'user' | 'group', ids: readonly string[]): unknown {
  if (rng() < 0.5 && ids.length > 0) {
    const ops = Array.from({ length: 1 + Math.floor(rng() * 3) }, () => (kind === 'user' ? pick(rng, WELL_FORMED_USER)(rng) : wellFormedGroup(rng, ids)))
    return { schemas: [PATCHOP], Operations: ops }
  }
  const paths = kind === 'user' ? PATCH_PATHS_USER : PATCH_PATHS_GROUP
  const n = 1 + Math.floor(rng() * 4)
  const ops = Array.from({ length: n }, () => {
    const op: Record<string, unknown> = { op: pick(rng, ['add', 'replace', 'remove', 'Add', 'Replace', 'REMOVE', 'move', '', 7]) }
    if (rng() < 0.85) {
      const path = pick(rng, paths).replace('USER', ids.length > 0 ? pick(rng, ids) : 'x')
      op.path = rng() < 0.15 ? mutate(rng, path) : path
    }
    if (rng() < 0.9) op.value = value(rng, ids)
    return op
  })
  const r = rng()
  if (r < 0.03) return { schemas: ['urn:wrong'], Operations: ops }
  if (r < 0.05) return { schemas: [PATCHOP], Operations: {} }
  if (r < 0.06) return [ops]
  if (r < 0.07) return { schemas: [PATCHOP], Operations: [] }
  return { schemas: [PATCHOP], Operations: ops }
}

export type Verdict = { ok: true; test: (r: Record<string, unknown>) => boolean } | { ok: false; status: number; scimType: string | null } | { crash: string }

/** The parser and evaluator on `filter`: accepted, refused with a SCIM error, or a crash. */
export function judgeFilter(rs: ResourceSchema, filter: string): Verdict {
  try {
    // The identity-provider readings the server applies first (scim/compat/rewrite.ts, docs/compatibility.md).
    const read = rewriteListQuery({ filter }, { identityProvider: 'unknown', notes: [] }).filter
    // As the server parses a list filter: an unquoted value read as a string where that is
    // unambiguous (scim/list-query.ts, docs/compatibility.md).
    return { ok: true, test: compileFilter(rs, parseFilter(read, () => undefined)) }
  } catch (e) {
    if (e instanceof ScimError && e.status >= 400 && e.status < 500) return { ok: false, status: e.status, scimType: e.scimType }
    return { crash: `${filter}: ${e instanceof Error ? e.stack ?? e.message : String(e)}` }
  }
}

/** PATCH normalisation and application on `body`: applied, refused with a SCIM error, or a crash. */
export function judgePatch(rs: ResourceSchema, resource: Record<string, unknown>, patch: unknown): 'applied' | 'refused' | { crash: string } {
  try {
    applyPatch(rs, resource, normalizePatch(rs, rewritePatch(rs, patch, { identityProvider: 'unknown', notes: [] }), { maxOperations: 1_000 }))
    return 'applied'
  } catch (e) {
    if (e instanceof ScimError && e.status >= 400 && e.status < 500) return 'refused'
    return { crash: `${JSON.stringify(patch)}: ${e instanceof Error ? e.stack ?? e.message : String(e)}` }
  }
}

function paths(f: Filter, outer: string | null = null): string[] {
  switch (f.kind) {
    case 'and':
    case 'or':
      return f.filters.flatMap((x) => paths(x, outer))
    case 'not':
      return paths(f.filter, outer)
    case 'valuePath':
      return [f.path.name.toLowerCase(), ...paths(f.filter, f.path.name.toLowerCase())]
    default: {
      const p = `${outer ? `${outer}.` : ''}${f.path.name}${f.path.sub ? `.${f.path.sub}` : ''}`.toLowerCase()
      return [p]
    }
  }
}

function orderingOfUnorderable(f: Filter): boolean {
  switch (f.kind) {
    case 'and':
    case 'or':
      return f.filters.some(orderingOfUnorderable)
    case 'not':
    case 'valuePath':
      return orderingOfUnorderable(f.filter)
    case 'compare':
      return ['gt', 'ge', 'lt', 'le'].includes(f.op) && typeof f.value === 'string' && !orderable(f.value)
    default:
      return false
  }
}

// Rendered from the URL or from other rows, which SQL cannot see: the server refuses these
// while the evaluator accepts them (test/e2e/filter-differential.test.ts, "Known disagreement").
const RENDERED = new Set(['meta.location', 'groups.display', 'groups.type', 'groups.$ref', 'members.display', 'members.$ref'])

/** Why a disagreement is a known one (and not counted as a failure), or null. */
export function knownDisagreement(filter: string): string | null {
  let f: Filter
  try {
    f = parseFilter(rewriteListQuery({ filter }, { identityProvider: 'unknown', notes: [] }).filter, () => undefined)
  } catch {
    return null
  }
  if (paths(f).some((p) => RENDERED.has(p))) return 'attribute rendered outside the row'
  // SQL orders by code point, the evaluator by UTF-16 code unit (test/helpers/filter-fuzz.ts).
  if (orderingOfUnorderable(f)) return 'ordering with a character at or above U+D800'
  return null
}

/** A UTF-16 surrogate without its pair. */
export const LONE_SURROGATE = /\p{Surrogate}/u

/** `s` percent-encoded as UTF-8, lone surrogates as their three WTF-8 bytes (invalid UTF-8). */
export function wtf8Encode(s: string): string {
  let out = ''
  for (const c of s) {
    const cp = c.codePointAt(0) ?? 0
    if (cp >= 0xd800 && cp <= 0xdfff) out += [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('')
    else out += encodeURIComponent(c)
  }
  return out
}

export interface FilterOutcome { ids?: string[]; error?: { status: number; scimType: string | null }; status: number }

/** The server's answer to `filter`, through GET or POST /.search. */
export async function serverFilter(send: Send, token: string, endpoint: '/Users' | '/Groups', filter: string, viaSearch: boolean): Promise<FilterOutcome> {
  // A lone surrogate has no UTF-8 form: in a URL a client sends its WTF-8 bytes (invalid UTF-8),
  // which the server cannot read as the evaluator does; in JSON it is a "\ud800" escape.
  const search = viaSearch || LONE_SURROGATE.test(filter)
  const r = search
    ? await send('POST', `/scim/v2${endpoint}/.search`, token, { schemas: [SEARCH], filter, count: 1000, attributes: ['id'] })
    : await send('GET', `/scim/v2${endpoint}?filter=${encodeURIComponent(filter)}&count=1000&attributes=id`, token)
  if (r.status !== 200) {
    let scimType: string | null = null
    try {
      scimType = (JSON.parse(r.text) as { scimType?: string }).scimType ?? null
    } catch {
      // not JSON: reported by the caller through the status
    }
    return { status: r.status, error: { status: r.status, scimType } }
  }
  return { status: 200, ids: ((JSON.parse(r.text) as { Resources?: { id: string }[] }).Resources ?? []).map((x) => x.id).sort() }
}

export { groupResource, userResource }
