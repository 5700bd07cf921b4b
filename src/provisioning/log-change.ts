// What a write changed, for its provisioning-log row: the top-level attributes whose values
// differ (an extension's attributes count as top-level, named `<urn>:<attribute>`), before and
// after, with secrets redacted and every value bounded, so that a row stays small whatever the
// resource. A group's membership change is counts plus at most MAX_MEMBER_IDS ids each way,
// never the member list. Passwords never reach this module's output: they are not in a
// resource's body, and a write that sets one lists "password" under `redacted` (RFC 7643 §9.2,
// docs/architecture.md A7).
import { isDeepStrictEqual } from 'node:util'
import type { MemberDelta, MemberDeltaResult, OrgId, StoreTx } from '../store/store.ts'

export const MAX_MEMBER_IDS = 20
/** Longest JSON text kept for one attribute's value; a longer one is replaced by its length. */
const MAX_VALUE_CHARS = 512
const MAX_STRING_CHARS = 256
/** Attribute and sub-attribute names whose values are never recorded, whatever the schema says. */
const SECRET_NAME = /pass(word|wd|phrase)|secret|token|api[-_]?key|credential|private[-_]?key/i
export const REDACTED = '[redacted]'

export interface MemberChange {
  /** Membership rows inserted and deleted. */
  readonly added: number
  readonly removed: number
  /** The request replaced the whole member list (PUT, or PATCH replace without a filter). */
  readonly replaced: boolean
  /** The first MAX_MEMBER_IDS member ids the request added and removed. */
  readonly addIds: readonly string[]
  readonly removeIds: readonly string[]
}

export interface Change {
  readonly resourceType: 'User' | 'Group'
  readonly resourceId: string
  /** The stored body before the write (null for a create). */
  readonly before: Record<string, unknown> | null
  /** The stored body after the write (null for a delete). */
  readonly after: Record<string, unknown> | null
  /** Secret attributes the write set or removed; only their names are recorded. */
  readonly secrets?: readonly string[]
  readonly members?: MemberChange
}

/** The log row of a write, recorded inside the write's transaction (provided by the transport). */
export interface WriteLog {
  record(tx: StoreTx, orgId: OrgId, change: Change): Promise<void>
  /**
   * The identity provider that made the request (recorded on what it creates), when known; asked
   * when the write runs, since the body's shape may have told who it is. A method, not a getter:
   * V8 builds an object literal with an accessor in the old generation, and there its closure
   * kept the whole request (headers, parsed body) alive through young-generation collections,
   * each of which then promoted it (docs/storage.md, "Garbage collection").
   */
  identityProvider?(): string | undefined
  /** Adds a note to the request's log row (what was accepted without a schema, for instance). */
  note?(text: string): void
}

