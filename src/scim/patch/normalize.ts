// PATCH normalisation: checks a PatchOp message (RFC 7644 §3.5.2), and the Entra/Okta variants
// that compat/ has already rewritten, and turns it into canonical operations with parsed paths.
// Message keys are matched case-insensitively (RFC 7643 §2.1); `op` values are the RFC's
// "add", "replace" and "remove": Entra ID's "Add"/"Replace"/"Remove" are read by compat/entra.ts.
import { ScimError, quote } from '../errors.ts'
import type { PatchPath } from '../filter/ast.ts'
import { parsePatchPath } from '../path.ts'
import { getIgnoringCase, isObject } from '../resource.ts'
import { findSchema, resolveAttr, type ResourceSchema } from '../schema/registry.ts'

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

export interface PatchOperation {
  readonly op: 'add' | 'replace' | 'remove'
  /** null when the operation has no path (add/replace of a set of attributes). */
  readonly path: PatchPath | null
  /** undefined when absent (only allowed for remove). */
  readonly value: unknown
  /** A `remove` whose path was an extension's schema URN: the whole extension object goes. */
  readonly extension?: string
}

const OPS: Readonly<Record<string, PatchOperation['op']>> = { add: 'add', replace: 'replace', remove: 'remove' }

function syntax(detail: string): ScimError {
  return new ScimError(400, 'invalidSyntax', detail)
}

/**
 * A path equal to an extension's schema URN (`urn:…:enterprise:2.0:User`) addresses the extension
 * object as a whole (the core schema's URN, the core attributes: a path-less add or replace): `add` merges the attributes sent (a path-less add of {urn: value}),
 * `replace` replaces the object (remove it, then add), `remove` removes it.
 */
function extensionOps(rs: ResourceSchema, op: PatchOperation['op'], uri: string, value: unknown, at: string): PatchOperation[] | null {
  const ext = findSchema(rs, uri)
  if (!ext) return null
  if (ext === rs.core) {
    // The core schema's URN holds the core attributes: its value is read as a path-less one, as
    // resource.ts reads them nested under that URN in a POST or PUT.
    if (op === 'remove') throw new ScimError(400, 'invalidPath', `${at}: the core schema ${quote(ext.id)} cannot be removed; name the attributes to remove`)
    if (!isObject(value)) throw new ScimError(400, 'invalidValue', `${at}: the value for ${quote(ext.id)} must be an object of its attributes`)
    return [{ op, path: null, value }]
  }
  const remove: PatchOperation = { op: 'remove', path: null, value: undefined, extension: ext.id }
  if (op === 'remove') return [remove]
  if (value === null) return op === 'replace' ? [remove] : []
  if (!isObject(value)) throw new ScimError(400, 'invalidValue', `${at}: the value for ${quote(ext.id)} must be an object of that extension's attributes`)
  const add: PatchOperation = { op: 'add', path: null, value: { [ext.id]: value } }
  return op === 'replace' ? [remove, add] : [add]
}

function normalizeOne(rs: ResourceSchema, raw: unknown, i: number, onBareValue?: (word: string) => void): PatchOperation[] {
  const at = `Operations[${i}]`
  if (!isObject(raw)) throw syntax(`${at} must be an object with "op", "path" and "value"`)
  const opName = getIgnoringCase(raw, 'op')
  const op = typeof opName === 'string' && Object.hasOwn(OPS, opName) ? OPS[opName] : undefined
  if (!op) throw syntax(`${at}.op must be "add", "replace" or "remove", got ${quote(opName)}`)

  // A null path is read as an absent one, as some clients serialise it that way.
  const rawPath = getIgnoringCase(raw, 'path')
  const value = getIgnoringCase(raw, 'value')
  let path: PatchPath | null = null
  if (rawPath !== undefined && rawPath !== null) {
    if (typeof rawPath !== 'string') throw new ScimError(400, 'invalidPath', `${at}.path must be a string`)
    if (op === 'remove' || value !== undefined) {
      const whole = extensionOps(rs, op, rawPath.trim(), value, at)
      if (whole) return whole
    }
    path = parsePatchPath(rawPath, onBareValue)
    // A value filter needs a declared attribute: that fails here, before the caller does any work
    // (hashing, a transaction). Other undeclared attributes are accepted (patch/apply.ts).
    if (path.filter !== null && !resolveAttr(rs, path.path)) throw new ScimError(400, 'invalidPath', `${at}.path ${quote(rawPath)} names no attribute of a ${rs.kind}`)
  }

  if (op === 'remove') {
    // RFC 7644 §3.5.2.2: a remove without a path fails with noTarget.
    if (path === null) throw new ScimError(400, 'noTarget', `${at}: "remove" needs a "path"`)
  } else if (value === undefined) {
    // RFC 7644 §3.5.2.1 and §3.5.2.3: add and replace MUST carry a value.
    throw new ScimError(400, 'invalidValue', `${at}: "${op}" needs a "value"`)
  } else if (path === null && !isObject(value)) {
    // Without a path the value is the set of attributes to add or replace.
    throw new ScimError(400, 'invalidValue', `${at}: "${op}" without a "path" needs an object of attributes as its "value"`)
  }
  return [{ op, path, value }]
}

/**
 * Checks a PatchOp message (RFC 7644 §3.5.2) and returns its operations in order, with paths
 * parsed and checked to name an attribute of `rs`. At most `maxOperations` are accepted. With
 * `onBareValue`, an unquoted value in a path's value filter where only a string can be meant
 * (`emails[type eq work].value`) is read as that string and reported, as a `filter=` reads it.
 */
export function normalizePatch(rs: ResourceSchema, body: unknown, opts: { maxOperations: number; onBareValue?: (word: string) => void }): PatchOperation[] {
  if (!isObject(body)) throw syntax('A PATCH body must be a JSON object')
  const schemas = getIgnoringCase(body, 'schemas')
  const lower = PATCH_OP_SCHEMA.toLowerCase()
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === lower)) {
    throw syntax(`"schemas" must contain "${PATCH_OP_SCHEMA}"`)
  }
  const ops = getIgnoringCase(body, 'Operations')
  if (!Array.isArray(ops) || ops.length === 0) throw syntax('"Operations" must be a non-empty array')
  if (ops.length > opts.maxOperations) {
    throw new ScimError(400, 'tooMany', `A PATCH may carry at most ${opts.maxOperations} operations, got ${ops.length}; split it`)
  }
  return ops.flatMap((raw, i) => normalizeOne(rs, raw, i, opts.onBareValue))
}
