// What the SQL differs in between SQLite and PostgreSQL: case folding, JSON access, substring
// tests. The filter compiler and the store call these and stay dialect-free.
import type { RawBuilder } from 'kysely'

export type Expr = RawBuilder<unknown>
export type JsonValueType = 'string' | 'number' | 'boolean'

export interface SqlDialect extends SqlLists {
  readonly kind: 'sqlite' | 'postgres'
  /** The text expression compared in code-point order (SQLite's BINARY on UTF-8; `collate "C"` in PostgreSQL). */
  codePoint(e: Expr): Expr
  /** fold() of src/scim/fold.ts, computed in SQL. */
  fold(e: Expr): Expr
  /** The value at `path` inside the JSON expression `doc`, typed for comparison; NULL when absent. */
  jsonValue(doc: Expr, path: readonly string[], type: JsonValueType): Expr
  /**
   * A stored xsd:dateTime text (any offset, any precision; none read as UTC) as the instant's
   * canonical text, `Date.prototype.toISOString`'s form, so that instants compare as text.
   */
  instant(e: Expr): Expr
  /** `EXISTS (SELECT 1 FROM <elements of doc.path> AS <alias> WHERE cond)`: `elem` is the element's JSON. */
  existsElement(doc: Expr, path: readonly string[], cond: (elem: Expr) => Expr): Expr
  /**
   * The string `sub` of the array at `path` inside `doc` for sorting (RFC 7644 §3.4.2.3): the
   * element whose `primary` is true, else the first element holding a string `sub`; NULL if none.
   */
  primaryValue(doc: Expr, path: readonly string[], sub: string): Expr
  /** Literal (not LIKE) substring tests; `needle` is already bound. */
  contains(hay: Expr, needle: Expr): Expr
  startsWith(hay: Expr, needle: Expr): Expr
  endsWith(hay: Expr, needle: Expr): Expr
  /**
   * Membership rows (group_members) hold resource ids in the dialect's compact form: `idKey` of
   * a text id, and `idText` back. SQLite keeps 16-byte blobs (the rows and both their indexes are
   * less than half the size of text UUIDs, and a membership PATCH writes that much less);
   * PostgreSQL keeps the text (both are the identity there, and `compactIds` is false).
   */
  idKey(e: Expr): Expr
  idText(e: Expr): Expr
  readonly compactIds: boolean
  /**
   * A membership key as read back from a row (RETURNING the raw column) as the id's text, in
   * JavaScript: SQL's idText costs a handful of string functions a row, a 100-member PATCH's
   * RETURNING a hundred times.
   */
  keyText(key: unknown): string
  /**
   * An aggregate: the JSON text of `[[id, display], …]` ordered by `order`, `[]` over no rows
   * (a user's groups read in the user's own query).
   */
  pairsJson(id: Expr, display: Expr, order: Expr): Expr
  /** The stored JSON body column, ready for jsonValue. */
  body(alias: string): Expr
  readonly true: Expr
  readonly false: Expr
}

export type RecordColumn = readonly [name: string, type: 'text' | 'integer']

/** Set-valued parameters: a whole list bound as one value, so one statement text serves any length. */
export interface SqlLists {
  /** The bound form of a list of ids. */
  ids(values: readonly string[]): unknown
  /** `expr IN <the bound list>`. */
  inIds(expr: Expr, list: Expr): Expr
  /** `expr IN <idKey of each id in the bound list>`. */
  inIdKeys(expr: Expr, list: Expr): Expr
  /** The bound form of a list of records. */
  records(rows: readonly Record<string, string | number | null>[]): unknown
  /** A row source `(select …) as <alias>` over a bound list of records with these columns. */
  recordSource(list: Expr, columns: readonly RecordColumn[], alias: string): Expr
}
