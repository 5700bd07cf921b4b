// PostgreSQL's side of SqlDialect: jsonb operators with bound key paths, and case folding as
// lower(normalize(x, NFKC)), the SQL spelling of src/scim/fold.ts.
import { sql } from 'kysely'
import type { Expr, JsonValueType, SqlDialect } from './sql-dialect.ts'

function keys(path: readonly string[]): Expr {
  return sql`${[...path]}::text[]`
}

export const postgresSql: SqlDialect = {
  kind: 'postgres',
  codePoint: (e) => sql`${e} collate "C"`,
  fold: (e) => sql`lower(normalize(${e}, NFKC))`,
  jsonValue(doc: Expr, path: readonly string[], type: JsonValueType): Expr {
    const node = sql`(${doc} #> ${keys(path)})`
    if (type === 'boolean') return sql`(case when jsonb_typeof(${node}) = 'boolean' then (${node})::text::boolean end)`
    if (type === 'number') return sql`(case when jsonb_typeof(${node}) = 'number' then (${node})::text::numeric end)`
    return sql`(case when jsonb_typeof(${node}) = 'string' then ${doc} #>> ${keys(path)} end)`
  },

  // Without an offset the text would take the session's time zone: it is read as UTC, as SQLite reads it.
  instant: (e) => sql`to_char((case when ${e} ~ '([Zz]|[+-]\\d\\d:\\d\\d)$' then ${e} else ${e} || 'Z' end)::timestamptz at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  existsElement(doc, path, cond) {
    const node = sql`(${doc} #> ${keys(path)})`
    return sql`(jsonb_typeof(${node}) = 'array' and exists (select 1 from jsonb_array_elements(${node}) as je(v) where ${cond(sql`je.v`)}))`
  },
  primaryValue(doc, path, sub) {
    const node = sql`(${doc} #> ${keys(path)})`
    return sql`(case when jsonb_typeof(${node}) = 'array' then (select je.v ->> ${sub}::text from jsonb_array_elements(${node}) with ordinality as je(v, i) where jsonb_typeof(je.v -> ${sub}::text) = 'string' order by (je.v -> 'primary') = 'true'::jsonb desc nulls last, je.i limit 1) end)`
  },
  contains: (hay, needle) => sql`strpos(${hay}, ${needle}) > 0`,
  startsWith: (hay, needle) => sql`left(${hay}, length(${needle})) = ${needle}`,
  endsWith: (hay, needle) => sql`right(${hay}, length(${needle})) = ${needle}`,
  body: (alias) => sql.ref(`${alias}.data`),
  ids: (values) => [...values],
  inIds: (expr, list) => sql`${expr} = any(${list}::text[])`,
  inIdKeys: (expr, list) => sql`${expr} = any(${list}::text[])`,
  idKey: (e) => e,
  idText: (e) => e,
  compactIds: false,
  keyText: (key) => key as string,
  pairsJson: (id, display, order) => sql`coalesce(json_agg(json_build_array(${id}, ${display}) order by ${order}), '[]'::json)::text`,
  records: (rows) => JSON.stringify(rows),
  recordSource: (list, columns, alias) =>
    sql`(select * from jsonb_to_recordset(${list}::jsonb) as x(${sql.join(columns.map(([c, t]) => sql`${sql.id(c)} ${sql.raw(t)}`))})) as ${sql.id(alias)}`,
  true: sql`true`,
  false: sql`false`,
}
