// Filter and attribute-path syntax trees (RFC 7644 §3.4.2.2, §3.5.2). Nodes are frozen plain
// data with a `kind`; consumers switch on it exhaustively.

/** An attribute path as written: `[urn:...:]name[.sub]`. Names keep the client's spelling. */
export interface AttrPath {
  readonly uri: string | null
  readonly name: string
  readonly sub: string | null
}

/** A path as text, `[urn:…:]name[.sub]`, for error details. */
export function pathText(p: AttrPath): string {
  return `${p.uri === null ? '' : `${p.uri}:`}${p.name}${p.sub === null ? '' : `.${p.sub}`}`
}

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le'

export type CompValue = string | number | boolean | null

export type Filter =
  | { readonly kind: 'compare'; readonly path: AttrPath; readonly op: CompareOp; readonly value: CompValue }
  | { readonly kind: 'present'; readonly path: AttrPath }
  | { readonly kind: 'and'; readonly filters: readonly Filter[] }
  | { readonly kind: 'or'; readonly filters: readonly Filter[] }
  | { readonly kind: 'not'; readonly filter: Filter }
  // `emails[type eq "work"]`: the inner filter's paths name sub-attributes of `path`.
  | { readonly kind: 'valuePath'; readonly path: AttrPath; readonly filter: Filter }

/** A PATCH path (RFC 7644 §3.5.2): `attrPath` or `valuePath [ "." subAttr ]`. */
export interface PatchPath {
  readonly path: AttrPath
  readonly filter: Filter | null
  /** Sub-attribute after a value filter: `emails[type eq "work"].value`. */
  readonly subAfterFilter: string | null
}

/** Largest nesting of parentheses, `not` and value filters accepted (docs/architecture.md INP-2). */
export const MAX_FILTER_DEPTH = 32
/** Longest filter or path accepted, in characters (AzureAD/SCIMReferenceCode PR #138). */
export const MAX_FILTER_LENGTH = 16_384
/** Most comparison terms in one filter (docs/architecture.md INP-4: an `or` of 1,000 terms). */
export const MAX_FILTER_TERMS = 1_000
