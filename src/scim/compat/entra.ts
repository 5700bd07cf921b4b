// Microsoft Entra ID's dialect: each function reads one non-standard shape Entra ID is documented
// to send as the standard one, and notes it on the trace. compat/rewrite.ts decides where each
// applies (which attribute, which part of which request); these functions only read values.
//
// Sources (quoted beside each rule):
// [TUTORIAL] "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID",
//   learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
// [KNOWN] "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra
//   provisioning service", learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
// [JUMPCLOUD] JumpCloud's "Configure Real-time SCIM User Provisioning from Entra ID" attribute
//   table (jumpcloud.com/support/configure-real-time-user-provisioning-from-azure-ad): what Entra
//   ID sends a SCIM server for `active`, `department`, `costCenter`, `organization`, `employeeNumber`.
import type { PatchOperation } from '../patch/normalize.ts'
import { quote } from '../errors.ts'
import { addNote, type ScimTrace } from './detect.ts'

const OPS: ReadonlySet<string> = new Set<PatchOperation['op']>(['add', 'replace', 'remove'])

/**
 * [TUTORIAL] "Azure AD emits the values of op as Add, Replace, and Remove"; [KNOWN] shows them
 * without the aadOptscim062020 flag. RFC 7644 §3.5.2 spells them in lower case.
 */
export function readOp(op: unknown, trace: ScimTrace): unknown {
  if (typeof op !== 'string' || OPS.has(op)) return op
  const lower = op.toLowerCase()
  if (!OPS.has(lower)) return op
  addNote(trace, `op "${op}" read as "${lower}" (Entra ID)`, 'entra')
  return lower
}

const BOOLEAN_TEXT = /^(?:true|false)$/i

/** Whether a value is a boolean written as a string ("True", "false"). */
export function isBooleanText(value: unknown): value is string {
  return typeof value === 'string' && BOOLEAN_TEXT.test(value)
}

/**
 * [KNOWN] "Requests made to disable users", without the flag: {"op":"Replace","path":"active",
 * "value":"False"}; [JUMPCLOUD] maps `active` from Switch([IsSoftDeleted], , "False", "True",
 * "True", "False"). Called only where the schema says boolean, so "False" never lands in a string.
 */
export function readBoolean(value: unknown, label: string, trace: ScimTrace): unknown {
  if (!isBooleanText(value)) return value
  const b = value.toLowerCase() === 'true'
  // Capitalised is Entra's spelling; a lower-case string could come from any template-driven client.
  addNote(trace, `${label} ${quote(value)} read as ${b} (Entra ID)`, value[0] === 'T' || value[0] === 'F' ? 'entra' : undefined)
  return b
}

/**
 * The enterprise `manager` (RFC 7643 §4.3 says complex, {"value": id}):
 * - a bare id string, read as {"value": id, "$ref": null}: [TUTORIAL]'s example schema sends "Manager": "123456", and with the
 *   aadOptscim062020 flag Entra ID replaces the manager with {"op":"replace","path":
 *   "urn:...:enterprise:2.0:User:manager","value":"<id>"};
 * - an empty string: Entra ID's way of clearing a manager; read as unassigned (RFC 7643 §2.5);
 * - a one-element array: [TUTORIAL] "Example 5" adds a manager as
 *   {"op":"Add","path":"manager","value":[{"$ref":"...","value":"2819c223-..."}]}.
 * Anything else is left for the core to accept or refuse.
 */
export function readManager(value: unknown, label: string, trace: ScimTrace): unknown {
  if (typeof value === 'string') {
    if (value === '') {
      addNote(trace, `${label} "" read as no manager (Entra ID)`)
      return null
    }
    addNote(trace, `${label} ${quote(value)} read as {"value":${quote(value)}} (Entra ID)`)
    // "$ref": null unassigns a reference to the previous manager, which a replace would otherwise
    // keep (RFC 7644 §3.5.2.3 merges the sub-attributes sent): a bare id names the whole manager.
    return { value, $ref: null }
  }
  if (Array.isArray(value) && value.length === 1) {
    addNote(trace, `${label} sent as a one-element array read as its element (Entra ID)`)
    const [only] = value as unknown[]
    return typeof only === 'string' ? readManager(only, label, trace) : only
  }
  return value
}

// A value filter followed by a sub-attribute and a comparison: [TUTORIAL] "/Users" requires that
// "a GET to /Users with a filter must allow for both userName eq "user@contoso.com" and
// emails[type eq "work"].value eq "user@contoso.com" queries". RFC 7644 §3.4.2.2's grammar has
// no `valuePath "." subAttr`; the same question is emails[type eq "work" and value eq "..."].
const VALUE_PATH_SUB = /([A-Za-z][\w:.$-]*)\[([^[\]"]*(?:"(?:[^"\\]|\\.)*"[^[\]"]*)*)\]\.([A-Za-z][\w$-]*)\s+(?:(pr)\b|(eq|ne|co|sw|ew|gt|ge|lt|le)\s+("(?:[^"\\]|\\.)*"|true\b|false\b|null\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))/gi

/** Moves `attr[filter].sub op value` inside the brackets: `attr[(filter) and sub op value]`. */
export function foldValuePathSubFilter(filter: string, trace: ScimTrace): string {
  if (!filter.includes('].')) return filter
  return filter.replace(VALUE_PATH_SUB, (whole: string, attr: string, inner: string, sub: string, pr: string | undefined, op: string | undefined, value: string | undefined) => {
    const moved = `${attr}[(${inner}) and ${sub} ${pr ?? `${op ?? ''} ${value ?? ''}`}]`
    addNote(trace, `filter ${quote(whole)} read as ${quote(moved)} (Entra ID)`)
    return moved
  })
}
