// What the SQL differs in between SQLite and PostgreSQL: case folding, JSON access, substring
// tests. The filter compiler and the store call these and stay dialect-free.
import type { RawBuilder } from 'kysely'

export type Expr = RawBuilder<unknown>
export type JsonValueType = 'string' | 'number' | 'boolean'

export interface SqlDialect {
  readonly kind: 'sqlite' | 'postgres'
  /** fold() of src/scim/fold.ts, computed in SQL. */
  fold(e: Expr): Expr
  /** The value at `path` inside the JSON expression `doc`, typed for comparison; NULL when absent. */
  jsonValue(doc: Expr, path: readonly string[], type: JsonValueType): Expr
  /** True when the JSON at `path` is a non-empty array / an object with members / a non-empty scalar. */
  jsonPresent(doc: Expr, path: readonly string[], shape: 'array' | 'object' | 'scalar'): Expr
  /** `EXISTS (SELECT 1 FROM <elements of doc.path> AS <alias> WHERE cond)`: `elem` is the element's JSON. */
  existsElement(doc: Expr, path: readonly string[], cond: (elem: Expr) => Expr): Expr
  /** Literal (not LIKE) substring tests; `needle` is already bound. */
  contains(hay: Expr, needle: Expr): Expr
  startsWith(hay: Expr, needle: Expr): Expr
  endsWith(hay: Expr, needle: Expr): Expr
  /** The stored JSON body column, ready for jsonValue. */
  body(alias: string): Expr
  readonly true: Expr
  readonly false: Expr
}
