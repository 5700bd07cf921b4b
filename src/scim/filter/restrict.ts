// Root-level search (RFC 7644 §3.4.3) runs one filter over several resource types. An
// attribute one type does not have cannot match a resource of that type, so each comparison on
// it is replaced by a node that is always false, and the rest of the filter still applies.
import type { Filter } from './ast.ts'
import { resolveAttr, type ResourceSchema } from '../schema/registry.ts'

/** `not (id pr)`: false for every resource, since `id` is always present. */
const NEVER: Filter = Object.freeze({ kind: 'not', filter: Object.freeze({ kind: 'present', path: Object.freeze({ uri: null, name: 'id', sub: null }) }) })

/** The filter with every comparison on an attribute unknown to `rs` made false. */
export function restrictToResource(rs: ResourceSchema, f: Filter): Filter {
  switch (f.kind) {
    case 'and':
    case 'or':
      return { kind: f.kind, filters: f.filters.map((x) => restrictToResource(rs, x)) }
    case 'not':
      return { kind: 'not', filter: restrictToResource(rs, f.filter) }
    case 'compare':
    case 'present':
    case 'valuePath':
      return resolveAttr(rs, f.path) ? f : NEVER
    default: {
      const never: never = f
      return never
    }
  }
}
