// SQLite's side of SqlDialect: JSON1 functions, and roster_fold(), a deterministic function
// registered on every connection (dialect/sqlite-connection.ts) that runs src/scim/fold.ts.
import { sql } from 'kysely'
import type { Expr, JsonValueType, SqlDialect } from './sql-dialect.ts'

/** A JSON path with every key quoted, so URNs with ':' and '.' are single keys; an all-digit
 * segment is an array index (attribute names never start with a digit, RFC 7643 §2.1). */
function jsonPath(path: readonly string[]): string {
  return '$' + path.map((k) => (/^\d+$/.test(k) ? `[${k}]` : `.${JSON.stringify(k)}`)).join('')
}

export const sqliteSql: SqlDialect = {
  kind: 'sqlite',
  codePoint: (e) => e,
  fold: (e) => sql`roster_fold(${e})`,
  jsonValue(doc: Expr, path: readonly string[], type: JsonValueType): Expr {
    const v = sql`json_extract(${doc}, ${jsonPath(path)})`
    // json_extract returns booleans as 1/0 and numbers as numbers: a type check keeps a string
    // "1" from equalling true.
    if (type === 'boolean') return sql`(case when json_type(${doc}, ${jsonPath(path)}) in ('true', 'false') then ${v} end)`
    if (type === 'number') return sql`(case when json_type(${doc}, ${jsonPath(path)}) in ('integer', 'real') then ${v} end)`
    return sql`(case when json_type(${doc}, ${jsonPath(path)}) = 'text' then ${v} end)`
  },

  // SQLite's time values take the offset suffix and any number of fractional digits; %f is SS.SSS.
  instant: (e) => sql`strftime('%Y-%m-%dT%H:%M:%fZ', ${e})`,
  existsElement(doc, path, cond) {
    // json_each gives an object or array element as JSON text but a scalar as its SQL value
    // (text unquoted, true as 1): each element is handed on as JSON text, so that jsonValue reads
    // the elements of a multi-valued simple attribute (an organization's `tags`) as it reads members.
    const elem = sql`(case je.type when 'object' then je.value when 'array' then je.value when 'true' then 'true' when 'false' then 'false' when 'null' then 'null' else json_quote(je.value) end)`
    return sql`exists (select 1 from json_each(${doc}, ${jsonPath(path)}) as je where ${cond(elem)})`
  },
  primaryValue(doc, path, sub) {
    const at = `$.${JSON.stringify(sub)}`
    return sql`(select json_extract(je.value, ${at}) from json_each(${doc}, ${jsonPath(path)}) as je where json_type(je.value, ${at}) = 'text' order by json_type(je.value, '$.primary') = 'true' desc, je.key limit 1)`
  },
  contains: (hay, needle) => sql`instr(${hay}, ${needle}) > 0`,
  startsWith: (hay, needle) => sql`substr(${hay}, 1, length(${needle})) = ${needle}`,
  endsWith: (hay, needle) => sql`substr(${hay}, -length(${needle})) = ${needle}`,
  // Ids are canonical UUIDs (src/ids.ts): 32 hex digits, read with the dashes skipped.
  idKey: (e) => sql`unhex(${e}, '-')`,
  idText: (e) => sql`lower(substr(hex(${e}), 1, 8) || '-' || substr(hex(${e}), 9, 4) || '-' || substr(hex(${e}), 13, 4) || '-' || substr(hex(${e}), 17, 4) || '-' || substr(hex(${e}), 21))`,
  compactIds: true,
  keyText: (key) => {
    const h = (key as Buffer).toString('hex')
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  },
  // An aggregate's ORDER BY: SQLite 3.44 or later (better-sqlite3 12 bundles 3.5x).
  pairsJson: (id, display, order) => sql`json_group_array(json_array(${id}, ${display}) order by ${order})`,
  body: (alias) => sql.ref(`${alias}.data`),
  ids: (values) => JSON.stringify(values),
  inIds: (expr, list) => sql`${expr} in (select value from json_each(${list}))`,
  inIdKeys: (expr, list) => sql`${expr} in (select unhex(value, '-') from json_each(${list}))`,
  records: (rows) => JSON.stringify(rows),
  recordSource: (list, columns, alias) =>
    sql`(select ${sql.join(columns.map(([c]) => sql`value ->> ${`$.${c}`} as ${sql.id(c)}`))} from json_each(${list})) as ${sql.id(alias)}`,
  true: sql`1`,
  false: sql`0`,
}