/** The membership part of a change, from the delta as requested and the rows it changed. */
export function memberChange(d: MemberDelta, rows: MemberDeltaResult): MemberChange {
  const addIds: string[] = []
  for (const list of [d.replaceAll ?? [], d.add]) {
    for (const m of list) {
      if (addIds.length >= MAX_MEMBER_IDS) break
      addIds.push(m.value)
    }
  }
  return { added: rows.added.length, removed: rows.removed.length, replaced: d.replaceAll !== null || d.removeAll, addIds, removeIds: d.remove.slice(0, MAX_MEMBER_IDS) }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A body's attributes with each extension's attributes lifted to `<urn>:<name>`. */
function flatten(body: Record<string, unknown> | null): Map<string, unknown> {
  const out = new Map<string, unknown>()
  if (!body) return out
  for (const [k, v] of Object.entries(body)) {
    if (k.startsWith('urn:') && isObject(v)) for (const [sk, sv] of Object.entries(v)) out.set(`${k}:${sk}`, sv)
    else out.set(k, v)
  }
  return out
}

function redactDeep(key: string, value: unknown): unknown {
  if (key !== '' && SECRET_NAME.test(key)) return REDACTED
  if (typeof value === 'string' && value.length > MAX_STRING_CHARS) return `${value.slice(0, MAX_STRING_CHARS)}…`
  return value
}

/**
 * Whether redactDeep would leave every key and value of `value` as they are, so that
 * JSON.stringify can go without the replacer (a replacer takes V8 off its fast path: the
 * change records of a create's attributes cost twice the time with it). Array indices never match
 * SECRET_NAME; anything unusual (a toJSON method, nesting past 32) takes the replacer's path.
 */
function untouched(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.length <= MAX_STRING_CHARS
  if (typeof value !== 'object' || value === null) return true
  if (depth > 32 || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false
  if (Array.isArray(value)) return value.every((v) => untouched(v, depth + 1))
  for (const k of Object.keys(value)) {
    if (SECRET_NAME.test(k) || !untouched((value as Record<string, unknown>)[k], depth + 1)) return false
  }
  return true
}

/** One attribute's value as bounded, redacted JSON text. */
function valueJson(name: string, value: unknown): string {
  if (SECRET_NAME.test(name.slice(name.lastIndexOf(':') + 1))) return JSON.stringify(REDACTED)
  const text = typeof value === 'string' ? JSON.stringify(redactDeep('', value))
    : (untouched(value) ? JSON.stringify(value) : JSON.stringify(value, redactDeep)) ?? 'null'
  return text.length > MAX_VALUE_CHARS ? JSON.stringify({ truncated: true, jsonChars: text.length }) : text
}

/** A change's record in parts: the changed attributes' names, and the JSON texts of their values before and after. */
export interface ChangeParts {
  /** Changed attribute names (and secrets set or removed), in the order the record lists them. */
  readonly names: readonly string[]
  /** `"name":value,…` of the values before (without braces); '' when none. */
  readonly before: string
  readonly after: string
  readonly redacted: readonly string[]
}

/**
 * Where a change object keeps its parts once computed: a write's log row and its event both
 * describe its change, and ask for them. On the object itself, not in a WeakMap: a WeakMap's
 * table lives in the old generation, and what it held survived each young-generation collection
 * until the next full one, the parts of every change promoted (docs/storage.md, "Garbage
 * collection").
 */
const PARTS = Symbol('roster.changeParts')

/** The parts of a change's record (redacted, bounded); computed once per change object. */
export function changeParts(c: Change): ChangeParts {
  const known = (c as { [PARTS]?: ChangeParts })[PARTS]
  if (known) return known
  const before = flatten(c.before)
  const after = flatten(c.after)
  const b: string[] = []
  const a: string[] = []
  const names: string[] = []
  // In name order: the stored body's key order is the store's (PostgreSQL's jsonb keeps its own),
  // and a consumer comparing two records of one change must see the same list on either store.
  const keys = [...after.keys()]
  for (const k of before.keys()) if (!after.has(k)) keys.push(k)
  keys.sort()
  for (const k of keys) {
    const old = before.get(k)
    const key = JSON.stringify(k)
    if (!after.has(k)) {
      b.push(`${key}:${valueJson(k, old)}`)
      names.push(k)
      continue
    }
    const v = after.get(k)
    if (old !== undefined && isDeepStrictEqual(old, v)) continue
    if (old !== undefined) b.push(`${key}:${valueJson(k, old)}`)
    a.push(`${key}:${valueJson(k, v)}`)
    names.push(k)
  }
  const redacted = c.secrets ?? []
  for (const r of redacted) if (!names.includes(r)) names.push(r)
  const parts = { names, before: b.join(','), after: a.join(','), redacted }
  Object.defineProperty(c, PARTS, { value: parts })
  return parts
}

/** The change record as JSON text; null when nothing changed. */
export function changeRecord(c: Change): string | null {
  const p = changeParts(c)
  const parts: string[] = []
  if (p.before) parts.push(`"before":{${p.before}}`)
  if (p.after) parts.push(`"after":{${p.after}}`)
  if (p.redacted.length) parts.push(`"redacted":${JSON.stringify(p.redacted)}`)
  if (c.members && (c.members.added || c.members.removed || c.members.replaced)) parts.push(`"members":${JSON.stringify(c.members)}`)
  return parts.length ? `{${parts.join(',')}}` : null
}
