// A Group's `members` never live in its body: PATCH operations on them become a membership
// delta, so that a PATCH touches only the member rows it names (RFC 7644 §3.5.2;
// docs/architecture.md, "Membership deltas"). The delta keeps the operations' order: after
// "add x, remove x" x is in `remove`.
import { ScimError } from '../errors.ts'
import type { Filter } from '../filter/ast.ts'
import { checkMembers, type MemberRef } from '../resource.ts'
import { invalidPath, type Kind, type Target } from './target.ts'

/** Membership changes a PATCH makes to a Group; the store applies removals before additions. */
export interface MemberDelta {
  replaceAll: MemberRef[] | null
  add: MemberRef[]
  remove: string[]
  removeAll: boolean
}

/** A delta being built: maps and sets, so that a later operation on a member replaces an earlier one. */
export interface Delta {
  replaceAll: Map<string, MemberRef> | null
  add: Map<string, MemberRef>
  remove: Set<string>
  removeAll: boolean
}

function memberIds(f: Filter): string[] {
  if (f.kind === 'or') return f.filters.flatMap(memberIds)
  const p = f.kind === 'compare' ? f.path : null
  const isValue = p !== null && p.uri === null && (p.sub === null ? p.name.toLowerCase() === 'value' : p.name.toLowerCase() === 'members' && p.sub.toLowerCase() === 'value')
  if (f.kind === 'compare' && f.op === 'eq' && typeof f.value === 'string' && isValue) return [f.value]
  throw new ScimError(400, 'invalidFilter', 'A "members" filter may only compare "value" with "eq", joined by "or": members[value eq "id1" or value eq "id2"]')
}

function emptyDelta(): Delta {
  return { replaceAll: null, add: new Map(), remove: new Set(), removeAll: false }
}

function addMembers(delta: Delta | null, refs: readonly MemberRef[]): Delta {
  const d = delta ?? emptyDelta()
  const into = d.replaceAll ?? d.add
  for (const r of refs) {
    d.remove.delete(r.value)
    if (!into.has(r.value)) into.set(r.value, r)
  }
  return d
}

function removeMembers(delta: Delta | null, ids: readonly string[]): Delta {
  const d = delta ?? emptyDelta()
  for (const id of ids) {
    d.replaceAll?.delete(id)
    d.add.delete(id)
    if (d.replaceAll === null && !d.removeAll) d.remove.add(id)
  }
  return d
}

/** The delta after one `members` operation (`kind` on `t`) following `delta`. */
export function memberOp(delta: Delta | null, kind: Kind, t: Target, value: unknown): Delta {
  if (t.sub !== null) throw new ScimError(400, 'mutability', 'Members\' sub-attributes are immutable; add or remove whole members')
  if (t.filter !== null) {
    if (kind !== 'remove') throw invalidPath('A filter on "members" is accepted only with "remove"; add or replace a list of members instead')
    return removeMembers(delta, memberIds(t.filter))
  }
  if (kind === 'add') return addMembers(delta, checkMembers(value))
  if (value === undefined || value === null) return { ...emptyDelta(), removeAll: true }
  if (kind === 'replace') return { ...emptyDelta(), replaceAll: new Map(checkMembers(value).map((m) => [m.value, m])) }
  return removeMembers(delta, checkMembers(value).map((m) => m.value))
}

/** The delta as the store takes it; null when it changes nothing. */
export function toDelta(d: Delta | null): MemberDelta | null {
  if (d === null || (d.replaceAll === null && !d.removeAll && d.add.size === 0 && d.remove.size === 0)) return null
  const replaceAll = d.replaceAll ? [...d.replaceAll.values()] : null
  return { replaceAll, add: [...d.add.values()], remove: [...d.remove], removeAll: d.removeAll }
}
